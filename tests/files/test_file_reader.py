"""The file reader on workbooks edited at the XML level (never with chs-excel's own writer)."""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from chs_excel.files.reader import FileBookReader
from chs_excel.files.sheet_scan import NO_SAVED_VALUE, scan_sheet
from chs_excel.problems import DataIssue
from chs_excel.sheets.data_issues import MAX_ISSUES_PER_KIND, issues_sheet

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workbook_template.xlsx"
ACCOUNTS = "xl/worksheets/sheet5.xml"  # in workbook_template.xlsx
INSTRUCTIONS = "xl/worksheets/sheet1.xml"


def edited(tmp_path: Path, edits: dict[str, callable], name: str = "book.xlsx") -> Path:
    out = tmp_path / name
    with zipfile.ZipFile(TEMPLATE) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename in edits:
                data = edits[info.filename](data.decode()).encode()
            dst.writestr(info, data)
    return out


def add_row(xml: str, row: str) -> str:
    return xml.replace("</sheetData>", row + "</sheetData>")


def test_a_stray_value_at_xfd1048576_is_read_in_bounded_memory(tmp_path):
    far = '<row r="1048576"><c r="XFD1048576" t="n"><v>7</v></c></row>'
    book = edited(tmp_path, {ACCOUNTS: lambda x: add_row(x, far), INSTRUCTIONS: lambda x: add_row(x, far)})
    script = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
sys.path.insert(0, {str(ROOT)!r})
from chs_excel.pipeline import refresh_file
summary = refresh_file({str(book)!r})
print(summary.accounts)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "60"  # the template's 60 accounts; the far cell is outside the table


def test_a_far_value_in_the_table_columns_is_refused_cleanly(tmp_path):
    far = '<row r="99999999"><c r="A99999999"><v>7</v></c></row>'
    book = edited(tmp_path, {ACCOUNTS: lambda x: add_row(x, far)})
    import pytest
    from chs_excel.problems import BookError
    with FileBookReader(book) as reader, pytest.raises(BookError, match="too large to read.*row 99,999,999"):
        reader.read_table("Accounts")


def test_error_cells_whatever_the_attribute_order_quoting_and_prefix():
    xml = (b"<x:worksheet xmlns:x='http://schemas.openxmlformats.org/spreadsheetml/2006/main'><x:sheetData>"
           b"<x:row hidden = '1' r='3'><x:c s='2' t = 'e' r='B3'><x:v>#N/A</x:v></x:c><x:c t=\"e\"><x:v>#REF!</x:v></x:c>"
           b"<x:c r='E3'><x:f>1/0</x:f></x:c></x:row></x:sheetData></x:worksheet>")
    scan = scan_sheet(xml)
    assert scan.errors == {(3, 2): "#N/A", (3, 3): "#REF!", (3, 5): NO_SAVED_VALUE}
    assert scan.hidden == [3]


def test_error_cell_with_attributes_reordered_reaches_the_table(tmp_path):
    def edit(x):
        return x.replace('<c r="F2" t="n"><v>', "<c t='e' r='F2'><v>#DIV/0!</v></c><c r=\"Z99\" t=\"n\"><v>", 1) \
            if '<c r="F2" t="n">' in x else x
    book = edited(tmp_path, {ACCOUNTS: edit})
    with FileBookReader(book) as reader:
        table = reader.read_table("accounts")  # case differs from the sheet's name
    assert table.sheet == "Accounts"
    assert table.rows[0][5] == "#DIV/0!"


def test_nan_blank_rows_and_sheet_case(tmp_path):
    from chs_excel.pipeline import validate_file

    def edit(x):
        x = re.sub(r'<c r="G3" t="n"><v>[^<]*</v></c>', '<c r="G3"><v>NaN</v></c>', x)
        x = re.sub(r'<c r="G4" t="n"><v>[^<]*</v></c>', '<c r="G4"><v>INF</v></c>', x)
        return add_row(x, '<row r="63"><c r="A63" t="inlineStr"><is><t>ACC-999</t></is></c></row>')
    book = edited(tmp_path, {ACCOUNTS: edit})
    summary = validate_file(book)
    problems = {(i.cell, i.problem) for i in summary.issues}
    assert ("Accounts!G3", "not a number (the cell holds NaN or infinity)") in problems
    assert ("Accounts!G4", "not a number (the cell holds NaN or infinity)") in problems
    assert not any("blank Account ID" in p for _, p in problems)  # row 62 is wholly blank: skipped silently
    assert summary.accounts == 61


def test_a_row_with_data_but_no_id_is_still_an_issue(tmp_path):
    from chs_excel.pipeline import validate_file
    book = edited(tmp_path, {ACCOUNTS: lambda x: add_row(x, '<row r="63"><c r="B63" t="inlineStr"><is><t>Orphan</t></is></c></row>')})
    issues = [i for i in validate_file(book).issues if i.problem == "blank Account ID"]
    assert [i.cell for i in issues] == ["Accounts!A63"]


def test_stray_value_at_a1048576_is_one_account_not_a_million_issues(tmp_path):
    from chs_excel.pipeline import validate_file
    book = edited(tmp_path, {ACCOUNTS: lambda x: add_row(x, '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>stray</t></is></c></row>')})
    summary = validate_file(book)
    assert summary.accounts == 61
    assert not any(i.problem == "blank Account ID" for i in summary.issues)


def test_data_issues_listing_is_capped_per_kind():
    issues = [DataIssue("Accounts", f"Accounts!A{r}", "Account ID", "", "blank Account ID", "skipped the row")
              for r in range(2, 2 + MAX_ISSUES_PER_KIND + 500)]
    issues.append(DataIssue("Accounts", "Accounts!F9", "Seats", "x", "text in a number column", "left it out"))
    frame = issues_sheet(issues).frame
    assert len(frame) == MAX_ISSUES_PER_KIND + 2
    last = frame.iloc[-1]
    assert last["Problem"] == f'... and 500 more rows like "blank Account ID" (rows {2 + MAX_ISSUES_PER_KIND} to {1501})'
    assert "F9" in frame["Cell"].tolist()


SHEET = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
         b'<row r="1"><c r="A1" t="inlineStr"><is><t>Account ID</t></is></c></row>'
         b'<row r="2" hidden="1"><c r="A2" t="e"><v>#N/A</v></c><c r="B2"><f>1/0</f></c></row>%s'
         b'</sheetData></worksheet>')


def test_a_far_reference_is_found_wherever_a_chunk_boundary_cuts_it():
    from chs_excel.files.sheet_scan import far_reference
    for far in (b'<c r="XFD5"><v>1</v></c>', b'<c r = \n "ab5"><v>1</v></c>', b"<c r='A1048577'/>",
                b'<row r="4294967295"/>', b'<c r="' + b"A" * 70 + b'5"/>', b'<c r="' + b"A" * 5000 + b'5"/>'):
        xml = SHEET % far
        assert far_reference([xml])
        for cut in range(1, len(xml)):
            assert far_reference([xml[:cut], xml[cut:]]), (far, cut)
    for near in (b'<c r="Z1048576"><v>1</v></c>', b'<row r="1048576">', b'<cfRule operator="greaterThan" r="x"/>',
                 b'<dataValidation error="Enter a number between 1 and 10"/>', b'<c r="A2"/>'):
        xml = SHEET % near
        assert not any(far_reference([xml[:cut], xml[cut:]]) for cut in range(1, len(xml))), near


def test_the_scan_fed_in_small_chunks_matches_the_scan_of_the_whole_xml():
    from chs_excel.files.sheet_scan import has_markers, parse_sheet, prescan
    xml = SHEET % b'<row r="9"><c r="C9" t="e"><v> #REF! </v></c></row><mergeCells><mergeCell ref="A5:B6"/></mergeCells>'
    whole = scan_sheet(xml)
    assert whole.errors == {(2, 1): "#N/A", (2, 2): NO_SAVED_VALUE, (9, 3): "#REF!"} and whole.hidden == [2]
    for size in (1, 2, 3, 7, 64):
        chunks = [xml[i:i + size] for i in range(0, len(xml), size)]
        assert has_markers(chunks)
        part = parse_sheet(chunks, True)
        assert (part.errors, part.hidden, part.merged) == (whole.errors, whole.hidden, ["A5:B6"])
        assert (part.max_row, part.max_col) == (9, 3)
    plain = SHEET.split(b"<row r=\"2\"")[0] + b"</sheetData></worksheet>"
    assert not any(has_markers([plain[:cut], plain[cut:]]) for cut in range(1, len(plain)))
    for marker in (b'<c t="e"/>', b"<x:row hidden='1'/>", b"<c><f>1</f></c>", b"<c><x:f\n/></c>"):
        xml = plain.replace(b"</sheetData>", marker + b"</sheetData>")
        assert all(has_markers([xml[:cut], xml[cut:]]) for cut in range(1, len(xml))), marker
        assert all(prescan([xml[:cut], xml[cut:]]) == (False, True) for cut in range(1, len(xml))), marker
    assert prescan([plain]) == (False, False) and prescan([SHEET % b'<c r="AB7"/>'])[0]


def test_hostile_references_never_reach_calamine_unbounded(tmp_path):
    """Lower-case column letters, a 10-digit row and an overlong column are read by calamine too (with wrap-around):
    each one would have asked it for terabytes. They are trimmed away or refused, in bounded memory."""
    cases = {"lower": '<row r="70"><c r="xfd1048576"><v>7</v></c></row>',
             "long": '<row r="70"><c r="AAAAAAAAAAAA70"><v>7</v></c></row>',
             "row": '<row r="70"><c r="A4294967295"><v>7</v></c></row>'}
    books = {key: edited(tmp_path, {ACCOUNTS: lambda x, far=far: add_row(x, far)}, f"{key}.xlsx") for key, far in cases.items()}
    script = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
sys.path.insert(0, {str(ROOT)!r})
from chs_excel.files.reader import FileBookReader
from chs_excel.problems import BookError
for path in sys.argv[1:]:
    try:
        with FileBookReader(path) as reader:
            print(len(reader.read_table("Accounts").rows))
    except BookError as exc:
        print("refused:", exc)
"""
    done = subprocess.run([sys.executable, "-c", script, *map(str, books.values())], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lower, long, row = done.stdout.splitlines()
    assert lower == long == "60"  # the template's 60 accounts; the far cell is outside the table
    assert row.startswith("refused:") and "too large to read: its data runs to row 4,294,967,295" in row


def test_malformed_xml_found_by_the_background_scan_is_reported_as_damage(tmp_path):
    import pytest
    from chs_excel.problems import BookError
    book = edited(tmp_path, {ACCOUNTS: lambda x: add_row(x, '<row r="70"><c r="A70"><f>1+1</f><v>2</v></c></row>'
                                                              '<row r="71"><c r="A71"></row>')})
    with FileBookReader(book) as reader, pytest.raises(BookError, match=r'sheet "Accounts" of book.xlsx cannot be read '
                                                                        r"\(the file is damaged: mismatched tag"):
        reader.read_table("Accounts")


def test_repeated_cells_share_one_object_and_keep_their_type():
    import datetime as dt
    from chs_excel.cellvalues import CellError
    from chs_excel.files.reader import share_repeated_cells
    n = 3000
    grid = [["Segment", "Count", "Mixed", "Day", "Name"]]
    grid += [["".join(["SM", "B"]), float(i % 3), "1" if i % 2 else float(i % 1 + 1), dt.date(2026, 1, 1 + i % 2),
              f"name {i}"] for i in range(n)]
    grid[7][0] = CellError("#N/A")  # errors are patched in after sharing; a grid holding one is left alone
    before = [list(row) for row in grid]
    share_repeated_cells(grid)
    assert grid == before and all(type(a) is type(b) for r, s in zip(grid, before) for a, b in zip(r, s))
    assert len({id(row[0]) for row in grid}) == n + 1  # the column with an error (CellError == its text): untouched
    assert len({id(row[1]) for row in grid[1:]}) == n  # numbers: untouched
    assert len({id(row[2]) for row in grid[1:]}) == n // 2 + 1  # text and numbers: untouched
    assert len({id(row[3]) for row in grid[1:]}) == 2
    assert len({id(row[4]) for row in grid}) == n + 1  # unique names: not worth a dictionary
    grid[7][0] = "SMB"
    share_repeated_cells(grid)
    assert len({id(row[0]) for row in grid[1:]}) == 1 and grid[1][0] == "SMB"
