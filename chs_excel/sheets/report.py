"""Everything a refresh writes: Scores, Benchmark Gap, Distribution, Score History and Data Issues.

Each sheet has its own module; this one computes what they share once (the
shown scores and bands, points lost, the change since the last snapshot) and
assembles them. Pure: builds :class:`OutputSheet` descriptions; writers put them in a workbook.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.analysis.targets import benchmark_targets, match_benchmarks
from chs_excel.book.form import FormSheet
from chs_excel.book.table import OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import driver_text, points_lost, rounded, shown_overall
from chs_excel.problems import DataIssue
from chs_excel.sheets.backtest import churn_risk
from chs_excel.sheets.common import account_labels
from chs_excel.sheets.data_issues import issues_sheet
from chs_excel.sheets.distribution import distribution_sheet
from chs_excel.sheets.gap import gap_sheet
from chs_excel.sheets.review import ReviewInputs, chosen_account, review_sheet
from chs_excel.sheets.score_history import HistorySheets, history_sheets
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
    # the Account Review page for any account: page(account, sheet name) (None when the refresh wrote no page)
    review_page: Callable[[str, str], FormSheet] | None = None


def build_report(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, issues: list[DataIssue],
                 as_of: dt.date, past: history.Past, *, review: ReviewInputs | None = None) -> Report:
    """The refresh's output sheets and headline counts, from the engine's result and Score History as it was
    (``past``: the snapshot before ``as_of`` is read from it, and for the Account Review page's trend, the others
    kept in a workbook of at most :data:`REVIEW_READS_HISTORY` accounts). ``review``: where the Account Review
    page looks values up, and the account it shows (None: no page)."""
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
    # Each account's benchmark, matched once: shown on Scores (the Account Review looks it up there) and used by
    # Benchmark Gap, which lists only the accounts below theirs
    info = account_labels(labels, overall.index)
    chosen = match_benchmarks(config, pd.Series(info["Segment"], index=overall.index),
                              pd.Series(info["Stage"], index=overall.index))
    benchmark = pd.Series(benchmark_targets(config, chosen).to_numpy(), index=overall.index)
    snapshot = history.snapshot(overall, band, categories, result.metric_scores)
    kept = history_sheets(config, past, as_of, snapshot)
    risk, risk_note = churn_risk(config, overall, band, lambda: _history_after(past, as_of, snapshot, kept)) \
        if config.churn_risk_column else (None, "")
    scores = scores_sheet(config, result, labels, overall, band, categories, change, drops, drivers, benchmark,
                          risk, risk_note)
    gap, gap_out, summary = gap_sheet(config, labels, overall, band, categories, lost, as_of, chosen=chosen)
    dist, warning = distribution_sheet(config, labels, overall, band, categories, as_of)
    bands = {b: int((band == b).sum()) for b in c.BANDS}
    index, *snapshots = kept.sheets
    issues_out = issues_sheet(issues)
    page_for = _review_maker(config, as_of, scores, gap_out, issues_out, index, past, snapshot, review, issues) \
        if review is not None else None
    pages = [page_for(review.selected)] if page_for is not None else []
    return Report([scores, gap_out, dist, index, issues_out] + pages + snapshots, bands, gap, warning, summary,
                  kept.remove, kept.note, page_for)


def _history_after(past: history.Past, as_of: dt.date, snapshot: pd.DataFrame, kept: HistorySheets) -> pd.DataFrame:
    """Score History as the backtest will read it after this refresh: the snapshots kept and this refresh's own
    (so that the Churn risk column and the Validation sheet count the same accounts)."""
    written = {sheet.name for sheet in kept.sheets}
    days = {day: past.get(day) for day in past.days() if day != as_of
            and ((day in past.sheets and past.sheets[day] not in kept.remove) or history.sheet_name(day) in written)}
    days[as_of] = snapshot.set_index(history.ACCOUNT)
    return history.long_frame(days)


def _review_maker(config, as_of, scores, gap_out, issues_out, index, past, snapshot, review, issues
                  ) -> Callable[[str, str], FormSheet]:
    """A function writing the Account Review page for any account, from this refresh's sheets."""
    def page_for(account: str, name: str = c.ACCOUNT_REVIEW) -> FormSheet:
        chosen = chosen_account(scores.frame, account)
        trend = _review_history(index.frame, past, as_of, snapshot, chosen)
        return review_sheet(config, as_of, scores, gap_out, issues_out, trend, replace(review, selected=chosen),
                            issues, name=name)
    return page_for


REVIEW_READS_HISTORY = 20_000  # past this many accounts, older snapshots are not read for the page's saved values


def _review_history(index: pd.DataFrame, past: history.Past, as_of: dt.date, new: pd.DataFrame,
                    account: str) -> list[tuple[dt.date, str, float | None]]:
    """The snapshots the Account Review chart draws (the newest 12 kept, oldest first), with ``account``'s
    overall in each: NaN when it has none, None when not read (a large workbook: the spreadsheet works it out)."""
    kept = index.sort_values(history.DATE).tail(12)
    out = []
    for day, sheet in zip(kept[history.DATE], kept[history.SHEET]):
        day = day.date() if isinstance(day, pd.Timestamp) else day
        if day == as_of:
            rows = new.set_index(history.ACCOUNT)[history.OVERALL]
        elif len(new) <= REVIEW_READS_HISTORY:
            frame = past.get(day)
            rows = frame[history.OVERALL] if history.OVERALL in frame else pd.Series(dtype=float)
        else:
            out.append((day, sheet, None))
            continue
        value = pd.to_numeric(pd.Series([rows.get(account)]), errors="coerce").iloc[0]
        out.append((day, sheet, float(value)))
    return out
