"""Which weights and cut points would have separated the recorded outcomes better? A transparent optimiser.

Pure: numpy, pandas and scipy, on metric scores (1-100, higher is healthier, NaN where missing) and churn flags.
Nothing here changes a scorecard; :mod:`chs_excel.sheets.proposal` shows the result for a person to decide.

The score is the engine's (:mod:`chs_excel.core.engine`): metric scores average by weight into category scores,
and category scores by weight into the overall score, each mean renormalised over what is present. Written with
*effective* weights ``e`` (a metric's share of the overall score, summing to 1), a category's weight is the sum of
its metrics' ``e`` and a metric's weight within its category is its ``e`` over that sum, so one vector ``e``
describes a whole scorecard's weights.

The fit maximises the likelihood of a logistic model of churn on the overall score,
``P(churn) = 1 / (1 + exp(-(a + b (score - 50) / 50)))``, over ``e``, ``a`` and ``b``, with constraints a CS team
can accept: every ``e`` at least 0 (no metric changes direction: each metric's score already rises with health),
``b`` at most 0 (a higher score never means more churn), ``e`` summing to 1, and optionally each category at least
a given share of the overall score. It is solved by SLSQP with the exact gradient, from today's weights and from
equal weights (the renormalisation makes the problem non-convex when data are missing); the better fit wins.

Cut points are the whole numbers ``red_below < amber_below`` that make the bands' churn rates most different
(highest binomial likelihood of the outcomes given the band), with every band holding at least a given share of the
accounts and churn falling from Red to Amber to Green.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from chs_excel.analysis.calibration import expit
from chs_excel.analysis.separation import auc
from chs_excel.core.bands import band_codes
from chs_excel.core.explain import rounded

CENTRE, SPREAD = 50.0, 50.0  # the score enters the logistic model as (score - 50) / 50: about -1 to 1
FIT_ROWS = 200_000  # accounts a fit uses at most (a fixed random sample of them when there are more)


@dataclass(frozen=True)
class Layout:
    """Which category each metric belongs to: ``category_of[k]`` is the position of metric ``k``'s category."""

    category_of: np.ndarray
    categories: int

    def category_sums(self, e: np.ndarray) -> np.ndarray:
        """Each category's weight: the sum of its metrics' effective weights."""
        return np.bincount(self.category_of, weights=e, minlength=self.categories)


def effective_weights(metric_weights, category_weights, layout: Layout) -> np.ndarray:
    """Each metric's share of the overall score when every metric has data (summing to 1; all 0 if no weight).

    A category whose metrics all weigh 0 contributes nothing, as in the engine (its score is missing).
    """
    w = np.asarray(metric_weights, dtype=float)
    u = np.asarray(category_weights, dtype=float)
    within = np.bincount(layout.category_of, weights=w, minlength=layout.categories)
    usable = (within > 0) & (u > 0)
    share = np.where(usable, u, 0.0)
    if share.sum() <= 0:
        return np.zeros_like(w)
    share = share / share.sum()
    e = np.where(usable[layout.category_of], w / np.where(within > 0, within, 1.0)[layout.category_of], 0.0)
    return e * share[layout.category_of]


class _Columns:
    """Metric scores as one contiguous array per metric (0 where missing) and where each is present (1.0 or 0.0):
    the fit evaluates the score hundreds of times, and column-at-a-time arithmetic on contiguous arrays is fast."""

    def __init__(self, scores: np.ndarray):
        scores = np.asarray(scores, dtype=float)
        present = ~np.isnan(scores)
        self.n = scores.shape[0]
        self.filled = [np.where(present[:, k], scores[:, k], 0.0) for k in range(scores.shape[1])]
        self.present = [present[:, k].astype(float) for k in range(scores.shape[1])]

    def categories(self, e: np.ndarray, layout: Layout) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per category: its score (0 where it has none) and the weight of its present metrics (0: no score)."""
        numerator = [np.zeros(self.n) for _ in range(layout.categories)]
        weight = [np.zeros(self.n) for _ in range(layout.categories)]
        for k, g in enumerate(layout.category_of):
            if e[k] != 0:
                numerator[g] += e[k] * self.filled[k]
                weight[g] += e[k] * self.present[k]
        score = [np.divide(num, w, out=np.zeros(self.n), where=w > 0) for num, w in zip(numerator, weight)]
        return score, weight


def _overall(columns: _Columns, e: np.ndarray, layout: Layout):
    """The overall score (CENTRE where there is none), its category parts, and the weight it was divided by."""
    category, weight = columns.categories(e, layout)
    u = layout.category_sums(e)
    top, bottom = np.zeros(columns.n), np.zeros(columns.n)
    for g in range(layout.categories):
        if u[g] > 0:
            has = weight[g] > 0
            top += np.where(has, u[g] * category[g], 0.0)
            bottom += np.where(has, u[g], 0.0)
    valid = bottom > 0
    bottom = np.where(valid, bottom, 1.0)
    return np.where(valid, top / bottom, CENTRE), valid, category, weight, bottom


def combine(scores: np.ndarray, e: np.ndarray, layout: Layout) -> np.ndarray:
    """Overall scores from metric scores (N x M, NaN missing) and effective weights, as the engine computes them.

    Category scores are the weighted means of their present metrics; the overall score is the mean of the
    present categories weighted by their category weight. NaN where no weighted metric has a score.
    """
    overall, valid, *_ = _overall(_Columns(scores), np.asarray(e, dtype=float), layout)
    return np.where(valid, overall, np.nan)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """The dot product of two vectors, without BLAS: its threads can stall a 1-D product on a busy machine."""
    return float(np.einsum("i,i->", a, b))


def _gradient_dot(columns: _Columns, e: np.ndarray, layout: Layout, q: np.ndarray, overall, valid, category,
                  weight, bottom) -> np.ndarray:
    """``q @ d(overall)/d(e_k)`` for every metric k, without the N x M matrix of derivatives.

    For metric k of category c (u_c its weight, W_c its present metrics' weight, C_c its score, S the overall and
    B the present categories' weight): dS/de_k = [C_c - S] / B + u_c / B * present_k (score_k - C_c) / W_c where the
    category has a score, 0 elsewhere.
    """
    u = layout.category_sums(e)
    out = np.zeros(len(e))
    for g in range(layout.categories):
        has = (weight[g] > 0) & valid
        a = np.where(has, q / bottom, 0.0)
        via_weight = _dot(a, category[g] - overall)
        b = np.divide(u[g] * a, weight[g], out=np.zeros(columns.n), where=has)
        for k in np.flatnonzero(layout.category_of == g):
            # present_k (score_k - C_c) = filled_k - present_k C_c
            out[k] = via_weight + _dot(b, columns.filled[k]) - _dot(b * category[g], columns.present[k]) \
                if u[g] > 0 else via_weight
    return out


@dataclass(frozen=True)
class Fit:
    """Fitted effective weights ``e`` and the logistic model's ``intercept`` and ``slope`` (``b``, at most 0)."""

    e: np.ndarray
    intercept: float
    slope: float
    log_likelihood: float
    converged: bool


def _negative_log_likelihood(x: np.ndarray, columns: _Columns, churned: np.ndarray, layout: Layout):
    """The mean negative log-likelihood (mean: well scaled whatever the number of accounts) and its gradient."""
    m = len(columns.filled)
    e, a, b = x[:m], x[m], x[m + 1]
    overall, valid, category, weight, bottom = _overall(columns, e, layout)
    t = (overall - CENTRE) / SPREAD
    z = a + b * t
    n = columns.n
    loss = np.logaddexp(0.0, z) - churned * z  # log(1 + exp(z)) - y z, finite for any z
    residual = (expit(z) - churned) / n
    gradient = np.empty_like(x)
    gradient[:m] = _gradient_dot(columns, e, layout, residual * b / SPREAD, overall, valid, category, weight, bottom)
    gradient[m] = residual.sum()
    gradient[m + 1] = _dot(residual, t)
    return float(loss.sum() / n), gradient


def fit_weights(scores, churned, layout: Layout, *, start=None, min_category: float = 0.0,
                fixed_zero=None) -> Fit:
    """The effective weights that best explain the outcomes under the constraints (see the module docstring).

    Parameters
    ----------
    scores : array-like, N x M
        Metric scores 1-100, NaN where missing. Rows without any score are left out; past :data:`FIT_ROWS` rows,
        a fixed random sample of that many is used (the weights' standard errors are then well under 0.01).
    churned : array-like of bool, N
    layout : Layout
    start : array-like of float, optional
        Today's effective weights: the fit starts from them as well as from equal weights.
    min_category : float
        Each category's share of the overall score is at least this (0 to 1/categories).
    fixed_zero : array-like of bool, optional
        Metrics kept at weight 0 (e.g. with no data at all).

    Returns
    -------
    Fit
    """
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(churned, dtype=float)
    present = ~np.isnan(scores)
    keep = present.any(axis=1)
    scores, present, y = scores[keep], present[keep], y[keep]
    if len(y) > FIT_ROWS:  # a fixed random sample: the weights are as precise, and a million accounts fit in seconds
        chosen = np.sort(np.random.default_rng(0).choice(len(y), FIT_ROWS, replace=False))
        scores, present, y = scores[chosen], present[chosen], y[chosen]
    columns = _Columns(scores)
    m = scores.shape[1]
    zero = np.zeros(m, dtype=bool) if fixed_zero is None else np.asarray(fixed_zero, dtype=bool)
    zero = zero | ~present.any(axis=0)
    if min_category * layout.categories > 1 + 1e-9:
        raise ValueError(f"a minimum of {min_category:.0%} per category is more than the {layout.categories} "
                         f"categories can share")
    open_categories = np.bincount(layout.category_of[~zero], minlength=layout.categories) > 0
    constraints = [{"type": "eq", "fun": lambda x: x[:m].sum() - 1.0, "jac": lambda x: np.r_[np.ones(m), 0.0, 0.0]}]
    for c in range(layout.categories):
        if min_category > 0 and open_categories[c]:
            row = np.r_[(layout.category_of == c).astype(float), 0.0, 0.0]
            constraints.append({"type": "ineq", "fun": lambda x, row=row: row @ x - min_category,
                                "jac": lambda x, row=row: row})
    # the logistic model's intercept and slope stay in a range no real scorecard leaves (a slope of -50: churn odds
    # changing e^50-fold across the scale): without bounds a bad line search can run off and never come back
    bounds = [(0.0, 0.0) if z else (0.0, 1.0) for z in zero] + [(-50.0, 50.0), (-50.0, 0.0)]
    base_rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    starts = []
    equal = np.where(zero, 0.0, 1.0)
    for guess in ([] if start is None else [np.asarray(start, dtype=float)]) + [equal]:
        guess = np.where(zero, 0.0, np.clip(guess, 0.0, None))
        if guess.sum() <= 0:
            continue
        guess = guess / guess.sum()
        if min_category > 0:  # move into the feasible region: mix with equal category shares
            sums = layout.category_sums(guess)
            if (sums[open_categories] < min_category).any():
                per_category = np.bincount(layout.category_of[~zero], minlength=layout.categories)
                even = np.where(~zero, 1.0 / (open_categories.sum() * np.maximum(per_category, 1))[layout.category_of],
                                0.0)
                guess = 0.5 * guess + 0.5 * even
        starts.append(np.r_[guess, np.log(base_rate / (1 - base_rate)), -1.0])
    best = None
    for x0 in starts:
        result = minimize(_negative_log_likelihood, x0, args=(columns, y, layout), jac=True,
                          method="SLSQP", bounds=bounds, constraints=constraints,
                          options={"maxiter": 500, "ftol": 1e-12})
        if best is None or result.fun < best.fun:
            best = result
    x = best.x
    e = np.where(zero, 0.0, np.clip(x[:m], 0.0, None))
    e = e / e.sum()
    return Fit(e, float(x[m]), float(min(x[m + 1], 0.0)), -float(best.fun) * len(y), bool(best.success))


@dataclass(frozen=True)
class Cuts:
    """Cut points: Red below ``red_below``, Amber below ``amber_below``; and each band's accounts and churned."""

    red_below: int
    amber_below: int
    accounts: tuple[int, int, int]
    churned: tuple[int, int, int]


def best_cut_points(overall, churned, min_share: float = 0.10, lowest: int = 2, highest: int = 100) -> Cuts | None:
    """The whole-number cut points whose bands explain the outcomes best (module docstring); None if none qualify.

    Every pair ``lowest <= red_below < amber_below <= highest`` is tried at once from cumulative counts.
    """
    s = np.asarray(overall, dtype=float)
    y = np.asarray(churned, dtype=bool)
    keep = ~np.isnan(s)
    s, y = s[keep], y[keep]
    n = len(s)
    if n == 0:
        return None
    cuts = np.arange(lowest, highest + 1)
    order = np.sort(s)
    below = np.searchsorted(order, cuts, side="left")  # accounts scoring below each cut
    lost_below = np.searchsorted(np.sort(s[y]), cuts, side="left")
    n_red, k_red = below[:, None], lost_below[:, None]
    n_amber, k_amber = below[None, :] - below[:, None], lost_below[None, :] - lost_below[:, None]
    n_green, k_green = n - below[None, :], y.sum() - lost_below[None, :]
    counts = [np.broadcast_to(v, (len(cuts), len(cuts))).astype(float)
              for v in (n_red, k_red, n_amber, k_amber, n_green, k_green)]
    n_r, k_r, n_a, k_a, n_g, k_g = counts
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = [k / nn for k, nn in ((k_r, n_r), (k_a, n_a), (k_g, n_g))]
        fit = sum(_binomial_log_likelihood(k, nn) for k, nn in ((k_r, n_r), (k_a, n_a), (k_g, n_g)))
    ok = (cuts[:, None] < cuts[None, :])
    ok &= (np.minimum(np.minimum(n_r, n_a), n_g) >= min_share * n)
    ok &= (rates[0] >= rates[1]) & (rates[1] >= rates[2])
    if not ok.any():
        return None
    fit = np.where(ok, fit, -np.inf)
    i, j = np.unravel_index(int(np.argmax(fit)), fit.shape)  # first best: the lowest cut points among ties
    return Cuts(int(cuts[i]), int(cuts[j]), (int(n_r[i, j]), int(n_a[i, j]), int(n_g[i, j])),
                (int(k_r[i, j]), int(k_a[i, j]), int(k_g[i, j])))


def _binomial_log_likelihood(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sum over the accounts of log P(outcome) with the band's own churn rate (0 log 0 = 0)."""
    p = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        churn = np.where(k > 0, k * np.log(np.where(p > 0, p, 1)), 0.0)
        stay = np.where(n - k > 0, (n - k) * np.log(np.where(p < 1, 1 - p, 1)), 0.0)
    return churn + stay


def workbook_weights(e: np.ndarray, layout: Layout, decimals: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Effective weights as a person writes them: category weights summing to 100 and, within each category, metric
    weights summing to 100 (both rounded to ``decimals``). A category at 0 keeps metric weights of 0."""
    u = layout.category_sums(e)
    category = np.round(100 * u / u.sum(), decimals)
    within = np.divide(e, u[layout.category_of], out=np.zeros_like(e), where=u[layout.category_of] > 0)
    return np.round(100 * within, decimals), category


def rounded_effective(e: np.ndarray, layout: Layout, decimals: int = 0) -> np.ndarray:
    """The effective weights the workbook would score with after :func:`workbook_weights`' rounding."""
    metric, category = workbook_weights(e, layout, decimals)
    return effective_weights(metric, category, layout)


@dataclass(frozen=True)
class FoldResult:
    accounts: int
    churned: int
    auc_today: float | None
    auc_proposal: float | None


@dataclass
class CrossValidation:
    """Per fold: today's scorecard and the proposal fitted without that fold, both judged on it.

    ``held_out_bands``: each account's band (0 red, 1 amber, 2 green, 3 none) from the proposal fitted without
    its fold (weights and cut points), so the band churn rates it gives are out of sample. Bands, as everywhere,
    are those of the score as shown: a whole number (:func:`chs_excel.core.explain.rounded`).
    """

    folds: list[FoldResult]
    held_out_bands: np.ndarray

    def gains(self) -> np.ndarray:
        return np.array([f.auc_proposal - f.auc_today for f in self.folds
                         if f.auc_proposal is not None and f.auc_today is not None])

    def mean(self, which: str) -> float | None:
        values = [getattr(f, which) for f in self.folds if getattr(f, which) is not None]
        return float(np.mean(values)) if values else None

    def spread(self, which: str) -> tuple[float, float] | None:
        values = [getattr(f, which) for f in self.folds if getattr(f, which) is not None]
        return (float(min(values)), float(max(values))) if values else None

    def gain_error(self) -> float | None:
        """The standard error of the mean gain across folds (a rough one: folds share training data)."""
        gains = self.gains()
        return float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) >= 2 else None


def cross_validate(scores, churned, folds, layout: Layout, today_e: np.ndarray, today_cuts: tuple[float, float], *,
                   min_category: float = 0.0, min_share: float = 0.10) -> CrossValidation:
    """Fit on all folds but one and judge on that one, for every fold.

    Parameters
    ----------
    scores : array-like, N x M
        Metric scores of the accounts with an outcome, from before the outcome where Score History allows.
    churned : array-like of bool, N
    folds : array-like of int, N
        Each account's fold: an account is never judged by a fit that saw it.
    layout : Layout
    today_e : numpy.ndarray
        Today's effective weights (:func:`effective_weights`): judged as they are, fitted on nothing.
    today_cuts : tuple of float
        Today's red_below and amber_below (kept when no cut points qualify).
    """
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(churned, dtype=bool)
    folds = np.asarray(folds)
    bands = np.full(len(y), 3, dtype=np.int8)
    results = []
    for fold in np.unique(folds):
        test = folds == fold
        fit = fit_weights(scores[~test], y[~test], layout, start=today_e, min_category=min_category)
        e = rounded_effective(fit.e, layout)
        cuts = best_cut_points(rounded(combine(scores[~test], e, layout)), y[~test], min_share)
        proposal = combine(scores[test], e, layout)
        bands[test] = band_codes(rounded(proposal), *((cuts.red_below, cuts.amber_below) if cuts else today_cuts))
        results.append(FoldResult(int(test.sum()), int(y[test].sum()), auc(combine(scores[test], today_e, layout),
                                                                           y[test]), auc(proposal, y[test])))
    return CrossValidation(results, bands)
