"""Build what Excel's Office.js add-in sends to xlwings, from a workbook file (for tests and benchmarks)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import python_calamine
import xlwings as xw

from chs_excel.book.package import error_cells, open_package, sheet_parts
from chs_excel.book.table import EXCEL_EPOCH


def office_value(value):
    """A cell as Office.js reports it: dates as serial numbers, blanks as ''."""
    if isinstance(value, dt.datetime):
        return (value - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    if isinstance(value, dt.date):
        return float((value - EXCEL_EPOCH).days)
    return value


def sheet_values(path, sheet: str) -> list[list]:
    """The sheet's values from A1, errors as their text (#N/A), as Office.js sends them."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    with open_package(Path(path)) as package:
        for (r, col), err in error_cells(package, sheet_parts(package)[sheet]).items():
            if str(err).startswith("#"):
                grid[r - 1][col - 1] = str(err)
    return [[office_value(v) for v in row] for row in grid]


def book_json(path, sheets: list[str] | None = None) -> dict:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    names = sheets or book.sheet_names
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": "book.xlsx", "active_sheet_index": 0, "selection": "A1"}, "names": [],
            "sheets": [{"name": n, "values": sheet_values(path, n) or [[]], "pictures": [], "tables": [], "charts": []}
                       for n in names]}


def function_call(func_name: str, *args) -> dict:
    return {"client": "Office.js", "version": xw.__version__, "func_name": func_name,
            "args": [a if isinstance(a, list) else [[a]] for a in args],
            "caller_address": "Sheet1!A1", "runtime": "1.4", "culture_info_name": "en-US", "date_format": "M/d/yyyy"}
