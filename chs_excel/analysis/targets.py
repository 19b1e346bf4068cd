"""Benchmarks by segment x journey stage, and the playbook for each account below its benchmark.

Pure: plain pandas in, plain pandas out. Matching ignores case and spaces
around names; a blank segment or stage in a benchmark or playbook means "any".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.config.model import HealthConfig
from chs_excel.problems import DataIssue


def _norm(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.casefold()


def _equals(values: pd.Series, wanted: str | None) -> np.ndarray:
    if wanted is None:
        return np.ones(len(values), dtype=bool)
    return (values == wanted.strip().casefold()).to_numpy()


def match_benchmarks(config: HealthConfig, segment: pd.Series, stage: pd.Series) -> pd.Series:
    """For each account, the position in ``config.benchmarks`` of the benchmark that applies (-1: none).

    The most specific benchmark wins (segment and stage > one of them > neither);
    among equally specific ones, the first listed.
    """
    seg, stg = _norm(segment), _norm(stage)
    chosen = np.full(len(segment), -1)
    order = sorted(range(len(config.benchmarks)), key=lambda k: -config.benchmarks[k].specificity)
    for k in order:
        b = config.benchmarks[k]
        hit = (chosen < 0) & _equals(seg, b.segment) & _equals(stg, b.stage)
        chosen[hit] = k
    return pd.Series(chosen, index=segment.index)


def benchmark_targets(config: HealthConfig, chosen: pd.Series) -> pd.Series:
    targets = np.array([b.target for b in config.benchmarks] + [np.nan])
    return pd.Series(targets[chosen.to_numpy()], index=chosen.index)  # -1 picks the trailing NaN


def select_playbooks(config: HealthConfig, band: pd.Series, stage: pd.Series, top_category: pd.Series,
                     top_metric: pd.Series) -> pd.Series:
    """For each account, the position in ``config.playbooks`` of its playbook (-1: none).

    A playbook applies when every trigger it sets holds: the overall band, the
    journey stage, the category and the metric that cost the account the most
    points. The most specific applicable playbook wins; ties go to the first listed.
    """
    values = {"band": _norm(band), "stage": _norm(stage), "category": _norm(top_category), "metric": _norm(top_metric)}
    chosen = np.full(len(band), -1)
    order = sorted(range(len(config.playbooks)), key=lambda k: -config.playbooks[k].specificity)
    for k in order:
        p = config.playbooks[k]
        hit = chosen < 0
        for trigger, column in values.items():
            hit &= _equals(column, getattr(p, trigger))
        chosen[hit] = k
    return pd.Series(chosen, index=band.index)


def top_names(points: pd.DataFrame) -> pd.Series:
    """The column with the most points lost in each row ('' where nothing is lost)."""
    values = points.to_numpy()
    if values.size == 0:
        return pd.Series("", index=points.index, dtype=object)
    best = values.argmax(axis=1)
    names = np.asarray(points.columns, dtype=object)[best]
    return pd.Series(np.where(values.max(axis=1) > 0, names, ""), index=points.index, dtype=object)


def category_points(config: HealthConfig, lost: pd.DataFrame) -> pd.DataFrame:
    """Points lost per category: the sum over its metrics."""
    return pd.DataFrame({cat.name: lost[[m.name for m in config.metrics_in(cat.name)]].sum(axis=1)
                         for cat in config.categories}, index=lost.index)


def unmatched_names(config: HealthConfig, segment: pd.Series, stage: pd.Series) -> list[DataIssue]:
    """Benchmarks whose segment or stage no account has: usually a typo."""
    issues = []
    known = {"segment": set(_norm(segment)), "stage": set(_norm(stage))}
    for b in config.benchmarks:
        for field, value in (("segment", b.segment), ("stage", b.stage)):
            if value is not None and value.strip().casefold() not in known[field]:
                names = ", ".join(sorted({str(v) for v in (segment if field == "segment" else stage) if str(v).strip()}))
                column = c.column_header(c.BENCHMARK_COLUMNS, field)
                issues.append(DataIssue(b.location.split("!")[0], b.location, column, value,
                                        f'no account has {field} "{value}" (accounts have: {names})',
                                        "the benchmark applies to no account"))
    return issues
