"""How accounts spread over Red, Amber and Green, and cut points that would spread them evenly.

Seed 000: "you should find that you have an even distribution of customers
across red, amber, and green". More than half in one band is a sign the
bands (or the metrics) do not separate accounts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel.contract import BANDS
from chs_excel.core.distinct import text_codes

SKEW_SHARE = 0.5


def counts(bands: pd.Series) -> dict[str, int]:
    """Accounts per band, plus those without a score."""
    return counts_by(bands, np.zeros(len(bands), dtype=np.intp), 1)[0]


def counts_by(bands: pd.Series, groups: np.ndarray, size: int) -> list[dict[str, int]]:
    """:func:`counts` of each group of accounts, in one pass.

    Parameters
    ----------
    bands : pandas.Series
        Each account's band.
    groups : numpy.ndarray of int
        Each account's group, 0 to ``size - 1`` (-1: in none).
    size : int
        The number of groups.

    Returns
    -------
    list of dict
        For each group, accounts per band and "No score".
    """
    codes, texts = text_codes(bands, lambda s: s.fillna("").astype(str))
    column = np.full(len(texts) + 1, len(BANDS))  # the band of each distinct text; the last column: no band
    for b, band in enumerate(BANDS):
        column[np.flatnonzero(texts == band)] = b
    width = len(BANDS) + 1
    kept = groups >= 0
    table = np.bincount(groups[kept] * width + column[codes[kept]], minlength=size * width).reshape(size, width)
    return [{**{band: int(row[b]) for b, band in enumerate(BANDS)}, "No score": int(row[-1])} for row in table]


def shares(row: dict[str, int]) -> dict[str, float]:
    scored = sum(row[b] for b in BANDS)
    return {band: (row[band] / scored if scored else np.nan) for band in BANDS}


def even_thirds(scores) -> tuple[float, float] | None:
    """Cut points (Red below, Amber below) that split the scores into thirds as evenly as they allow.

    The cut points are scores themselves: the first score of the middle third
    and the first of the top third, so "Red below 40" puts exactly the bottom
    third in Red when there are no ties.
    """
    values = np.sort(np.asarray(scores, dtype=float)[~np.isnan(np.asarray(scores, dtype=float))])
    n = len(values)
    if n < 3:
        return None
    red_below, amber_below = values[int(round(n / 3))], values[int(round(2 * n / 3))]
    if not red_below < amber_below:
        return None
    return float(red_below), float(amber_below)


def skewed_band(row: dict[str, int]) -> tuple[str, float] | None:
    """The band holding more than half of the scored accounts of ``row`` and its share (None when no band does).

    Parameters
    ----------
    row : dict of str to int
        Accounts per band (and "No score", which does not count), as :func:`counts` gives them.

    Returns
    -------
    tuple of (str, float) or None
    """
    share = shares(row)
    worst = max(BANDS, key=lambda b: -1 if np.isnan(share[b]) else share[b])
    if np.isnan(share[worst]) or share[worst] <= SKEW_SHARE:
        return None
    return worst, float(share[worst])


def group_skew_warning(level: str, row: dict[str, int]) -> str:
    """A plain warning for one category or segment whose scored accounts sit mostly in one band ('' otherwise).

    ``level`` is "Category" or "Segment": the words differ, since a category's own score is what does not
    separate accounts, while a segment's accounts may simply all be alike.

    >>> group_skew_warning("Category", {"Red": 1, "Amber": 6, "Green": 1, "No score": 2})
    'Not separating: 75% of the accounts scored on this category are Amber.'
    """
    skew = skewed_band(row)
    if skew is None:
        return ""
    band, share = skew
    scored = sum(row[b] for b in BANDS)
    if level == "Category":
        return f"Not separating: {share:.0%} of the accounts scored on this category are {band}."
    if level == "Segment":
        return f"{share:.0%} of this segment's {scored} scored account(s) are {band}."
    return f"{share:.0%} of scored accounts are {band}."


def skew_warning(row: dict[str, int], scores) -> str:
    """A plain warning when more than half of the scored accounts sit in one band ('' otherwise)."""
    skew = skewed_band(row)
    if skew is None:
        return ""
    worst, share = skew
    text = (f"{share:.0%} of scored accounts are {worst}: the score is not separating accounts, "
            f"so it is hard to act on.")
    cuts = even_thirds(scores)
    if cuts:
        text += f" Consider these cut points: Red below {cuts[0]:g}, Amber below {cuts[1]:g} (even thirds of today's scores)."
    return text
