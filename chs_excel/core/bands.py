"""The band of a score: Red below the first cut point, Amber below the second, Green from there.

The one place the rule is written; everything that shows a band (the engine, the
sheets, both writers through ``OutputSheet.cell_bands``) gets it from here.
Pure: numpy and the config types only, so the edge shapes in ``book/`` can use it without loading the engine.
"""
from __future__ import annotations

import numpy as np

from chs_excel import contract as c
from chs_excel.config.model import Bands


def band_labels(scores, red_below: float, amber_below: float) -> np.ndarray:
    """The band (``contract.BANDS``: red, amber, green) of each score ('' where there is none)."""
    values = np.asarray(scores, dtype=float)
    out = np.select([values < red_below, values < amber_below, values >= amber_below], list(c.BANDS), default="")
    return out.astype(object)


def band_of(scores, bands: Bands) -> np.ndarray:
    """:func:`band_labels` with the cut points of ``bands``."""
    return band_labels(scores, bands.red_below, bands.amber_below)
