"""Benchmarks by segment x journey stage, and the playbook for each account below its benchmark.

Pure: plain pandas in, plain pandas out. Matching ignores case and spaces
around names; a blank segment or stage in a benchmark or playbook means "any".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.config.model import HealthConfig
from chs_excel.core.distinct import group_rows, text_codes
from chs_excel.problems import DataIssue


def _norm(values) -> tuple[np.ndarray, np.ndarray]:
    """Each value as matched (text, spaces trimmed, case folded, '' when blank), as each row's position in the
    distinct matched forms, and those forms (worked out once per distinct value)."""
    return text_codes(values, lambda s: s.fillna("").astype(str).str.strip().str.casefold())


def _equals(values: tuple[np.ndarray, np.ndarray], wanted: str | None) -> np.ndarray:
    codes, forms = values
    if wanted is None:
        return np.ones(len(codes), dtype=bool)
    return np.append(forms == wanted.strip().casefold(), False)[codes]


def _first_match(columns: list[tuple[np.ndarray, np.ndarray]], rules: list[tuple[str | None, ...]],
                 specificity: list[int]) -> np.ndarray:
    """For each row, the position of the rule whose every text matches its column (-1: none); the most specific
    rule wins, ties going to the first listed. Worked out once per distinct combination of texts."""
    n = len(columns[0][0])
    group, example = group_rows(n, [codes for codes, _ in columns])
    seen = [(codes[example], forms) for codes, forms in columns]
    chosen = np.full(len(example), -1)
    for k in sorted(range(len(rules)), key=lambda k: -specificity[k]):
        hit = chosen < 0
        for column, wanted in zip(seen, rules[k]):
            hit &= _equals(column, wanted)
        chosen[hit] = k
    return chosen[group]


def match_benchmarks(config: HealthConfig, segment: pd.Series, stage: pd.Series) -> pd.Series:
    """For each account, the position in ``config.benchmarks`` of the benchmark that applies (-1: none).

    The most specific benchmark wins (segment and stage > one of them > neither);
    among equally specific ones, the first listed.
    """
    rules = [(b.segment, b.stage) for b in config.benchmarks]
    chosen = _first_match([_norm(segment), _norm(stage)], rules, [b.specificity for b in config.benchmarks])
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
    columns = [_norm(band), _norm(stage), _norm(top_category), _norm(top_metric)]
    rules = [(p.band, p.stage, p.category, p.metric) for p in config.playbooks]
    chosen = _first_match(columns, rules, [p.specificity for p in config.playbooks])
    return pd.Series(chosen, index=band.index)


def top_names(points: pd.DataFrame) -> pd.Series:
    """The column with the most points lost in each row ('' where nothing is lost)."""
    values = points.to_numpy(dtype=float)
    if values.size == 0:
        return pd.Series("", index=points.index, dtype=object)
    # Column by column (a frame's columns are contiguous): the first largest, as argmax picks it.
    best, at, blank = values[:, 0].copy(), np.zeros(len(values), dtype=np.intp), np.isnan(values[:, 0])
    for k in range(1, values.shape[1]):
        column = values[:, k]
        better = column > best
        np.copyto(best, column, where=better)
        np.copyto(at, k, where=better)
        blank |= np.isnan(column)  # a row with a NaN has no largest (as max gives NaN)
    names = np.asarray(points.columns, dtype=object)[at]
    return pd.Series(np.where((best > 0) & ~blank, names, ""), index=points.index, dtype=object)


def category_points(config: HealthConfig, lost: pd.DataFrame) -> pd.DataFrame:
    """Points lost per category: the sum over its metrics."""
    return pd.DataFrame({cat.name: lost[[m.name for m in config.metrics_in(cat.name)]].sum(axis=1)
                         for cat in config.categories}, index=lost.index)


def unmatched_names(config: HealthConfig, segment: pd.Series, stage: pd.Series) -> list[DataIssue]:
    """Benchmarks whose segment or stage no account has: usually a typo."""
    issues = []
    known = {"segment": set(_norm(segment)[1]), "stage": set(_norm(stage)[1])}
    for b in config.benchmarks:
        for field, value in (("segment", b.segment), ("stage", b.stage)):
            if value is not None and value.strip().casefold() not in known[field]:
                spelled = text_codes(segment if field == "segment" else stage, lambda s: s.map(str))[1]
                names = ", ".join(sorted({v for v in spelled if v.strip()}))
                column = c.column_header(c.BENCHMARK_COLUMNS, field)
                issues.append(DataIssue(b.location.split("!")[0], b.location, column, value,
                                        f'no account has {field} "{value}" (accounts have: {names})',
                                        "the benchmark applies to no account"))
    return issues
