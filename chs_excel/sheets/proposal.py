"""The Scorecard Proposal sheet: weights and cut points that would have separated the outcomes better, with proof.

Pure: builds an :class:`OutputSheet` and the headline figures from the scores, the Outcomes sheet and Score
History; the fitting is :mod:`chs_excel.analysis.optimise`. Nothing is applied: the sheet names the cells a person
would edit to adopt the proposal.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.analysis import optimise as opt
from chs_excel.analysis.calibration import stratified_folds, wilson_interval
from chs_excel.analysis.separation import auc
from chs_excel.book.form import PageSetup
from chs_excel.book.table import OutputSheet, Table
from chs_excel.config.model import HealthConfig
from chs_excel.core.bands import band_codes
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import rounded
from chs_excel.problems import DataIssue
from chs_excel.sheets.backtest import FEW_ACCOUNTS, FEW_CHURNED, backtest_sample, too_few
from chs_excel.sheets.common import Sections, percent, rounded_figure

NO_SCORE = "No score"
BAND_NAMES = [*c.BANDS, NO_SCORE]
MOST_LISTED = 2_000  # accounts listed by name whose band would change; the counts cover all of them
WHAT, NAME, CATEGORY, WEIGHT_NOW, WEIGHT_NEW, SHARE_NOW, SHARE_NEW, ALONE, CELL = (
    "Weight of", "Name", "Category", "Weight today", "Proposed weight", "Share of overall today",
    "Proposed share of overall", "AUC alone", "Cell to edit")


class BadOptions(ValueError):
    """Options that do not fit the scorecard (e.g. a minimum category weight its categories cannot share)."""


@dataclass(frozen=True)
class Options:
    """How the proposal is fitted and judged.

    Attributes
    ----------
    folds : int
        Cross-validation folds (accounts, stratified by outcome), at least 2.
    min_category : float
        Each category keeps at least this share of the overall score (0 to 1).
    min_band_share : float
        Each proposed band holds at least this share of the accounts (0 to 1/3).
    days : int
        With Score History: each account's scores from the last snapshot at least this many days before its outcome.
    seed : int
        The folds' shuffle.
    """

    folds: int = 5
    min_category: float = 0.0
    min_band_share: float = 0.10
    days: int = 90
    seed: int = 0

    def problems(self, categories: int) -> list[str]:
        """What is wrong with these options for a scorecard with ``categories`` categories ([] if nothing)."""
        out = []
        if self.folds < 2:
            out.append(f"--folds must be at least 2 (got {self.folds})")
        if not 0 <= self.min_category <= 1 / max(categories, 1):
            out.append(f"--min-category-weight must be between 0 and {100 / max(categories, 1):g} with "
                       f"{categories} categories (got {100 * self.min_category:g})")
        if not 0 <= self.min_band_share <= 1 / 3:
            out.append(f"--min-band-share must be between 0 and 33.3 (got {100 * self.min_band_share:g})")
        if self.days < 0:
            out.append(f"--days must be 0 or more (got {self.days})")
        return out


@dataclass
class Sample:
    """The accounts with an outcome and the metric scores they had before it.

    ``snapshot``: the date of the Score History snapshot each row's scores come from (NaT: today's scores).
    """

    accounts: pd.Index
    scores: np.ndarray
    churned: np.ndarray
    snapshot: np.ndarray
    outcome_date: np.ndarray
    mode: str
    outcomes: int  # the accounts with an outcome that are on Accounts, with a snapshot early enough or not


def outcome_sample(config: HealthConfig, result: ScoreResult, past: history.Past, days: int) -> tuple[Sample,
                                                                                                     list[DataIssue]]:
    """Metric scores of the accounts with an outcome, from the accounts and snapshots the backtest judges by
    (:func:`chs_excel.sheets.backtest.backtest_sample`): Score History's last snapshot at least ``days`` days before
    each outcome when there is one, else today's (which the outcome may have shaped).
    """
    names = [m.name for m in config.metrics]
    chosen = backtest_sample(config, result.overall, past.all, days)
    outcomes = chosen.table
    columns = history.metric_columns([cat.name for cat in config.categories], names)
    picked = chosen.picked
    if picked is not None and all(col in picked.columns for col in columns.values()):
        accounts = chosen.overall.index
        scores = np.column_stack([pd.to_numeric(picked.loc[accounts, columns[name]], errors="coerce").to_numpy(float)
                                  for name in names]) if names else np.empty((len(accounts), 0))
        snapshot = pd.to_datetime(picked.loc[accounts, history.DATE]).to_numpy("datetime64[D]")
        mode = (f"Metric scores from Score History, the last snapshot at least {days} days before each outcome: "
                f"{len(accounts)} of {chosen.outcomes} accounts had one (the others are left out).")
    else:
        accounts = outcomes.index
        scores = result.metric_scores.reindex(accounts)[names].to_numpy(dtype=float)
        snapshot = np.full(len(accounts), np.datetime64("NaT"), dtype="datetime64[D]")
        why = ("its snapshots, from before chs-excel 0.9, keep no metric scores" if picked is not None else
               "Score History has no snapshot from before the outcomes" if outcomes["date"].notna().any() else
               "the outcomes have no dates")
        mode = (f"Metric scores from today's data ({why}), which outcomes that already happened may have shaped: "
                f"treat the figures as optimistic.")
    churned = outcomes.loc[accounts, "churned"].to_numpy(dtype=bool) if len(accounts) else np.zeros(0, dtype=bool)
    outcome_date = pd.to_datetime(outcomes.loc[accounts, "date"]).to_numpy("datetime64[D]")
    return Sample(accounts, scores, churned, snapshot, outcome_date, mode, len(outcomes)), chosen.issues


def weight_cells(config: HealthConfig, tables: dict[str, Table]) -> dict[tuple[str, str], str]:
    """Where each weight and cut point is typed: ("metric", name), ("category", name) and ("setting", label) to a
    cell such as ``Metrics!C5``; what to write instead when the scorecard came from a JSON config or a row is absent."""
    cells: dict[tuple[str, str], str] = {}
    for kind, sheet, entries in (("metric", c.METRICS, [m.name for m in config.metrics]),
                                 ("category", c.CATEGORIES, [cat.name for cat in config.categories])):
        table = tables.get(sheet)
        name_j = table.find("Metric" if kind == "metric" else "Category") if table else None
        weight_j = table.find("Weight") if table else None
        rows = {}
        if table is not None and name_j is not None and weight_j is not None:
            for i, row in enumerate(table.rows):
                if name_j < len(row) and isinstance(row[name_j], str):
                    rows.setdefault(row[name_j].strip().casefold(), table.cell(i, weight_j))
        for k, name in enumerate(entries):
            cells[(kind, name)] = rows.get(name.strip().casefold(), f"{kind}s[{k}].weight in the JSON config")
    settings = tables.get(c.SETTINGS)
    for label in ("Red below", "Amber below"):
        cell = None
        if settings is not None and settings.find("Setting") is not None and settings.find("Value") is not None:
            name_j, value_j = settings.find("Setting"), settings.find("Value")
            for i, row in enumerate(settings.rows):
                if name_j < len(row) and str(row[name_j]).strip().casefold() == label.casefold():
                    cell = settings.cell(i, value_j)  # the last such row wins, as in the config
        cells[("setting", label)] = cell or (f"a '{label}' row on {c.SETTINGS}" if settings is not None else
                                             f"{c.SETTINGS_ROWS[label][0]} in the JSON config")
    return cells


@dataclass
class Proposal:
    sheet: OutputSheet
    accounts: int
    churned: int
    auc_today: float | None
    auc_proposal: float | None
    gain: float | None
    gain_error: float | None
    verdict: str
    changed: int
    issues: list[DataIssue] = field(default_factory=list)

    def lines(self) -> list[str]:
        def fmt(value):
            return "undefined" if value is None else f"{value:.3f}"
        left_out = [f"{i.cell}: {i.problem} ({i.action})" for i in self.issues]
        if self.accounts == 0 or self.auc_proposal is None:
            return [self.verdict, *left_out, f"See the '{c.PROPOSAL}' sheet; nothing was applied."]
        return [*left_out,f"Cross-validated AUC on {self.accounts} accounts ({self.churned} churned): today's scorecard "
                f"{fmt(self.auc_today)}, the proposal {fmt(self.auc_proposal)}.",
                self.verdict,
                f"{self.changed} account(s) would change band today. See the '{c.PROPOSAL}' sheet; nothing was applied."]


def _fmt(value, spec=".3f") -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


def verdict(cv: opt.CrossValidation, accounts: int, churned: int) -> str:
    """The plain-words reading of the cross-validation."""
    gains, error = cv.gains(), cv.gain_error()
    if too_few(accounts, churned):
        return (f"Too few outcomes to trust: {accounts} accounts and {churned} churned (want at least "
                f"{FEW_ACCOUNTS} and {FEW_CHURNED}). Keep today's weights; look again when more outcomes are in.")
    if not len(gains):
        return "Undefined: a fold had no churned or no retained account. Keep today's weights."
    mean = float(gains.mean())
    better = int((gains > 0).sum())
    if error is not None and mean - 2 * error > 0:
        return (f"The proposal separates churn better on accounts it was not fitted on: AUC {mean:+.3f} "
                f"(± {error:.3f}), better in {better} of {len(gains)} folds. Worth adopting if the weights make sense "
                f"to your team.")
    if mean <= 0:
        return (f"Today's weights do as well or better on held-out accounts (AUC {mean:+.3f}). Keep them.")
    return (f"Within noise: the gain (AUC {mean:+.3f}, better in {better} of {len(gains)} folds) is less than twice "
            f"its standard error across folds (± {error if error is not None else 0:.3f}). Keep today's weights "
            f"unless the proposal makes more sense to your team.")


def _overall(scores: np.ndarray, e: np.ndarray, layout: opt.Layout, min_coverage: float) -> np.ndarray:
    """The computed overall score as Scores shows it (a whole number; before overrides and rules): none below
    Minimum coverage."""
    overall = rounded(opt.combine(scores, e, layout))
    coverage = (~np.isnan(scores)).astype(float) @ e if scores.shape[1] else np.zeros(len(overall))
    overall[coverage < min_coverage - 1e-12] = np.nan
    return overall


def build_proposal(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, as_of: dt.date,
                   past: history.Past, tables: dict[str, Table], options: Options = Options()) -> Proposal:
    """The Scorecard Proposal sheet and its headline figures (see the module docstring)."""
    sample, issues = outcome_sample(config, result, past, options.days)
    names = [m.name for m in config.metrics]
    cat_names = [cat.name for cat in config.categories]
    layout = opt.Layout(np.array([cat_names.index(m.category) for m in config.metrics], dtype=int), len(cat_names))
    today_e = opt.effective_weights([m.weight for m in config.metrics], [cat.weight for cat in config.categories],
                                    layout)
    today_cuts = (config.bands.red_below, config.bands.amber_below)
    today_overall = opt.combine(sample.scores, today_e, layout)
    usable = ~np.isnan(today_overall)
    scores, churned, today_overall = sample.scores[usable], sample.churned[usable], today_overall[usable]
    n, lost = len(churned), int(churned.sum())
    folds = stratified_folds(churned, options.folds, options.seed)
    can_fit = n >= options.folds and 0 < lost < n
    cv = opt.cross_validate(scores, churned, folds, layout, today_e, today_cuts, min_category=options.min_category,
                            min_share=options.min_band_share) if can_fit else opt.CrossValidation([], np.zeros(0))
    if can_fit:
        fit = opt.fit_weights(scores, churned, layout, start=today_e, min_category=options.min_category)
        metric_w, category_w = opt.workbook_weights(fit.e, layout)
    else:
        metric_w = np.array([m.weight for m in config.metrics], dtype=float)
        category_w = np.array([cat.weight for cat in config.categories], dtype=float)
    new_e = opt.effective_weights(metric_w, category_w, layout)
    cuts = opt.best_cut_points(rounded(opt.combine(scores, new_e, layout)), churned, options.min_band_share) \
        if can_fit else None
    new_cuts = (cuts.red_below, cuts.amber_below) if cuts else today_cuts
    text = verdict(cv, n, lost) + ("" if fit.converged else
                                   " Caution: the fit stopped before it converged; its weights may not be the best.") \
        if can_fit else (
        f"Nothing to fit: {n} account(s) with an outcome and a score, {lost} churned; the fit needs both churned and "
        f"retained accounts, at least {options.folds}. " + (
            f"Add outcomes to the '{c.OUTCOMES}' sheet (Account ID, Outcome, Outcome date)." if not sample.outcomes
            else sample.mode))

    # What would change today, for every account scored now (computed scores: overrides and rules still apply)
    today_scores = result.metric_scores[names].to_numpy(dtype=float)
    now = _overall(today_scores, today_e, layout, config.min_coverage)
    then = _overall(today_scores, new_e, layout, config.min_coverage)
    band_now, band_new = band_codes(now, *today_cuts), band_codes(then, *new_cuts)
    moved = band_now != band_new

    cells = weight_cells(config, tables)
    alone = {name: auc(scores[:, k], churned) for k, name in enumerate(names)}
    rows = []
    total_now, total_new = today_e, new_e
    for g, cat in enumerate(config.categories):
        members = [k for k in range(len(names)) if layout.category_of[k] == g]
        rows.append(["Category", cat.name, "", cat.weight, float(category_w[g]), float(total_now[members].sum()),
                     float(total_new[members].sum()), None, cells[("category", cat.name)]])
        for k in members:
            m = config.metrics[k]
            rows.append(["Metric", m.name, cat.name, m.weight, float(metric_w[k]), float(total_now[k]),
                         float(total_new[k]), None if alone[m.name] is None else round(alone[m.name], 3),
                         cells[("metric", m.name)]])
    for label, old, new in (("Red below", today_cuts[0], new_cuts[0]), ("Amber below", today_cuts[1], new_cuts[1])):
        rows.append(["Cut point", label, "", old, new, None, None, None, cells[("setting", label)]])
    frame = pd.DataFrame(rows, columns=[WHAT, NAME, CATEGORY, WEIGHT_NOW, WEIGHT_NEW, SHARE_NOW, SHARE_NEW, ALONE, CELL])

    auc_today, auc_new = cv.mean("auc_today"), cv.mean("auc_proposal")
    gains, error = cv.gains(), cv.gain_error()
    span_today, span_new = cv.spread("auc_today"), cv.spread("auc_proposal")

    def span(pair):
        return "" if pair is None else f"{pair[0]:.3f} to {pair[1]:.3f}"

    preamble = [
        [f"Scorecard Proposal as of {as_of.isoformat()}: weights and cut points that would have separated the "
         f"recorded outcomes better"],
        ["Nothing has been applied. To adopt the proposal, type the proposed values into the cells named in the last "
         "column of the table below, then refresh. You decide."],
        [f"{n} accounts with an outcome and a score ({lost} churned). {sample.mode}"],
        [text],
        [],
        ["Figure", "Today's scorecard", "Proposal", "Change", "What it means"],
        [f"AUC, cross-validated (mean of {len(cv.folds)} folds)", rounded_figure(auc_today), rounded_figure(auc_new),
         rounded_figure(None if not len(gains) else float(gains.mean())),
         "Each fold's accounts are judged by a proposal fitted on the other folds only (0.5 = coin toss, 1 = perfect)"],
        ["AUC across folds, lowest to highest", span(span_today), span(span_new), "",
         "How much the figure moves with the accounts it is judged on"],
        ["Gain: standard error across folds", "", "", rounded_figure(error),
         "A rough yardstick (folds share training data): a gain under twice this is within noise"],
        ["Folds where the proposal did better", "", f"{int((gains > 0).sum())} of {len(gains)}" if len(gains) else "",
         "", ""],
        ["Accounts that would change band today", "", int(moved.sum()), "",
         f"Of {len(now)} accounts scored today: see the tables under the weights"],
        [],
        ["Weights and cut points, today and proposed: categories' weights sum to 100, and each category's metrics' "
         "weights to 100 (shares of the overall score are what counts)"],
    ]
    sections = Sections()
    section = sections.add

    section("Each fold: today's scorecard and the proposal fitted without it, judged on it",
            ["Fold", "Accounts", "Churned", "AUC today", "AUC proposal", "Gain"],
            [[k + 1, f.accounts, f.churned, rounded_figure(f.auc_today), rounded_figure(f.auc_proposal),
              rounded_figure(None if f.auc_today is None or f.auc_proposal is None else f.auc_proposal - f.auc_today)]
             for k, f in enumerate(cv.folds)])
    if can_fit:
        band_today = band_codes(rounded(today_overall), *today_cuts)
        body = []
        for code, band in enumerate(BAND_NAMES[:3]):
            row = [band]
            for codes in (band_today, cv.held_out_bands):
                size, churn = int((codes == code).sum()), int(churned[codes == code].sum())
                low, high = (float(v[0]) for v in wilson_interval(np.array([churn]), np.array([size])))
                row += [size, percent(churn / size if size else None), percent(low), percent(high)]
            body.append(row)
        section("Churn rate by band in percent: today's scorecard, and the proposal on held-out accounts (95% Wilson "
                "interval)",
                ["Band", "Accounts today", "Churned % today", "Low %", "High %", "Accounts, proposal",
                 "Churned %, proposal", "Low %", "High %"], body)
    transitions = pd.crosstab(pd.Categorical(np.asarray(BAND_NAMES, dtype=object)[band_now], categories=BAND_NAMES),
                              pd.Categorical(np.asarray(BAND_NAMES, dtype=object)[band_new], categories=BAND_NAMES),
                              dropna=False)
    up = int((moved & (band_new > band_now) & (band_new < 3) & (band_now < 3)).sum())
    down = int((moved & (band_new < band_now)).sum())
    section(f"What would change today: {int(moved.sum())} of {len(now)} accounts change band ({up} up, {down} down, "
            f"the rest gain or lose a score). Computed scores: overrides and rules still apply on top.",
            ["Band today \\ proposed", *BAND_NAMES],
            [[band, *[int(transitions.loc[band, to]) for to in BAND_NAMES]] for band in BAND_NAMES])
    ids = result.metric_scores.index
    order = np.flatnonzero(moved)
    order = order[np.lexsort((np.nan_to_num(then[order], nan=-1.0), band_new[order].astype(int) - band_now[order]))]
    name_of = labels["Account name"].reindex(ids).fillna("").astype(str).to_numpy() if "Account name" in labels \
        else np.full(len(ids), "", dtype=object)
    listed = [[ids[i], name_of[i], rounded_figure(now[i], 0), BAND_NAMES[band_now[i]], rounded_figure(then[i], 0),
               BAND_NAMES[band_new[i]]] for i in order[:MOST_LISTED]]
    if len(order) > MOST_LISTED:
        listed.append([f"... and {len(order) - MOST_LISTED} more (the counts above cover them all)"])
    section("Accounts whose band would change (falling first)",
            ["Account ID", "Account name", "Overall today", "Band today", "Overall proposed", "Band proposed"], listed)
    constraint = (f"each category keeps at least {options.min_category:.0%} of the overall score; "
                  if options.min_category > 0 else "")
    section("How the proposal was worked out", ["Step"], [
        ["Weights: the ones under which a logistic model of churn on the overall score fits the outcomes best "
         "(maximum likelihood), with every weight 0 or more (no metric changes direction), a higher score never "
         "meaning more churn, " + constraint + "rounded to whole numbers."],
        [f"Cut points: the whole numbers whose bands make churn rates most different, each band holding at least "
         f"{options.min_band_share:.0%} of the accounts and churn falling from Red to Green."],
        [f"Cross-validation: the accounts are dealt into {options.folds} folds (churned and retained spread evenly, "
         f"seed {options.seed}); each fold is judged by weights and cut points fitted on the others."],
        ["Unchanged: the metrics' measures (thresholds, ranges, labels), overrides and rules. The scores here are "
         "computed scores, before overrides and rules."],
    ])
    sheet = OutputSheet(c.PROPOSAL, frame, number_formats={SHARE_NOW: "0.0%", SHARE_NEW: "0.0%"},
                        widths={WHAT: 44, NAME: 26, CATEGORY: 18, WEIGHT_NOW: 14, WEIGHT_NEW: 14, SHARE_NOW: 14,
                                SHARE_NEW: 14, ALONE: 11, CELL: 30},
                        freeze="A1", preamble=preamble, postscript=sections.rows, row_styles={6: "header", 13: "title"},
                        page=PageSetup(landscape=True, fit_width=1, fit_height=0))
    sheet.row_styles.update(sections.styles(sheet.postscript_row))
    return Proposal(sheet, n, lost, auc_today, auc_new, None if not len(gains) else float(gains.mean()), error,
                    text, int(moved.sum()), issues)

