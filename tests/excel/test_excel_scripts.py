"""The Refresh and Validate buttons, run through xlwings' own script dispatch on a book built
from a workbook's sheets; their output is compared with ``chs-excel refresh`` on the same file."""
import asyncio

import openpyxl
import pytest
import xlwings as xw
from client_shapes import book_payload as book_json
from xlwings import server

from chs_excel import contract as c
from chs_excel import excel
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template


def run_script(name: str, payload: dict) -> list[dict]:
    book = xw.Book(json=payload)
    result = asyncio.run(server.custom_scripts_call(excel, name, typehint_to_value={xw.Book: book}))
    return result.json()["actions"]


@pytest.fixture
def template(tmp_path):
    return write_template(tmp_path / "book.xlsx")


def sheet_actions(actions, position):
    return [a for a in actions if a["sheet_position"] == position]


def test_refresh_script_writes_what_the_command_line_writes(template):
    payload = book_json(template)
    first = len(payload["sheets"])  # new sheets go after the user's
    actions = run_script("refresh_scores", payload)
    adds = [a["args"] for a in actions if a["func"] == "addSheet"]
    snapshot = "Score History 2026-11-15"  # the template's as-of date: a hidden sheet, as on file
    assert adds == [[first + k, name] for k, name in enumerate(list(c.OUTPUT_SHEETS) + [snapshot])]
    hidden = [(a["sheet_position"], a["args"]) for a in actions if a["func"] == "setSheetVisibility"]
    assert hidden == [(first + len(c.OUTPUT_SHEETS), ["Hidden"])]
    scores = sheet_actions(actions, first)
    writes = [a for a in scores if a["func"] == "setValues"]
    assert len(writes) == 1  # one value write per sheet
    live = writes[0]["values"]

    refresh_file(template)
    ws = openpyxl.load_workbook(template)[c.SCORES]
    on_file = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert len(live) == len(on_file) == 61
    for live_row, file_row in zip(live, on_file):
        assert [None if v == "" else v for v in live_row] == [None if v == "" else v for v in file_row]

    # Colours: the fills written live equal the fills in the refreshed file, cell by cell
    header = on_file[0]
    file_fill = {(r, j): ws.cell(r + 1, j + 1).fill.fgColor.rgb[-6:].upper()
                 for r in range(1, 61) for j in range(len(header)) if ws.cell(r + 1, j + 1).fill.fill_type == "solid"}
    live_fill = {}
    for a in scores:
        if a["func"] == "setRangeColors":
            for i, row in enumerate(a["args"][0]):
                for k, rgb in enumerate(row):
                    if rgb:
                        live_fill[(a["start_row"] + i, a["start_column"] + k)] = rgb.lstrip("#").upper()
    assert live_fill == file_fill and len(live_fill) > 400

    rules = [a for a in scores if a["func"] == "addConditionalFormat"]
    banded = 2 + 3 + 7  # Overall, Band; 3 categories; 7 metrics
    assert len(rules) == 3 * banded
    assert rules[0]["args"][0]["formula"] == "=AND(ISNUMBER(F2),F2<40)" and rules[0]["row_count"] == 60


def test_refresh_clears_an_existing_scores_sheet_instead_of_adding_one(template):
    refresh_file(template)
    payload = book_json(template)
    actions = run_script("refresh_scores", payload)
    names = [s["name"] for s in payload["sheets"]]
    assert not [a for a in actions if a["func"] == "addSheet"]
    cleared = {a["sheet_position"] for a in actions if a["func"] == "sheetClear"}
    assert cleared == {names.index(name) for name in c.OUTPUT_SHEETS + ("Score History 2026-11-15",)}


def test_config_error_changes_nothing_and_says_why(template):
    wb = openpyxl.load_workbook(template)
    wb[c.METRICS]["C3"] = "heavy"
    wb.save(template)
    actions = run_script("refresh_scores", book_json(template))
    assert [a["func"] for a in actions] == ["alert"]
    assert 'Metrics!C3: weight must be a number of 0 or more, got "heavy"' in actions[0]["args"][0]


def test_validate_reports_without_writing(template):
    actions = run_script("validate_config", book_json(template))
    assert [a["func"] for a in actions] == ["alert"]
    assert actions[0]["args"][0].startswith("The scorecard is valid; 60 accounts can be scored.\n11 data issue(s).")


def test_formula_like_text_is_written_as_text(template):
    wb = openpyxl.load_workbook(template)
    wb["Accounts"]["B2"] = "=1+1"
    wb["Accounts"]["B2"].data_type = "s"
    wb.save(template)
    actions = run_script("refresh_scores", book_json(template))
    values = [a for a in actions if a["func"] == "setValues"][0]["values"]
    assert ["'=1+1"] == [row[1] for row in values if row[0] == "ACC-001"]


def test_refresh_script_links_playbooks_and_adds_the_chart(template):
    payload = book_json(template)
    gap_position = len(payload["sheets"]) + list(c.OUTPUT_SHEETS).index(c.GAP)  # before the book grows
    actions = run_script("refresh_scores", payload)
    links = [a for a in actions if a["func"] == "addHyperlink"]
    assert {a["sheet_position"] for a in links} == {gap_position}
    targets = {a["args"][1]: a["args"][0] for a in links}
    assert targets["Renewal rescue"] == "https://example.com/playbooks/renewal-rescue"
    assert targets["Onboarding recovery"] == "#Playbooks!A3"
    assert targets["Support escalation review"] == "mailto:support-lead@example.com"
    refresh_file(template)
    on_file = [row[10] for row in openpyxl.load_workbook(template)[c.GAP].iter_rows(min_row=8, values_only=True)]
    assert [a["args"][1] for a in sorted(links, key=lambda a: a["start_row"])] == [p for p in on_file if p]
    charts = {a["args"][2]: a["args"] for a in actions if a["func"] == "addChart"}  # by sheet name
    assert set(charts) == {c.DISTRIBUTION, c.ACCOUNT_REVIEW}
    assert charts[c.DISTRIBUTION][1] == "BarStacked100" and charts[c.DISTRIBUTION][3] == "$B$5:$E$12"
    assert charts[c.ACCOUNT_REVIEW][1] == "LineMarkers"  # the overall over the snapshots: one so far


def test_refresh_in_excel_reads_the_previous_snapshot_and_deletes_one_no_longer_kept(template, monkeypatch):
    from chs_excel.analysis import history
    monkeypatch.setattr(history, "ROW_BUDGET", 2 * 60)  # two snapshots of the 60 sample accounts
    import datetime as dt
    refresh_file(template, as_of=dt.date(2026, 1, 4))
    refresh_file(template, as_of=dt.date(2026, 1, 11))
    before = {r[0]: r[1] for r in openpyxl.load_workbook(template)["Score History 2026-01-11"].iter_rows(
        min_row=2, values_only=True)}
    payload = book_json(template)
    names = [s["name"] for s in payload["sheets"]]
    actions = run_script("refresh_scores", payload)  # as of 2026-11-15, the template's Settings date
    deleted = [a["sheet_position"] for a in actions if a["func"] == "sheetDelete"]
    assert deleted == [names.index("Score History 2026-01-04")]
    scores = next(a["values"] for a in sheet_actions(actions, names.index(c.SCORES)) if a["func"] == "setValues")
    header = scores[0]
    compared = 0
    for row in scores[1:]:
        overall, change = row[header.index("Overall")], row[header.index("Change")]
        if overall not in ("", None) and before.get(row[0]) is not None:
            assert change == overall - before[row[0]]
            compared += 1
    assert compared == 59


def test_optimise_script_writes_the_proposal_the_command_line_writes(tmp_path):
    """The optimise_scorecard script on the example (2,000 accounts, an Outcomes sheet): the sheet it adds holds
    the values `chs-excel optimise` writes to the file."""
    import shutil
    from pathlib import Path

    from chs_excel.pipeline import optimise_file
    book = tmp_path / "churn.xlsx"
    shutil.copyfile(Path(__file__).resolve().parents[2] / "examples" / "saas_churn" / "saas_churn.xlsx", book)
    payload = book_json(book)
    actions = run_script("optimise_scorecard", payload)
    adds = [a["args"] for a in actions if a["func"] == "addSheet"]
    assert [name for _, name in adds] == [c.PROPOSAL]  # the only sheet written: the scorecard is left as it is
    writes = [a for a in sheet_actions(actions, adds[0][0]) if a["func"] == "setValues"]
    live = writes[0]["values"]
    alert = next(a for a in actions if a["func"] == "alert")
    assert "Cross-validated AUC on 2000 accounts" in alert["args"][0]

    optimise_file(book)
    on_file = [[cell.value for cell in row] for row in openpyxl.load_workbook(book)[c.PROPOSAL].iter_rows()]
    while live and all(v in ("", None) for v in live[-1]):  # a blank last row is no row in a file
        live.pop()
    assert len(live) == len(on_file) > 1000
    for live_row, file_row in zip(live, on_file):
        live_row = [None if v == "" else v for v in live_row]
        file_row = [None if v == "" else v for v in file_row]
        assert live_row[:len(file_row)] == file_row + [None] * (len(live_row[:len(file_row)]) - len(file_row))
