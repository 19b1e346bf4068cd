"""The logic behind chs-excel's worksheet functions, on plain Python values.

Each function takes what Excel hands over for a range (a 2-D list; a 1-D list
for one row from classic COM; ``None`` or ``''`` for blanks; error text such
as ``#N/A``; dates as datetimes or serial numbers) and returns a 2-D list with
one value per account row, so one call can score a whole table and spill.
Nothing here imports xlwings.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.cells import clean_grid
from chs_excel.book.table import Table, table_from_grid
from chs_excel.config import HealthConfig, config_from_tables
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import driver_text, points_lost, rounded, shown_overall
from chs_excel.inputs import AccountRows
from chs_excel.pipeline import prepare

Grid = list[list[Any]]
_CONFIG_CACHE: OrderedDict[str, HealthConfig] = OrderedDict()


def as_grid(values) -> Grid:
    """Excel input from any client as a 2-D list of clean cells (see :mod:`chs_excel.book.cells`)."""
    return clean_grid(values)


def _table(sheet: str, values) -> Table | None:
    grid = as_grid(values)
    return table_from_grid(sheet, grid) if grid else None


def cached_config(metrics, categories, settings=None, overrides=None, rules=None) -> HealthConfig:
    """The config built from the config ranges; rebuilt only when their values change."""
    key = repr((metrics, categories, settings, overrides, rules))
    if key in _CONFIG_CACHE:
        _CONFIG_CACHE.move_to_end(key)
        return _CONFIG_CACHE[key]
    tables = {name: t for name, t in ((c.METRICS, _table(c.METRICS, metrics)), (c.CATEGORIES, _table(c.CATEGORIES, categories)),
                                      (c.SETTINGS, _table(c.SETTINGS, settings)), (c.OVERRIDES, _table(c.OVERRIDES, overrides)), (c.RULES, _table(c.RULES, rules)))
              if t is not None}
    config = config_from_tables(tables)
    _CONFIG_CACHE[key] = config
    if len(_CONFIG_CACHE) > 16:
        _CONFIG_CACHE.popitem(last=False)
    return config


@dataclass
class Scored:
    config: HealthConfig
    result: ScoreResult
    row_ids: list[str | None]  # account ID of each input row (None: not scored)
    row_notes: list[str]       # why a row has no result ('' when it has one, or is wholly blank)


def _row_notes(rows: AccountRows) -> tuple[list[str | None], list[str]]:
    """Each input row's account ID (None when not scored) and, in a cell's few words, why a row was skipped."""
    row_ids: list[str | None] = []
    notes = []
    for ident, blank, empty, duplicate in zip(rows.ids, rows.blank.tolist(), rows.empty.tolist(),
                                              rows.duplicate.tolist()):
        row_ids.append(None if blank or duplicate else ident)
        notes.append("" if empty else "no Account ID" if blank else f"duplicate Account ID {ident}" if duplicate else "")
    return row_ids, notes


def score_rows(accounts, metrics, categories, settings=None, history=None, overrides=None, header=None,
               rules=None) -> Scored:
    """Score the account rows through :func:`chs_excel.pipeline.prepare`.

    ``header``: the Accounts header row, when ``accounts`` holds data rows only; ``rules``: the Rules table.
    """
    config = cached_config(metrics, categories, settings, overrides, rules)
    rows = as_grid(accounts)
    if header is not None:
        head = [str(h).strip() if h is not None else "" for h in as_grid(header)[0]]
        body = [(list(r) + [""] * len(head))[:len(head)] for r in rows]
        table = Table(c.ACCOUNTS, head, [["" if v is None else v for v in r] for r in body])
    else:
        table = table_from_grid(c.ACCOUNTS, rows)
    tables = {c.ACCOUNTS: table}
    if history is not None:
        tables[c.HISTORY] = table_from_grid(c.HISTORY, as_grid(history))
    prepared = prepare(tables, config=config)
    return Scored(prepared.config, prepared.result, *_row_notes(prepared.rows))


def _per_row(scored: Scored, values: pd.Series, blank="") -> Grid:
    """One output row per input row, in input order."""
    found = values.reindex(pd.Index(scored.row_ids, dtype=object)).to_numpy(dtype=object)
    missing = pd.isna(found)
    out = [[note or blank] if gap else [value] for value, gap, note in zip(found.tolist(), missing, scored.row_notes)]
    return out or [[blank]]


def _scores(values: pd.Series) -> pd.Series:
    return pd.Series(rounded(values.to_numpy(dtype=float)), index=values.index)


def health_score(*args, **kwargs) -> Grid:
    s = score_rows(*args, **kwargs)
    return _per_row(s, _scores(s.result.overall))


def health_band(*args, **kwargs) -> Grid:
    s = score_rows(*args, **kwargs)
    _, band = shown_overall(s.config, s.result)
    return _per_row(s, band.replace("", None))


def _named(s: Scored, requested: str, kind: str, scores: pd.DataFrame) -> Grid:
    """One category's or metric's scores, found by name ignoring case and spaces."""
    names = {str(name).casefold(): name for name in scores.columns}
    name = names.get(str(requested).strip().casefold())
    if name is None:
        return [[f'unknown {kind} "{requested}" (known: {", ".join(map(str, scores.columns))})']]
    return _per_row(s, _scores(scores[name]))


def category_score(accounts, category: str, *args, **kwargs) -> Grid:
    s = score_rows(accounts, *args, **kwargs)
    return _named(s, category, "category", s.result.category_scores)


def metric_score(accounts, metric: str, *args, **kwargs) -> Grid:
    s = score_rows(accounts, *args, **kwargs)
    return _named(s, metric, "metric", s.result.metric_scores)


def health_gap(accounts, benchmark, *args, **kwargs) -> Grid:
    """Overall score minus the benchmark (one number, or one per row): negative means below benchmark."""
    s = score_rows(accounts, *args, **kwargs)
    shown = _scores(s.result.overall)
    marks = [row[0] if row else None for row in as_grid(benchmark)]
    if len(marks) == 1:
        marks = marks * len(s.row_ids)
    out = []
    for i, (ident, note) in enumerate(zip(s.row_ids, s.row_notes)):
        mark = marks[i] if i < len(marks) else None
        value = shown.get(ident) if ident is not None else None
        if value is None or np.isnan(value):
            out.append([note or ""])
        elif isinstance(mark, bool) or not isinstance(mark, (int, float)):
            out.append(["benchmark is not a number"])
        else:
            out.append([float(value - mark)])
    return out or [[""]]


def health_drivers(accounts, *args, top: int = 3, **kwargs) -> Grid:
    s = score_rows(accounts, *args, **kwargs)
    texts = driver_text(points_lost(s.config, s.result.metric_scores), top=int(top))
    return _per_row(s, texts.replace("", None))
