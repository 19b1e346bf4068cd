"""Does the score predict churn? Separation measures of a credit-scorecard kind, in plain numbers.

Convention: a health score should be *high* for accounts that stay, so every
measure treats "retained" as the positive class and the score as its predictor.
All functions ignore accounts without a score and return ``None`` when a
measure is undefined (e.g. no account churned), never raising.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from chs_excel.analysis.history import ACCOUNT, DATE

PSI_EDGES = np.array([-np.inf, 10, 20, 30, 40, 50, 60, 70, 80, 90, np.inf])  # ten bins over the 1-100 scale
PSI_FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite


def _clean(scores, churned) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=float)
    y = np.asarray(churned, dtype=bool)
    keep = ~np.isnan(s)
    return s[keep], y[keep]


def auc(scores, churned) -> float | None:
    """Chance that a retained account scores higher than a churned one (ties count half); None if a class is empty."""
    s, y = _clean(scores, churned)
    kept, lost = int((~y).sum()), int(y.sum())
    if kept == 0 or lost == 0:
        return None
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[~y].sum() - kept * (kept + 1) / 2) / (kept * lost))


def gini(area: float | None) -> float | None:
    return None if area is None else 2 * area - 1


def ks(scores, churned) -> tuple[float, float] | tuple[None, None]:
    """Largest gap between the score distributions of retained and churned accounts, and the score where it is."""
    s, y = _clean(scores, churned)
    if y.all() or not y.any():
        return None, None
    values = np.unique(s)
    cdf_kept = np.searchsorted(np.sort(s[~y]), values, side="right") / (~y).sum()
    cdf_lost = np.searchsorted(np.sort(s[y]), values, side="right") / y.sum()
    gap = np.abs(cdf_lost - cdf_kept)
    k = int(np.argmax(gap))
    return float(gap[k]), float(values[k])


def top_decile_lift(scores, churned) -> float | None:
    """Churn rate among the lowest-scored tenth of accounts, over the churn rate of all of them.

    The tenth is the ceil(n/10) lowest scores; ties at its edge are taken in table order.
    """
    s, y = _clean(scores, churned)
    if len(s) == 0 or not y.any():
        return None
    size = math.ceil(len(s) / 10)
    lowest = np.argsort(s, kind="stable")[:size]
    return float(y[lowest].mean() / y.mean())


def psi(expected, actual) -> float | None:
    """Population stability index between two sets of scores, over ten bins of the 1-100 scale."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e, a = e[~np.isnan(e)], a[~np.isnan(a)]
    if len(e) == 0 or len(a) == 0:
        return None
    e_share = np.maximum(np.histogram(e, PSI_EDGES)[0] / len(e), PSI_FLOOR)
    a_share = np.maximum(np.histogram(a, PSI_EDGES)[0] / len(a), PSI_FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def psi_reading(value: float | None) -> str:
    if value is None:
        return "needs two snapshots in Score History"
    return "stable" if value < 0.1 else ("shifting" if value <= 0.25 else "shifted")


def auc_reading(value: float | None) -> str:
    if value is None:
        return "undefined: needs both churned and retained accounts"
    if value >= 0.8:
        return "strong"
    if value >= 0.7:
        return "useful"
    if value >= 0.6:
        return "weak"
    if value > 0.4:
        return "no better than a coin toss"
    return "backwards: higher scores churned more"


def churn_table(groups: pd.Series, churned: pd.Series, order: list[str] | None = None) -> pd.DataFrame:
    """Accounts, churned and churn rate per group (groups with no accounts are shown with 0)."""
    frame = pd.DataFrame({"group": groups.fillna("").astype(str).replace("", "(none)"), "churned": churned.astype(bool)})
    table = frame.groupby("group", sort=True)["churned"].agg(["size", "sum"])
    if order is not None:
        table = table.reindex(order + [g for g in table.index if g not in order], fill_value=0)
    rate = np.where(table["size"] > 0, table["sum"] / table["size"].where(table["size"] > 0, 1), np.nan)
    return pd.DataFrame({"Accounts": table["size"].astype(int), "Churned": table["sum"].astype(int), "Churn rate": rate},
                        index=table.index)


def scores_before_outcome(history: pd.DataFrame, outcome_dates: pd.Series, days: int) -> pd.DataFrame:
    """For each account, its last Score History snapshot at least ``days`` days before its outcome date.

    Accounts without such a snapshot (or without an outcome date) are left out: a score
    computed after the fact would flatter the backtest.
    """
    if not len(history):
        return pd.DataFrame()
    dates = outcome_dates.dropna()
    cutoff = pd.Series([d - dt.timedelta(days=days) for d in dates], index=dates.index)
    merged = history.merge(cutoff.rename("cutoff"), left_on=ACCOUNT, right_index=True)
    eligible = merged[merged[DATE] <= merged["cutoff"]]
    latest = eligible.sort_values(DATE, kind="stable").groupby(ACCOUNT).tail(1)
    return latest.set_index(ACCOUNT).drop(columns=["cutoff"])
