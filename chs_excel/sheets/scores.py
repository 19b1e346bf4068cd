"""The Scores sheet: one row per account, lowest overall score first."""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.table import OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import override_notes, rounded
from chs_excel.sheets.common import account_labels

CHANGE_FORMAT = '"▲ "0;"▼ "0;"▶ "0'


def scores_sheet(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, overall: pd.Series, band: pd.Series,
                 categories: pd.DataFrame, change: pd.Series, drops: pd.Series, drivers: pd.Series) -> OutputSheet:
    """One row per account: who it is, overall score and band, change, coverage, category and metric scores, why."""
    index = overall.index
    frame = pd.DataFrame({c.ACCOUNT_ID: index.to_numpy(), **account_labels(labels, index)})
    frame["Overall"] = overall.to_numpy()
    frame["Band"] = band.to_numpy()
    frame["Change"] = change.reindex(index).to_numpy()
    frame["Band drop"] = drops.reindex(index).to_numpy()
    frame["Coverage"] = np.round(result.coverage.to_numpy(), 4)
    frame["Status"] = result.status.to_numpy()
    bands: dict[str, tuple[float, float]] = {"Overall": (config.bands.red_below, config.bands.amber_below)}
    for cat in config.categories:
        frame[cat.name] = categories[cat.name].to_numpy()
        bands[cat.name] = (cat.bands.red_below, cat.bands.amber_below)
    for m in config.metrics:
        frame[m.name] = rounded(result.metric_scores[m.name])
        bands[m.name] = (m.bands.red_below, m.bands.amber_below)
    frame["Drivers"] = drivers.reindex(index).to_numpy()
    frame["Missing data"] = result.missing.to_numpy()
    frame["Override"] = override_notes(result).to_numpy()
    frame = frame.sort_values(["Overall", c.ACCOUNT_ID], na_position="last", kind="stable").reset_index(drop=True)
    widths = {c.ACCOUNT_ID: 12, "Account name": 28, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9, "Band": 8,
              "Change": 8, "Band drop": 14, "Coverage": 10, "Status": 16, "Drivers": 42, "Missing data": 30, "Override": 50}
    widths.update({name: 13 for name in list(bands)[1:]})
    return OutputSheet(c.SCORES, frame, bands=bands, band_label_columns=("Band",),
                       number_formats={"Coverage": "0%", "Change": CHANGE_FORMAT}, widths=widths, freeze="C2")
