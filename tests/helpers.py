"""Small workbooks and tables for tests, built in code so every value is visible in the test."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from chs_excel import contract as c
from chs_excel.book.table import Table, table_from_grid

METRIC_HEADER = [col.header for col in c.METRIC_COLUMNS]
CATEGORY_HEADER = [col.header for col in c.CATEGORY_COLUMNS]
OVERRIDE_HEADER = [col.header for col in c.OVERRIDE_COLUMNS]


def metric_row(name, category, weight, measure, source, **params) -> list:
    """A Metrics row; ``params`` by config key (low=0, high=10, labels="a=1", ...)."""
    values = {"name": name, "category": category, "weight": weight, "measure": measure, "source": source, **params}
    return [values.get(col.key, "") for col in c.METRIC_COLUMNS]


def override_row(account, level, target="", score="", band="", reason="because", author="CSM",
                 expires=dt.date(2099, 1, 1)) -> list:
    return [account, level, target, score, band, reason, author, expires]


def table(sheet: str, header: list, rows: list[list]) -> Table:
    width = len(header)
    return Table(sheet, list(header), [list(r) + [""] * (width - len(r)) for r in rows])


def simple_tables(metrics=None, categories=None, settings=None, overrides=None) -> dict[str, Table]:
    """Config tables for two categories A (weight 3) and B (weight 1) over label columns L1..L3."""
    categories = categories if categories is not None else [["A", 3], ["B", 1]]
    metrics = metrics if metrics is not None else [
        metric_row("m1", "A", 1, "categorical", "L1", labels="a=20; b=60; c=100"),
        metric_row("m2", "A", 3, "categorical", "L2", labels="a=20; b=60; c=100"),
        metric_row("m3", "B", 1, "categorical", "L3", labels="a=20; b=60; c=100"),
    ]
    tables = {
        c.CATEGORIES: table(c.CATEGORIES, CATEGORY_HEADER, categories),
        c.METRICS: table(c.METRICS, METRIC_HEADER, metrics),
        c.SETTINGS: table(c.SETTINGS, ["Setting", "Value"], settings if settings is not None else
                          [["Minimum coverage", 0.4], ["As-of date", dt.date(2026, 11, 15)]]),
    }
    if overrides is not None:
        tables[c.OVERRIDES] = table(c.OVERRIDES, OVERRIDE_HEADER, overrides)
    return tables


def write_book(path: Path, sheets: dict[str, list[list]], after=None) -> Path:
    """A workbook with one sheet per entry, rows written from A1; ``after(workbook)`` may add more before saving."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    if after:
        after(wb)
    wb.save(path)
    return path


def tables_from_rows(sheets: dict) -> dict:
    """Tables straight from row lists, the way a reader hands them over (no file in between)."""
    return {name: table_from_grid(name, [list(r) for r in rows]) for name, rows in sheets.items()}
