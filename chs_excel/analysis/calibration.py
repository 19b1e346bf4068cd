"""How far the score's churn rates can be trusted: Wilson intervals, deciles, and a calibrated churn probability.

Pure (numpy, pandas; no Excel). The probability is a one-variable logistic fit of churn on the score,
cross-validated (each account is predicted by a fit that never saw it), and
judged by its Brier score against always predicting the base rate.

Too few data: every function still computes on any number of accounts; the
intervals simply come out wide. The callers flag results resting on fewer than
200 accounts or 30 churned (``FEW_ACCOUNTS`` / ``FEW_CHURNED`` of the Validation
sheet) as too few to trust.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def stratified_folds(churned: np.ndarray, k: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0 to ``k - 1``) of each row, churned and retained rows each spread evenly over the folds.

    Each row is one account, so an account is in exactly one fold. The rows of
    each class are shuffled with a fixed seed (the same input always gives the
    same folds) and dealt out in turn: every fold holds ``floor`` or ``ceil`` of
    ``n_class / k`` rows of each class, and of all rows.

    Parameters
    ----------
    churned : numpy.ndarray of bool
        Each row's outcome (True: churned).
    k : int
        The number of folds, at least 2. With fewer rows than ``k`` some folds are empty.
    seed : int
        The shuffle's seed.

    Returns
    -------
    numpy.ndarray of int
        Each row's fold.
    """
    if k < 2:
        raise ValueError(f"stratified_folds needs at least 2 folds, got k={k}")
    y = np.asarray(churned, dtype=bool)
    shuffled = np.random.default_rng(seed).permutation(len(y))
    # retained rows first, then churned, each in shuffled order; dealing positions 0, 1, 2, ... round the folds
    # spreads each class evenly, and the churned carry on where the retained stopped so the totals stay even too
    dealt = shuffled[np.argsort(y[shuffled], kind="stable")]
    folds = np.empty(len(y), dtype=np.intp)
    folds[dealt] = np.arange(len(y)) % k
    return folds


WILSON_Z = 1.959964  # the normal quantile of a two-sided 95% interval
DECILES = 10


def wilson_interval(churned, accounts, z: float = WILSON_Z) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of a churn rate: where the true rate likely lies, given ``churned`` of ``accounts``.

    Unlike rate ± z·standard error, it stays within 0 to 1 and is not zero-width at 0 of n or n of n, so a band
    of 21 accounts shows a wide interval and one of 1,400 a narrow one.

    Parameters
    ----------
    churned, accounts : array-like of int
        Churned accounts and all accounts, one pair per group (or two numbers).
    z : float
        The normal quantile: 1.959964 for 95%.

    Returns
    -------
    tuple of numpy.ndarray of float
        The low and high ends, each ``(p + z²/2n ∓ z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = churned /
        accounts``; NaN where ``accounts`` is 0.
    """
    x = np.asarray(churned, dtype=float)
    n = np.asarray(accounts, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        z2 = z * z
        scale = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / scale
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / scale
    empty = n <= 0
    # at 0 of n the low end is 0 and at n of n the high end 1: exactly, not 1 - 1e-16 from rounding
    low = np.where(empty, np.nan, np.where(x <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)))
    high = np.where(empty, np.nan, np.where(x >= n, 1.0, np.clip(centre + half, 0.0, 1.0)))
    return low, high


def brier_score(prob, churned) -> float | None:
    """Mean squared gap between a predicted churn probability and what happened (1 churned, 0 stayed).

    0 is perfect; always predicting the base rate ``r`` scores ``r (1 - r)``. Rows without a probability (NaN)
    are left out; None when none is left.
    """
    p = np.asarray(prob, dtype=float)
    y = np.asarray(churned, dtype=float)
    keep = ~np.isnan(p)
    if not keep.any():
        return None
    return float(np.mean((p[keep] - y[keep]) ** 2))


def expit(eta: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-eta)) without overflow (exp of a negative number only)."""
    e = np.exp(-np.abs(eta))
    return np.where(eta >= 0, 1 / (1 + e), e / (1 + e))


@dataclass(frozen=True)
class LogisticFit:
    """Churn probability = 1 / (1 + exp(-(intercept + slope x score)))."""

    intercept: float
    slope: float

    def probability(self, scores) -> np.ndarray:
        """The fitted churn probability of each score (NaN for a missing score)."""
        s = np.asarray(scores, dtype=float)
        with np.errstate(invalid="ignore"):  # -inf + 0 x score: a base rate of 0
            return expit(self.intercept + self.slope * s)

    def odds_ratio(self, points: float = 10.0) -> float:
        """How many times the odds of churn multiply when the score rises by ``points``."""
        return float(np.exp(self.slope * points))


def logistic_fit(scores, churned, max_iter: int = 100, tol: float = 1e-10) -> LogisticFit:
    """The maximum-likelihood logistic regression of churn on the score (one variable, no penalty).

    Newton's method (iteratively reweighted least squares) on the standardised score, each step halved until the
    likelihood does not fall. Rows without a score are left out.

    Parameters
    ----------
    scores : array-like of float
    churned : array-like of bool
    max_iter : int
        Newton steps at most. When the score separates churned from retained perfectly the maximum is at an
        infinite slope: the fit stops when a step no longer changes the likelihood, with a steep slope
        (probabilities near 0 and 1, as the data say).
    tol : float
        Stops once the largest change of a coefficient (on the standardised score) is below this.

    Returns
    -------
    LogisticFit
        With slope 0 and the base rate as probability when the fit is undefined: all accounts churned (intercept
        +inf), none did (-inf), or every score is the same; NaN coefficients without any row.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(churned, dtype=float)
    keep = ~np.isnan(s)
    s, y = s[keep], y[keep]
    if len(s) == 0:
        return LogisticFit(np.nan, np.nan)
    rate = y.mean()
    centre, spread = s.mean(), s.std()
    if rate in (0.0, 1.0) or spread == 0:
        with np.errstate(divide="ignore"):
            return LogisticFit(float(np.log(rate) - np.log1p(-rate)), 0.0)
    x = (s - centre) / spread  # standardised: the Newton steps are well scaled whatever the score's range

    def log_likelihood(b: np.ndarray) -> float:
        eta = b[0] + b[1] * x
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    b = np.array([np.log(rate / (1 - rate)), 0.0])
    current = log_likelihood(b)
    for _ in range(max_iter):
        p = expit(b[0] + b[1] * x)
        w = p * (1 - p)
        gradient = np.array([np.sum(y - p), np.sum((y - p) * x)])
        hessian = np.array([[np.sum(w), np.sum(w * x)], [np.sum(w * x), np.sum(w * x * x)]])
        if np.linalg.det(hessian) <= 1e-12 * max(1.0, hessian[0, 0]) ** 2:
            break  # the probabilities are 0 and 1 to machine precision: separated
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-8:
            trial = b + size * step
            value = log_likelihood(trial)
            if value >= current - 1e-12 * abs(current):
                break
            size /= 2
        else:
            break
        b, current = trial, value
        if np.max(np.abs(size * step)) < tol:
            break
    slope = b[1] / spread
    return LogisticFit(float(b[0] - slope * centre), float(slope))


def cross_validated_probability(scores, churned, k: int = 5, seed: int = 0) -> np.ndarray:
    """Each account's churn probability from a logistic fit on the other folds (out of fold: never its own row).

    The accounts with a score are split by :func:`stratified_folds`; each fold is predicted by
    :func:`logistic_fit` on the ``k - 1`` others. So the Brier score of these probabilities says how well a
    probability read off the score would have done on accounts it was not fitted to.

    Parameters
    ----------
    scores : array-like of float
    churned : array-like of bool
    k : int
        Folds (with fewer accounts than ``k``: one account per fold, i.e. leave one out).
    seed : int
        The folds' shuffle.

    Returns
    -------
    numpy.ndarray of float
        One probability per row; NaN without a score, or with a single account (nothing to fit on). Few accounts
        or few churned still give probabilities: the caller says when they are too few to trust.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(churned, dtype=bool)
    prob = np.full(len(s), np.nan)
    scored = np.flatnonzero(~np.isnan(s))
    folds = stratified_folds(y[scored], k, seed)
    for fold in range(k):  # k fits, each vectorised over its accounts
        test = folds == fold
        if not test.any() or test.all():
            continue
        fit = logistic_fit(s[scored[~test]], y[scored[~test]])
        prob[scored[test]] = fit.probability(s[scored[test]])
    return prob


DECILE_COLUMNS = ["Decile", "Lowest score", "Highest score", "Accounts", "Churned", "Churn rate", "Wilson low",
                  "Wilson high", "Predicted"]


def score_deciles(scores) -> np.ndarray:
    """Each score's decile, 1 (lowest scores) to 10; 0 for a missing score.

    A score's decile is ``floor(10 x below / n) + 1`` where ``below`` counts the scores lower than it: tied
    scores share a decile (the one their first member falls in), so a decile may hold more than a tenth of the
    accounts and a later one none.
    """
    s = np.asarray(scores, dtype=float)
    out = np.zeros(len(s), dtype=np.intp)
    scored = ~np.isnan(s)
    n = int(scored.sum())
    if n:
        below = np.searchsorted(np.sort(s[scored]), s[scored], side="left")
        out[scored] = DECILES * below // n + 1
    return out


def decile_table(scores, churned, prob=None) -> pd.DataFrame:
    """Observed and predicted churn per score decile (see :func:`score_deciles`), lowest scores first.

    Parameters
    ----------
    scores : array-like of float
        Accounts without a score are left out.
    churned : array-like of bool
    prob : array-like of float, optional
        Each account's predicted churn probability (e.g. :func:`cross_validated_probability`).

    Returns
    -------
    pandas.DataFrame
        :data:`DECILE_COLUMNS`: the decile, its lowest and highest score, accounts, churned, the churn rate, its
        Wilson 95% interval and the mean predicted probability (NaN without ``prob``). Empty deciles (after a
        tie that filled more than a tenth) are left out, so the accounts add up to those with a score. Any
        number of accounts is tabled; under 200 (or 30 churned) the intervals are wide and the caller says so.
    """
    s = np.asarray(scores, dtype=float)
    decile = score_deciles(s)
    keep = decile > 0
    frame = pd.DataFrame({"decile": decile[keep], "score": s[keep],
                          "churned": np.asarray(churned, dtype=bool)[keep].astype(int),
                          "prob": (np.full(len(s), np.nan) if prob is None else np.asarray(prob, dtype=float))[keep]})
    table = frame.groupby("decile", sort=True).agg(low=("score", "min"), high=("score", "max"),
                                                  accounts=("score", "size"), churned=("churned", "sum"),
                                                  predicted=("prob", "mean"))
    low, high = wilson_interval(table["churned"], table["accounts"])
    return pd.DataFrame({"Decile": table.index.to_numpy(), "Lowest score": table["low"].to_numpy(),
                         "Highest score": table["high"].to_numpy(), "Accounts": table["accounts"].to_numpy(),
                         "Churned": table["churned"].to_numpy(),
                         "Churn rate": (table["churned"] / table["accounts"]).to_numpy(dtype=float),
                         "Wilson low": low, "Wilson high": high, "Predicted": table["predicted"].to_numpy()},
                        columns=DECILE_COLUMNS)
