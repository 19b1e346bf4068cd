"""The template scores the same through the file refresh, every client's Refresh script and the worksheet
functions, whatever shape the client gives its cells (see clients.py and fixtures/clients/)."""
import asyncio
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw
from client_shapes import book_payload, function_call, sheet_values
from xlwings import server

from chs_excel import contract as c
from chs_excel import excel
from chs_excel.cellvalues import EPOCH_1900
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template

RECORDED = Path(__file__).parents[1] / "fixtures" / "clients"
INPUTS = ("Accounts", "Metrics", "Categories", "Settings", "Metric History", "Overrides")


@pytest.fixture
def template(tmp_path):
    return write_template(tmp_path / "book.xlsx")


def run_script(name: str, payload: dict) -> list[dict]:
    book = xw.Book(json=payload)
    result = asyncio.run(server.custom_scripts_call(excel, name, typehint_to_value={xw.Book: book}))
    return result.json()["actions"]


def written_sheet(actions: list[dict], position: int) -> list[list]:
    writes = [a for a in actions if a["func"] == "setValues" and a["sheet_position"] == position]
    assert len(writes) == 1, [a["func"] for a in actions][:5]
    return writes[0]["values"]


def file_sheet(path, name: str) -> list[list]:
    return [list(row) for row in openpyxl.load_workbook(path)[name].iter_rows(values_only=True)]


def same_cells(live: list[list], on_file: list[list]) -> None:
    def plain(v):
        if v in ("", None):
            return None
        if isinstance(v, dt.datetime):  # the live writer sends dates as serial numbers
            return (v - EPOCH_1900).total_seconds() / 86400
        if isinstance(v, str) and v.startswith("'"):  # Excel's text prefix: the cell shows the rest
            return v[1:]
        return v
    assert len(live) == len(on_file)
    for i, (a, b) in enumerate(zip(live, on_file)):
        assert [plain(v) for v in a][:len(b)] == [plain(v) for v in b], f"row {i + 1}"


def recorded(name: str) -> dict:
    payload = json.loads((RECORDED / name).read_text(encoding="utf-8"))
    return {k: v for k, v in payload.items() if not k.startswith("_")}


def expect_scores_like_the_file(template, payload: dict) -> None:
    first = len(payload["sheets"])  # new sheets go after the user's
    actions = run_script("refresh_scores", payload)
    assert not [a for a in actions if a["func"] == "alert"], actions[:1]
    sheets = list(c.OUTPUT_SHEETS)
    summary = refresh_file(template)
    assert summary.accounts == 60
    for name in (c.SCORES, c.GAP, "Data Issues"):
        same_cells(written_sheet(actions, first + sheets.index(name)), file_sheet(template, name))


@pytest.mark.parametrize("shape", ["office", "com", "mac"])
def test_refresh_script_matches_the_file_refresh(template, shape):
    expect_scores_like_the_file(template, book_payload(template, shape))


@pytest.mark.parametrize("fixture", sorted(p.name for p in RECORDED.glob("*_book.json")))
def test_recorded_client_payload_matches_the_file_refresh(fixture, tmp_path):
    """Payloads recorded from xlwings' own JavaScript clients over workbook_template.xlsx."""
    shipped = Path(__file__).parents[2] / "workbook_template.xlsx"
    expect_scores_like_the_file(Path(shutil.copyfile(shipped, tmp_path / "book.xlsx")), recorded(fixture))


@pytest.mark.parametrize("shape", ["office", "com", "mac"])
def test_no_as_of_date_scores_as_of_today_in_every_client(template, shape):
    wb = openpyxl.load_workbook(template)
    ws = wb[c.SETTINGS]
    row = next(r for r in range(1, ws.max_row + 1) if str(ws.cell(r, 1).value).strip().lower() == "as-of date")
    ws.cell(row, 2).value = None
    wb.save(template)
    expect_scores_like_the_file(template, book_payload(template, shape))


def _spilled_matches(template, spilled: list[list]) -> None:
    summary = refresh_file(template)
    ids = [row[0] for row in file_sheet(template, "Accounts")[1:]]
    assert len(spilled) == len(ids) == 60
    for account, (value,) in zip(ids, spilled):
        expected = summary.result.overall[account]
        assert value == ("" if expected != expected else int((expected + 0.5) // 1)), account


@pytest.mark.parametrize("shape", ["office", "officejs_args"])
def test_spilled_function_through_xlwings_dispatch(template, shape):
    args = [sheet_values(template, s, shape) for s in INPUTS] + [None, sheet_values(template, c.RULES, shape)]
    spilled = asyncio.run(server.custom_functions_call(function_call("health_score", *args), excel))
    _spilled_matches(template, spilled)


@pytest.mark.parametrize("shape", ["com", "mac"])
def test_spilled_function_with_desktop_values(template, shape):
    # Classic xlwings hands a "raw" argument to the function as the client gave it.
    args = [sheet_values(template, s, shape) for s in INPUTS] + [None, sheet_values(template, c.RULES, shape)]
    _spilled_matches(template, excel.health_score(*args))


def _round(value):
    return "" if value != value else int((value + 0.5) // 1)


def test_recorded_function_calls_match_the_file_refresh(tmp_path):
    """Custom-function calls recorded from xlwings Server's Office.js client: each returns what a refresh of the
    same cells gives (cells the call changed in memory are changed in a copy of the workbook first)."""
    calls = json.loads((RECORDED / "officejs_function_calls.json").read_text(encoding="utf-8"))["calls"]
    assert len(calls) >= 6
    shipped = Path(__file__).parents[2] / "workbook_template.xlsx"
    for k, call in enumerate(calls):
        book = Path(shutil.copyfile(shipped, tmp_path / f"book{k}.xlsx"))
        wb = openpyxl.load_workbook(book)
        for sheet, cells in call.get("_cell_overrides", {}).items():
            for ref, value in cells.items():
                wb[sheet][ref] = value
        if "Overrides!" not in call["_formula"]:  # a call without the Overrides range scores without them
            wb[c.OVERRIDES].delete_rows(2, wb[c.OVERRIDES].max_row)
        if "Rules!" not in call["_formula"]:  # nor one without the Rules range, without rules
            wb[c.RULES].delete_rows(2, wb[c.RULES].max_row)
        wb.save(book)
        result = refresh_file(book).result
        spilled = asyncio.run(server.custom_functions_call({k: v for k, v in call.items() if not k.startswith("_")},
                                                          excel))
        first, last = (int(n) for n in re.match(r"=\w+\(Accounts!A(\d+):[A-Z]+(\d+)", call["_formula"]).groups())
        ids = [row[0] for row in file_sheet(book, "Accounts")[max(first, 2) - 1:last]]
        name, args = call["func_name"], call["args"]
        if name == "health_score":
            expected = [_round(result.overall[i]) for i in ids]
        elif name == "category_score":
            expected = [_round(result.category_scores[args[1][0][0]][i]) for i in ids]
        elif name == "metric_score":
            expected = [_round(result.metric_scores[args[1][0][0]][i]) for i in ids]
        elif name == "health_gap":
            expected = [_round(result.overall[i]) - args[1][0][0] if result.overall[i] == result.overall[i] else ""
                        for i in ids]
        else:
            raise AssertionError(f"no expectation for {name}")
        assert [v for (v,) in spilled] == expected, call["_formula"]
