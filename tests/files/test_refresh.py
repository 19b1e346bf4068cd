"""End to end on workbook files: scores land in Scores and Data Issues, and nothing of the user's is lost."""
import datetime as dt
import os
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from chs_excel import contract as c
from chs_excel.problems import BookError
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def template(tmp_path) -> Path:
    return write_template(tmp_path / "book.xlsx")


def snapshot(path: Path) -> dict:
    """Everything a user can see in each sheet chs-excel does not own."""
    wb = openpyxl.load_workbook(path, rich_text=True)
    state = {"sheets": [name for name in wb.sheetnames if not c.owned_sheet(name)],
             "names": sorted((n, d.attr_text) for n, d in wb.defined_names.items())}
    for ws in wb.worksheets:
        if c.owned_sheet(ws.title):
            continue
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None and not cell.has_style:
                    continue
                cells[cell.coordinate] = (cell.value, cell.number_format, repr(cell.font), repr(cell.fill),
                                          repr(cell.border), repr(cell.alignment),
                                          cell.comment.text if cell.comment else None)
        state[ws.title] = {
            "cells": cells,
            "widths": {k: d.width for k, d in ws.column_dimensions.items()},
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted((dv.sqref.__str__(), dv.formula1) for dv in ws.data_validations.dataValidation),
            "cf": sorted((str(rng.sqref), [r.formula for r in rules]) for rng, rules in ws.conditional_formatting._cf_rules.items()),
            "freeze": ws.freeze_panes,
        }
    return state


def add_user_content(path: Path) -> None:
    """A user's own sheet with formulas, formatting, comments, names, validation and conditional formats."""
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("My Pipeline", 1)
    ws["A1"], ws["B1"], ws["C1"] = "Account", "ARR", "ARR x2"
    for r in range(2, 7):
        ws.cell(r, 1, f"ACC-00{r}")
        ws.cell(r, 2, r * 1000).number_format = "#,##0"
        ws.cell(r, 3, f"=B{r}*2")
    ws["A1"].font = Font(bold=True, color="FF0000")
    ws["B2"].fill = PatternFill("solid", fgColor="FFFF00")
    ws["A2"].comment = Comment("Renewal in March", "Ana")
    ws.merge_cells("E1:F2")
    ws["E1"] = "Merged note"
    ws.column_dimensions["A"].width = 31
    dv = DataValidation(type="list", formula1='"Yes,No"')
    ws.add_data_validation(dv)
    dv.add("D2:D6")
    ws.conditional_formatting.add("B2:B6", CellIsRule(operator="greaterThan", formula=["3000"], fill=PatternFill("solid", fgColor="00FF00")))
    wb.defined_names["TotalARR"] = DefinedName("TotalARR", attr_text="'My Pipeline'!$B$2:$B$6")
    accounts = wb["Accounts"]
    free = accounts.max_column + 1  # a column of the user's own, after the template's
    accounts.cell(1, free, "Notes")
    accounts.cell(2, free, "=LEN(B2)")
    wb.save(path)


def test_template_refresh_writes_scores_and_issues(template):
    summary = refresh_file(template)
    wb = openpyxl.load_workbook(template)
    assert [n for n in wb.sheetnames if not c.SNAPSHOT_SHEET.match(n)][-len(c.OUTPUT_SHEETS):] == list(c.OUTPUT_SHEETS)
    scores = wb[c.SCORES]
    header = [cell.value for cell in scores[1]]
    assert header[:12] == ["Account ID", "Account name", "Segment", "Stage", "CSM", "Overall", "Band", "Benchmark",
                           "Change", "Band drop", "Coverage", "Status"]
    assert scores.max_row == 61 and summary.accounts == 60
    assert sum(summary.bands.values()) + summary.no_score == 60
    bands = [row[6] for row in scores.iter_rows(min_row=2, values_only=True)]
    assert {"Red", "Amber", "Green"} <= set(bands)
    issues = [row[:2] for row in wb[c.DATA_ISSUES].iter_rows(min_row=2, values_only=True)]
    assert ("Accounts", "J6") in issues and ("Accounts", "G13") in issues and ("Overrides", "A4") in issues
    values = {row[1]: row[4] for row in wb[c.DATA_ISSUES].iter_rows(min_row=2, values_only=True)}
    assert values["G13"] == "#N/A"  # written as text, not as an error value
    ws = wb[c.DATA_ISSUES]
    assert [cell.data_type for cell in ws["E"] if cell.value == "#N/A"] == ["s"]


def test_score_cells_are_filled_and_have_conditional_formats(template):
    refresh_file(template)
    ws = openpyxl.load_workbook(template)[c.SCORES]
    header = [cell.value for cell in ws[1]]
    col = header.index("Overall") + 1
    expected = {"Red": "FFC7CE", "Amber": "FFEB9C", "Green": "C6EFCE"}
    for r in range(2, ws.max_row + 1):
        value = ws.cell(r, col).value
        if value is None:
            continue
        band = "Red" if value < 40 else "Amber" if value < 70 else "Green"
        assert ws.cell(r, col).fill.fgColor.rgb.endswith(expected[band])
        assert ws.cell(r, col + 1).value == band or "Band set to" in (ws.cell(r, header.index("Override") + 1).value or "")
    areas = {str(rng.sqref): [rule.formula[0] for rule in rules] for rng, rules in ws.conditional_formatting._cf_rules.items()}
    letter = openpyxl.utils.get_column_letter(col)
    assert areas[f"{letter}2:{letter}61"] == [f"AND(ISNUMBER({letter}2),{letter}2<40)",
                                              f"AND(ISNUMBER({letter}2),{letter}2>=40,{letter}2<70)",
                                              f"AND(ISNUMBER({letter}2),{letter}2>=70)"]


def test_user_sheets_survive_refresh_unchanged(template):
    add_user_content(template)
    before = snapshot(template)
    refresh_file(template)
    refresh_file(template)  # a second refresh replaces, never duplicates
    assert snapshot(template) == before
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames.count(c.SCORES) == 1
    assert wb["My Pipeline"]["C3"].value == "=B3*2"


def test_output_option_leaves_the_original_byte_for_byte(template, tmp_path):
    original = template.read_bytes()
    refresh_file(template, tmp_path / "out.xlsx")
    assert template.read_bytes() == original
    assert c.SCORES in openpyxl.load_workbook(tmp_path / "out.xlsx").sheetnames


def tiny_png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def rich_workbook(template: Path, target: Path, vba: bool = False) -> Path:
    """The template's input sheets in an XlsxWriter book that also holds what openpyxl would lose or change:
    a picture, a chart, a shape, comments, data validation, defined names, sheet protection, formulas with
    cached values, and (for .xlsm) VBA."""
    import xlsxwriter
    source = openpyxl.load_workbook(template)
    png = target.with_suffix(".png")
    png.write_bytes(tiny_png())
    wb = xlsxwriter.Workbook(target, {"strings_to_urls": False})
    date_format = wb.add_format({"num_format": "yyyy-mm-dd"})
    for ws_in in source.worksheets:
        ws = wb.add_worksheet(ws_in.title)
        for row in ws_in.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                if isinstance(cell.value, dt.datetime):
                    ws.write_datetime(cell.row - 1, cell.column - 1, cell.value, date_format)
                elif isinstance(cell.value, str) and cell.value.startswith("="):
                    ws.write_string(cell.row - 1, cell.column - 1, cell.value)
                else:
                    ws.write(cell.row - 1, cell.column - 1, cell.value)
    extra = wb.add_worksheet("Dashboard")
    extra.write_formula("A1", "=SUM(Accounts!F2:F61)", None, 12345)  # a cached value openpyxl would drop
    extra.write_comment("A1", "Total seats, checked by finance")
    extra.data_validation("B1:B10", {"validate": "list", "source": ["Yes", "No"]})
    extra.insert_image("D1", str(png))
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Accounts!$F$2:$F$10", "name": "Seats"})
    extra.insert_chart("D5", chart)
    extra.insert_textbox("A20", "A shape with a note")
    extra.protect("secret")
    wb.define_name("TotalSeats", "=Dashboard!$A$1")
    if vba:
        with zipfile.ZipFile(Path(__import__("xlwings").__file__).parent / "quickstart_standalone.xlsm") as xlsm:
            bin_path = target.with_name("vbaProject.bin")
            bin_path.write_bytes(xlsm.read("xl/vbaProject.bin"))
        wb.add_vba_project(str(bin_path))
    wb.close()
    return target


SHARED_PARTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml", "xl/calcChain.xml"}


def owned_parts(path: Path) -> set[str]:
    from chs_excel.files.opc import Package
    from chs_excel.files.package import open_package
    with open_package(path) as package:
        opc = Package(package)
        starts = [s.part for s in opc.sheets() if c.owned_sheet(s.name) and s.part]
        return set(starts) | opc.reachable(starts)


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_every_part_we_do_not_own_survives_byte_for_byte(template, tmp_path, suffix):
    book = rich_workbook(template, tmp_path / f"rich{suffix}", vba=suffix == ".xlsm")
    with zipfile.ZipFile(book) as before_zip:
        before = {name: before_zip.read(name) for name in before_zip.namelist()}
    assert {"xl/vbaProject.bin"} <= set(before) if suffix == ".xlsm" else True
    assert any(n.startswith("xl/media/") for n in before) and any(n.startswith("xl/charts/") for n in before)
    refresh_file(book)
    refresh_file(book, as_of=dt.date(2026, 11, 30))  # again: our own parts are replaced, never stacked
    ours = owned_parts(book)
    with zipfile.ZipFile(book) as after_zip:
        assert after_zip.testzip() is None
        after = {name: after_zip.read(name) for name in after_zip.namelist()}
    for name, data in before.items():
        if name not in SHARED_PARTS:
            assert after.get(name) == data, f"{name} changed"
    assert set(after) - set(before) <= ours | SHARED_PARTS
    # the shared parts keep what they held
    workbook = after["xl/workbook.xml"].decode()
    assert "TotalSeats" in workbook and workbook.count('name="Scores"') == 1
    types = after["[Content_Types].xml"].decode()
    for override in re.findall(r'<Override PartName="([^"]+)"', before["[Content_Types].xml"].decode()):
        assert override in types
    wb = openpyxl.load_workbook(book, keep_vba=suffix == ".xlsm")
    assert [n for n in wb.sheetnames if not c.SNAPSHOT_SHEET.match(n)][-len(c.OUTPUT_SHEETS):] == list(c.OUTPUT_SHEETS)
    assert wb["Dashboard"]["A1"].value == "=SUM(Accounts!F2:F61)"
    cached = openpyxl.load_workbook(book, data_only=True)["Dashboard"]["A1"].value
    assert cached == 12345  # the formula's cached value is still there


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_refreshed_workbook(template, tmp_path):
    book = rich_workbook(template, tmp_path / "rich.xlsx")
    refresh_file(book)
    out = tmp_path / "lo"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(out), str(book)], capture_output=True, timeout=240)
    scores = out / "rich-Scores.csv"
    assert scores.exists(), list(out.iterdir()) if out.exists() else "no output"
    lines = scores.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Account ID,Account name,Segment,Stage,CSM,Overall,Band")
    assert len(lines) == 61
    gap = (out / "rich-Benchmark Gap.csv").read_text(encoding="utf-8").splitlines()
    assert gap[1].startswith('37,"accounts below their benchmark')


def test_failed_save_leaves_the_original_untouched(template, monkeypatch):
    original = template.read_bytes()

    def locked(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(BookError, match="cannot save book.xlsx: Permission denied"):
        refresh_file(template)
    assert template.read_bytes() == original
    assert [p.name for p in template.parent.iterdir() if p.name.startswith(".~chs-excel")] == []


def test_workbook_open_in_excel_is_refused(template):
    (template.parent / "~$book.xlsx").write_bytes(b"lock")
    original = template.read_bytes()
    with pytest.raises(BookError, match="is open in Excel"):
        refresh_file(template)
    assert template.read_bytes() == original


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a zip")
    with pytest.raises(BookError, match="cannot be read as an Excel workbook"):
        refresh_file(bad)
    with pytest.raises(BookError, match="no such file"):
        refresh_file(tmp_path / "nope.xlsx")


def test_data_strings_are_written_as_text_never_formulas(template):
    wb = openpyxl.load_workbook(template)
    wb["Accounts"]["B2"] = "=HYPERLINK(\"http://evil\",\"x\")"
    wb["Accounts"]["B2"].data_type = "s"
    wb.save(template)
    refresh_file(template)
    with zipfile.ZipFile(template) as package:
        names = openpyxl.load_workbook(template).sheetnames
        part = f"xl/worksheets/sheet{names.index(c.SCORES) + 1}.xml"
        assert b"<f>" not in package.read(part)
    scores = openpyxl.load_workbook(template)[c.SCORES]
    names_col = [row[1] for row in scores.iter_rows(min_row=2, values_only=True)]
    assert '=HYPERLINK("http://evil","x")' in names_col


def test_committed_template_matches_the_generator(tmp_path):
    made = write_template(tmp_path / "made.xlsx")
    with zipfile.ZipFile(ROOT / "workbook_template.xlsx") as committed, zipfile.ZipFile(made) as fresh:
        assert sorted(committed.namelist()) == sorted(fresh.namelist())
        for name in committed.namelist():
            if name == "docProps/core.xml":
                continue  # holds the save time
            assert committed.read(name) == fresh.read(name), name


def test_xml_is_parsed_with_defusedxml():
    import openpyxl.xml
    assert openpyxl.xml.DEFUSEDXML is True


def test_formula_without_saved_value_in_input_is_a_data_issue(template):
    wb = openpyxl.load_workbook(template)
    wb["Accounts"]["K2"] = "=3+4"  # openpyxl saves formulas without a cached value
    wb.save(template)
    summary = refresh_file(template)
    flagged = [i for i in summary.issues if i.cell == "Accounts!K2"]
    assert len(flagged) == 1
    assert flagged[0].value.startswith("(formula with no saved value")
    assert flagged[0].problem == "a formula with no saved value"
    assert openpyxl.load_workbook(template)["Accounts"]["K2"].value == "=3+4"


def test_calc_chain_entries_of_a_replaced_sheet_are_dropped(tmp_path):
    """A user's old sheet called Scores, with formulas, is replaced; the calculation chain forgets its cells."""
    book = write_template(tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(book)
    wb.create_sheet(c.SCORES)["A1"] = "=1+1"
    wb["Instructions"]["B1"] = "=2+2"
    wb.save(book)
    names = openpyxl.load_workbook(book).sheetnames
    scores_id, instructions_id = names.index(c.SCORES) + 1, names.index("Instructions") + 1
    chain = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<c r="A1" i="{scores_id}"/><c r="A2"/><c r="B1" i="{instructions_id}"/></calcChain>')
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdCalc" Type="http://schemas.openxmlformats'
                                    b'.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
            out.writestr(info, data)
        out.writestr("xl/calcChain.xml", chain)
    refresh_file(patched)
    with zipfile.ZipFile(patched) as z:
        kept = z.read("xl/calcChain.xml").decode()
    # A1 and A2 (i omitted: same sheet as before) belonged to the old Scores sheet; B1 of Instructions stays
    assert re.findall(r"<c [^>]*/>", kept) == [f'<c r="B1" i="{instructions_id}"/>']
    assert openpyxl.load_workbook(patched)["Instructions"]["B1"].value == "=2+2"
