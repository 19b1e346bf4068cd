"""Workbooks whose packages differ from what Excel usually writes, and workbooks a refresh must refuse.

Each case is a real file: one of ../shared/corpus (Apache POI's test data, Excel-made files) or the template with
a few of its parts edited by hand (never by our own writer). Every result is checked as a package: every XML
part parses, every relationship resolves, every part has a content type, and the parts chs-excel does not own
keep their bytes.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from defusedxml import ElementTree

from chs_excel import contract as c
from chs_excel.files.package import open_package
from chs_excel.book.dates import EPOCH_1904
from chs_excel.book.table import OutputSheet
from chs_excel.cli import main
from chs_excel.problems import BookError
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template
from chs_excel.files.ooxml import NS_MAIN, escape
from chs_excel.files.opc import Package, local
from chs_excel.files.writer import PackageBookWriter

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
AS_OF = dt.date(2026, 3, 31)


def corpus(name: str, tmp_path: Path) -> Path:
    source = CORPUS / name
    if not source.exists():
        pytest.skip(f"no corpus file {source}")
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    copy.chmod(0o644)
    return copy


@pytest.fixture(scope="module")
def template_file(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("template") / "book.xlsx")


@pytest.fixture
def template(template_file, tmp_path) -> Path:
    copy = tmp_path / "book.xlsx"
    shutil.copyfile(template_file, copy)
    return copy


def edit(path: Path, changes: dict, rename: dict | None = None, add: dict | None = None) -> Path:
    """Rewrite the zip: ``changes`` maps a part to new bytes or a function of its bytes; ``rename`` moves parts."""
    rename, add = rename or {}, add or {}
    with zipfile.ZipFile(path) as src:
        parts = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts:
            if name in changes:
                data = changes[name](data) if callable(changes[name]) else changes[name]
            out.writestr(rename.get(name, name), data)
        for name, data in add.items():
            out.writestr(name, data)
    return path


def sub(old: str, new: str, count: int = 0):
    return lambda data: re.sub(old, new, data.decode("utf-8"), count=count).encode("utf-8")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def check_package(path: Path, before: dict[str, bytes] | None = None) -> Package:
    """The file is a sound package: whole, unique part names, XML parses, relationships resolve, content types.

    Stale content types already in the file ``before`` (POI's 65016 declares ``/.xml``) are its own business.
    """
    stale = before.get("[Content_Types].xml", b"").decode("utf-8", "replace").lower() if before else ""
    z = zipfile.ZipFile(path)
    assert z.testzip() is None
    names = z.namelist()
    assert len({n.lower() for n in names}) == len(names), "part names must be unique ignoring case"
    opc = Package(z, path.name)
    types = ElementTree.fromstring(z.read(opc.find("[Content_Types].xml")))
    defaults = {e.get("Extension").lower() for e in types if local(e.tag) == "Default"}
    overrides = {e.get("PartName").lower() for e in types if local(e.tag) == "Override"}
    for name in names:
        if name.endswith((".xml", ".rels", ".vml")):
            opc.xml(name)
        if name != "[Content_Types].xml" and not name.endswith("/"):
            assert f"/{name}".lower() in overrides or name.rpartition(".")[2].lower() in defaults, f"{name}: no type"
    for override in overrides:
        assert opc.find(override) or f'partname="{override}"' in stale, f"content type for a missing part {override}"
    for name in names:
        if name.endswith(".rels"):
            source = re.sub(r"(^|/)_rels/([^/]+)\.rels$", r"\1\2", name) if name != "_rels/.rels" else ""
            for rel in opc.rels(source):
                if not rel.external:
                    assert opc.find(rel.part), f"{name}: {rel.target} points to no part"
    return opc


def sheet_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [s.name for s in Package(z).sheets()]


def scores_sheet(rows: int = 3) -> OutputSheet:
    frame = pd.DataFrame({"Account ID": [f"A{k}" for k in range(rows)], "Overall": [40.0 + k for k in range(rows)]})
    return OutputSheet(c.SCORES, frame, bands={"Overall": (40, 70)})


def assert_untouched(before: dict[str, bytes], after: dict[str, bytes], edited: set[str]) -> None:
    for name, data in before.items():
        if name not in edited:
            assert after.get(name) == data, f"{name} changed"


# 1. Strict Open XML --------------------------------------------------------------------------------------------

def test_strict_open_xml_is_refused_before_anything_is_written(tmp_path, capsys):
    book = corpus("poi/sample.strict.xlsx", tmp_path)
    before = book.read_bytes()
    with pytest.raises(BookError, match=r"^sample.strict.xlsx is saved as Strict Open XML, which chs-excel cannot "
                                        r"update yet; in Excel use File > Save As > Excel Workbook \(.xlsx\)"):
        PackageBookWriter(book, book).write([scores_sheet()])
    assert main(["refresh", str(book), "-q"]) == 1
    assert "Strict Open XML" in capsys.readouterr().err
    assert book.read_bytes() == before


# 2. Parts shared with the user's sheets --------------------------------------------------------------------------

def test_a_part_a_user_sheet_also_uses_is_kept(template):
    refresh_file(template, as_of=AS_OF)
    with zipfile.ZipFile(template) as z:
        opc = Package(z)
        sheets = {s.name: s for s in opc.sheets()}
        drawing = next(r.part for r in opc.rels(sheets[c.DISTRIBUTION].part) if r.kind == "drawing")
        chart = next(r.part for r in opc.rels(drawing) if r.kind == "chart")
        user = sheets["Instructions"].part
    # the user's Instructions sheet shows the same drawing (as Excel does when one picture is placed twice)
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rIdU1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/drawing" Target="../drawings/'
            f'{drawing.rpartition("/")[2]}"/></Relationships>').encode()
    edit(template, {user: sub(r"</worksheet>", '<drawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
                                              '2006/relationships" r:id="rIdU1"/></worksheet>')},
         add={re.sub(r"([^/]+)$", r"_rels/\1.rels", user): rels})
    before = parts(template)
    refresh_file(template, as_of=AS_OF)
    after = parts(template)
    check_package(template)
    assert after[drawing] == before[drawing] and after[chart] == before[chart]  # kept, byte for byte
    with zipfile.ZipFile(template) as z:
        opc = Package(z)
        dist = next(s for s in opc.sheets() if s.name == c.DISTRIBUTION)
        new_drawing = next(r.part for r in opc.rels(dist.part) if r.kind == "drawing")
    assert new_drawing != drawing  # the refreshed sheet got its own drawing


# 3. The 1904 date system -----------------------------------------------------------------------------------------

def test_dates_are_written_in_the_workbooks_date_system(template):
    main_xml = "xl/workbook.xml"
    edit(template, {main_xml: sub(r"<workbookPr\s*/>", '<workbookPr date1904="1"/>')})
    refresh_file(template, as_of=AS_OF)
    with zipfile.ZipFile(template) as z:
        opc = Package(z)
        history = next(s for s in opc.sheets() if s.name == c.SCORE_HISTORY)
        xml = z.read(history.part).decode()
    serial = (AS_OF - EPOCH_1904.date()).days
    assert re.search(rf'<c r="A2"[^>]*><v>{serial}</v>', xml), xml[:2000]
    refresh_file(template, as_of=AS_OF + dt.timedelta(days=30))  # reads the history back, adds a row
    ws = openpyxl.load_workbook(template, read_only=True)[c.SCORE_HISTORY]
    header = [cell for cell in next(ws.iter_rows(values_only=True))]
    dates = {row[0].date() if isinstance(row[0], dt.datetime) else row[0]
             for row in ws.iter_rows(min_row=2, values_only=True) if row[0] is not None and not isinstance(row[0], str)}
    assert dates == {AS_OF, AS_OF + dt.timedelta(days=30)}, (header, dates)


def test_a_1904_workbook_refuses_an_as_of_date_before_1904(template, capsys):
    edit(template, {"xl/workbook.xml": sub(r"<workbookPr\s*/>", '<workbookPr date1904="1"/>')})
    before = template.read_bytes()
    assert main(["refresh", str(template), "--as-of", "1902-05-01", "-q"]) == 1
    err = capsys.readouterr().err
    assert "--as-of: the as-of date must be a date Excel can hold, from 1904-01-01" in err and "1902-05-01" in err
    assert template.read_bytes() == before
    assert main(["refresh", str(template), "--as-of", "1904-01-01", "-q"]) == 0  # its first day is fine


# 4. Sheet names differing only in case ---------------------------------------------------------------------------

def test_sheets_named_in_another_case_are_replaced_not_doubled(template):
    edit(template, {"xl/workbook.xml": sub(r'name="Instructions"', 'name="scores"')})
    refresh_file(template, as_of=AS_OF)
    refresh_file(template, as_of=AS_OF)
    check_package(template)
    names = sheet_names(template)
    assert [n for n in names if n.casefold() == "scores"] == ["scores"]
    assert len(names) == len({n.casefold() for n in names})
    ws = openpyxl.load_workbook(template, read_only=True)["scores"]
    assert next(ws.iter_rows(values_only=True))[0] == "Account ID"


# 5. A chart sheet (or any non-worksheet) named like an output sheet ----------------------------------------------

def test_chart_sheet_named_like_an_output_sheet_is_refused(tmp_path):
    book = edit(corpus("poi/WithChartSheet.xlsx", tmp_path), {"xl/workbook.xml": sub(r'name="Chart2"', 'name="Scores"')})
    before = book.read_bytes()
    with pytest.raises(BookError, match=r"the sheet 'Scores' of WithChartSheet.xlsx is a chart sheet"):
        PackageBookWriter(book, book).write([scores_sheet()])
    assert book.read_bytes() == before


# 6. Tables and pivot tables on an output sheet -------------------------------------------------------------------

def test_table_on_an_output_sheet_is_refused(tmp_path):
    book = edit(corpus("excel-made/table01.xlsx", tmp_path), {"xl/workbook.xml": sub(r'name="Sheet1"', 'name="Scores"')})
    before = book.read_bytes()
    with pytest.raises(BookError, match=r"the sheet 'Scores' of table01.xlsx holds your table 'Table1'.*rename the "
                                        r"sheet or move the table. Nothing was changed."):
        PackageBookWriter(book, book).write([scores_sheet()])
    assert book.read_bytes() == before


def test_pivot_table_on_an_output_sheet_is_refused(tmp_path):
    book = corpus("poi/WithChartSheet.xlsx", tmp_path)
    with zipfile.ZipFile(book) as z:
        opc = Package(z)
        pivot_sheet = next(s for s in opc.sheets() if s.part and any(r.kind == "pivottable" for r in opc.rels(s.part)))
    edit(book, {"xl/workbook.xml": sub(rf'name="{pivot_sheet.name}"', 'name="Scores"')})
    with pytest.raises(BookError, match=r"the sheet 'Scores' of WithChartSheet.xlsx holds your pivot table"):
        PackageBookWriter(book, book).write([scores_sheet()])


# 7. User formulas referring to output sheets ---------------------------------------------------------------------

def _calc_pr(path: Path) -> tuple[dict, list[str]]:
    root = ElementTree.fromstring(parts(path)["xl/workbook.xml"])
    order = [local(e.tag) for e in root]
    calc = next((e for e in root if local(e.tag) == "calcPr"), None)
    return (dict(calc.attrib) if calc is not None else {}), order


@pytest.mark.parametrize("where", ["cell", "name", "none"])
def test_formulas_referring_to_output_sheets_recalculate_on_open(template, where):
    wb_xml = "xl/workbook.xml"
    changes = {wb_xml: sub(r'<calcPr [^>]*/>', "")}  # Excel-saved books rarely carry fullCalcOnLoad; drop calcPr
    if where == "cell":
        changes["xl/worksheets/sheet1.xml"] = sub(r'(<c r="A1"[^>]*?)(/>|>.*?</c>)',
                                                  r"""\1><f>'Score History'!A1&amp;Scores!F2</f><v>0</v></c>""", 1)
    elif where == "name":
        changes[wb_xml] = sub(r'<definedNames\s*/>(<calcPr [^>]*/>)?',
                              '<definedNames><definedName name="Top">Scores!$F$2</definedName></definedNames>')
    edit(template, changes)
    refresh_file(template, as_of=AS_OF)
    check_package(template)
    calc, order = _calc_pr(template)
    if where == "none":
        assert calc.get("fullCalcOnLoad") is None
        return
    assert calc.get("fullCalcOnLoad") == "1"
    assert order.index("calcPr") > order.index("sheets") and order.index("calcPr") > order.index("definedNames")


def test_full_calc_on_load_is_set_on_an_existing_calc_pr(template):
    edit(template, {"xl/workbook.xml": sub(r'<calcPr [^>]*/>', '<calcPr calcId="191029"/>'),
                    "xl/worksheets/sheet1.xml": sub(r'(<c r="A1"[^>]*?)(/>|>.*?</c>)', r"\1><f>Scores!F2</f></c>", 1)})
    refresh_file(template, as_of=AS_OF)
    assert _calc_pr(template)[0] == {"calcId": "191029", "fullCalcOnLoad": "1"}


# 8. A protected output sheet keeps its protection ----------------------------------------------------------------

def test_protected_output_sheet_keeps_its_protection(template):
    refresh_file(template, as_of=AS_OF)
    with zipfile.ZipFile(template) as z:
        part = next(s.part for s in Package(z).sheets() if s.name == c.SCORES)
    element = '<sheetProtection password="CC1A" sheet="1" objects="1" scenarios="1"/>'
    edit(template, {part: sub("</sheetData>", "</sheetData>" + element)})
    refresh_file(template, as_of=AS_OF)
    xml = parts(template)[part].decode()
    assert "</sheetData>" + element in xml
    assert openpyxl.load_workbook(template)[c.SCORES].protection.sheet is True


# 9. Package variants ---------------------------------------------------------------------------------------------

def test_styles_part_at_another_path(template):
    rels = "xl/_rels/workbook.xml.rels"
    edit(template, {rels: sub(r'Target="/?(xl/)?styles.xml"', 'Target="theme/../looks/style.xml"'),
                    "[Content_Types].xml": sub(r'PartName="/xl/styles.xml"', 'PartName="/xl/looks/style.xml"')},
         rename={"xl/styles.xml": "xl/looks/style.xml"})
    before = parts(template)
    refresh_file(template, as_of=AS_OF)
    after = parts(template)
    check_package(template)
    assert "xl/styles.xml" not in after
    assert b"C6EFCE" in after["xl/looks/style.xml"] and b"C6EFCE" not in before["xl/looks/style.xml"]


def test_prefixed_workbook_styles_and_absolute_targets(tmp_path):
    """POI's 59746: every element prefixed ``x:``, absolute relationship targets, a byte order mark."""
    book = corpus("poi/59746_NoRowNums.xlsx", tmp_path)
    before = parts(book)
    PackageBookWriter(book, book).write([scores_sheet()])
    opc = check_package(book)
    sheets = {s.name: s for s in opc.sheets()}
    assert sheets[c.SCORES].kind == "worksheet" and opc.find(sheets[c.SCORES].part)
    root = opc.workbook_root()
    assert root.tag == f"{{{NS_MAIN}}}workbook"
    assert b"<x:fill><x:patternFill" in parts(book)["xl/styles.xml"]
    assert_untouched(before, parts(book), {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
                                           "xl/styles.xml"})


@pytest.mark.parametrize("name", ["poi/58760.xlsx", "poi/65016.xlsx", "poi/style-alternate-content.xlsx",
                                  "poi/46535.xlsx", "excel-made/chartsheet01.xlsx"])
def test_odd_corpus_packages_take_our_sheets_twice(tmp_path, name):
    book = corpus(name, tmp_path)
    before = parts(book)
    for _ in range(2):
        PackageBookWriter(book, book).write([scores_sheet(), OutputSheet(c.DATA_ISSUES, pd.DataFrame({"Sheet": ["x"]}))])
    opc = check_package(book, before)
    names = [s.name for s in opc.sheets()]
    assert names.count(c.SCORES) == 1 and names.count(c.DATA_ISSUES) == 1
    edited = {opc.main, opc.find("xl/_rels/workbook.xml.rels"), "[Content_Types].xml"}
    edited |= {r.part for r in opc.rels(opc.main) if r.kind == "styles"}
    assert_untouched(before, parts(book), edited)


def test_part_names_differing_in_case_from_ours(template):
    """The template's sheet parts renamed ``Sheet1.xml``...: the parts we add must not clash ignoring case."""
    with zipfile.ZipFile(template) as z:
        names = [n for n in z.namelist() if re.fullmatch(r"xl/worksheets/(_rels/)?sheet\d+\.xml(\.rels)?", n)]
    rename = {n: n.replace("/sheet", "/Sheet") for n in names}
    edit(template, {"xl/_rels/workbook.xml.rels": sub("/worksheets/sheet", "/worksheets/Sheet"),
                    "[Content_Types].xml": sub("/worksheets/sheet", "/worksheets/Sheet")}, rename=rename)
    refresh_file(template, as_of=AS_OF)
    refresh_file(template, as_of=AS_OF)
    check_package(template)


def test_sheet_part_in_a_deeper_folder(template):
    refresh_file(template, as_of=AS_OF)
    with zipfile.ZipFile(template) as z:
        part = next(s.part for s in Package(z).sheets() if s.name == c.DISTRIBUTION)
    base = part.rpartition("/")[2]
    rels = f"xl/worksheets/_rels/{base}.rels"
    edit(template, {"xl/_rels/workbook.xml.rels": sub(f"worksheets/{base}", "worksheets/deep/er/dist.xml"),
                    "[Content_Types].xml": sub(f"/xl/worksheets/{base}", "/xl/worksheets/deep/er/dist.xml"),
                    rels: sub(r'Target="\.\./', 'Target="../../../')},
         rename={part: "xl/worksheets/deep/er/dist.xml", rels: "xl/worksheets/deep/er/_rels/dist.xml.rels"})
    check_package(template)  # the edit itself is sound
    refresh_file(template, as_of=AS_OF)
    opc = check_package(template)
    dist = next(s for s in opc.sheets() if s.name == c.DISTRIBUTION)
    assert dist.part == "xl/worksheets/deep/er/dist.xml"
    assert [r.target for r in opc.rels(dist.part) if r.kind == "drawing"][0].startswith("../../../drawings/")


def test_workbook_part_at_another_path(template):
    types = sub(r'PartName="/xl/workbook.xml"', 'PartName="/book/main.xml"')
    edit(template, {"_rels/.rels": sub(r'Target="/?xl/workbook.xml"', 'Target="/book/main.xml"'), "[Content_Types].xml": types,
                    "xl/_rels/workbook.xml.rels": sub(r'Target="/?(xl/)?', 'Target="../xl/')},
         rename={"xl/workbook.xml": "book/main.xml", "xl/_rels/workbook.xml.rels": "book/_rels/main.xml.rels"})
    check_package(template)
    PackageBookWriter(template, template).write([scores_sheet()])
    opc = check_package(template)
    assert opc.main == "book/main.xml"
    scores = next(s for s in opc.sheets() if s.name == c.SCORES)
    assert scores.part.startswith("book/worksheets/")


def test_utf16_parts_are_written_back_as_utf8(template):
    def utf16(data: bytes) -> bytes:
        text = data.decode("utf-8")
        text = re.sub(r'^<\?xml[^>]*\?>\s*', "", text)
        return ('<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n' + text).encode("utf-16")
    edit(template, {"xl/workbook.xml": utf16, "xl/styles.xml": utf16, "[Content_Types].xml": utf16,
                    "xl/_rels/workbook.xml.rels": utf16})
    PackageBookWriter(template, template).write([scores_sheet()])
    check_package(template)
    after = parts(template)
    for name in ("xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
        assert after[name].startswith(b'<?xml version="1.0" encoding="UTF-8"'), name
    assert c.SCORES in sheet_names(template)


def test_duplicate_zip_entries_are_refused(template, tmp_path):
    with zipfile.ZipFile(template, "a") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("docProps/app.xml", b"<x/>")
    before = template.read_bytes()
    with pytest.raises(BookError, match=r"book.xlsx is damaged \(it holds two parts named docProps/app.xml\)"):
        refresh_file(template)
    assert template.read_bytes() == before


def test_parts_whose_names_differ_only_in_case_are_refused(tmp_path):
    book = corpus("poi/duplicate-filename-case-insensitive.xlsx", tmp_path)
    with pytest.raises(BookError, match=r"is damaged \(it holds parts .* whose names differ only in case"):
        PackageBookWriter(book, book).write([scores_sheet()])


def test_a_member_with_a_bad_checksum_is_refused(tmp_path):
    book = corpus("poi/clusterfuzz-testcase-minimized-POIXSSFFuzzer-5937385319563264.xlsx", tmp_path)
    before = book.read_bytes()
    with pytest.raises(BookError, match=r"is damaged \(.*sheet8.xml"):
        PackageBookWriter(book, book).write([scores_sheet()])
    assert book.read_bytes() == before


def test_encrypted_workbook_is_refused(tmp_path):
    book = corpus("poi/58616.xlsx", tmp_path)
    with pytest.raises(BookError, match=r"^58616.xlsx is encrypted with a password, which chs-excel cannot open"):
        open_package(book)


# 10. Parts streamed in and out -----------------------------------------------------------------------------------

def small_blocks(monkeypatch, size: int = 5):
    """Make the writer read every part a few bytes at a time: tags and formulas fall across block edges."""
    from chs_excel.files import writer
    real = writer.part_blocks
    monkeypatch.setattr(writer, "part_blocks", lambda package, member, _=None: real(package, member, size))


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_protection_and_references_are_found_across_block_edges(template, monkeypatch, prefix):
    refresh_file(template, as_of=AS_OF)
    with zipfile.ZipFile(template) as z:
        part = next(s.part for s in Package(z).sheets() if s.name == c.SCORES)
    ns = f' xmlns:{prefix[:-1]}="{NS_MAIN}"' if prefix else ""
    element = (f'<{prefix}sheetProtection{ns} algorithmName="SHA-512" hashValue="a&amp;b&#10;c" sheet="1" '
               f'xr:uid="{{1}}" xmlns:xr="urn:xr" saltValue=\'x>"y\' objects="1"></{prefix}sheetProtection>')
    edit(template, {part: sub("</sheetData>", "</sheetData>" + element),
                    "xl/workbook.xml": sub(r'<calcPr [^>]*/>', ""),
                    "xl/worksheets/sheet1.xml": sub(r'(<c r="A1"[^>]*?)(/>|>.*?</c>)',
                                                    r"""\1><f>SUM('Score History'!A1)&amp;Scores!F2</f></c>""", 1)})
    # what parsing the whole sheet gives: the element's own attributes as the parser reads them, none namespaced
    parsed = next(e for e in ElementTree.fromstring(parts(template)[part]) if local(e.tag) == "sheetProtection")
    expected = "<sheetProtection" + "".join(f' {k}="{escape(v)}"' for k, v in parsed.attrib.items()
                                            if not k.startswith("{")) + "/>"
    assert expected == ('<sheetProtection algorithmName="SHA-512" hashValue="a&amp;b\nc" sheet="1" '
                        'saltValue="x&gt;&quot;y" objects="1"/>')
    small_blocks(monkeypatch)
    refresh_file(template, as_of=AS_OF)
    assert "</sheetData>" + expected in parts(template)[part].decode()
    assert _calc_pr(template)[0].get("fullCalcOnLoad") == "1"
    check_package(template)


def test_a_formula_not_referring_to_output_sheets_sets_nothing(template, monkeypatch):
    edit(template, {"xl/workbook.xml": sub(r'<calcPr [^>]*/>', ""),
                    "xl/worksheets/sheet1.xml": sub(r'(<c r="A1"[^>]*?)(/>|>.*?</c>)',
                                                    r"\1><f>SUM(Scoresheet!A1)+'Scores 2'!B2</f><v>1</v></c>", 1)})
    small_blocks(monkeypatch, 3)
    refresh_file(template, as_of=AS_OF)
    assert _calc_pr(template)[0].get("fullCalcOnLoad") is None


def corrupt_crc(path: Path, name: str) -> None:
    """Give one member a wrong CRC in both of its headers (its bytes stay as they were)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    wrong = (info.CRC ^ 0xFFFF).to_bytes(4, "little")
    data[info.header_offset + 14:info.header_offset + 18] = wrong
    at = 0
    while (at := bytes(data).find(b"PK\x01\x02", at + 1)) >= 0:
        name_length = int.from_bytes(data[at + 28:at + 30], "little")
        if bytes(data[at + 46:at + 46 + name_length]) == name.encode():
            data[at + 16:at + 20] = wrong
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["docProps/app.xml", "xl/worksheets/sheet1.xml"])
def test_a_copied_part_with_a_bad_checksum_is_refused(template, name):
    corrupt_crc(template, name)
    before = template.read_bytes()
    with pytest.raises(BookError, match=rf"is damaged \(.*{re.escape(name)}"):
        PackageBookWriter(template, template).write([scores_sheet()])
    assert template.read_bytes() == before


@pytest.fixture(params=[True, False], ids=["isal", "zlib"])
def fast(request, monkeypatch):
    """Each test twice: with ISA-L's deflate and inflate, and with zlib's (the fallback without isal)."""
    from chs_excel.files import ooxml
    if not request.param:
        monkeypatch.setattr(ooxml, "_fast", None)
    elif ooxml._fast is None:
        pytest.skip("isal is not installed")
    return request.param


def test_a_sheet_past_the_zip64_limit_is_written_again_with_zip64(template, monkeypatch, fast):
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 40_000)  # what 4 GiB is to a real file
    refresh_file(template, as_of=AS_OF)
    monkeypatch.undo()
    check_package(template)
    with zipfile.ZipFile(template) as z:
        part = next(s.part for s in Package(z).sheets() if s.name == c.SCORES)
        info = z.getinfo(part)
        z.fp.seek(info.header_offset)
        header = z.fp.read(30)
        z.fp.seek(info.header_offset + 30 + int.from_bytes(header[26:28], "little"))
        extra = z.fp.read(int.from_bytes(header[28:30], "little"))
    assert extra[:2] == b"\x01\x00"  # the ZIP64 extra field comes first in our own parts' local headers
    assert openpyxl.load_workbook(template)[c.SCORES].max_row > 1


def test_parts_are_the_same_deflated_by_isal_or_zlib(template_file, tmp_path, monkeypatch):
    from chs_excel.files import ooxml
    if ooxml._fast is None:
        pytest.skip("isal is not installed")
    books = []
    for fast in (ooxml._fast, None):
        monkeypatch.setattr(ooxml, "_fast", fast)
        book = tmp_path / f"{bool(fast)}.xlsx"
        shutil.copyfile(template_file, book)
        refresh_file(book, as_of=AS_OF)
        refresh_file(book, as_of=AS_OF)  # read back (inflated) by the same code, and replaced again
        books.append(parts(book))
    assert books[0] == books[1]


def test_damaged_deflate_data_is_found_while_streaming(tmp_path, monkeypatch, fast):
    from chs_excel.files import ooxml
    path = tmp_path / "z.zip"
    payload = bytes(range(256)) * 4000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.bin", payload)
    with zipfile.ZipFile(path) as z:
        assert b"".join(ooxml.part_blocks(z, "a.bin", 1000)) == payload
    corrupt_crc(path, "a.bin")
    with zipfile.ZipFile(path) as z, pytest.raises(zipfile.BadZipFile, match="CRC"):
        b"".join(ooxml.part_blocks(z, "a.bin", 1000))
    data = bytearray(path.read_bytes())
    data[60:70] = b"\xff" * 10  # inside the compressed bytes
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z, pytest.raises((zipfile.BadZipFile, zlib.error, EOFError)):
        b"".join(ooxml.part_blocks(z, "a.bin", 1000))
