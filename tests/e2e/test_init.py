"""``chs-excel init``: the input sheets added to a workbook made elsewhere, nothing of it changed.

Judged from the zip package itself (parts, workbook.xml entries, relationships) and with openpyxl as an independent
reader of the results; the new sheets are also read back by chs-excel's own FileBookReader.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import ElementTree

from chs_excel import contract as c
from chs_excel.files.reader import FileBookReader
from chs_excel.cli import main
from chs_excel.files.ooxml import NS_MAIN, NS_REL
from chs_excel.init import INIT_SHEETS
from chs_excel.demo.template import ACCOUNT_HEADERS, write_template

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "excel-made"
REGISTRY = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}
NS = {"m": NS_MAIN}
R_ID = f"{{{NS_REL}}}id"
SOURCES = ["Features used", "Features available", "Outreach this month", "QBRs attended (12 mo)",
           "Open support tickets", "CSM sentiment"]


def corpus_file(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {path} is not here")
    return path


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def sheet_entries(path: Path) -> list[tuple[str, str, str]]:
    """(name, sheetId, r:id) of every <sheet> in workbook.xml, in order."""
    with zipfile.ZipFile(path) as package:
        root = ElementTree.fromstring(package.read("xl/workbook.xml"))
    return [(s.get("name"), s.get("sheetId"), s.get(R_ID)) for s in root.findall("m:sheets/m:sheet", NS)]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def scores(path: Path) -> dict[str, tuple]:
    """Account ID -> (Overall, Band) from the Scores sheet, read with openpyxl."""
    rows = list(openpyxl.load_workbook(path, read_only=True)[c.SCORES].iter_rows(values_only=True))
    head = list(rows[0])
    return {r[0]: (r[head.index("Overall")], r[head.index("Band")]) for r in rows[1:] if r[0] is not None}


def user_workbook(path: Path, rows: list[list] | None = None) -> Path:
    """A workbook of the user's: a Customers sheet holding accounts (the example's source columns) and a Pipeline."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(list(c.ACCOUNT_COLUMNS) + SOURCES)
    for row in rows if rows is not None else [
            ["C-1", "Best Co", "SMB", "Adopt", "Ann", 20, 20, 20, 4, 0, "Green"],
            ["C-2", "Worst Co", "SMB", "Adopt", "Ann", 0, 20, 0, 0, 8, "Red"]]:
        ws.append(row)
    pipeline = wb.create_sheet("Pipeline")
    pipeline["A1"], pipeline["A2"], pipeline["B2"] = "Deal", "Renewal C-1", "=1+1"
    wb.save(path)
    return path


@pytest.mark.parametrize("name", ["textbox40.xlsx", "macro01.xlsm"])  # a chart and an image; VBA
def test_init_keeps_every_part_and_the_workbook_refreshes(name, tmp_path, capsys):
    book = tmp_path / name
    shutil.copyfile(corpus_file(name), book)
    before, entries = parts(book), sheet_entries(book)
    with zipfile.ZipFile(book) as package:
        rels_before = package.read("xl/_rels/workbook.xml.rels").decode()
        types_before = package.read("[Content_Types].xml").decode()

    code, out, err = run(capsys, "init", book)
    assert code == 0, err
    assert "Added 10 sheet(s)" in out

    after = parts(book)
    for part, data in before.items():
        if part not in REGISTRY:
            assert after.get(part) == data, f"{part} changed"
    # The registry parts keep every original entry: sheets in the same order, same ids; relationships; types.
    new_entries = sheet_entries(book)
    assert new_entries[:len(entries)] == entries
    assert [e[0] for e in new_entries[len(entries):]] == list(INIT_SHEETS)
    rels_after, types_after = after["xl/_rels/workbook.xml.rels"].decode(), after["[Content_Types].xml"].decode()
    for item in re.findall(r"<Relationship\b[^>]*/>", rels_before):
        assert item in rels_after
    for item in re.findall(r"<(?:Override|Default)\b[^>]*/>", types_before):
        assert item in types_after
    if name.endswith(".xlsm"):
        assert "xl/vbaProject.bin" in before and after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
        assert "macroEnabled" in types_after

    with FileBookReader(book) as reader:
        tables = {sheet: reader.read_table(sheet) for sheet in INIT_SHEETS[1:]}
    assert tables[c.SETTINGS].header == ["Setting", "Value", "Meaning"]
    assert tables[c.CATEGORIES].header == [col.header for col in c.CATEGORY_COLUMNS]
    assert tables[c.METRICS].header == [col.header for col in c.METRIC_COLUMNS]
    assert tables[c.ACCOUNTS].header == ACCOUNT_HEADERS
    assert tables[c.HISTORY].header == list(c.HISTORY_COLUMNS)
    assert tables[c.OVERRIDES].header == [col.header for col in c.OVERRIDE_COLUMNS]
    assert tables[c.BENCHMARKS].header[:3] == ["Segment", "Stage", "Target"]
    assert tables[c.PLAYBOOKS].header == [col.header for col in c.PLAYBOOK_COLUMNS]
    counts = [len(tables[s].rows) for s in (c.CATEGORIES, c.METRICS, c.ACCOUNTS, c.HISTORY, c.OVERRIDES)]
    assert counts == [3, 7, 0, 0, 0]
    settings = {row[0]: row[1] for row in tables[c.SETTINGS].rows}
    assert settings["Red below"] == 40 and settings["Amber below"] == 70
    assert settings["As-of date"] in ("", None)  # blank: today

    code, out, err = run(capsys, "refresh", book, "-q")
    assert code == 0, err
    assert "Scored 0 accounts" in out and "0 data issue(s)" in out
    refreshed = parts(book)
    for part, data in before.items():
        if part not in REGISTRY:
            assert refreshed.get(part) == data, f"{part} changed by the refresh"


def test_refresh_never_rewrites_the_added_input_sheets(tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    shutil.copyfile(corpus_file("textbox40.xlsx"), book)
    assert run(capsys, "init", book, "--example")[0] == 0
    with zipfile.ZipFile(book) as package:
        targets = {e.get("Id"): e.get("Target") for e in
                   ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))}
    inputs = {f"xl/{targets[rid]}" for name, _, rid in sheet_entries(book) if name in INIT_SHEETS}
    before = parts(book)
    assert run(capsys, "refresh", book, "-q")[0] == 0
    assert run(capsys, "refresh", book, "-q")[0] == 0
    after = parts(book)
    assert len(inputs) == 10 and all(after[p] == before[p] for p in inputs)


def test_example_scores_as_the_template_does(tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    shutil.copyfile(corpus_file("textbox40.xlsx"), book)
    code, out, err = run(capsys, "init", book, "--example")
    assert code == 0, err
    template = write_template(tmp_path / "template.xlsx")
    assert run(capsys, "refresh", template, "-q")[0] == 0
    code, out, err = run(capsys, "refresh", book, "-q")
    assert code == 0, err
    assert "Scored 60 accounts as of 2026-11-15" in out
    mine, theirs = scores(book), scores(template)
    assert len(mine) == 60 and mine == theirs


def test_accounts_on_a_sheet_of_the_users(tmp_path, capsys):
    book = user_workbook(tmp_path / "book.xlsx")
    customers_part = parts(book)["xl/worksheets/sheet1.xml"]
    code, out, err = run(capsys, "init", book, "--accounts", "customers")  # case ignored
    assert code == 0, err
    assert "Accounts are read from your sheet 'Customers'" in out
    names = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert names[:2] == ["Customers", "Pipeline"] and c.ACCOUNTS not in names
    settings = {r[0]: r[1] for r in openpyxl.load_workbook(book)[c.SETTINGS].iter_rows(values_only=True)}
    assert settings["Accounts sheet"] == "Customers"

    code, out, err = run(capsys, "refresh", book, "-q", "--as-of", "2026-11-15")
    assert code == 0, err
    assert "Scored 2 accounts" in out
    # By hand (the trend metrics have no history, so Product is Feature usage alone; coverage 68.5%):
    # C-1 scores 100 on every metric -> 100. C-2: Feature usage 0/20 -> 1; Outreach 0 -> 1, Business reviews 0 -> 10,
    # Support 8 tickets -> 1, so Engagement = (30*1 + 30*10 + 40*1)/100 = 3.7; Sentiment Red -> 20;
    # overall = (45*1 + 35*3.7 + 20*20)/100 = 5.745 -> 6.
    assert scores(book) == {"C-1": (100, "Green"), "C-2": (6, "Red")}
    assert parts(book)["xl/worksheets/sheet1.xml"] == customers_part  # read, never written

    # Init again: the Settings row is there, nothing to add.
    before = book.read_bytes()
    code, out, err = run(capsys, "init", book, "--accounts", "Customers")
    assert code == 0 and "nothing was added" in out and book.read_bytes() == before
    code, out, err = run(capsys, "init", book)  # Settings names Customers: no Accounts sheet is added either
    assert code == 0 and "nothing was added" in out and book.read_bytes() == before


def test_accounts_sheet_setting_naming_no_sheet_is_a_config_error(tmp_path, capsys):
    book = user_workbook(tmp_path / "book.xlsx")
    assert run(capsys, "init", book, "--accounts", "Customers")[0] == 0
    wb = openpyxl.load_workbook(book)
    row = next(r for r in range(1, 20) if wb[c.SETTINGS].cell(r, 1).value == "Accounts sheet")
    wb[c.SETTINGS].cell(row, 2).value = "Clients"
    wb.save(book)
    before = book.read_bytes()
    code, out, err = run(capsys, "refresh", book, "-q")
    assert code == 1
    assert f'Settings!B{row}: Accounts sheet "Clients" is not a sheet of this workbook' in err
    assert book.read_bytes() == before


def test_accounts_option_refusals_leave_the_file_untouched(tmp_path, capsys):
    book = user_workbook(tmp_path / "book.xlsx")
    before = book.read_bytes()
    code, out, err = run(capsys, "init", book, "--accounts", "Clients")
    assert code == 1 and "has no sheet named 'Clients'" in err and len(err.strip().splitlines()) == 1
    assert book.read_bytes() == before

    wb = openpyxl.load_workbook(book)
    wb.create_sheet("settings").append(["Setting", "Value"])  # a Settings sheet of the user's, without the row
    wb.save(book)
    before = book.read_bytes()
    code, out, err = run(capsys, "init", book, "--accounts", "Customers")
    assert code == 1
    assert "add a row with Setting 'Accounts sheet' and Value 'Customers'" in err
    assert book.read_bytes() == before


def test_only_the_missing_sheets_are_added(tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Mine"
    wb.create_sheet("categories").append(["Category", "Weight"])  # case ignored
    wb["categories"].append(["Product", 1])
    wb.save(book)
    before = parts(book)
    code, out, err = run(capsys, "init", book)
    assert code == 0, err
    assert "Left as they were: categories." in out
    names = [e[0] for e in sheet_entries(book)]
    assert names == ["Mine", "categories"] + [s for s in INIT_SHEETS if s != c.CATEGORIES]
    after = parts(book)
    assert all(after[p] == data for p, data in before.items() if p not in REGISTRY)


def test_backup_keeps_the_original_and_a_second_init_adds_nothing(tmp_path, capsys):
    book = tmp_path / "book.xlsm"
    shutil.copyfile(corpus_file("macro01.xlsm"), book)
    original = book.read_bytes()
    assert run(capsys, "init", book, "--backup")[0] == 0
    assert (tmp_path / "book.backup.xlsm").read_bytes() == original
    once = book.read_bytes()
    code, out, err = run(capsys, "init", book, "--example")
    assert code == 0 and "nothing was added" in out
    assert book.read_bytes() == once


@pytest.mark.parametrize("name, content", [("notes.txt", b"hello"), ("book.xlsx", b"not a zip at all"),
                                           ("book.csv", b"a,b\n1,2\n")])
def test_files_that_are_not_workbooks_are_refused_untouched(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run(capsys, "init", path)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_workbook_open_in_excel_is_refused_untouched(tmp_path, capsys):
    book = user_workbook(tmp_path / "book.xlsx")
    (tmp_path / "~$book.xlsx").write_bytes(b"lock")
    before = book.read_bytes()
    code, out, err = run(capsys, "init", book)
    assert code == 1 and "open in Excel" in err
    assert book.read_bytes() == before


def test_example_and_accounts_do_not_mix(tmp_path, capsys):
    book = user_workbook(tmp_path / "book.xlsx")
    with pytest.raises(SystemExit) as exc:
        main(["init", str(book), "--example", "--accounts", "Customers"])
    assert exc.value.code == 2
