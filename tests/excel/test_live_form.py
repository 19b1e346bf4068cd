"""The live (xlwings) writer writes a FormSheet and an OutputSheet's wrap and print area, through xlwings' remote
engine (Office.js actions), as tests/excel/test_live_writer.py drives it."""
import copy
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import xlwings as xw
from client_shapes import book_payload

from chs_excel.book.form import PageSetup
from chs_excel.book.table import OutputSheet
from chs_excel.demo.template import write_template
from chs_excel.excel.live import XlwingsBookWriter

sys.path.insert(0, str(Path(__file__).parents[1] / "files"))
from test_form_sheet import data_sheet, review_form  # noqa: E402


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    payload = book_payload(write_template(tmp_path_factory.mktemp("live_form") / "book.xlsx"))
    book = xw.Book(json=copy.deepcopy(payload))
    XlwingsBookWriter(book).write([data_sheet(page=PageSetup(print_area="A1:C4")), review_form()])
    first = len(payload["sheets"])
    return [a for a in book.impl.json()["actions"] if (a["sheet_position"] or 0) >= first], first


def test_values_are_written_once_and_formulas_one_by_one(actions):
    acts, first = actions
    form = [a for a in acts if a["sheet_position"] == first + 1]
    (values,) = [a["values"] for a in form if a["func"] == "setValues"]
    assert values[2][:2] == ["Account", "A-2"] and values[8][:2] == ["'=1+1", "'@SUM(A1:A2)"]  # text stays text
    assert values[3][1] is None  # a formula's cell: written by setFormula
    formulas = {(a["start_row"], a["start_column"]): a["values"][0][0] for a in form if a["func"] == "setFormula"}
    assert formulas[(3, 1)] == "=INDEX(Data!$B$2:$B$4,MATCH($B$3,Data!$A$2:$A$4,0))"
    assert formulas[(6, 1)] == '=IF($B$3="Q""uote","match","other")'


def test_drop_down_colours_chart_merge_and_print_area(actions):
    acts, first = actions
    form = [a for a in acts if a["sheet_position"] == first + 1]
    counts = Counter(a["func"] for a in form)
    assert counts["addConditionalFormat"] == 3 and counts["rangeMerge"] == 1 and counts["setColumnHidden"] == 2
    (validation,) = [a["args"][0] for a in form if a["func"] == "setDataValidationList"]
    assert (validation["sheet_position"], validation["start_row"], validation["row_count"]) == (first, 1, 3)
    (chart,) = [a["args"] for a in form if a["func"] == "addChart"]
    assert chart[1:4] == ["LineMarkers", "Account Review", "$H$2:$I$7"]
    assert [a["args"] for a in acts if a["func"] == "setPrintArea"] == [["A1:C4"], ["A1:I30"]]
    assert [a["args"] for a in form if a["func"] == "setShowGridlines"] == [[False]]
    assert [a["args"] for a in form if a["func"] == "setRowHeight"] == [[45]]


def test_wrapped_columns_wrap_top_aligned(actions):
    acts, first = actions
    data = [a for a in acts if a["sheet_position"] == first]
    wraps = [(a["start_row"], a["start_column"], a["row_count"]) for a in data if a["func"] == "setWrapText"]
    assert wraps == [(1, 2, 3)]  # Drivers' data cells
    assert any(a["func"] == "setVerticalAlignment" for a in data)


def test_an_output_sheet_without_wrap_or_page_writes_neither(tmp_path):
    payload = book_payload(write_template(tmp_path / "book.xlsx"))
    book = xw.Book(json=copy.deepcopy(payload))
    XlwingsBookWriter(book).write([OutputSheet("Plain", pd.DataFrame({"x": ["a"]}))])
    funcs = {a["func"] for a in book.impl.json()["actions"]}
    assert not funcs & {"setWrapText", "setPrintArea"}
