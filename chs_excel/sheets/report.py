"""Lay the engine's results out as the sheets chs-excel writes.

Scores (every account), Benchmark Gap (the to-do list), Distribution (is the
score separating accounts?), Score History (dated snapshots) and Data Issues.
Pure: builds :class:`OutputSheet` descriptions; writers put them in a workbook.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import distribution, history
from chs_excel.analysis.targets import benchmark_targets, category_points, match_benchmarks, select_playbooks, top_names
from chs_excel.book.table import BarChart, OutputSheet, Table
from chs_excel.config import HealthConfig
from chs_excel.core.engine import ScoreResult, band_of, driver_text, points_lost
from chs_excel.problems import DataIssue

ISSUE_COLUMNS = ["Sheet", "Cell", "Row", "Column", "Value", "Problem", "What chs-excel did"]
CHANGE_FORMAT = '"▲ "0;"▼ "0;"▶ "0'
CHART_COLORS = ("E06666", "FFD966", "93C47D")  # red, amber, green bars


def rounded(values) -> np.ndarray:
    """Whole-number scores, halves rounded up (what a person expects: 69.5 -> 70)."""
    return np.floor(np.asarray(values, dtype=float) + 0.5)


@dataclass
class Report:
    """Everything a refresh shows, computed once."""

    sheets: list[OutputSheet]
    bands: dict[str, int]
    gap: pd.DataFrame
    skew_warning: str = ""
    summary: dict[str, int] = field(default_factory=dict)


def shown_overall(config: HealthConfig, result: ScoreResult) -> tuple[pd.Series, pd.Series]:
    """The overall score as shown (whole number) and its band (a CSM band override wins)."""
    overall = pd.Series(rounded(result.overall), index=result.overall.index)
    band = pd.Series(band_of(overall, config.bands), index=overall.index, dtype=object)
    from_override = result.overrides.str.contains("Band set to", regex=False)
    band[from_override] = result.overall_band[from_override]
    return overall, band


def build_report(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, issues: list[DataIssue],
                 as_of: dt.date, history_table: Table | None = None) -> Report:
    overall, band = shown_overall(config, result)
    categories = pd.DataFrame({cat.name: rounded(result.category_scores[cat.name]) for cat in config.categories},
                              index=overall.index)
    lost = points_lost(config, result.metric_scores)
    drivers = driver_text(lost)
    past = history.read_history(history_table)
    before = history.previous(past, as_of)
    change = overall - pd.to_numeric(before[history.OVERALL], errors="coerce").reindex(overall.index) \
        if len(before) else pd.Series(np.nan, index=overall.index)
    drops = history.band_drops(band, before[history.BAND]) if len(before) else pd.Series("", index=overall.index)
    scores = scores_sheet(config, result, labels, overall, band, categories, change, drops, drivers)
    gap, gap_out, summary = gap_sheet(config, labels, overall, band, categories, lost, as_of)
    dist, warning = distribution_sheet(config, labels, overall, band, categories, as_of)
    snapshot = history.snapshot(as_of, overall, band, categories)
    kept = history.merge(past, snapshot)
    bands = {b: int((band == b).sum()) for b in ("Red", "Amber", "Green")}
    return Report([scores, gap_out, dist, history_sheet(kept), issues_sheet(issues)], bands, gap, warning, summary)


def _labels(labels: pd.DataFrame, index: pd.Index) -> dict[str, np.ndarray]:
    return {col: (labels[col].reindex(index).to_numpy() if col in labels else np.full(len(index), "", dtype=object))
            for col in c.ACCOUNT_COLUMNS[1:]}


def scores_sheet(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, overall: pd.Series, band: pd.Series,
                 categories: pd.DataFrame, change: pd.Series, drops: pd.Series, drivers: pd.Series) -> OutputSheet:
    """One row per account: who it is, overall score and band, change, coverage, category and metric scores, why."""
    index = overall.index
    frame = pd.DataFrame({c.ACCOUNT_ID: index.to_numpy(), **_labels(labels, index)})
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
    frame["Override"] = result.overrides.to_numpy()
    frame = frame.sort_values(["Overall", c.ACCOUNT_ID], na_position="last", kind="stable").reset_index(drop=True)
    widths = {c.ACCOUNT_ID: 12, "Account name": 28, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9, "Band": 8,
              "Change": 8, "Band drop": 14, "Coverage": 10, "Status": 16, "Drivers": 42, "Missing data": 30, "Override": 50}
    widths.update({name: 13 for name in list(bands)[1:]})
    return OutputSheet(c.SCORES, frame, bands=bands, band_label_columns=("Band",),
                       number_formats={"Coverage": "0%", "Change": CHANGE_FORMAT}, widths=widths, freeze="C2")


def gap_sheet(config: HealthConfig, labels: pd.DataFrame, overall: pd.Series, band: pd.Series, categories: pd.DataFrame,
              lost: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, OutputSheet, dict[str, int]]:
    """Accounts below the benchmark for their segment and stage, biggest gap first, with the playbook to run."""
    index = overall.index
    info = _labels(labels, index)
    segment, stage = pd.Series(info["Segment"], index=index), pd.Series(info["Stage"], index=index)
    chosen = match_benchmarks(config, segment, stage)
    target = benchmark_targets(config, chosen)
    gap = overall - target
    playbook = select_playbooks(config, band, stage, top_names(category_points(config, lost)), top_names(lost))
    below = gap < 0
    drivers = driver_text(lost.loc[below], top=3)
    cat_text = []
    for account in index[below]:
        k = chosen[account]
        parts = [f"{name} {categories.at[account, name]:.0f} < {goal:g}"
                 for name, goal in config.benchmarks[k].category_targets.items()
                 if categories.at[account, name] < goal]
        cat_text.append(", ".join(parts))
    rows = pd.DataFrame({c.ACCOUNT_ID: index[below].to_numpy(),
                         **{k: v[below.to_numpy()] for k, v in info.items()},
                         "Overall": overall[below].to_numpy(), "Benchmark": target[below].to_numpy(),
                         "Gap": gap[below].to_numpy(), "Costing most points": drivers.to_numpy(),
                         "Categories below target": np.array(cat_text, dtype=object)})
    picks = playbook[below].to_numpy()
    books = config.playbooks
    rows["Playbook"] = [books[k].name if k >= 0 else "" for k in picks]
    rows["Actions"] = [books[k].actions if k >= 0 else "" for k in picks]
    rows["Owner"] = [books[k].owner if k >= 0 else "" for k in picks]
    rows["_link"] = [(books[k].link or books[k].location) if k >= 0 else None for k in picks]
    rows = rows.sort_values(["Gap", c.ACCOUNT_ID], kind="stable").reset_index(drop=True)
    links = rows.pop("_link").tolist()
    summary = {"below": int(below.sum()), "at_or_above": int((gap >= 0).sum()),
               "no_benchmark": int(((chosen < 0) & overall.notna()).sum()), "no_score": int(overall.isna().sum())}
    preamble = [[f"Benchmark gap as of {as_of.isoformat()}: accounts below the benchmark for their segment and stage"],
                [summary["below"], "accounts below their benchmark (listed below, biggest gap first)"],
                [summary["at_or_above"], "at or above their benchmark"],
                [summary["no_benchmark"], "with no benchmark for their segment and stage"],
                [summary["no_score"], "without an overall score (not enough data)"],
                []]
    widths = {c.ACCOUNT_ID: 12, "Account name": 26, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9,
              "Benchmark": 11, "Gap": 7, "Costing most points": 44, "Categories below target": 30, "Playbook": 26,
              "Actions": 60, "Owner": 16}
    out = OutputSheet(c.GAP, rows, bands={"Overall": (config.bands.red_below, config.bands.amber_below)},
                      widths=widths, freeze=f"C{len(preamble) + 2}", preamble=preamble, links={"Playbook": links})
    return rows, out, summary


def distribution_sheet(config: HealthConfig, labels: pd.DataFrame, overall: pd.Series, band: pd.Series,
                       categories: pd.DataFrame, as_of: dt.date) -> tuple[OutputSheet, str]:
    """Red/amber/green counts and shares: overall, per category, per segment; a chart; a skew warning."""
    rows = []

    def add(level: str, group: str, bands: pd.Series) -> dict:
        count = distribution.counts(bands)
        share = distribution.shares(count)
        rows.append({"Level": level, "Group": group, **{b: count[b] for b in distribution.BANDS},
                     "No score": count["No score"], **{f"{b} %": share[b] for b in distribution.BANDS}})
        return count

    total = add("Overall", "All accounts", band)
    for cat in config.categories:
        add("Category", cat.name, pd.Series(band_of(categories[cat.name], cat.bands), index=categories.index))
    segments = pd.Series(_labels(labels, overall.index)["Segment"], index=overall.index)
    for name in sorted({str(s) for s in segments if str(s).strip()}):
        add("Segment", name, band[segments.astype(str) == name])
    warning = distribution.skew_warning(total, overall.to_numpy())
    frame = pd.DataFrame(rows)
    preamble: list[list] = [[f"Red / amber / green distribution as of {as_of.isoformat()}"],
                [warning or "No band holds more than half of the scored accounts: the score separates accounts."],
                []]
    fmt = {f"{b} %": "0%" for b in distribution.BANDS}
    chart = BarChart("Share of accounts by band", "Group", distribution.BANDS, CHART_COLORS,
                     anchor=f"B{len(preamble) + len(frame) + 4}")  # under the table
    widths = {"Level": 10, "Group": 24, "No score": 9}
    return OutputSheet(c.DISTRIBUTION, frame, number_formats=fmt, widths=widths, freeze="A5", preamble=preamble,
                       charts=[chart]), warning


def history_sheet(frame: pd.DataFrame) -> OutputSheet:
    return OutputSheet(c.SCORE_HISTORY, frame.reset_index(drop=True), number_formats={history.DATE: "yyyy-mm-dd"},
                       widths={history.DATE: 12, history.ACCOUNT: 12}, freeze="C2")


MAX_ISSUES_PER_KIND = 1_000
_DETAILS = re.compile(r'"[^"]*"|\d+')


def _kind(issue: DataIssue) -> tuple[str, str, str, str]:
    """Issues of one kind: same sheet, column, action and problem once quoted names and numbers are set aside."""
    return issue.sheet, issue.column, _DETAILS.sub("#", issue.problem), issue.action


def issues_sheet(issues: list[DataIssue]) -> OutputSheet:
    """One row per issue, at most MAX_ISSUES_PER_KIND of each kind, then one row saying how many more and where."""
    rows = []
    extra: dict[tuple, list] = {}
    shown: dict[tuple, int] = {}
    for i in issues:
        kind = _kind(i)
        if shown.get(kind, 0) < MAX_ISSUES_PER_KIND:
            shown[kind] = shown.get(kind, 0) + 1
            rows.append([i.sheet, i.cell.split("!")[-1], i.row, i.column, "" if i.value is None else i.value, i.problem,
                         i.action])
            continue
        more = extra.setdefault(kind, [0, None, None, i.problem])
        more[0] += 1
        if isinstance(i.row, int):
            more[1] = i.row if more[1] is None else min(more[1], i.row)
            more[2] = i.row if more[2] is None else max(more[2], i.row)
    for (sheet, column, _, action), (count, first, last, problem) in extra.items():
        where = f" (rows {first} to {last})" if first is not None and first != last else (f" (row {first})" if first else "")
        rows.append([sheet, "", None, column, "", f'... and {count:,} more rows like "{problem}"{where}',
                     f"not listed one by one; {action}"])
    if not rows:
        rows = [["", "", None, "", "", "No data issues: every cell was used.", ""]]
    frame = pd.DataFrame(rows, columns=ISSUE_COLUMNS)
    frame["Value"] = frame["Value"].map(lambda v: v if isinstance(v, str) else ("" if v is None else str(v)))
    widths = {"Sheet": 15, "Cell": 8, "Row": 7, "Column": 22, "Value": 22, "Problem": 55, "What chs-excel did": 45}
    return OutputSheet(c.DATA_ISSUES, frame, widths=widths, freeze="A2")
