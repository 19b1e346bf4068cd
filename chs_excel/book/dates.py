"""Excel's date serial numbers, in both of its date systems.

A date cell holds a number of days since an epoch. Workbooks use the 1900
system unless their ``<workbookPr date1904="1"/>`` says 1904 (Mac Excel 2008
and older). Serial 60 of the 1900 system is 1900-02-29, a day that never was
(Lotus 1-2-3 thought 1900 a leap year), so counting from 1899-12-30 gives the
right date for every serial from 61 on. Reading a serial as a date (which the
config needs too, without this layer) is :func:`chs_excel.cellvalues.serial_to_date`.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from chs_excel.cellvalues import EPOCH_1900, EPOCH_1904


def excel_epoch(date1904: bool = False) -> dt.datetime:
    """The moment serial 0 stands for in the workbook's date system."""
    return EPOCH_1904 if date1904 else EPOCH_1900


def date_to_serial(value: dt.date, date1904: bool = False) -> float:
    """The serial number (days, a fraction for the time of day) of a date or date-time.

    A time zone attached to ``value`` is dropped, never converted: Excel shows
    the wall-clock time.
    """
    moment = pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
    return (moment - excel_epoch(date1904)).total_seconds() / 86400


def serial_to_moment(serial: float, date1904: bool = False) -> dt.datetime:
    """The date-time a serial number stands for."""
    return excel_epoch(date1904) + dt.timedelta(days=serial)
