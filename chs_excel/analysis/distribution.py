"""How accounts spread over Red, Amber and Green, and cut points that would spread them evenly.

Seed 000: "you should find that you have an even distribution of customers
across red, amber, and green". More than half in one band is a sign the
bands (or the metrics) do not separate accounts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel.contract import BANDS

SKEW_SHARE = 0.5


def counts(bands: pd.Series) -> dict[str, int]:
    """Accounts per band, plus those without a score."""
    values = bands.fillna("").astype(str)
    out = {band: int((values == band).sum()) for band in BANDS}
    out["No score"] = int(len(values) - sum(out.values()))
    return out


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


def skew_warning(row: dict[str, int], scores) -> str:
    """A plain warning when more than half of the scored accounts sit in one band ('' otherwise)."""
    share = shares(row)
    worst = max(BANDS, key=lambda b: -1 if np.isnan(share[b]) else share[b])
    if np.isnan(share[worst]) or share[worst] <= SKEW_SHARE:
        return ""
    text = (f"{share[worst]:.0%} of scored accounts are {worst}: the score is not separating accounts, "
            f"so it is hard to act on.")
    cuts = even_thirds(scores)
    if cuts:
        text += f" Consider these cut points: Red below {cuts[0]:g}, Amber below {cuts[1]:g} (even thirds of today's scores)."
    return text
