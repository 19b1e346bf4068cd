"""The file writer writes a FormSheet (placed cells, formulas with their values, a drop-down, formula colours, a
line chart, a page setup) and every sheet's page setup, print names and wrapped columns.

Judged from the package itself (corpus_check's helpers, XML parsed here), against a page XlsxWriter makes,
and through LibreOffice (recalculated values must equal the values written)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from defusedxml import ElementTree

from chs_excel.book.form import (Cell, FormSheet, Formula, FormulaColour, LineChart, ListValidation, PageSetup,
                                 absolute_reference, formula_text)
from chs_excel.book.look import BAND_LOOKS, Look
from chs_excel.book.table import OutputSheet
from chs_excel.demo.template import write_template
from chs_excel.files.writer import PackageBookWriter
from chs_excel.files.worksheet import wrapped_lines

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from corpus_check import REGISTRY, package_problems, registry_losses  # noqa: E402

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
CORPUS = Path(__file__).parents[2] / ".." / "shared" / "corpus" / "excel-made"
# CT_Worksheet's children in the order the schema requires (those chs-excel writes and a few around them)
WORKSHEET_ORDER = ["sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetProtection",
                   "autoFilter", "mergeCells", "conditionalFormatting", "dataValidations", "hyperlinks",
                   "printOptions", "pageMargins", "pageSetup", "headerFooter", "drawing"]
QUOTED = 'Q"uote'  # an account ID with a double quote, embedded in a formula
ACCOUNTS = ["A-1", "A-2", QUOTED]


def data_sheet(**kwargs) -> OutputSheet:
    return OutputSheet("Data", pd.DataFrame({"Account": ACCOUNTS, "Overall": [20, 55, 90],
                                             "Drivers": ["Usage -12 points; " * 10, "short", None]}),
                       widths={"Drivers": 20}, wrap=("Drivers",), **kwargs)


def review_form(account: str = "A-2", page: PageSetup | None = None) -> FormSheet:
    """A page using every feature, with the values a spreadsheet computes for ``account`` (worked out by hand)."""
    overall = {"A-1": 20, "A-2": 55, QUOTED: 90}[account]
    band = "Red" if overall < 40 else "Amber" if overall < 70 else "Green"
    lookup = "INDEX(Data!$B$2:$B$4,MATCH($B$3,Data!$A$2:$A$4,0))"
    cells = {"A1": Cell("Account Review", Look(bold=True, size=14)),
             "A3": Cell("Account"), "B3": Cell(account, Look(fill="FFF2CC")),
             "A4": Cell("Overall"), "B4": Cell(Formula(lookup, overall), number_format="0"),
             "A5": Cell("Band"), "B5": Cell(Formula('IF(B4<40,"Red",IF(B4<70,"Amber","Green"))', band)),
             "A6": Cell("Not there"), "B6": Cell(Formula('MATCH("none",Data!$A$2:$A$4,0)', "#N/A")),
             "A7": Cell("Quoted"), "B7": Cell(Formula(f'IF($B$3={formula_text(QUOTED)},"match","other")',
                                                      "match" if account == QUOTED else "other")),
             "A8": Cell("Above 50"), "B8": Cell(Formula("B4>50", overall > 50)),
             "A9": Cell("=1+1"), "B9": Cell("@SUM(A1:A2)"),
             "B10": Cell("A note long enough to wrap inside its merged cells", Look(wrap=True)),
             "H1": Cell("Week"), "I1": Cell("Score")}
    for k in range(6):
        cells[f"H{k + 2}"], cells[f"I{k + 2}"] = Cell(f"W{k + 1}"), Cell(40 + 5 * k)
    return FormSheet("Account Review", cells, widths={"A": 14, "B": 30}, heights={10: 45}, merged=["B10:F10"],
                     validations=[ListValidation("B3", "Data!$A$2:$A$4", "Pick an account")],
                     colours=[FormulaColour("B4", "AND(ISNUMBER(B4),B4<40)", BAND_LOOKS["Red"]),
                              FormulaColour("B4", "AND(ISNUMBER(B4),B4>=40,B4<70)", BAND_LOOKS["Amber"]),
                              FormulaColour("B5", 'B5="Amber"', Look(fill="FFEB9C", bold=True))],
                     charts=[LineChart("Overall", absolute_reference("Account Review", "H2:H7"),
                                       absolute_reference("Account Review", "I2:I7"), "A12", 6, 12, value_min=0,
                                       value_max=100)],
                     page=page or PageSetup(print_area="A1:I30"), hidden_columns=("H", "I"))


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def sheet_part(parts: dict[str, bytes], name: str) -> str:
    workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    rels = ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    targets = {r.get("Id"): r.get("Target") for r in rels}
    for sheet in workbook.iter(f"{MAIN}sheet"):
        if sheet.get("name") == name:
            rid = next(v for k, v in sheet.attrib.items() if k.endswith("}id"))
            return "xl/" + targets[rid].lstrip("/").removeprefix("xl/")
    raise KeyError(name)


def defined_names(parts) -> list[tuple[str, str | None, str]]:
    root = ElementTree.fromstring(parts["xl/workbook.xml"])
    return [(e.get("name"), e.get("localSheetId"), e.text) for e in root.iter(f"{MAIN}definedName")]


def children(xml: bytes) -> list[str]:
    return [e.tag.rpartition("}")[2] for e in ElementTree.fromstring(xml)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("form")
    source = write_template(folder / "book.xlsx")
    target = folder / "out.xlsx"
    PackageBookWriter(source, target).write([data_sheet(page=PageSetup(landscape=True, repeat_rows="1:1",
                                                                        repeat_columns="A:A")), review_form()])
    return source, target


def test_formula_text_doubles_quotes_so_a_value_cannot_end_the_literal():
    assert formula_text('x",1)&HYPERLINK("http://evil') == '"x"",1)&HYPERLINK(""http://evil"'
    assert formula_text("A-2") == '"A-2"' and formula_text(3.0) == "3" and formula_text(0.25) == "0.25"
    assert formula_text(True) == "TRUE"
    with pytest.raises(ValueError):
        formula_text(float("nan"))


def test_references_quote_the_sheet_and_are_absolute():
    assert absolute_reference("Bob's", "a2:b9") == "'Bob''s'!$A$2:$B$9"
    assert PageSetup(repeat_rows="1:1", repeat_columns="A:B").print_titles("Scores") == "'Scores'!$A:$B,'Scores'!$1:$1"
    assert PageSetup().print_titles("Scores") is None


def test_the_package_is_sound_and_keeps_every_other_part(written):
    source, target = written
    before, after = members(source), members(target)
    assert package_problems(after, before) == []
    assert [n for n in before if n not in REGISTRY and after[n] != before[n]] == []
    assert registry_losses(before, after) == []


def test_form_part_has_schema_order_and_every_feature(written):
    _, target = written
    parts = members(target)
    xml = parts[sheet_part(parts, "Account Review")]
    order = children(xml)
    assert order == sorted(order, key=WORKSHEET_ORDER.index)
    root = ElementTree.fromstring(xml)
    cells = {c.get("r"): c for c in root.iter(f"{MAIN}c")}
    assert cells["B4"].find(f"{MAIN}f").text.startswith("INDEX(") and cells["B4"].find(f"{MAIN}v").text == "55"
    assert cells["B4"].get("t") is None
    assert (cells["B5"].get("t"), cells["B5"].find(f"{MAIN}v").text) == ("str", "Amber")
    assert (cells["B6"].get("t"), cells["B6"].find(f"{MAIN}v").text) == ("e", "#N/A")
    assert (cells["B8"].get("t"), cells["B8"].find(f"{MAIN}v").text) == ("b", "1")
    for ref in ("A9", "B9"):  # text that looks like a formula stays text
        assert cells[ref].get("t") == "inlineStr" and cells[ref].find(f"{MAIN}f") is None
    assert [m.get("ref") for m in root.iter(f"{MAIN}mergeCell")] == ["B10:F10"]
    (validation,) = root.iter(f"{MAIN}dataValidation")
    assert (validation.get("type"), validation.get("sqref"), validation.find(f"{MAIN}formula1").text) == (
        "list", "B3", "Data!$A$2:$A$4")
    rules = list(root.iter(f"{MAIN}cfRule"))
    assert [r.get("priority") for r in rules] == ["1", "2", "3"] and all(r.get("stopIfTrue") == "1" for r in rules)
    styles = ElementTree.fromstring(parts["xl/styles.xml"])
    dxfs = list(styles.find(f"{MAIN}dxfs"))
    bold_amber = dxfs[int(rules[2].get("dxfId"))]
    assert bold_amber.find(f"{MAIN}font/{MAIN}b") is not None
    assert bold_amber.find(f".//{MAIN}fgColor").get("rgb") == "FFFFEB9C"
    assert root.find(f"{MAIN}sheetViews/{MAIN}sheetView").get("showGridLines") == "0"
    hidden = [(c.get("min"), c.get("hidden")) for c in root.iter(f"{MAIN}col") if c.get("hidden")]
    assert hidden == [("8", "1"), ("9", "1")]
    assert [r.get("ht") for r in root.iter(f"{MAIN}row") if r.get("r") == "10"] == ["45"]
    wrap = list(styles.find(f"{MAIN}cellXfs"))[int(cells["B10"].get("s"))].find(f"{MAIN}alignment")
    assert wrap.get("wrapText") == "1"


def test_line_chart_is_a_drawing_and_a_chart_part(written):
    _, target = written
    parts = members(target)
    path = sheet_part(parts, "Account Review")
    rels = parts[path.replace("worksheets/", "worksheets/_rels/") + ".rels"].decode()
    drawing = "xl/drawings/" + re.search(r'Target="\.\./drawings/([^"]+)"', rels).group(1)
    drawing_rels = parts[drawing.replace("drawings/", "drawings/_rels/") + ".rels"].decode()
    chart = "xl/charts/" + re.search(r'Target="\.\./charts/([^"]+)"', drawing_rels).group(1)
    xml = parts[chart].decode()
    assert "<c:lineChart>" in xml and "<c:f>'Account Review'!$I$2:$I$7</c:f>" in xml
    assert '<c:max val="100"/><c:min val="0"/>' in xml
    assert '<c:plotVisOnly val="0"/>' in xml  # its source columns are hidden


def test_page_setup_and_print_names(written):
    _, target = written
    parts = members(target)
    data = ElementTree.fromstring(parts[sheet_part(parts, "Data")])
    assert data.find(f"{MAIN}sheetPr/{MAIN}pageSetUpPr").get("fitToPage") == "1"
    setup = data.find(f"{MAIN}pageSetup")
    assert (setup.get("orientation"), setup.get("fitToWidth"), setup.get("fitToHeight")) == ("landscape", None, "0")
    positions = {s.get("name"): str(k) for k, s in enumerate(ElementTree.fromstring(
        parts["xl/workbook.xml"]).iter(f"{MAIN}sheet"))}
    assert sorted(defined_names(parts)) == sorted([
        ("_xlnm.Print_Titles", positions["Data"], "'Data'!$A:$A,'Data'!$1:$1"),
        ("_xlnm.Print_Area", positions["Account Review"], "'Account Review'!$A$1:$I$30")])


def test_wrapped_columns_wrap_top_aligned_and_their_rows_are_tall_enough(written):
    _, target = written
    parts = members(target)
    root = ElementTree.fromstring(parts[sheet_part(parts, "Data")])
    xfs = list(ElementTree.fromstring(parts["xl/styles.xml"]).find(f"{MAIN}cellXfs"))
    cells = {c.get("r"): c for c in root.iter(f"{MAIN}c")}
    alignment = xfs[int(cells["C2"].get("s"))].find(f"{MAIN}alignment")
    assert (alignment.get("wrapText"), alignment.get("vertical")) == ("1", "top")
    rows = {r.get("r"): r.get("ht") for r in root.iter(f"{MAIN}row")}
    # 180 characters in a column 20 wide: 19 a line, 10 lines of 15 points
    assert rows["2"] == "150" and rows["3"] is None and rows["4"] is None
    assert list(wrapped_lines(pd.Series(["a" * 19, "a" * 20, "x\ny", None, 3.0], dtype=object), 20)) == [1, 2, 2, 1, 1]


def test_a_sheet_without_page_setup_keeps_the_spreadsheets_defaults(tmp_path):
    source = write_template(tmp_path / "book.xlsx")
    PackageBookWriter(source, tmp_path / "out.xlsx").write([data_sheet()])
    parts = members(tmp_path / "out.xlsx")
    names = children(parts[sheet_part(parts, "Data")])
    assert "sheetPr" not in names and "pageSetup" not in names and "pageMargins" in names
    assert defined_names(parts) == []


def test_print_names_are_replaced_never_duplicated_and_the_users_stay(tmp_path):
    source = tmp_path / "book.xlsx"
    shutil.copy(CORPUS / "print_area01.xlsx", source)  # the user's print area on Sheet1
    first, second, third = tmp_path / "1.xlsx", tmp_path / "2.xlsx", tmp_path / "3.xlsx"
    page = PageSetup(landscape=True, repeat_rows="1:1", print_area="A1:C4")
    PackageBookWriter(source, first).write([data_sheet(page=page), review_form()])
    PackageBookWriter(first, second).write([data_sheet(page=page), review_form()])
    assert members(first)["xl/workbook.xml"] == members(second)["xl/workbook.xml"]
    names = defined_names(members(second))
    assert ("_xlnm.Print_Area", "0", "Sheet1!$A$1") in names
    assert sorted(names) == sorted([("_xlnm.Print_Area", "0", "Sheet1!$A$1"),
                                    ("_xlnm.Print_Area", "1", "'Data'!$A$1:$C$4"),
                                    ("_xlnm.Print_Titles", "1", "'Data'!$1:$1"),
                                    ("_xlnm.Print_Area", "2", "'Account Review'!$A$1:$I$30")])
    assert "fullCalcOnLoad" not in members(second)["xl/workbook.xml"].decode()  # print names are not formulas
    # a page that no longer asks for titles or an area: its old names go, the user's stay
    PackageBookWriter(second, third).write([data_sheet(page=PageSetup()), review_form(page=PageSetup())])
    assert defined_names(members(third)) == [("_xlnm.Print_Area", "0", "Sheet1!$A$1")]
    before, after = members(source), members(third)
    assert package_problems(after, before) == []
    assert [n for n in before if n not in REGISTRY and after[n] != before[n]] == []


def test_a_form_in_a_workbook_with_names_and_no_print_names(tmp_path):
    source = tmp_path / "book.xlsx"
    shutil.copy(CORPUS / "defined_name04.xlsx", source)
    PackageBookWriter(source, tmp_path / "out.xlsx").write([data_sheet(page=PageSetup(repeat_rows="1:1")),
                                                            review_form()])
    before, after = members(source), members(tmp_path / "out.xlsx")
    assert package_problems(after, before) == [] and registry_losses(before, after) == []
    assert [n for n in before if n not in REGISTRY and after[n] != before[n]] == []
    assert len(defined_names(after)) == len(defined_names(before)) + 2


def xlsxwriter_page(path: Path) -> None:
    """The same page made by XlsxWriter (formulas, drop-down, conditional formats, merge, page setup)."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    book = xlsxwriter.Workbook(str(path))
    data = book.add_worksheet("Data")
    data.write_row(0, 0, ["Account", "Overall"])
    review = book.add_worksheet("Account Review")
    review.hide_gridlines(2)
    review.set_column("A:A", 14)
    review.set_row(9, 45)
    review.write_formula("B4", "=INDEX(Data!$B$2:$B$4,MATCH($B$3,Data!$A$2:$A$4,0))", None, 55)
    review.merge_range("B10:F10", "note")
    review.data_validation("B3", {"validate": "list", "source": "=Data!$A$2:$A$4"})
    review.conditional_format("B4", {"type": "formula", "criteria": "=B4<40", "format": book.add_format({"bold": 1})})
    review.set_landscape()
    review.fit_to_pages(1, 0)
    review.print_area("A1:I30")
    book.close()


def test_element_order_matches_xlsxwriters(tmp_path, written):
    xlsxwriter_page(tmp_path / "xw.xlsx")
    theirs = children(members(tmp_path / "xw.xlsx")["xl/worksheets/sheet2.xml"])
    _, target = written
    parts = members(target)
    ours = children(parts[sheet_part(parts, "Account Review")])
    shared = list(dict.fromkeys(t for t in ours if t in theirs))  # one entry per kind of element
    assert shared == list(dict.fromkeys(t for t in theirs if t in ours))  # both write them in the same order
    assert {"sheetPr", "mergeCells", "conditionalFormatting", "dataValidations", "pageSetup"} <= set(shared)


RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item></oor:items>"""


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("account", ["A-1", QUOTED])
def test_libreoffice_recalculates_the_values_written(tmp_path, account):
    """LibreOffice set to recalculate every formula on load (its default keeps the saved values) opens the file
    and saves it again: each formula's value must be the one chs-excel wrote."""
    openpyxl = pytest.importorskip("openpyxl")
    source = write_template(tmp_path / "book.xlsx")
    PackageBookWriter(source, tmp_path / "out.xlsx").write([data_sheet(), review_form(account)])
    profile = tmp_path / "profile" / "user"
    profile.mkdir(parents=True)
    (profile / "registrymodifications.xcu").write_text(RECALC_PROFILE)
    converted = tmp_path / "converted"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to",
                    "xlsx", "--outdir", str(converted), str(tmp_path / "out.xlsx")], capture_output=True, timeout=180)
    assert (converted / "out.xlsx").exists()
    sheet = openpyxl.load_workbook(converted / "out.xlsx", data_only=True)["Account Review"]
    form = review_form(account)
    for ref, cell in form.cells.items():
        if isinstance(cell.value, Formula):
            assert sheet[ref].value == cell.value.cached, ref
