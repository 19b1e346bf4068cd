"""The config sheets' cells, turned into the config object the schema checks.

Each cell becomes the JSON value the schema expects ("60%" -> 0.6, "Higher is
better" -> "higher", a date -> "2026-01-31"); a value that cannot be turned is
left as it is, for the schema to reject in words. :class:`SheetLocator` remembers
which cell each value came from, so every problem names its cell.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any, Protocol

from chs_excel import contract as c
from chs_excel.cellvalues import CellError, serial_to_date
from chs_excel.config.schema import ConfigPath, is_finite_number
from chs_excel.problems import Problem

NUMBER_KEYS = {"weight", "low", "high", "target", "red_below", "amber_below", "score", "min_coverage", "stale_after"}
LIST_KEYS = {"cut_points", "scores"}
DATE_KEYS = {"goal_start", "goal_end", "expires", "as_of", "date"}
WORD_KEYS = {"measure", "direction", "level", "goal_period", "outcome"}
# The Rules sheet's "Is": a comparison, in symbols or words (a lone "=" is awkward to type into Excel).
COMPARISON_WORDS = {"<": "<", "<=": "<=", "=<": "<=", "≤": "<=", ">": ">", ">=": ">=", "=>": ">=", "≥": ">=",
                    "=": "=", "==": "=", "is": "=", "equals": "=", "<>": "<>", "!=": "<>", "≠": "<>",
                    "is not": "<>", "not": "<>", "below": "<", "under": "<", "above": ">", "over": ">",
                    "at most": "<=", "at least": ">="}
DIRECTION_WORDS = {"higher": "higher", "higher is better": "higher", "up": "higher",
                   "lower": "lower", "lower is better": "lower", "down": "lower"}
# Metrics' "Read from": the sheet a metric's Source is on (case and spaces ignored); anything else is left for the
# schema to refuse, naming the cell.
READ_FROM_WORDS = {"accounts": "accounts", "account": "accounts", "metric history": "history", "history": "history"}


# Yes/no settings (e.g. Settings' "Churn risk column"): these words, TRUE/FALSE or 1/0; anything else is left for
# the schema to refuse, naming the cell.
YES_NO_KEYS = {"churn_risk_column"}
YES_NO_WORDS = {"yes": True, "y": True, "true": True, "on": True, "no": False, "n": False, "false": False, "off": False}


def _yes_no(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and not isinstance(value, CellError):
        return YES_NO_WORDS.get(value.strip().casefold(), value.strip())
    return value


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not isinstance(value, CellError) and value.strip() == "")



def _number(value: Any) -> Any:
    """Numbers stay; numeric text ("12", "60%") becomes a number; anything else is kept for the schema to reject.

    Text that Python would read as NaN or an infinity ("NaN", "inf", "1e309") stays text, so the
    schema rejects it as "got "NaN"", like any other word.
    """
    if isinstance(value, bool) or isinstance(value, CellError) or not isinstance(value, str):
        return float(value) if isinstance(value, int) and is_finite_number(value) else value
    text = value.strip().replace(",", "")
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def _number_list(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if not isinstance(value, str) or isinstance(value, CellError):
        return value
    parts = [p for p in re.split(r"[;,\s]+", value.strip()) if p]
    numbers = [_number(p) for p in parts]
    return numbers if numbers and all(isinstance(n, float) for n in numbers) else value


def _labels(value: Any) -> Any:
    if not isinstance(value, str) or isinstance(value, CellError):
        return value
    mapping: dict[str, Any] = {}
    for part in re.split(r"[;\n]+|,(?![^=:]*$)", value):
        if not part.strip():
            continue
        label, sep, score = part.partition("=") if "=" in part else part.rpartition(":")
        if not sep or not label.strip():
            return value
        mapping[label.strip()] = _number(score.strip())
    return mapping or value


def _date(value: Any) -> Any:
    serial = serial_to_date(value)
    if serial is not None:  # Office.js sends date cells as serial numbers
        return serial.isoformat()
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value.strip() if isinstance(value, str) and not isinstance(value, CellError) else value


def _text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) and not isinstance(value, CellError) else value


def _number_or_word(value: Any) -> Any:
    """A rule's Value or To: a number (text that reads as one too), else text, band names capitalised ("red" -> "Red")."""
    number = _number(value)
    if isinstance(number, float) or not isinstance(number, str) or isinstance(number, CellError):
        return number
    text = number.strip()
    return text.capitalize() if text.casefold() in {band.casefold() for band in c.BANDS} else text


def convert_cell(key: str, value: Any) -> Any:
    """Turn one raw cell into the JSON value the schema expects (or leave it for the schema to reject)."""
    if key in ("value", "to"):
        return _number_or_word(value)
    if key == "compare" and isinstance(value, str) and not isinstance(value, CellError):
        word = " ".join(value.split()).casefold()
        return COMPARISON_WORDS.get(word, value.strip())
    if key == "effect" and isinstance(value, str) and not isinstance(value, CellError):
        return " ".join(value.split()).casefold()
    if key in YES_NO_KEYS:
        return _yes_no(value)
    if key in NUMBER_KEYS:
        return _number(value)
    if key in LIST_KEYS:
        return _number_list(value)
    if key == "labels":
        return _labels(value)
    if key in DATE_KEYS:
        return _date(value)
    if key in WORD_KEYS and isinstance(value, str) and not isinstance(value, CellError):
        word = value.strip().casefold()
        return DIRECTION_WORDS.get(word, word) if key == "direction" else word
    if key == "read_from" and isinstance(value, str) and not isinstance(value, CellError):
        return READ_FROM_WORDS.get(" ".join(value.split()).casefold(), value.strip())
    if key == "band" and isinstance(value, str) and not isinstance(value, CellError):
        return value.strip().capitalize()
    return _text(value)


class SheetTable(Protocol):
    """A sheet as config reads it: a header row, the rows under it, and each cell's address.

    :class:`chs_excel.book.Table` is one; naming only what is used keeps config free of the workbook edge.
    """

    sheet: str
    header: list[str]
    rows: list[list[Any]]
    header_row: int

    def find(self, header: str) -> int | None: ...

    def cell(self, i: int, j: int) -> str: ...


class SheetLocator:
    """Maps a config path such as ``("metrics", 2, "weight")`` to the cell it came from."""

    def __init__(self) -> None:
        self.cells: dict[ConfigPath, str] = {}

    def __call__(self, path: ConfigPath) -> str:
        for n in range(len(path), -1, -1):
            if path[:n] in self.cells:
                return self.cells[path[:n]]
        return "workbook"


def _missing_columns(table: SheetTable, columns: tuple[c.Column, ...]) -> list[Problem]:
    found = ", ".join(h for h in table.header if h) or "nothing"
    return [Problem(f"{table.sheet}!{table.header_row}:{table.header_row}",
                    f'column "{col.header}" is missing from the header row (found: {found})')
            for col in columns if col.required and table.find(col.header) is None]


def _rows_to_items(table: SheetTable, columns: tuple[c.Column, ...], key: str, locate: SheetLocator) -> list[dict]:
    positions = {col.key: table.find(col.header) for col in columns}
    locate.cells[(key,)] = f"{table.sheet}!A{table.header_row}"
    items = []
    for i, row in enumerate(table.rows):
        cells = {k: (row[j] if j is not None and j < len(row) else "") for k, j in positions.items()}
        if all(_is_blank(v) for v in cells.values()):
            continue
        n = len(items)
        item = {}
        for k, j in positions.items():
            if j is not None:
                locate.cells[(key, n, k)] = table.cell(i, j)
            if not _is_blank(cells[k]):
                item[k] = convert_cell(k, cells[k])
        locate.cells[(key, n)] = table.cell(i, 0)
        items.append(item)
    return items


def _settings(table: SheetTable, locate: SheetLocator) -> tuple[dict, list[Problem]]:
    problems = _missing_columns(table, c.SETTING_COLUMNS)
    if problems:
        return {}, problems
    name_j, value_j = table.find("Setting"), table.find("Value")
    known = {label.casefold(): (label, key) for label, (key, _) in c.SETTINGS_ROWS.items()}
    settings: dict[str, Any] = {}
    for i, row in enumerate(table.rows):
        name = row[name_j] if name_j < len(row) else ""
        if _is_blank(name):
            continue
        label_key = known.get(str(name).strip().casefold())
        if label_key is None:
            continue  # free notes on the Settings sheet are allowed
        key = label_key[1]
        locate.cells[("settings", key)] = table.cell(i, value_j)
        value = row[value_j] if value_j < len(row) else ""
        if not _is_blank(value):
            settings[key] = convert_cell(key, value)
    return settings, []


def config_dict_from_tables(tables: Mapping[str, SheetTable]) -> tuple[dict, SheetLocator, list[Problem]]:
    """Build the config object from the config sheets (Settings, Categories, Metrics, Overrides, ..., Rules)."""
    locate = SheetLocator()
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for sheet in (c.CATEGORIES, c.METRICS):
        if sheet not in tables:
            problems.append(Problem(sheet, f'the workbook has no "{sheet}" sheet; it is required '
                                           f"(run `chs-excel template` for a workbook with every sheet)"))
    if c.SETTINGS in tables:
        data["settings"], found = _settings(tables[c.SETTINGS], locate)
        problems += found
    for sheet, columns, key in ((c.CATEGORIES, c.CATEGORY_COLUMNS, "categories"),
                                (c.METRICS, c.METRIC_COLUMNS, "metrics"),
                                (c.OVERRIDES, c.OVERRIDE_COLUMNS, "overrides"),
                                (c.BENCHMARKS, c.BENCHMARK_COLUMNS, "benchmarks"),
                                (c.PLAYBOOKS, c.PLAYBOOK_COLUMNS, "playbooks"),
                                (c.OUTCOMES, c.OUTCOME_COLUMNS, "outcomes"),
                                (c.RULES, c.RULE_COLUMNS, "rules")):
        if sheet not in tables:
            continue
        missing = _missing_columns(tables[sheet], columns)
        problems += missing
        if not missing:
            data[key] = _rows_to_items(tables[sheet], columns, key, locate)
    if "benchmarks" in data and "categories" in data:
        _add_category_targets(tables[c.BENCHMARKS], data, locate)
    return data, locate, problems


def _add_category_targets(table: SheetTable, data: dict, locate: SheetLocator) -> None:
    """Benchmarks columns named after a category hold that category's target."""
    names = {str(cat.get("name", "")).strip().casefold() for cat in data["categories"]}
    positions = {j: h for j, h in enumerate(table.header) if h.strip().casefold() in names}
    if not positions:
        return
    items = iter(data["benchmarks"])
    known = [j for j in (table.find(col.header) for col in c.BENCHMARK_COLUMNS) if j is not None]
    n = 0
    for i, row in enumerate(table.rows):
        if all(_is_blank(row[j]) for j in known):  # the rows _rows_to_items skipped
            continue
        item = next(items)
        targets = {}
        for j, header in positions.items():
            locate.cells[("benchmarks", n, "category_targets", header.strip())] = table.cell(i, j)
            if not _is_blank(row[j]):
                targets[header.strip()] = _number(row[j])
        if targets:
            item["category_targets"] = targets
        n += 1
