"""What a raw cell value can be, in plain Python: the words every layer shares for cells.

Readers (``book/``, ``files/``, ``excel/``) produce these values; ``config/`` and
``inputs`` read them. Standard library only, so the config can understand a cell
(an Excel error, a date sent as a serial number) without importing the workbook edge.
"""
from __future__ import annotations

import datetime as dt


class CellError(str):
    """A cell that holds an Excel error (``#N/A``) or a formula with no saved value."""


EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!"})

EPOCH_1900 = dt.datetime(1899, 12, 30)  # serial 0 of Excel's default date system (chs_excel.book.dates says why)
EPOCH_1904 = dt.datetime(1904, 1, 1)  # serial 0 of the 1904 date system (old Mac workbooks)
END_SERIAL_1900 = 2958466  # the day after 9999-12-31, the last date Excel can hold


def serial_to_date(value: object) -> dt.date | None:
    """A 1900-system serial number (what Office.js sends for a date cell) as a date, if it is one.

    Parameters
    ----------
    value
        A raw cell value.

    Returns
    -------
    datetime.date or None
        None for anything that is not a number from 1 up to (not including) the day after 9999-12-31.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value < END_SERIAL_1900:
        return None
    return (EPOCH_1900 + dt.timedelta(days=int(value))).date()
