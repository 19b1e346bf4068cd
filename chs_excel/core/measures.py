"""Measure types: each turns one metric's raw values into scores from 1 to 100.

Every function is pure and vectorised: it takes array-likes (numpy arrays or
pandas Series, one value per account, in the same order) and returns a float
numpy array of scores, with NaN where the value is missing or cannot be scored.
Plain numpy keeps one account as cheap as it can be (a single-row worksheet
function) and a million as fast. Nothing here knows about sheets, cells or Excel.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from chs_excel.core.distinct import each_value

MIN_SCORE = 1.0
MAX_SCORE = 100.0
# Every score is rounded to this many decimals as it is made. Floating point puts the same point of a scale at
# 50.49999999999999 by one route (a goal's attainment) and 50.5 by another (a range): rounded here, equal inputs
# give equal scores, so the whole number shown, the band and the roll-up never disagree over a rounding crumb.
# Nine decimals is far below anything a person can tell apart and far above floating point's noise (1e-13 here).
SCORE_DECIMALS = 9


def _floats(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def settled(scores) -> np.ndarray:
    """Scores rounded to :data:`SCORE_DECIMALS` decimals (NaN stays NaN), as every measure returns them.

    >>> settled([50.49999999999999, 50.5000000001, np.nan]).tolist()
    [50.5, 50.5, nan]
    """
    return np.round(_floats(scores), SCORE_DECIMALS)


def linear(values, low: float, high: float, higher_is_better: bool = True) -> np.ndarray:
    """Map ``low..high`` linearly onto 1..100, clamped at both ends.

    With ``higher_is_better=False`` the map is reversed: ``low`` scores 100 and
    ``high`` scores 1.

    >>> linear(pd.Series([0, 5, 10, 20]), 0, 10).tolist()
    [1.0, 50.5, 100.0, 100.0]
    """
    if high == low:
        raise ValueError("low and high must differ")
    share = np.clip((_floats(values) - low) / (high - low), 0.0, 1.0)
    if not higher_is_better:
        share = 1.0 - share
    return settled(MIN_SCORE + (MAX_SCORE - MIN_SCORE) * share)


def threshold(values, cut_points: list[float], scores: list[float]) -> np.ndarray:
    """Score by bands of ordered cut points.

    ``scores`` has one more entry than ``cut_points``: a value below the first
    cut point gets ``scores[0]``, a value at or above cut point *i* (and below
    the next) gets ``scores[i + 1]``.

    >>> threshold(pd.Series([0, 5, 9.9, 10, 50]), [5, 10], [10, 50, 100]).tolist()
    [10.0, 50.0, 50.0, 100.0, 100.0]
    """
    if len(scores) != len(cut_points) + 1:
        raise ValueError("threshold needs one more score than cut points")
    cuts = np.asarray(cut_points, dtype=float)
    if np.any(np.diff(cuts) <= 0):
        raise ValueError("cut points must increase")
    raw = _floats(values)
    band = np.searchsorted(cuts, raw, side="right")
    out = settled(scores)[band]
    out[np.isnan(raw)] = np.nan
    return out


def even_scores(n_bands: int, higher_is_better: bool = True) -> list[float]:
    """Evenly spaced scores from 1 to 100 for ``n_bands`` threshold bands."""
    if n_bands == 1:
        return [MAX_SCORE]
    step = (MAX_SCORE - MIN_SCORE) / (n_bands - 1)
    ladder = [round(MIN_SCORE + i * step, 6) for i in range(n_bands)]
    return ladder if higher_is_better else ladder[::-1]


def ratio(numerator, denominator, low: float = 0.0, high: float = 1.0,
          higher_is_better: bool = True) -> np.ndarray:
    """Score ``numerator / denominator`` (e.g. active against purchased users) on ``low..high``.

    A zero or missing denominator gives NaN (no score), not infinity.
    """
    den = _floats(denominator)
    den = np.where(den != 0, den, np.nan)
    return linear(_floats(numerator) / den, low, high, higher_is_better)


def period_change(previous, latest) -> np.ndarray:
    """Relative change from one period to the next: ``(latest - previous) / |previous|``.

    A previous value of zero gives NaN: growth from nothing has no meaningful rate.
    """
    prev = _floats(previous)
    prev = np.where(prev != 0, prev, np.nan)
    return (_floats(latest) - prev) / np.abs(prev)


def trend(previous, latest, low: float, high: float, higher_is_better: bool = True) -> np.ndarray:
    """Score the period-over-period change, mapped like :func:`linear` (e.g. -20%..+20%)."""
    return linear(period_change(previous, latest), low, high, higher_is_better)


def elapsed_share(as_of: dt.date, start: dt.date, end: dt.date) -> float:
    """Share of a goal period elapsed at ``as_of``, counting whole days, both ends included.

    On the first day 1/N of the period has elapsed; on the last day and after, all of it.
    """
    if end < start:
        raise ValueError("goal period ends before it starts")
    total_days = (end - start).days + 1
    done_days = (as_of - start).days + 1
    return min(max(done_days / total_days, 0.0), 1.0)


def goal(values, target, share_elapsed: float, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Score attainment against a time-bound goal.

    Attainment is the value divided by the part of the target due by now
    (``target * share_elapsed``), so 40 of a 100 goal halfway through the
    period is 80% attainment. Attainment ``low..high`` maps to 1..100
    (default 0%..100%). Before the period starts nothing is due: NaN.
    """
    due = np.broadcast_to(_floats(target), np.shape(values)) * share_elapsed
    due = np.where(due > 0, due, np.nan)
    return linear(_floats(values) / due, low, high, True)


def categorical(labels, mapping: dict[str, float]) -> np.ndarray:
    """Map labels (e.g. CSM sentiment Green/Amber/Red) to scores.

    Matching ignores case and surrounding spaces; an unknown label gives NaN.
    """
    keyed = {str(k).strip().casefold(): float(settled(v)) for k, v in mapping.items()}
    nan = float("nan")
    return each_value(labels, lambda v: nan if _is_missing(v) else keyed.get(str(v).strip().casefold(), nan), float)


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def unknown_labels(labels, mapping: dict[str, float]) -> np.ndarray:
    """True where a non-blank label is not in ``mapping`` (to report it as a data issue)."""
    keys = {str(k).strip().casefold() for k in mapping}

    def unknown(v) -> bool:
        text = None if _is_missing(v) else str(v).strip().casefold()
        return bool(text) and text not in keys
    return each_value(labels, unknown, bool)
