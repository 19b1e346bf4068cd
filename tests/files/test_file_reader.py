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
