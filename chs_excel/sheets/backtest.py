"""The backtest's Validation sheet: how well the score separated accounts that churned from those that stayed.

Pure: builds an :class:`OutputSheet` and the headline figures from scores,
outcomes and Score History. See :mod:`chs_excel.analysis.separation` for the measures.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import calibration, distribution, history
from chs_excel.analysis import separation as bt
from chs_excel.book.form import PageSetup
from chs_excel.book.table import BarChart, OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.bands import band_of
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import rounded, shown_overall
from chs_excel.problems import DataIssue
from chs_excel.sheets.common import Sections, percent, rounded_figure

BAND_ORDER = [*c.BANDS, "No score"]
POINT_COLORS = ("E06666", "FFD966", "93C47D", "BFBFBF")
SEGMENT_COLOR, STAGE_COLOR = "8EA9DB", "B4A7D6"  # the chart's bars for segments (blue) and stages (purple)
GROUP = "Band, segment or stage"
_FIRST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
FEW_ACCOUNTS, FEW_CHURNED = 200, 30
LOW, HIGH = "Low (95%)", "High (95%)"  # the ends of each churn rate's Wilson interval
FOLDS = 5  # the calibration's cross-validation


def too_few(accounts: int, churned: int) -> bool:
    """Too few outcomes to trust a figure: under :data:`FEW_ACCOUNTS` accounts or :data:`FEW_CHURNED` churned."""
    return accounts < FEW_ACCOUNTS or churned < FEW_CHURNED


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
    brier: float | None = None  # of the cross-validated churn probability
    brier_base_rate: float | None = None  # of always predicting the overall churn rate
    deciles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=calibration.DECILE_COLUMNS))

    @property
    def skill(self) -> float | None:
        """1 - Brier / Brier of the base rate: the share of the base rate's error the probability removes."""
        if self.brier is None or not self.brier_base_rate:
            return None
        return 1 - self.brier / self.brier_base_rate

    def lines(self) -> list[str]:
        def fmt(value, spec):
            return "undefined" if value is None else format(value, spec)
        if self.accounts == 0:
            return [f"No account has an outcome to test against: add an '{c.OUTCOMES}' sheet (Account ID, Outcome: "
                    f"churned / renewed / expanded, Outcome date) and run the backtest again."]
        out = [f"Backtest on {self.accounts} accounts with an outcome ({self.churned} churned). {self.mode}",
               f"AUC {fmt(self.auc, '.3f')} ({bt.auc_reading(self.auc)}), Gini {fmt(self.gini, '.3f')}, "
               f"KS {fmt(self.ks, '.3f')}, top-decile lift {fmt(self.lift, '.2f')}"]
        rates = ", ".join(f"{band} {row['Churn rate']:.0%} of {int(row['Accounts'])} ({row[LOW]:.0%} to "
                          f"{row[HIGH]:.0%})" for band, row in self.by_band.iterrows() if row["Accounts"] > 0)
        out.append(f"Churn rate by band (95% interval): {rates}.")
        if self.brier is not None:
            out.append(f"Calibration: Brier score {self.brier:.3f} of the cross-validated churn probability, "
                       f"{fmt(self.brier_base_rate, '.3f')} for the base rate (skill {fmt(self.skill, '.2f')}).")
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


def outcomes_frame(config: HealthConfig, accounts: pd.Index) -> tuple[pd.DataFrame, list[DataIssue]]:
    issues, rows = [], {}
    for o in config.outcomes:
        if o.account not in accounts:
            issues.append(DataIssue(c.OUTCOMES, o.location, c.column_header(c.OUTCOME_COLUMNS, "account"), o.account,
                                    f'account "{o.account}" is not on the Accounts sheet',
                                    "left out (backtest, churn risk, optimiser)"))
            continue
        rows[o.account] = (o.churned, o.date)  # a later row for the same account wins
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["churned", "date"])
    return frame, issues


@dataclass
class BacktestSample:
    """The scores a backtest judges and the outcomes it judges them by: one row per account, indexed by account.

    ``picked``: the Score History rows used (None: today's scores); ``table``: every account with an outcome that
    is on Accounts (those without a snapshot early enough included), with ``churned`` and ``date``
    (:func:`outcomes_frame`).
    """

    overall: pd.Series
    churned: pd.Series
    table: pd.DataFrame
    mode: str
    days: int
    picked: pd.DataFrame | None = None
    issues: list[DataIssue] = field(default_factory=list)

    @property
    def outcomes(self) -> int:
        """The accounts with an outcome that are on Accounts."""
        return len(self.table)


def backtest_sample(config: HealthConfig, overall_now: pd.Series, snapshots: Callable[[], pd.DataFrame],
                    days: int = 90) -> BacktestSample:
    """Which score each account with an outcome is judged by: today's, or Score History's from ``days`` before.

    Parameters
    ----------
    config : HealthConfig
        Its outcomes (the Outcomes sheet).
    overall_now : pandas.Series
        Today's shown overall score by account.
    snapshots : callable
        Returns every Score History snapshot as one long frame (:meth:`chs_excel.analysis.history.Past.all`);
        called only when an outcome has a date to look back from.
    days : int
        How long before its outcome an account's snapshot must be.

    Returns
    -------
    BacktestSample
        From Score History when it holds snapshots and an outcome has a date (accounts without a snapshot that
        early are left out: a score computed after the fact would flatter the backtest), else today's scores.
    """
    outcomes, issues = outcomes_frame(config, overall_now.index)
    dated = outcomes["date"].notna() if len(outcomes) else pd.Series(dtype=bool)
    # every snapshot is read only when an outcome has a date to look back from
    history_frame = snapshots() if dated.any() else history.long_frame({})
    picked = None
    if len(history_frame) and dated.any():
        picked = bt.scores_before_outcome(history_frame, outcomes["date"], days)
        accounts = picked.index.intersection(outcomes.index)
        overall = pd.to_numeric(picked.loc[accounts, history.OVERALL], errors="coerce") if len(accounts) \
            else pd.Series(dtype=float)
        mode = (f"Scores from Score History, the last snapshot at least {days} days before each outcome: "
                f"{len(accounts)} of {len(outcomes)} accounts had one (the others are left out).")
    else:
        accounts = outcomes.index
        overall = overall_now.reindex(accounts)
        mode = ("Scores from today's data: Score History has no snapshot from before the outcome dates, so outcomes "
                "that already happened may flatter these figures.")
    churned = outcomes.loc[accounts, "churned"].astype(bool) if len(accounts) else pd.Series(dtype=bool)
    return BacktestSample(overall, churned, outcomes, mode, days, picked, issues)


def with_interval(table: pd.DataFrame) -> pd.DataFrame:
    """A churn table (:func:`chs_excel.analysis.separation.churn_table`) with its rates' Wilson 95% interval."""
    low, high = calibration.wilson_interval(table["Churned"].to_numpy(), table["Accounts"].to_numpy())
    return table.assign(**{LOW: low, HIGH: high})


def band_table(config: HealthConfig, sample: BacktestSample) -> pd.DataFrame:
    """Accounts, churned, churn rate and its 95% interval per band of the sample's scores (and "No score").

    The bands are those of the scores the backtest judges by (the scorecard's cut points), so a Score History
    score from before the outcome puts its account in the band it was in then.
    """
    bands = pd.Series(band_of(sample.overall, config.bands), index=sample.overall.index).replace("", "No score")
    return with_interval(bt.churn_table(bands, sample.churned, BAND_ORDER).loc[BAND_ORDER])


def churn_risk(config: HealthConfig, overall_now: pd.Series, band_now: pd.Series,
               snapshots: Callable[[], pd.DataFrame], days: int = 90) -> tuple[pd.Series, str]:
    """Each account's Churn risk: the churn rate of its band in the backtest's band table, and where it comes from.

    Parameters
    ----------
    config : HealthConfig
    overall_now, band_now : pandas.Series
        Today's shown overall score and band (as on Scores) by account.
    snapshots : callable
        Score History as the backtest will read it (see :func:`backtest_sample`).
    days : int
        The backtest's look-back (``chs-excel backtest --days``, 90 by default).

    Returns
    -------
    tuple of (pandas.Series, str)
        The rate by account (NaN without a band, or when its band had no account with an outcome), and a
        sentence saying what it is, from how many accounts, and why it is blank when it is.
    """
    sample = backtest_sample(config, overall_now, snapshots, days)
    if len(sample.overall) == 0:
        why = (f"the {c.OUTCOMES} sheet lists no account of the Accounts sheet" if sample.outcomes == 0 else
               f"none of the {sample.outcomes} accounts with an outcome has a Score History snapshot from at least "
               f"{days} days before it")
        return (pd.Series(np.nan, index=overall_now.index),
                f"Churn risk is blank: {why}. It shows the share of accounts in the same band that churned, "
                f"once there are outcomes to count (add them to the {c.OUTCOMES} sheet: Account ID, Outcome, "
                f"Outcome date).")
    table = band_table(config, sample)
    risk = band_now.map(table.loc[list(c.BANDS), "Churn rate"]).astype(float)
    source = (f"scores from Score History, {days} days or more before each outcome" if sample.picked is not None
              else "scores from today's data, which the outcomes may already have shaped")
    rates = ", ".join(f"{band} {row['Churn rate']:.0%} of {int(row['Accounts'])}"
                      for band, row in table.loc[list(c.BANDS)].iterrows() if row["Accounts"] > 0)
    note = (f"Churn risk: the share of accounts in the same band that churned, from the {len(sample.overall)} "
            f"accounts with an outcome on the {c.OUTCOMES} sheet ({source}): {rates}.")
    if too_few(len(sample.overall), int(sample.churned.sum())):
        note += f" Too few to trust (want at least {FEW_ACCOUNTS} accounts and {FEW_CHURNED} churned)."
    return risk, note


def build_backtest(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, as_of: dt.date,
                   past: history.Past, days: int = 90) -> Backtest:
    """The Validation sheet and headline figures: the scores (today's, or Score History's from ``days`` before
    each outcome when it has them) against the Outcomes sheet."""
    history_metrics = False
    overall_now, _ = shown_overall(config, result)
    categories_now = pd.DataFrame({cat.name: rounded(result.category_scores[cat.name]) for cat in config.categories},
                                  index=overall_now.index)
    sample = backtest_sample(config, overall_now, past.all, days)
    overall, churned, mode, issues, picked = sample.overall, sample.churned, sample.mode, sample.issues, sample.picked
    accounts = overall.index
    use_history = picked is not None
    if use_history:
        categories = pd.DataFrame({cat.name: pd.to_numeric(picked.loc[accounts, cat.name], errors="coerce")
                                   if cat.name in picked.columns else np.nan for cat in config.categories}, index=accounts)
        columns = history.metric_columns([cat.name for cat in config.categories], [m.name for m in config.metrics])
        history_metrics = all(col in picked.columns for col in columns.values())
    else:
        categories = categories_now.reindex(accounts)
    area = bt.auc(overall, churned)
    ks_value, ks_at = bt.ks(overall, churned)
    lift = bt.top_decile_lift(overall, churned)
    by_band = band_table(config, sample)
    score, lost_flag = overall.to_numpy(dtype=float), churned.to_numpy(dtype=bool)
    prob = calibration.cross_validated_probability(score, lost_flag, FOLDS)
    predicted = ~np.isnan(prob)
    brier = calibration.brier_score(prob, lost_flag)
    base_rate = float(lost_flag[predicted].mean()) if predicted.any() else None
    # the reference: every account given the overall churn rate (of the same accounts)
    brier_base = calibration.brier_score(np.where(predicted, base_rate, np.nan), lost_flag) if predicted.any() else None
    deciles = calibration.decile_table(score, lost_flag, prob)
    whole_fit = calibration.logistic_fit(score, lost_flag)  # shown as a formula: fitted on every account

    signals = [(cat.name, "category", bt.auc(categories[cat.name], churned)) for cat in config.categories]
    if use_history and history_metrics:  # kept in each snapshot since 0.9: no look at today's data
        metric_scores = pd.DataFrame({name: pd.to_numeric(picked.loc[accounts, col], errors="coerce")
                                      for name, col in columns.items()}, index=accounts)
    elif use_history:  # snapshots from before 0.9 keep no metric scores: today's would flatter each metric alone
        metric_scores = pd.DataFrame(np.nan, index=accounts, columns=[m.name for m in config.metrics])
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
        ["AUC", rounded_figure(area), "undefined: needs both churned and retained accounts" if area is None else
         f"A retained account outscores a churned one {area:.0%} of the time (0.5 = coin toss, 1 = perfect): "
         f"{bt.auc_reading(area)}"],
        ["Gini", rounded_figure(bt.gini(area)), "2 x AUC - 1: 0 means no separation, 1 perfect separation"],
        ["KS", rounded_figure(ks_value), "undefined" if ks_value is None else
         f"The largest gap between the score distributions of churned and retained accounts ({ks_value:.0%}), "
         f"at a score of {ks_at:g}"],
        ["Top-decile lift", rounded_figure(lift, 2), "undefined" if lift is None else
         f"The lowest-scored tenth of accounts churned {lift:.1f}x as often as all accounts"],
        [],
        ["Churn rate by band, by segment and by journey stage, with its 95% interval"],
    ]
    segments = pd.Series(labels["Segment"].reindex(accounts).to_numpy() if "Segment" in labels else [""] * n, index=accounts)
    stages = pd.Series(labels["Stage"].reindex(accounts).to_numpy() if "Stage" in labels else [""] * n, index=accounts)
    by_segment, by_stage = (with_interval(naturally_sorted(bt.churn_table(groups, churned)))
                            for groups in (segments, stages))
    # One table, so that each churn rate is a number in one percent-formatted column (sortable, chartable):
    # the bands first (rows the backtest's readers know), then each segment and each stage, named as such.
    frame = pd.concat([by_band.reset_index(names=GROUP),
                       by_segment.reset_index(names=GROUP).assign(**{GROUP: lambda f: "Segment " + f[GROUP]}),
                       by_stage.reset_index(names=GROUP).assign(**{GROUP: lambda f: "Stage " + f[GROUP]})],
                      ignore_index=True)
    bar_colors = POINT_COLORS + (SEGMENT_COLOR,) * len(by_segment) + (STAGE_COLOR,) * len(by_stage)
    sections = Sections()
    post, section = sections.rows, sections.add
    styles: dict[int, str] = {4: "header", 10: "title"}

    # short lines: the page is as wide as the longest, and everything is shrunk to fit it
    post.extend([[f"{LOW} and {HIGH}: the Wilson interval, where the true churn rate likely lies given this many "
                  f"accounts."], ["The chart under the tables shows the rates."], []])

    section("Churn rate by score decile, in percent (decile 1: the lowest-scored tenth of accounts)",
            ["Decile: scores", "Accounts", "Churned", "Churned %", "Low %", "High %", "Fitted %"],
            _decile_rows(deciles),
            ("Tied scores stay in one decile, so a decile may hold more than a tenth of the accounts. Low, High: "
             "the 95% interval.", "Fitted: the mean churn probability the cross-validated fit gives the decile's "
                                  "accounts (next table). Close to Churned %: the probability is calibrated."))
    section(f"Calibration: a churn probability read off the score (logistic fit, {FOLDS}-fold cross-validated)",
            ["Figure", "Value", "What it means"],
            _calibration_rows(config, brier, brier_base, base_rate, whole_fit, n, lost))
    signal_title = "Which signals carry information (AUC of each alone)"
    if use_history:
        signal_title += (": categories and metrics from Score History" if history_metrics else
                         ": categories from Score History; metrics undefined (these snapshots, from before "
                         "chs-excel 0.9, keep no metric scores, and today's would flatter them)")
    section(signal_title, ["Signal", "Level", "AUC", "Reading"],
            [[name, level, rounded_figure(value), bt.auc_reading(value)] for name, level, value in signals])
    dates = past.days()
    psi_rows = []
    if len(dates) >= 2:
        old, new = (past.get(d) for d in dates[-2:])
        for name in [history.OVERALL] + [cat.name for cat in config.categories]:
            if name in old.columns and name in new.columns:
                value = bt.psi(pd.to_numeric(old[name], errors="coerce"), pd.to_numeric(new[name], errors="coerce"))
                psi_rows.append([name, rounded_figure(value), bt.psi_reading(value)])
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
    suggestions.append([f"Weights: run chs-excel optimise (or the optimise_scorecard script) for weights and cut "
                        f"points fitted to these outcomes, with cross-validated proof, on a '{c.PROPOSAL}' sheet. A "
                        f"metric's AUC alone is no weight: signals overlap (tenure and satisfaction, say)."])
    caution = f"These rest on {n} accounts ({lost} churned)."
    if too_few(n, lost):
        caution += f" That is too few to trust (want at least {FEW_ACCOUNTS} accounts and {FEW_CHURNED} churned)."
    suggestions.append([caution])
    section("Suggestions (never applied automatically)", ["Suggestion"], suggestions)

    # The chart goes under everything: beside the tables it covered the text running out of their last column
    chart_row = (len(preamble) + 1) + len(frame) + 2 + len(post) + 1
    # Column C holds the figures' meanings (long sentences, wrapped): wide enough for its header and a sentence
    # in two or three lines; the signals' and suggestions' text in column A is wrapped over the width of A.
    sheet = OutputSheet(c.VALIDATION, frame, band_label_columns=(GROUP,),
                        number_formats={"Churn rate": "0.0%", LOW: "0.0%", HIGH: "0.0%"},
                        widths={GROUP: 34, "Accounts": 12, "Churned": 16, "Churn rate": 14, LOW: 12, HIGH: 12},
                        freeze="A2", preamble=preamble, postscript=post, row_styles=styles,
                        page=PageSetup(landscape=True, fit_width=1, fit_height=0),
                        charts=[BarChart("Churn rate by band, segment and stage", GROUP, ("Churn rate",), ("888888",),
                                         anchor=f"A{chart_row}", percent=False, stacked=False, horizontal=True,
                                         point_colors=bar_colors, value_format="0%")])
    sheet.row_styles.update(sections.styles(sheet.postscript_row))
    return Backtest(sheet, n, lost, area, bt.gini(area), ks_value, lift, by_band, mode, issues, brier, brier_base,
                    deciles)


def _decile_rows(deciles: pd.DataFrame) -> list[list]:
    if not len(deciles):
        return [["No account has both a score and an outcome."]]
    return [[f"{row['Decile']}: {row['Lowest score']:g} to {row['Highest score']:g}", int(row["Accounts"]),
             int(row["Churned"]), percent(row["Churn rate"]), percent(row["Wilson low"]),
             percent(row["Wilson high"]), percent(row["Predicted"])] for row in deciles.to_dict("records")]


def _calibration_rows(config: HealthConfig, brier: float | None, brier_base: float | None, base_rate: float | None,
                      fit: calibration.LogisticFit, n: int, lost: int) -> list[list]:
    """The calibration section's figures, each with what it means in words."""
    if brier is None or not brier_base:
        return [["Brier score", rounded_figure(brier), "undefined: needs both churned and retained accounts"]]
    skill = 1 - brier / brier_base
    red, amber = config.bands.red_below, config.bands.amber_below
    p_red, p_amber = fit.probability([red, amber])
    sign = "-" if fit.slope < 0 else "+"
    odds = fit.odds_ratio(10)
    per_ten = (f"10 points more divide the odds of churn by {1 / odds:.1f}" if odds < 1 else
               f"10 points more multiply the odds of churn by {odds:.1f}")
    rows = [
        ["Brier score", rounded_figure(brier), "Mean squared gap between each account's churn probability (fitted on the "
                                       "other accounts, never itself) and what happened (1 churned, 0 stayed): "
                                       "0 is perfect"],
        ["Brier, base rate", rounded_figure(brier_base), f"The same when every account is given the overall churn rate "
                                                 f"({base_rate:.1%}): what a probability must beat"],
        ["Skill", rounded_figure(skill, 2), f"1 - {brier:.3f} / {brier_base:.3f}: the score's probability removes {skill:.0%} "
                                    f"of the base rate's error (0: no better than the base rate; below 0: worse)"],
        ["Fit on all accounts", None, f"Churn probability = 1 / (1 + exp(-({fit.intercept:.3f} {sign} "
                                      f"{abs(fit.slope):.4f} x score))): {p_red:.0%} at a score of {red:g}, "
                                      f"{p_amber:.0%} at {amber:g}; {per_ten}"],
    ]
    if too_few(n, lost):
        rows.append(["Too few", None, f"{n} accounts ({lost} churned): too few to trust (want at least "
                                      f"{FEW_ACCOUNTS} accounts and {FEW_CHURNED} churned)"])
    return rows
