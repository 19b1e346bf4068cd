"""The scoring engine: metric scores -> category scores -> overall score, vectorised.

Pure: it takes a :class:`HealthConfig` and pandas data, and knows nothing of
sheets or Excel. One pass over N accounts is a handful of numpy operations per
metric, never a Python loop over accounts.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.config.model import HealthConfig, Metric
from chs_excel.core import measures
from chs_excel.core.bands import band_of
from chs_excel.core.rules import NO_BAND, apply_rules, fired_names
from chs_excel.problems import DataIssue

INSUFFICIENT = "insufficient data"
# Where an ignored override's issue points, in the words of the Overrides sheet's header.
OVERRIDE_EXPIRES = c.column_header(c.OVERRIDE_COLUMNS, "expires")
OVERRIDE_ACCOUNT = c.column_header(c.OVERRIDE_COLUMNS, "account")


@dataclass(frozen=True)
class SourceDates:
    """When one metric's data was last updated, per account, and where each date is (for Data Issues).

    Attributes
    ----------
    dates : numpy.ndarray of datetime64
        One per account, in the order of the accounts (NaT: blank or not a date).
    sheet, column : str
        The sheet and header of the date cells ("Accounts", "Usage updated"; or Metric History's "Period").
    cell : callable
        Account position -> the address of its date cell ("Accounts!M5"); called only for accounts listed.
    value : callable
        Account position -> the date cell's value as read (for a date that is blank or not a date).
    """

    dates: np.ndarray
    sheet: str
    column: str
    cell: Callable[[int], str]
    value: Callable[[int], Any]


@dataclass
class ScoringInput:
    """What the engine scores.

    ``accounts``: one row per account, indexed by account ID, with the metric
    source columns (numbers as float, labels as text, NaN/None for missing) and
    the Accounts columns the rules read.
    ``trends``: for each trend source column, ``(previous, latest)`` period
    values aligned on the same index.
    ``dates``: for each metric with ``Stale after (days)``, when its data was last updated.
    ``logged``: for each metric read from Metric History (``Metric.logged``), by metric name, the value of the
    latest entry per account (numbers as float, labels as text; NaN/None where there is none), on the same index.
    """

    accounts: pd.DataFrame
    as_of: dt.date
    trends: dict[str, tuple[pd.Series, pd.Series]] = field(default_factory=dict)
    dates: dict[str, SourceDates] = field(default_factory=dict)
    logged: dict[str, pd.Series] = field(default_factory=dict)


@dataclass(frozen=True)
class AppliedOverride:
    """A CSM override the engine applied: what it set, what it replaced, and who said so.

    A score override has ``score`` set and ``was`` the computed score it replaced
    (NaN when there was none); a band override (overall level only) has ``band``
    set and ``was`` the computed band ('' when there was none). ``target`` names the
    category or metric (None for overall). :mod:`chs_excel.core.explain` words it.
    """

    account: str
    level: str
    target: str | None
    score: float | None
    band: str | None
    was: float | str
    reason: str
    author: str
    expires: dt.date


@dataclass
class ScoreResult:
    """Everything the engine computes for every account (overrides applied, in the order applied)."""

    metric_scores: pd.DataFrame
    category_scores: pd.DataFrame
    overall: pd.Series
    coverage: pd.Series
    status: pd.Series
    overall_band: pd.Series
    overrides: list[AppliedOverride]
    missing: pd.Series
    issues: list[DataIssue]
    # The rules that fired per account, names joined by "; " ('' when none; "(override wins)" when an overall
    # override replaced their effect), and the band a "set band" rule forces ('' when none or overridden).
    rules: pd.Series | None = None
    rule_band: pd.Series | None = None
    stale: pd.DataFrame | None = None  # per metric (columns) and account: its data was too old, so left out


def goal_period(metric: Metric, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the goal period that holds ``as_of``."""
    if metric.goal_period == "custom":
        return metric.goal_start, metric.goal_end
    if metric.goal_period == "year":
        return dt.date(as_of.year, 1, 1), dt.date(as_of.year, 12, 31)
    first_month = as_of.month if metric.goal_period == "month" else 3 * ((as_of.month - 1) // 3) + 1
    months = 1 if metric.goal_period == "month" else 3
    start = dt.date(as_of.year, first_month, 1)
    next_month = first_month + months
    after = dt.date(as_of.year + (next_month - 1) // 12, (next_month - 1) % 12 + 1, 1)
    return start, after - dt.timedelta(days=1)


def source_values(metric: Metric, data: ScoringInput) -> pd.Series:
    """The values a metric other than a trend scores, one per account: its ``Source`` column of Accounts, or
    (``Metric.logged``) the latest entry logged for it in Metric History (all missing when nothing was logged)."""
    if not metric.logged:
        return data.accounts[metric.source]
    found = data.logged.get(metric.name)
    if found is None:
        return pd.Series(None if metric.measure == "categorical" else np.nan, index=data.accounts.index,
                         dtype=object if metric.measure == "categorical" else float)
    return found


def metric_score(metric: Metric, data: ScoringInput) -> np.ndarray:
    """Scores 1-100 of one metric for every account (NaN where it has no data)."""
    acc = data.accounts
    index = acc.index
    if metric.measure == "trend":
        previous, latest = data.trends.get(metric.source, (pd.Series(np.nan, index=index),) * 2)
        return measures.trend(previous, latest, metric.low, metric.high, metric.higher_is_better)
    values = source_values(metric, data)
    if metric.measure == "range":
        return measures.linear(values, metric.low, metric.high, metric.higher_is_better)
    if metric.measure == "threshold":
        return measures.threshold(values, list(metric.cut_points), list(metric.scores))
    if metric.measure == "categorical":
        return measures.categorical(values, metric.labels)
    if metric.measure == "ratio":
        return measures.ratio(values, acc[metric.source2], metric.low, metric.high, metric.higher_is_better)
    if metric.measure == "goal":
        start, end = goal_period(metric, data.as_of)
        target = acc[metric.source2] if metric.source2 else metric.target
        return measures.goal(values, target, measures.elapsed_share(data.as_of, start, end), metric.low, metric.high)
    raise ValueError(f"unknown measure {metric.measure!r}")


def _weighted_means(n: int, columns: list[np.ndarray], present: list[np.ndarray], weights: np.ndarray,
                    groups: list[list[int]]) -> np.ndarray:
    """Weighted mean of score columns per group, over the columns with a value (renormalised).

    ``columns`` K score arrays of ``n`` (NaN = missing), ``present`` where each has a value, ``weights`` K,
    ``groups`` the columns of each group. Returns N x G, column-major (one contiguous array per group).
    Sums run column by column in the order given, elementwise, so an account gets the same bits
    whether it is scored alone or among a million (a matrix product's rounding depends on its shape).
    """
    out = np.zeros((n, len(groups)), order="F")
    weighted, denominator = np.empty(n), np.empty(n)
    for g, members in enumerate(groups):
        numerator = out[:, g]  # summed in place
        denominator.fill(0.0)
        for k in members:
            np.multiply(columns[k], weights[k], out=weighted)
            np.add(numerator, weighted, out=numerator, where=present[k])
            np.add(denominator, weights[k], out=denominator, where=present[k])
        scored = denominator > 0
        np.divide(numerator, denominator, out=numerator, where=scored)
        numerator[~scored] = np.nan
    return out


def _missing_names(present: list[np.ndarray], names: list[str], n: int,
                   stale: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """For each account, the names of metrics without a score, as text ("" when none).

    A metric left out because its data is stale (``stale``: by name, where) reads "Logins (stale)".
    Accounts share few distinct gap patterns, so each pattern is spelled out once.
    """
    if not names:
        return np.full(n, "", dtype=object)
    if stale:  # each metric is missing (no data) or stale: one entry per way, in metric order
        entries = []
        for name, has in zip(names, present):
            if name in stale:
                entries += [(name, has | stale[name]), (f"{name} (stale)", ~stale[name])]
            else:
                entries.append((name, has))
        names, present = [name for name, _ in entries], [has for _, has in entries]
    if len(names) > 62:  # too many for one int64 bit pattern: spell out row by row
        absent = ~np.column_stack(present)
        return np.array([", ".join(np.array(names)[row]) for row in absent], dtype=object)
    pattern = np.zeros(n, dtype=np.int64)
    for k, has in enumerate(present):
        np.add(pattern, 1 << k, out=pattern, where=~has)
    inverse, patterns = pd.factorize(pattern)
    texts = np.array([", ".join(name for k, name in enumerate(names) if p >> k & 1) for p in patterns], dtype=object)
    return texts[inverse]


def stale_mask(dates: np.ndarray, as_of: dt.date, stale_after: int) -> np.ndarray:
    """Where data dated ``dates`` is older than ``stale_after`` days before ``as_of`` (never where the date is NaT).

    Data of exactly ``stale_after`` days ago is still fresh: "stale after 60 days" leaves out day 61 and older.
    """
    oldest_fresh = np.datetime64(as_of - dt.timedelta(days=stale_after), "D")
    return np.asarray(dates, dtype="datetime64[D]") < oldest_fresh  # NaT compares False


def _stale_issues(metric: Metric, source: SourceDates, stale: np.ndarray, unknown: np.ndarray,
                  as_of: dt.date) -> list[DataIssue]:
    """A Data Issues row per account whose data of ``metric`` is stale (left out) or has no readable date (used)."""
    issues = []
    rows = np.flatnonzero(stale)
    days = np.asarray(source.dates, dtype="datetime64[D]")[rows]
    ages = (np.datetime64(as_of, "D") - days).astype(np.int64).tolist()
    action = "scored without it (treated as missing)"
    after = f"stale after {metric.stale_after} days)"
    for row, updated, age in zip(rows.tolist(), np.datetime_as_string(days).tolist(), ages):  # text made in bulk
        issues.append(DataIssue(source.sheet, source.cell(row), source.column, updated,
                                f'"{metric.name}" data is {age} days old (updated {updated}; {after}', action))
    for row in np.flatnonzero(unknown).tolist():
        value = source.value(row)
        blank = value is None or (isinstance(value, str) and not value.strip())
        issues.append(DataIssue(source.sheet, source.cell(row), source.column, "" if blank else str(value),
                                f'"{metric.name}" has stale after {metric.stale_after} days, but '
                                + ("the date is blank" if blank else "this is not a date"),
                                "used the value (date unknown)"))
    return issues


def score(config: HealthConfig, data: ScoringInput) -> ScoreResult:
    """Score every account: metric, category and overall scores, coverage, bands and overrides."""
    index = data.accounts.index
    n = len(index)
    issues: list[DataIssue] = []
    active = []
    for o in config.overrides:
        if o.expires < data.as_of:
            issues.append(DataIssue(c.OVERRIDES, o.location, OVERRIDE_EXPIRES, o.expires.isoformat(),
                                    f"override expired on {o.expires.isoformat()} (as-of date {data.as_of.isoformat()})",
                                    "ignored the override; the computed score is used"))
        elif o.account not in index:
            issues.append(DataIssue(c.OVERRIDES, o.location, OVERRIDE_ACCOUNT, o.account,
                                    f'account "{o.account}" is not on the Accounts sheet', "ignored the override"))
        else:
            active.append(o)
    applied: list[AppliedOverride] = []
    listed: dict[tuple[str, str | None], list] = {}  # active overrides by level and target, in the order listed
    for o in active:
        listed.setdefault((o.level, o.target), []).append(o)

    def apply(scores: np.ndarray, level: str, target: str | None) -> None:
        """Write the active score overrides of one level and target into ``scores`` (a view into the result)."""
        for o in listed.get((level, target), ()):
            if o.score is None:
                continue
            row = index.get_loc(o.account)
            before = float(scores[row])
            scores[row] = o.score
            applied.append(AppliedOverride(o.account, level, target, score=float(o.score), band=None, was=before,
                                           reason=o.reason, author=o.author, expires=o.expires))

    names = [m.name for m in config.metrics]
    # Column-major: each metric's scores are one contiguous array, and the frame below wraps them without a copy.
    metric_matrix = np.empty((n, len(names)), order="F")
    stale_by_metric: dict[str, np.ndarray] = {}
    for k, m in enumerate(config.metrics):
        column = metric_matrix[:, k]
        column[:] = metric_score(m, data)
        source = data.dates.get(m.name) if m.stale_after is not None else None
        if source is not None:  # data older than Stale after is missing: weights renormalise, coverage drops
            scored = ~np.isnan(column)
            stale = stale_mask(source.dates, data.as_of, m.stale_after) & scored
            unknown = np.isnat(np.asarray(source.dates, dtype="datetime64[D]")) & scored
            column[stale] = np.nan
            issues += _stale_issues(m, source, stale, unknown, data.as_of)
        apply(column, "metric", m.name)
        if source is not None:
            stale_by_metric[m.name] = stale & np.isnan(column)  # a metric override gives it a score again
    metric_cols = [metric_matrix[:, k] for k in range(len(names))]
    metric_present = [~np.isnan(col) for col in metric_cols]

    cats = list(config.categories)
    cat_pos = {cat.name: g for g, cat in enumerate(cats)}
    groups: list[list[int]] = [[] for _ in cats]
    for k, m in enumerate(config.metrics):
        groups[cat_pos[m.category]].append(k)
    metric_w = np.array([m.weight for m in config.metrics], dtype=float)
    cat_matrix = _weighted_means(n, metric_cols, metric_present, metric_w, groups)
    for g, cat in enumerate(cats):
        apply(cat_matrix[:, g], "category", cat.name)
    cat_w = np.array([cat.weight for cat in cats], dtype=float)
    cat_cols = [cat_matrix[:, g] for g in range(len(cats))]
    overall = _weighted_means(n, cat_cols, [~np.isnan(col) for col in cat_cols], cat_w, [list(range(len(cats)))])[:, 0]

    # Coverage: the share of the overall weight carried by metrics that have a score.
    cat_share = cat_w / cat_w.sum()
    cat_of = np.array([cat_pos[m.category] for m in config.metrics], dtype=int)
    within = metric_w / np.maximum(np.array([metric_w[groups[g]].sum() for g in cat_of]), 1e-300)
    effective = within * cat_share[cat_of]
    coverage = np.zeros(n)
    for k, has in enumerate(metric_present):
        np.add(coverage, effective[k], out=coverage, where=has)

    status = np.full(n, "", dtype=object)
    short = coverage < config.min_coverage - 1e-12
    overall[short] = np.nan
    status[short] = INSUFFICIENT
    # Rules act on the computed overall (after metric and category overrides); overall overrides then win.
    ruled = apply_rules(config, overall, {cat.name: cat_cols[g] for g, cat in enumerate(cats)},
                        {name: metric_cols[k] for k, name in enumerate(names)}, data.accounts)
    overall_overridden = np.zeros(n, dtype=bool)
    for o in listed.get(("overall", None), ()):
        overall_overridden[index.get_loc(o.account)] = True
    overall[~overall_overridden] = ruled.overall[~overall_overridden]
    apply(overall, "overall", None)
    overall_band = band_of(overall, config.bands)
    forced = (ruled.forced_band != NO_BAND) & ~overall_overridden
    overall_band[forced] = np.asarray(c.BANDS, dtype=object)[ruled.forced_band[forced]]
    rule_band = np.full(n, "", dtype=object)
    rule_band[forced] = overall_band[forced]
    for o in active:
        if o.level == "overall" and o.score is None and o.band:
            row = index.get_loc(o.account)
            applied.append(AppliedOverride(o.account, level="overall", target=None, score=None, band=o.band,
                                           was=overall_band[row], reason=o.reason, author=o.author, expires=o.expires))
            overall_band[row] = o.band
    overridden = ~np.isnan(overall) & short
    status[overridden] = "override"

    missing = _missing_names(metric_present, names, n, stale_by_metric)
    return ScoreResult(
        metric_scores=pd.DataFrame(metric_matrix, index=index, columns=names, copy=False),
        category_scores=pd.DataFrame(cat_matrix, index=index, columns=[cat.name for cat in cats], copy=False),
        overall=pd.Series(overall, index=index, name="Overall", copy=False),
        coverage=pd.Series(coverage, index=index, name="Coverage", copy=False),
        status=pd.Series(status, index=index, name="Status"),
        overall_band=pd.Series(overall_band, index=index, name="Band"),
        overrides=applied,
        missing=pd.Series(missing, index=index, name="Missing data"),
        issues=issues,
        rules=pd.Series(fired_names(config.rules, ruled.fired, overall_overridden, n), index=index, name="Rule"),
        rule_band=pd.Series(rule_band, index=index, name="Rule band"),
        stale=pd.DataFrame({name: stale_by_metric.get(name, np.zeros(n, dtype=bool)) for name in names}, index=index),
    )
