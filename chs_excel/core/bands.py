"""The band of a score: Red below the first cut point, Amber below the second, Green from there.

The one place the rule is written; everything that shows a band (the engine, the
sheets, both writers through ``OutputSheet.cell_bands``) gets it from here.
Pure: numpy and the config types only, so the edge shapes in ``book/`` can use it without loading the engine.
"""
from __future__ import annotations

import numpy as np

from chs_excel import contract as c
from chs_excel.config.model import Bands


_LABELS = np.array(list(c.BANDS) + [""], dtype=object)


def band_codes(scores, red_below: float, amber_below: float) -> np.ndarray:
    """The band of each score as its position in ``contract.BANDS`` (0 red, 1 amber, 2 green), 3 where it has none.

    Parameters
    ----------
    scores : array-like of float
        NaN where there is no score.
    red_below, amber_below : float
        The cut points: Red below the first, Amber below the second, Green from there.

    Returns
    -------
    numpy.ndarray of int8
        The shape of ``scores``.
    """
    values = np.asarray(scores, dtype=float)
    code = np.full(values.shape, 3, dtype=np.int8)
    # The first rule that holds wins (red, then amber, then green): set them last to first.
    code[values >= amber_below] = 2
    code[values < amber_below] = 1
    code[values < red_below] = 0
    return code


def band_labels(scores, red_below: float, amber_below: float) -> np.ndarray:
    """The band (``contract.BANDS``: red, amber, green) of each score ('' where there is none)."""
    return np.asarray(_LABELS[band_codes(scores, red_below, amber_below)], dtype=object)  # no text made per score


def band_of(scores, bands: Bands) -> np.ndarray:
    """:func:`band_labels` with the cut points of ``bands``."""
    return band_labels(scores, bands.red_below, bands.amber_below)
