"""One normalisation for the cell values every Excel client hands to Python.

The file reader (python-calamine) gives ``''`` for blanks, numbers, text,
booleans, naive dates and :class:`~chs_excel.cellvalues.CellError` for errors.
Live clients send other shapes for the same cells; :func:`clean_grid` turns
them all into the file reader's:

========================  ===============================  ===========================  =================================
client                    blank                            date cell                    error cell
========================  ===============================  ===========================  =================================
Office.js / Office        ``''``; JS ``null`` (Pyodide     ISO-8601 text                ``'#N/A'`` text, or an object
Scripts (Lite, Server)    ``JsNull``) in function args     ``'2026-11-15T00:00:00.000Z'``  ``{'type': 'Error', ...}``
                                                           or a serial number in args
Google Sheets (xlwings)   ``''``                           ISO-8601 text                ``'#N/A'`` text
Windows COM (pywin32)     ``None``                         tz-aware ``datetime``        negative int (-2146826246)
                                                                                        or text with err_to_str
Mac (appscript)           ``k.missing_value`` or ``''``    naive ``datetime``           negative int, or text
========================  ===============================  ===========================  =================================

Dates are kept as the wall-clock time Excel shows: a time zone attached by a
client (pywin32 labels Excel's local time as UTC) is dropped, never converted.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from chs_excel.book.dates import serial_to_moment
from chs_excel.cellvalues import END_SERIAL_1900, EXCEL_ERRORS, CellError

# What COM (and appscript) hand over for error cells when values are read raw.
COM_ERRORS = {-2146826281: "#DIV/0!", -2146826246: "#N/A", -2146826259: "#NAME?", -2146826288: "#NULL!",
              -2146826252: "#NUM!", -2146826265: "#REF!", -2146826273: "#VALUE!", -2146826245: "#GETTING_DATA"}
# Office.js valuesAsJson errorType names, when an error object carries no basicValue.
OFFICE_ERROR_TYPES = {"Div0": "#DIV/0!", "NotAvailable": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!",
                      "Ref": "#REF!", "Value": "#VALUE!", "Spill": "#SPILL!", "Calc": "#CALC!", "Field": "#FIELD!",
                      "Blocked": "#BLOCKED!", "Connect": "#CONNECT!", "Busy": "#BUSY!", "GettingData": "#GETTING_DATA",
                      "Python": "#PYTHON!", "Unknown": "#UNKNOWN!"}
# The ISO-8601 shape xlwings' JavaScript clients give date cells (toISOString), and plain ISO date-times.
ISO_MOMENT = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?(?:Z|[+-]\d\d:?\d\d)?$")
DATE_FORMAT = re.compile(r"(^|[^\"\\])[dmy]", re.IGNORECASE)


def _iso_moment(text: str) -> dt.datetime | None:
    match = ISO_MOMENT.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                           int((fraction or "0").ljust(6, "0")))
    except ValueError:  # 2026-02-30T...: text, not a date
        return None


def _office_object(value: dict) -> Any:
    """An Office.js ``valuesAsJson`` / custom-function data-type object as a plain cell."""
    kind = str(value.get("type", ""))
    basic = value.get("basicValue")
    if kind == "Error":
        text = basic if isinstance(basic, str) and basic.startswith("#") else OFFICE_ERROR_TYPES.get(
            str(value.get("errorType", "")), "#VALUE!")
        return CellError(text)
    if kind == "Empty" or basic is None:
        return ""
    fmt = value.get("numberFormat")
    if isinstance(basic, (int, float)) and not isinstance(basic, bool) and isinstance(fmt, str) \
            and DATE_FORMAT.search(fmt) and 0 <= basic < END_SERIAL_1900:
        return serial_to_moment(float(basic))  # a FormattedNumber shown as a date
    return clean_cell(basic)


def _is_missing_marker(value) -> bool:
    """Pyodide's ``JsNull`` and appscript's ``k.missing_value`` (neither importable here)."""
    name = type(value).__name__
    if name == "JsNull":
        return True
    return name == "Keyword" and getattr(value, "AS_name", getattr(value, "name", None)) == "missing_value"


def clean_cell(value: Any) -> Any:
    """One cell from any client as the file reader would give it (see the module table)."""
    kind = type(value)
    if kind is float or kind is bool:
        return value
    if kind is str:
        if not value:
            return value
        if value in EXCEL_ERRORS:
            return CellError(value)
        if value[0].isdigit() and len(value) >= 19 and value[10:11] == "T":
            moment = _iso_moment(value)
            if moment is not None:
                return moment
        return value
    if value is None:
        return ""
    if kind is int:
        return CellError(COM_ERRORS[value]) if value in COM_ERRORS else value
    if isinstance(value, CellError):
        return value
    if isinstance(value, dt.datetime):  # also pywintypes.datetime and pandas.Timestamp
        return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                           value.microsecond)
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value
    if isinstance(value, dict):
        return _office_object(value)
    if isinstance(value, str):  # a str subclass
        return clean_cell(str(value))
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a numpy scalar
        item = value.item()
        return clean_cell(item) if type(item) is not type(value) else item
    if _is_missing_marker(value):
        return ""
    return value


# Text a client may have given for a date or an error, found with one regex search over a column's joined text.
_SPECIAL_TEXT = re.compile(r"(?:^|\x00)(?:#|\d{4}-\d\d-\d\dT)")
_NUMBERS = frozenset({float, bool})
_CHEAP = frozenset({float, bool, int, str})


def _column_is_clean(column: tuple) -> bool:
    """True when no cell of the column needs :func:`clean_cell` (checked at C speed where possible)."""
    kinds = set(map(type, column))
    if kinds <= _NUMBERS:
        return True
    if not kinds <= _CHEAP:
        return False
    if int in kinds and any(v in COM_ERRORS for v in column if type(v) is int):
        return False
    if str in kinds:
        text = column if kinds == {str} else [v for v in column if type(v) is str]
        return _SPECIAL_TEXT.search("\x00".join(text)) is None
    return True


def clean_grid(values: Any) -> list[list]:
    """Any client's range value as a 2-D list (a new list of new rows) of clean cells.

    Accepts a scalar (one cell), a 1-D list or tuple (one row from COM or
    appscript) and a 2-D list or tuple of rows. Work is done per column: a
    column of plain numbers and ordinary text (most of a large range) is
    checked in bulk and copied as it is.
    """
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        return [[clean_cell(values)]]
    if not values:
        return []
    if not isinstance(values[0], (list, tuple)):
        values = [values]
    width = max(map(len, values))
    if any(len(row) != width for row in values):
        values = [list(row) + [""] * (width - len(row)) for row in values]
    columns = list(zip(*values))
    dirty = [j for j, column in enumerate(columns) if not _column_is_clean(column)]
    if not dirty:
        return [list(row) for row in values]
    for j in dirty:
        columns[j] = [clean_cell(v) for v in columns[j]]
    return [list(row) for row in zip(*columns)]
