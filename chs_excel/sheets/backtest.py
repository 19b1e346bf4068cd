"""The backtest's Validation sheet: how well the score separated accounts that churned from those that stayed.

Pure: builds an :class:`OutputSheet` and the headline figures from scores,
outcomes and Score History. See :mod:`chs_excel.analysis.separation` for the measures.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import distribution, history
from chs_excel.analysis import separation as bt
from chs_excel.book.form import PageSetup
from chs_excel.book.table import BarChart, OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.bands import band_of
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import rounded, shown_overall
from chs_excel.problems import DataIssue

BAND_ORDER = [*c.BANDS, "No score"]
POINT_COLORS = ("E06666", "FFD966", "93C47D", "BFBFBF")
SEGMENT_COLOR, STAGE_COLOR = "8EA9DB", "B4A7D6"  # the chart's bars for segments (blue) and stages (purple)
GROUP = "Band, segment or stage"
_FIRST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
FEW_ACCOUNTS, FEW_CHURNED = 200, 30


@dataclass
class Backtest:
    sheet: OutputSheet
    accounts: int
    churned: int
    auc: float | None
    gini: float | None
    ks: float | None
    lift: float | None
    by_band: pd.DataFrame
    mode: str
    issues: list[DataIssue] = field(default_factory=list)

    def lines(self) -> list[str]:
        def fmt(value, spec):
            return "undefined" if value is None else format(value, spec)
        if self.accounts == 0:
            return [f"No account has an outcome to test against: add an '{c.OUTCOMES}' sheet (Account ID, Outcome: "
                    f"churned / renewed / expanded, Outcome date) and run the backtest again."]
        out = [f"Backtest on {self.accounts} accounts with an outcome ({self.churned} churned). {self.mode}",
               f"AUC {fmt(self.auc, '.3f')} ({bt.auc_reading(self.auc)}), Gini {fmt(self.gini, '.3f')}, "
               f"KS {fmt(self.ks, '.3f')}, top-decile lift {fmt(self.lift, '.2f')}"]
        rates = ", ".join(f"{band} {row['Churn rate']:.0%} of {int(row['Accounts'])}" for band, row in self.by_band.iterrows()
                          if row["Accounts"] > 0)
        out.append(f"Churn rate by band: {rates}.")
        return out


def natural_key(label: str) -> tuple:
    """How a group's label sorts: by the first number in it (``2-10`` before ``11-50``), then as text, ignoring case.

    Labels without a number come after those with one; "(none)" (accounts without a label) last.
    """
    found = _FIRST_NUMBER.search(label)
    return (label == "(none)", found is None, float(found.group()) if found else 0.0, label.casefold(), label)


def naturally_sorted(table: pd.DataFrame) -> pd.DataFrame:
    """``table``'s rows in the order of :func:`natural_key` of their labels (the index)."""
    return table.loc[sorted(table.index, key=natural_key)] if len(table) else table


def _round(value, digits=3):
    return None if value is None else round(float(value), digits)


def outcomes_frame(config: HealthConfig, accounts: pd.Index) -> tuple[pd.DataFrame, list[DataIssue]]:
    issues, rows = [], {}
    for o in config.outcomes:
        if o.account not in accounts:
            issues.append(DataIssue(c.OUTCOMES, o.location, c.column_header(c.OUTCOME_COLUMNS, "account"), o.account,
                                    f'account "{o.account}" is not on the Accounts sheet', "left out of the backtest"))
            continue
        rows[o.account] = (o.churned, o.date)  # a later row for the same account wins
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["churned", "date"])
    return frame, issues


def build_backtest(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, as_of: dt.date,
                   past: history.Past, days: int = 90) -> Backtest:
    """The Validation sheet and headline figures: the scores (today's, or Score History's from ``days`` before
    each outcome when it has them) against the Outcomes sheet."""
    history_metrics = False
    overall_now, _ = shown_overall(config, result)
    categories_now = pd.DataFrame({cat.name: rounded(result.category_scores[cat.name]) for cat in config.categories},
                                  index=overall_now.index)
    outcomes, issues = outcomes_frame(config, overall_now.index)
    dated = outcomes["date"].notna() if len(outcomes) else pd.Series(dtype=bool)
    # every snapshot is read only when an outcome has a date to look back from
    history_frame = past.all() if dated.any() else history.long_frame({})
    use_history = bool(len(history_frame)) and bool(dated.any())
    if use_history:
        picked = bt.scores_before_outcome(history_frame, outcomes["date"], days)
        accounts = picked.index.intersection(outcomes.index)
        overall = pd.to_numeric(picked.loc[accounts, history.OVERALL], errors="coerce")
        categories = pd.DataFrame({cat.name: pd.to_numeric(picked.loc[accounts, cat.name], errors="coerce")
                                   if cat.name in picked.columns else np.nan for cat in config.categories}, index=accounts)
        columns = history.metric_columns([cat.name for cat in config.categories], [m.name for m in config.metrics])
        history_metrics = all(col in picked.columns for col in columns.values())
        mode = (f"Scores from Score History, the last snapshot at least {days} days before each outcome: "
                f"{len(accounts)} of {len(outcomes)} accounts had one (the others are left out).")
    else:
        accounts = outcomes.index
        overall, categories = overall_now.reindex(accounts), categories_now.reindex(accounts)
        mode = ("Scores from today's data: Score History has no snapshot from before the outcome dates, so outcomes "
                "that already happened may flatter these figures.")
    churned = outcomes.loc[accounts, "churned"].astype(bool) if len(accounts) else pd.Series(dtype=bool)
    area = bt.auc(overall, churned)
    ks_value, ks_at = bt.ks(overall, churned)
    lift = bt.top_decile_lift(overall, churned)
    bands = pd.Series(band_of(overall, config.bands), index=accounts).replace("", "No score")
    by_band = bt.churn_table(bands, churned, BAND_ORDER).loc[BAND_ORDER]

    signals = [(cat.name, "category", bt.auc(categories[cat.name], churned)) for cat in config.categories]
    if use_history and history_metrics:  # kept in each snapshot since 0.9: no look at today's data
        metric_scores = pd.DataFrame({name: pd.to_numeric(picked.loc[accounts, col], errors="coerce")
                                      for name, col in columns.items()}, index=accounts)
    else:
        metric_scores = result.metric_scores.reindex(accounts)
    metric_auc = {m.name: bt.auc(metric_scores[m.name], churned) for m in config.metrics}
    signals += [(name, "metric", value) for name, value in metric_auc.items()]
    signals.sort(key=lambda s: -1 if s[2] is None else -s[2])

    n, lost = len(accounts), int(churned.sum())
    preamble = [
        [f"Does the score predict churn? Backtest as of {as_of.isoformat()}"],
        [f"{n} accounts with an outcome: {lost} churned, {n - lost} renewed or expanded. {mode}"],
        [],
        ["Figure", "Value", "What it means"],
        ["AUC", _round(area), "undefined: needs both churned and retained accounts" if area is None else
         f"A retained account outscores a churned one {area:.0%} of the time (0.5 = coin toss, 1 = perfect): "
         f"{bt.auc_reading(area)}"],
        ["Gini", _round(bt.gini(area)), "2 x AUC - 1: 0 means no separation, 1 perfect separation"],
        ["KS", _round(ks_value), "undefined" if ks_value is None else
         f"The largest gap between the score distributions of churned and retained accounts ({ks_value:.0%}), "
         f"at a score of {ks_at:g}"],
        ["Top-decile lift", _round(lift, 2), "undefined" if lift is None else
         f"The lowest-scored tenth of accounts churned {lift:.1f}x as often as all accounts"],
        [],
        ["Churn rate by band, by segment and by journey stage (the chart under the tables shows the same)"],
    ]
    segments = pd.Series(labels["Segment"].reindex(accounts).to_numpy() if "Segment" in labels else [""] * n, index=accounts)
    stages = pd.Series(labels["Stage"].reindex(accounts).to_numpy() if "Stage" in labels else [""] * n, index=accounts)
    by_segment, by_stage = (naturally_sorted(bt.churn_table(groups, churned)) for groups in (segments, stages))
    # One table, so that each churn rate is a number in one percent-formatted column (sortable, chartable):
    # the bands first (rows the backtest's readers know), then each segment and each stage, named as such.
    frame = pd.concat([by_band.reset_index(names=GROUP),
                       by_segment.reset_index(names=GROUP).assign(**{GROUP: lambda f: "Segment " + f[GROUP]}),
                       by_stage.reset_index(names=GROUP).assign(**{GROUP: lambda f: "Stage " + f[GROUP]})],
                      ignore_index=True)
    bar_colors = POINT_COLORS + (SEGMENT_COLOR,) * len(by_segment) + (STAGE_COLOR,) * len(by_stage)
    post: list[list] = []
    styles: dict[int, str] = {4: "header", 10: "title"}
    titles, headers = [], []  # positions within the postscript

    def section(title: str, header: list, rows: list[list]) -> None:
        titles.append(len(post))
        post.append([title])
        headers.append(len(post))
        post.append(header)
        post.extend(rows)
        post.append([])

    signal_title = "Which signals carry information (AUC of each alone)"
    if use_history:
        signal_title += (": categories and metrics from Score History" if history_metrics else
                         ": categories from Score History, metrics from today's scores (these snapshots keep no "
                         "metric scores)")
    section(signal_title, ["Signal", "Level", "AUC", "Reading"],
            [[name, level, _round(value), bt.auc_reading(value)] for name, level, value in signals])
    dates = past.days()
    psi_rows = []
    if len(dates) >= 2:
        old, new = (past.get(d) for d in dates[-2:])
        for name in [history.OVERALL] + [cat.name for cat in config.categories]:
            if name in old.columns and name in new.columns:
                value = bt.psi(pd.to_numeric(old[name], errors="coerce"), pd.to_numeric(new[name], errors="coerce"))
                psi_rows.append([name, _round(value), bt.psi_reading(value)])
        psi_title = f"Population stability: {dates[-2].isoformat()} to {dates[-1].isoformat()}"
    else:
        psi_rows.append(["Overall", None, bt.psi_reading(None)])
        psi_title = "Population stability between the two latest snapshots"
    section(psi_title + " (below 0.1 stable, 0.1 to 0.25 shifting, above 0.25 shifted)", ["Scores", "PSI", "Reading"],
            psi_rows)
    suggestions = []
    thirds = distribution.even_thirds(overall_now.to_numpy())
    if thirds:
        suggestions.append([f"Even thirds of today's scores: Red below {thirds[0]:g}, Amber below {thirds[1]:g}."])
    if ks_at is not None:
        suggestions.append([f"Best single cut on this data (the KS point): Red below {ks_at + 1:g} puts the accounts "
                            f"most likely to churn in Red."])
    weights = bt.suggested_weights(metric_auc)
    if weights:
        suggestions.append(["Metric weights in proportion to how much better than a coin toss each separates (AUC - 0.5): "
                            + ", ".join(f"{k} {v:g}" for k, v in weights.items()) + "."])
    caution = f"These rest on {n} accounts ({lost} churned)."
    if n < FEW_ACCOUNTS or lost < FEW_CHURNED:
        caution += f" That is too few to trust (want at least {FEW_ACCOUNTS} accounts and {FEW_CHURNED} churned)."
    suggestions.append([caution])
    section("Suggestions (never applied automatically)", ["Suggestion"], suggestions)

    # The chart goes under everything: beside the tables it covered the text running out of their last column
    chart_row = (len(preamble) + 1) + len(frame) + 2 + len(post) + 1
    # Column C holds the figures' meanings (long sentences, wrapped): wide enough for its header and a sentence
    # in two or three lines; the signals' and suggestions' text in column A is wrapped over the width of A.
    sheet = OutputSheet(c.VALIDATION, frame, band_label_columns=(GROUP,), number_formats={"Churn rate": "0.0%"},
                        widths={GROUP: 34, "Accounts": 12, "Churned": 16, "Churn rate": 14},
                        freeze="A2", preamble=preamble, postscript=post, row_styles=styles,
                        page=PageSetup(landscape=True, fit_width=1, fit_height=0),
                        charts=[BarChart("Churn rate by band, segment and stage", GROUP, ("Churn rate",), ("888888",),
                                         anchor=f"A{chart_row}", percent=False, stacked=False, horizontal=True,
                                         point_colors=bar_colors, value_format="0%")])
    sheet.row_styles.update({sheet.postscript_row + k: "title" for k in titles})
    sheet.row_styles.update({sheet.postscript_row + k: "header" for k in headers})
    return Backtest(sheet, n, lost, area, bt.gini(area), ks_value, lift, by_band, mode, issues)
