"""What each Excel client hands to Python for a workbook's cells, built from a workbook file.

The recorded payloads in ``fixtures/clients/`` come from xlwings' own JavaScript clients
(see ``clients/README.md``); these builders give the same shapes for any test workbook:

* ``office``: xlwings' Office.js / Office Scripts book payload: blanks ``''``, errors as
  their text, date-formatted cells as ``toISOString()`` text (``2026-11-15T00:00:00.000Z``).
* ``officejs_args``: custom-function arguments: blanks ``''``, errors as
  ``{"type": "Error", ...}`` objects, dates as serial numbers (no format reaches a function).
* ``com``: Windows desktop through pywin32 read raw: a tuple of row tuples, ``None`` for
  blanks, floats, tz-aware datetimes, errors as negative ints.
* ``mac``: Mac desktop through appscript read raw: ``k.missing_value`` for blanks, naive
  datetimes, errors as negative ints.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import python_calamine
import xlwings as xw

from chs_excel.cellvalues import EPOCH_1900
from chs_excel.files.package import open_package, sheet_parts
from chs_excel.files.sheet_scan import read_scan

COM_CODES = {"#DIV/0!": -2146826281, "#N/A": -2146826246, "#NAME?": -2146826259, "#NULL!": -2146826288,
             "#NUM!": -2146826252, "#REF!": -2146826265, "#VALUE!": -2146826273}
OFFICE_ERROR_TYPES = {"#DIV/0!": "Div0", "#N/A": "NotAvailable", "#NAME?": "Name", "#NULL!": "Null", "#NUM!": "Num",
                      "#REF!": "Ref", "#VALUE!": "Value"}


class UTCLabel(dt.tzinfo):
    """pywin32's TimeZoneInfo('GMT Standard Time', True): Excel's wall-clock time labelled UTC."""

    def utcoffset(self, moment):
        return dt.timedelta(0)

    def dst(self, moment):
        return dt.timedelta(0)

    def tzname(self, moment):
        return "GMT Standard Time"


class PywinDatetime(dt.datetime):
    """pywintypes.datetime: a datetime subclass, tz-aware when COM values are read raw."""


class Keyword:
    """appscript's keyword object (``k.missing_value``)."""

    def __init__(self, name: str):
        self.AS_name = name

    def __repr__(self):
        return f"k.{self.AS_name}"


MISSING_VALUE = Keyword("missing_value")


class Error(str):
    """An error cell read from the file, before a client's encoding."""


def file_grid(path, sheet: str) -> list[list]:
    """The sheet from A1 as python-calamine reads it, error cells as :class:`Error`."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    with open_package(Path(path)) as package:
        for (r, col), err in read_scan(package, sheet_parts(package)[sheet])[1].errors.items():
            if str(err).startswith("#"):
                row = grid[r - 1]
                row.extend([""] * (col - len(row)))
                row[col - 1] = Error(err)
    return grid


def _moment(value) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def _serial(value) -> float:
    return (_moment(value) - EPOCH_1900).total_seconds() / 86400


def office_cell(value):
    if isinstance(value, (dt.date, dt.datetime)):  # xlwings.ts: new Date(...).toISOString()
        return _moment(value).strftime("%Y-%m-%dT%H:%M:%S.") + f"{_moment(value).microsecond // 1000:03d}Z"
    return str(value) if isinstance(value, Error) else value


def officejs_arg_cell(value):
    if isinstance(value, Error):
        return {"type": "Error", "basicType": "Error", "basicValue": str(value),
                "errorType": OFFICE_ERROR_TYPES.get(str(value), "Value")}
    if isinstance(value, (dt.date, dt.datetime)):
        return _serial(value)
    return value


def com_cell(value):
    if value == "":
        return None
    if isinstance(value, Error):
        return COM_CODES[str(value)]
    if isinstance(value, (dt.date, dt.datetime)):
        m = _moment(value)
        return PywinDatetime(m.year, m.month, m.day, m.hour, m.minute, m.second, tzinfo=UTCLabel())
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def mac_cell(value):
    if value == "":
        return MISSING_VALUE
    if isinstance(value, Error):
        return COM_CODES[str(value)]
    if isinstance(value, (dt.date, dt.datetime)):
        return _moment(value)
    return value


SHAPES = {"office": office_cell, "officejs_args": officejs_arg_cell, "com": com_cell, "mac": mac_cell}


def sheet_values(path, sheet: str, shape: str = "office"):
    """The sheet's used range from A1 in a client's shape (COM: a tuple of tuples)."""
    cell = SHAPES[shape]
    rows = [[cell(v) for v in row] for row in file_grid(path, sheet)]
    return tuple(tuple(row) for row in rows) if shape == "com" else rows


def book_payload(path, shape: str = "office", sheets: list[str] | None = None) -> dict:
    """A book as xlwings' Python side holds it: the JSON an Office.js client posts, or (com, mac)
    the same structure holding those clients' raw Python values."""
    names = sheets or python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": "book.xlsx", "active_sheet_index": 0, "selection": "A1"}, "names": [],
            "sheets": [{"name": n, "values": [list(r) for r in sheet_values(path, n, shape)] or [[]],
                        "pictures": [], "tables": [], "charts": []} for n in names]}


def function_call(func_name: str, *args) -> dict:
    """The body Office.js posts for one custom-function call; a scalar argument comes as [[x]]."""
    return {"client": "Office.js", "version": xw.__version__, "func_name": func_name,
            "args": [a if isinstance(a, list) else [[a]] for a in args],
            "caller_address": "Sheet1!A1", "runtime": "1.4", "culture_info_name": "en-US", "date_format": "M/d/yyyy"}
