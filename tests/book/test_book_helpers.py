"""The cell, date and band helpers every reader and writer shares."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from chs_excel.book.dates import date_to_serial, serial_to_moment
from chs_excel.book.table import OutputSheet, cell_position, column_letter, column_number


@pytest.mark.parametrize("number, letters", [(1, "A"), (26, "Z"), (27, "AA"), (702, "ZZ"), (703, "AAA"),
                                             (16_384, "XFD")])
def test_column_letters_and_numbers_round_trip(number, letters):
    assert column_letter(number) == letters
    assert column_number(letters) == column_number(letters.lower()) == number


def test_cell_position():
    assert cell_position("C4") == cell_position("$C$4") == (4, 3)
    with pytest.raises(ValueError):
        cell_position("C")


def test_serials_in_both_date_systems():
    assert date_to_serial(dt.date(2026, 3, 31)) == 46112
    assert date_to_serial(dt.date(2026, 3, 31), date1904=True) == 46112 - 1462
    assert date_to_serial(pd.Timestamp("2026-03-31 06:00")) == 46112.25
    assert date_to_serial(dt.datetime(2026, 3, 31, 6, tzinfo=dt.timezone(dt.timedelta(hours=5)))) == 46112.25
    assert serial_to_moment(46112.5) == dt.datetime(2026, 3, 31, 12)
    assert serial_to_moment(44650, date1904=True) == dt.datetime(2026, 3, 31)


def test_cell_bands_of_score_and_band_name_columns():
    frame = pd.DataFrame({"Overall": [10.0, 50.0, 90.0, np.nan], "Band": ["Red", "Green", "red", ""],
                          "Other": [1, 2, 3, 4]})
    sheet = OutputSheet("S", frame, bands={"Overall": (40, 70)}, band_label_columns=("Band",))
    bands = sheet.cell_bands()
    assert list(bands) == ["Overall", "Band"]
    assert bands["Overall"].tolist() == ["Red", "Amber", "Green", ""]
    assert bands["Band"].tolist() == ["Red", "Green", "", ""]
