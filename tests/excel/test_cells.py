"""Every client's shape of blanks, dates, errors, numbers and text becomes the file reader's clean cell."""
import datetime as dt

import numpy as np
import pytest

from client_shapes import Keyword, PywinDatetime, UTCLabel

from chs_excel.book.cells import clean_cell, clean_grid
from chs_excel.cellvalues import CellError


class Plus5(dt.tzinfo):
    def utcoffset(self, moment):
        return dt.timedelta(hours=5)

    def dst(self, moment):
        return dt.timedelta(0)


class JsNull:
    """Stands in for Pyodide's JsNull (JS null in a custom-function argument)."""


NOV15 = dt.datetime(2026, 11, 15)


@pytest.mark.parametrize("raw, clean", [
    # Office.js / Office Scripts / Google Sheets (xlwings' JavaScript clients)
    ("", ""),
    ("2026-11-15T00:00:00.000Z", NOV15),
    ("2026-11-15T13:45:30.250Z", dt.datetime(2026, 11, 15, 13, 45, 30, 250000)),
    ("2026-11-15T00:00:00", NOV15),
    ("#N/A", CellError("#N/A")),
    ("#DIV/0!", CellError("#DIV/0!")),
    ({"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}, CellError("#N/A")),
    ({"type": "Error", "errorType": "Div0"}, CellError("#DIV/0!")),
    ({"type": "Double", "basicValue": 12.5, "basicType": "Double"}, 12.5),
    ({"type": "FormattedNumber", "basicValue": 46341, "numberFormat": "yyyy-mm-dd"}, NOV15),
    ({"type": "FormattedNumber", "basicValue": 0.25, "numberFormat": "0%"}, 0.25),
    ({"type": "String", "basicValue": "Green"}, "Green"),
    ({"type": "Empty", "basicValue": ""}, ""),
    (JsNull(), ""),
    (12.0, 12.0), (True, True), ("Acme", "Acme"),
    # Windows COM through pywin32, read raw
    (None, ""),
    (PywinDatetime(2026, 11, 15, tzinfo=UTCLabel()), NOV15),
    (dt.datetime(2026, 11, 15, tzinfo=Plus5()), NOV15),  # the wall-clock time is kept, never shifted
    (-2146826246, CellError("#N/A")),
    (-2146826281, CellError("#DIV/0!")),
    (-2146826273, CellError("#VALUE!")),
    (7, 7),
    # Mac (appscript)
    (Keyword("missing_value"), ""),
    (NOV15, NOV15),
    # numpy scalars (pandas-built payloads)
    (np.float64(3.5), 3.5), (np.int64(4), 4),
    # text that only looks special stays text
    ("#1 customer", "#1 customer"), ("2026-02-30T00:00:00.000Z", "2026-02-30T00:00:00.000Z"), ("2026-11-15", "2026-11-15"),
])
def test_each_client_shape(raw, clean):
    got = clean_cell(raw)
    assert got == clean and type(got) is type(clean)


def test_aware_datetimes_come_back_naive():
    got = clean_cell(PywinDatetime(2026, 11, 15, 8, 30, tzinfo=UTCLabel()))
    assert got.tzinfo is None and type(got) is dt.datetime and got == dt.datetime(2026, 11, 15, 8, 30)


@pytest.mark.parametrize("raw, grid", [
    (None, []),
    (5.0, [[5.0]]),                                   # one cell: COM and appscript give a scalar
    ((1.0, None, "#N/A"), [[1.0, "", CellError("#N/A")]]),  # one row: a flat tuple
    (((1.0, None), ("x", -2146826246)), [[1.0, ""], ["x", CellError("#N/A")]]),  # COM: tuple of tuples
    ([["a", ""], ["b", "2026-11-15T00:00:00.000Z"]], [["a", ""], ["b", NOV15]]),  # Office.js
])
def test_grid_shapes(raw, grid):
    assert clean_grid(raw) == grid


def test_clean_rows_are_copied_not_shared():
    rows = [["a", 1.0], ["b", 2.0]]
    out = clean_grid(rows)
    assert out == rows and out[0] is not rows[0]
