"""The live (xlwings) writer honours an OutputSheet as the file writer does: widths, frozen panes, every chart,
band colours taken from the sheet (never recomputed). Run through xlwings' remote engine (Office.js actions)."""
import copy

import pandas as pd
import pytest
import xlwings as xw
from client_shapes import book_payload

from chs_excel.book.table import BarChart, OutputSheet
from chs_excel.demo.template import write_template
from chs_excel.excel.live import XlwingsBookWriter, frozen_cells


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    return book_payload(write_template(tmp_path_factory.mktemp("live") / "book.xlsx"))


def actions_of(payload, sheets):
    book = xw.Book(json=copy.deepcopy(payload))  # the book grows its payload's sheet list
    XlwingsBookWriter(book).write(sheets)
    position = len(payload["sheets"])  # the first new sheet goes after the user's
    return [a for a in book.impl.json()["actions"] if (a["sheet_position"] or 0) >= position]


def scores_sheet(**kwargs) -> OutputSheet:
    frame = pd.DataFrame({"Account": ["A-1", "A-2", "A-3"], "Overall": [20.0, 55.0, float("nan")],
                          "Band": ["Red", "Amber", "n/a"]})
    return OutputSheet("Live", frame, bands={"Overall": (40, 70)}, band_label_columns=("Band",), **kwargs)


@pytest.mark.parametrize("freeze, cells", [("C2", "A1:B1"), ("B2", "A1:A1"), ("A5", "1:4"), ("C1", "A:B"),
                                           ("A1", None), ("", None)])
def test_frozen_cells_are_those_above_and_left_of_the_scrolling_pane(freeze, cells):
    assert frozen_cells(freeze) == cells


def test_widths_are_written_in_points_after_autofit(payload):
    actions = actions_of(payload, [scores_sheet(widths={"Account": 12, "Band": 30})])
    funcs = [a["func"] for a in actions]
    widths = [a for a in actions if a["func"] == "setColumnWidth"]
    assert funcs.index("setSheetAutofit") < funcs.index("setColumnWidth")
    assert [(a["start_column"], a["args"][0]) for a in widths] == [(0, 66.75), (2, 161.25)]  # (w * 7 + 5) * 0.75


def test_panes_are_frozen_where_the_sheet_says(payload):
    actions = actions_of(payload, [scores_sheet(freeze="C2"), OutputSheet("Unfrozen", pd.DataFrame({"x": [1]}),
                                                                          freeze="A1")])
    frozen = [(a["sheet_position"], a["func"], a["args"]) for a in actions if a["func"].startswith("freezePane")]
    first = len(payload["sheets"])
    assert frozen == [(first, "freezePaneAtRange", ["A1:B1"]), (first + 1, "freezePaneUnfreeze", [None])]


def test_band_colours_come_from_the_sheets_cell_bands(payload):
    actions = actions_of(payload, [scores_sheet()])
    (colours,) = [a["args"][0] for a in actions if a["func"] == "setRangeColors"]
    assert colours == [["#ffc7ce", "#ffc7ce"], ["#ffeb9c", "#ffeb9c"], [None, None]]


def test_every_chart_is_added(payload):
    frame = pd.DataFrame({"Group": ["A", "B"], "Red": [0.2, 0.5], "Green": [0.8, 0.5]})
    sheet = OutputSheet("Charts", frame, charts=[
        BarChart("Shares", "Group", ("Red", "Green"), ("C00000", "00B050"), anchor="E2"),
        BarChart("Red only", "Group", ("Red",), ("C00000",), anchor="E20", stacked=False, percent=False)])
    charts = [a for a in actions_of(payload, [sheet]) if a["func"] == "addChart"]
    assert len(charts) == 2
