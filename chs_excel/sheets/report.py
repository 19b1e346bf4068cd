"""Everything a refresh writes: Scores, Benchmark Gap, Distribution, Score History and Data Issues.

Each sheet has its own module; this one computes what they share once (the
shown scores and bands, points lost, the change since the last snapshot) and
assembles them. Pure: builds :class:`OutputSheet` descriptions; writers put them in a workbook.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.book.table import OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import driver_text, points_lost, rounded, shown_overall
from chs_excel.problems import DataIssue
from chs_excel.sheets.data_issues import issues_sheet
from chs_excel.sheets.distribution import distribution_sheet
from chs_excel.sheets.gap import gap_sheet
from chs_excel.sheets.score_history import history_sheets
from chs_excel.sheets.scores import scores_sheet


@dataclass
class Report:
    """Everything a refresh shows, computed once."""

    sheets: list[OutputSheet]
    bands: dict[str, int]
    gap: pd.DataFrame
    skew_warning: str = ""
    summary: dict[str, int] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)  # snapshot sheets Score History no longer keeps
    history_note: str = ""  # said when Score History dropped snapshots


def build_report(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, issues: list[DataIssue],
                 as_of: dt.date, past: history.Past) -> Report:
    """The refresh's output sheets and headline counts, from the engine's result and Score History as it was
    (``past``: only the snapshot before ``as_of`` is read from it)."""
    overall, band = shown_overall(config, result)
    categories = pd.DataFrame({cat.name: rounded(result.category_scores[cat.name]) for cat in config.categories},
                              index=overall.index)
    lost = points_lost(config, result.metric_scores)
    drivers = driver_text(lost)
    _, before = past.previous(as_of)
    change = overall - before[history.OVERALL].reindex(overall.index) \
        if len(before) and history.OVERALL in before else pd.Series(np.nan, index=overall.index)
    drops = history.band_drops(band, before[history.BAND]) if len(before) and history.BAND in before \
        else pd.Series("", index=overall.index)
    scores = scores_sheet(config, result, labels, overall, band, categories, change, drops, drivers)
    gap, gap_out, summary = gap_sheet(config, labels, overall, band, categories, lost, as_of)
    dist, warning = distribution_sheet(config, labels, overall, band, categories, as_of)
    snapshot = history.snapshot(overall, band, categories, result.metric_scores)
    kept = history_sheets(config, past, as_of, snapshot)
    bands = {b: int((band == b).sum()) for b in c.BANDS}
    index, *snapshots = kept.sheets
    return Report([scores, gap_out, dist, index, issues_sheet(issues)] + snapshots, bands, gap, warning, summary,
                  kept.remove, kept.note)
