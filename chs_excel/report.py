"""Lay the engine's results out as the sheets chs-excel writes: Scores and Data Issues."""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.table import OutputSheet
from chs_excel.config import HealthConfig
from chs_excel.engine import ScoreResult, band_of
from chs_excel.problems import DataIssue

ISSUE_COLUMNS = ["Sheet", "Cell", "Row", "Column", "Value", "Problem", "What chs-excel did"]


def rounded(values) -> np.ndarray:
    """Whole-number scores, halves rounded up (what a person expects: 69.5 -> 70)."""
    return np.floor(np.asarray(values, dtype=float) + 0.5)


def scores_sheet(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame) -> OutputSheet:
    """One row per account: who it is, overall score and band, coverage, category and metric scores."""
    overall = rounded(result.overall)
    band = np.where(result.overall_band.to_numpy() == "", "", result.overall_band.to_numpy()).astype(object)
    # The band follows the shown (rounded) score, unless an override set the band itself.
    computed = band_of(overall, config.bands)
    from_override = result.overrides.str.contains("Band set to", regex=False).to_numpy()
    band = np.where(from_override, band, computed)
    frame = pd.DataFrame({c.ACCOUNT_ID: result.overall.index.to_numpy()})
    for col in c.ACCOUNT_COLUMNS[1:]:
        frame[col] = labels[col].to_numpy() if col in labels else ""
    frame["Overall"] = overall
    frame["Band"] = band
    frame["Coverage"] = np.round(result.coverage.to_numpy(), 4)
    frame["Status"] = result.status.to_numpy()
    bands: dict[str, tuple[float, float]] = {"Overall": (config.bands.red_below, config.bands.amber_below)}
    for cat in config.categories:
        frame[cat.name] = rounded(result.category_scores[cat.name])
        bands[cat.name] = (cat.bands.red_below, cat.bands.amber_below)
    for m in config.metrics:
        frame[m.name] = rounded(result.metric_scores[m.name])
        bands[m.name] = (m.bands.red_below, m.bands.amber_below)
    frame["Missing data"] = result.missing.to_numpy()
    frame["Override"] = result.overrides.to_numpy()
    frame = frame.sort_values(["Overall", c.ACCOUNT_ID], na_position="last", kind="stable").reset_index(drop=True)
    widths = {c.ACCOUNT_ID: 12, "Account name": 28, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9, "Band": 8,
              "Coverage": 10, "Status": 16, "Missing data": 30, "Override": 50}
    widths.update({name: 13 for name in list(bands)[1:]})
    return OutputSheet(c.SCORES, frame, bands=bands, band_label_columns=("Band",),
                       number_formats={"Coverage": "0%"}, widths=widths, freeze="C2")


def issues_sheet(issues: list[DataIssue]) -> OutputSheet:
    rows = [[i.sheet, i.cell.split("!")[-1], i.row, i.column, "" if i.value is None else i.value, i.problem, i.action]
            for i in issues]
    if not rows:
        rows = [["", "", None, "", "", "No data issues: every cell was used.", ""]]
    frame = pd.DataFrame(rows, columns=ISSUE_COLUMNS)
    frame["Value"] = frame["Value"].map(lambda v: v if isinstance(v, str) else ("" if v is None else str(v)))
    widths = {"Sheet": 15, "Cell": 8, "Row": 7, "Column": 22, "Value": 22, "Problem": 55, "What chs-excel did": 45}
    return OutputSheet(c.DATA_ISSUES, frame, widths=widths, freeze="A2")
