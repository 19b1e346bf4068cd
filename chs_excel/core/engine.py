"""The scoring engine: metric scores -> category scores -> overall score, vectorised.

Pure: it takes a :class:`HealthConfig` and pandas data, and knows nothing of
sheets or Excel. One pass over N accounts is a handful of numpy operations per
metric, never a Python loop over accounts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chs_excel.core import measures
from chs_excel.config import Bands, HealthConfig, Metric
from chs_excel.problems import DataIssue, show_value

INSUFFICIENT = "insufficient data"


@dataclass
class ScoringInput:
    """What the engine scores.

    ``accounts``: one row per account, indexed by account ID, with the metric
    source columns (numbers as float, labels as text, NaN/None for missing).
    ``trends``: for each trend source column, ``(previous, latest)`` period
    values aligned on the same index.
    """

    accounts: pd.DataFrame
    as_of: dt.date
    trends: dict[str, tuple[pd.Series, pd.Series]] = field(default_factory=dict)


@dataclass
class ScoreResult:
    metric_scores: pd.DataFrame
    category_scores: pd.DataFrame
    overall: pd.Series
    coverage: pd.Series
    status: pd.Series
    overall_band: pd.Series
    overrides: pd.Series
    missing: pd.Series
    issues: list[DataIssue]


def band_labels(scores, red_below: float, amber_below: float) -> np.ndarray:
    """'Red', 'Amber' or 'Green' for each score ('' where there is none)."""
    values = np.asarray(scores, dtype=float)
    out = np.select([values < red_below, values < amber_below, values >= amber_below], ["Red", "Amber", "Green"], default="")
    return out.astype(object)


def band_of(scores, bands: Bands) -> np.ndarray:
    return band_labels(scores, bands.red_below, bands.amber_below)


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


def metric_score(metric: Metric, data: ScoringInput) -> np.ndarray:
    """Scores 1-100 of one metric for every account (NaN where it has no data)."""
    acc = data.accounts
    index = acc.index
    if metric.measure == "trend":
        previous, latest = data.trends.get(metric.source, (pd.Series(np.nan, index=index),) * 2)
        return measures.trend(previous, latest, metric.low, metric.high, metric.higher_is_better)
    values = acc[metric.source]
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


def _weighted_mean(scores: np.ndarray, weights: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Weighted mean of score columns per group, over the columns with a value (renormalised).

    ``scores`` N x K (NaN = missing), ``weights`` K, ``members`` K x G (1 where column k is in group g).
    """
    present = ~np.isnan(scores)
    weighted_members = weights[:, None] * members
    numerator = np.where(present, scores, 0.0) @ weighted_members
    denominator = present.astype(float) @ weighted_members
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def _missing_names(metric_matrix: np.ndarray, names: list[str]) -> np.ndarray:
    """For each account, the names of metrics without a score, as text ("" when none).

    Accounts share few distinct gap patterns, so each pattern is spelled out once.
    """
    if not names:
        return np.full(metric_matrix.shape[0], "", dtype=object)
    if len(names) > 62:  # too many for one int64 bit pattern: spell out row by row
        return np.array([", ".join(np.array(names)[np.isnan(row)]) for row in metric_matrix], dtype=object)
    pattern = np.isnan(metric_matrix).astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    codes, inverse = np.unique(pattern, return_inverse=True)
    texts = np.array([", ".join(n for k, n in enumerate(names) if code >> k & 1) for code in codes], dtype=object)
    return texts[inverse]


def score(config: HealthConfig, data: ScoringInput) -> ScoreResult:
    """Score every account: metric, category and overall scores, coverage, bands and overrides."""
    index = data.accounts.index
    n = len(index)
    issues: list[DataIssue] = []
    active = []
    for o in config.overrides:
        if o.expires < data.as_of:
            issues.append(DataIssue("Overrides", o.location, "Expires", o.expires.isoformat(),
                                    f"override expired on {o.expires.isoformat()} (as-of date {data.as_of.isoformat()})",
                                    "ignored the override; the computed score is used"))
        elif o.account not in index:
            issues.append(DataIssue("Overrides", o.location, "Account ID", o.account,
                                    f'account "{o.account}" is not on the Accounts sheet', "ignored the override"))
        else:
            active.append(o)
    note_parts: dict[str, list[str]] = {}

    def apply(frame_or_series, level: str, target: str | None):
        for o in active:
            if o.level != level or o.target != target or o.score is None:
                continue
            row = index.get_loc(o.account)
            if isinstance(frame_or_series, np.ndarray):
                before = frame_or_series[row]
                frame_or_series[row] = o.score
            else:
                before = frame_or_series.iloc[row]
                frame_or_series.iloc[row] = o.score
            what = target or "Overall"
            was = "no score" if np.isnan(before) else f"{before:.0f}"
            note_parts.setdefault(o.account, []).append(
                f"{what} set to {show_value(float(o.score))} (was {was}): {o.reason} ({o.author}, until {o.expires.isoformat()})")

    metric_cols = {}
    for m in config.metrics:
        s = np.array(metric_score(m, data), dtype=float)  # a copy: overrides write into it
        apply(s, "metric", m.name)
        metric_cols[m.name] = s
    metric_matrix = np.column_stack([metric_cols[m.name] for m in config.metrics]) if config.metrics else np.empty((n, 0))

    cats = list(config.categories)
    cat_pos = {cat.name: g for g, cat in enumerate(cats)}
    members = np.zeros((len(config.metrics), len(cats)))
    for k, m in enumerate(config.metrics):
        members[k, cat_pos[m.category]] = 1.0
    metric_w = np.array([m.weight for m in config.metrics], dtype=float)
    cat_matrix = _weighted_mean(metric_matrix, metric_w, members)
    for g, cat in enumerate(cats):
        apply(cat_matrix[:, g], "category", cat.name)
    cat_w = np.array([cat.weight for cat in cats], dtype=float)
    overall = _weighted_mean(cat_matrix, cat_w, np.ones((len(cats), 1)))[:, 0]

    # Coverage: the share of the overall weight carried by metrics that have a score.
    cat_share = cat_w / cat_w.sum()
    within = metric_w / np.maximum(members @ (members.T @ metric_w), 1e-300)
    effective = within * (members @ cat_share)
    coverage = (~np.isnan(metric_matrix)).astype(float) @ effective

    status = np.full(n, "", dtype=object)
    short = coverage < config.min_coverage - 1e-12
    overall = np.where(short, np.nan, overall)
    status[short] = INSUFFICIENT
    apply(overall, "overall", None)
    overall_band = band_of(overall, config.bands)
    for o in active:
        if o.level == "overall" and o.score is None and o.band:
            row = index.get_loc(o.account)
            computed = overall_band[row] or "no band"
            overall_band[row] = o.band
            note_parts.setdefault(o.account, []).append(
                f"Band set to {o.band} (was {computed}): {o.reason} ({o.author}, until {o.expires.isoformat()})")
    overridden = ~np.isnan(overall) & short
    status[overridden] = "override"

    missing = _missing_names(metric_matrix, [m.name for m in config.metrics])
    override_text = pd.Series("", index=index, dtype=object)
    for account, parts in note_parts.items():
        override_text.loc[account] = "; ".join(parts)
    return ScoreResult(
        metric_scores=pd.DataFrame(metric_matrix, index=index, columns=[m.name for m in config.metrics]),
        category_scores=pd.DataFrame(cat_matrix, index=index, columns=[cat.name for cat in cats]),
        overall=pd.Series(overall, index=index, name="Overall"),
        coverage=pd.Series(coverage, index=index, name="Coverage"),
        status=pd.Series(status, index=index, name="Status"),
        overall_band=pd.Series(overall_band, index=index, name="Band"),
        overrides=override_text,
        missing=pd.Series(missing, index=index, name="Missing data"),
        issues=issues,
    )


def points_lost(config: HealthConfig, metric_scores: pd.DataFrame) -> pd.DataFrame:
    """Points each metric costs each account's overall score: its effective weight x (100 - score).

    Effective weights are renormalised over the metrics (and categories) that
    have a score, exactly as in the roll-up, so an account's points lost add
    up to ``100 - overall`` (before overrides). Metrics without a score cost nothing.
    """
    scores = metric_scores[[m.name for m in config.metrics]].to_numpy(dtype=float)
    present = ~np.isnan(scores)
    cats = [cat.name for cat in config.categories]
    member = np.array([cats.index(m.category) for m in config.metrics])
    metric_w = np.array([m.weight for m in config.metrics], dtype=float)
    onehot = np.zeros((len(config.metrics), len(cats)))
    onehot[np.arange(len(config.metrics)), member] = 1.0
    cat_weight_present = (present * metric_w) @ onehot                       # N x C
    cat_w = np.array([cat.weight for cat in config.categories], dtype=float)
    cat_on = (cat_weight_present > 0) * cat_w
    with np.errstate(invalid="ignore", divide="ignore"):
        cat_share = cat_on / cat_on.sum(axis=1, keepdims=True)
        effective = cat_share[:, member] * metric_w * present / cat_weight_present[:, member]
    lost = np.where(present, np.nan_to_num(effective) * (100.0 - np.nan_to_num(scores)), 0.0)
    return pd.DataFrame(lost, index=metric_scores.index, columns=[m.name for m in config.metrics])


def driver_text(lost: pd.DataFrame, top: int = 3, at_least: float = 0.5) -> pd.Series:
    """The metrics that cost the most points, as readable text: "Support engagement -18, Outreach -9"."""
    values = lost.to_numpy()
    names = np.asarray(lost.columns, dtype=object)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    texts = []
    for row, picks in zip(values, order):
        texts.append(", ".join(f"{names[k]} -{int(np.floor(row[k] + 0.5))}" for k in picks if row[k] >= at_least))
    return pd.Series(texts, index=lost.index, dtype=object)
