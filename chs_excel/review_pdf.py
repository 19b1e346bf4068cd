"""PDFs of the Account Review page through LibreOffice (``soffice --headless --convert-to pdf``).

The pages are written, values only, into a temporary copy of the refreshed workbook (one sheet per account,
every other sheet hidden so that it does not print) and converted by one LibreOffice run; the copy, LibreOffice's
profile and its output live in a temporary folder removed afterwards, whatever happens.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

from chs_excel.book.form import Cell, FormSheet, Formula
from chs_excel.contract import ACCOUNT_REVIEW
from chs_excel.problems import BookError

INSTALL_HINT = ("LibreOffice is needed to write a PDF, and neither 'soffice' nor 'libreoffice' is on PATH. Install "
                "it (Debian/Ubuntu: sudo apt install libreoffice-calc; macOS: brew install --cask libreoffice; "
                "Windows: https://www.libreoffice.org/download, then add its program folder to PATH) and run this "
                "command again.")
TIMEOUT = 900  # seconds LibreOffice may take


class LibreOfficeMissing(RuntimeError):
    """Neither ``soffice`` nor ``libreoffice`` is on PATH."""


def find_soffice() -> str:
    """The LibreOffice program on PATH.

    Raises
    ------
    LibreOfficeMissing
        Saying what to install.
    """
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise LibreOfficeMissing(INSTALL_HINT)
    return found


def values_only(page: FormSheet) -> FormSheet:
    """The page with every formula replaced by its saved value (no drop-down, no link): a printout of one account."""
    cells = {ref: Cell(cell.value.cached, cell.look, cell.number_format) if isinstance(cell.value, Formula) else cell
             for ref, cell in page.cells.items()}
    return replace(page, cells=cells, validations=[])


_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_NAME = re.compile(rb'\bname="([^"]*)"')
_STATE = re.compile(rb'\s+state="[^"]*"')
_PRINT_NAME = re.compile(rb'<(?:\w+:)?definedName\b(?=[^>]*\bname="_xlnm\.Print_(?:Area|Titles)")[^>]*'
                         rb'\blocalSheetId="(\d+)"[^>]*>[^<]*</(?:\w+:)?definedName>')


def _show_only(path: Path, names: set[str]) -> None:
    """Hide every sheet of the workbook at ``path`` but ``names`` (LibreOffice prints visible sheets only)."""
    from xml.sax.saxutils import escape
    wanted = {escape(n, {'"': "&quot;"}).encode() for n in names}
    staged = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                def state(m: re.Match) -> bytes:
                    tag = _STATE.sub(b"", m.group(0))
                    name = _NAME.search(tag)
                    if name and name.group(1) in wanted:
                        return tag
                    return re.sub(rb"^(<(?:\w+:)?sheet)\b", rb'\1 state="hidden"', tag)
                data = _SHEET.sub(state, data)
                tags = [m.group(0) for m in _SHEET.finditer(data)]
                first = next((k for k, tag in enumerate(tags) if b'state="hidden"' not in tag), 0)
                # the active sheet is shown (and printed) even when hidden: make the first page the active one
                data = re.sub(rb'\s(activeTab|firstSheet)="\d+"', b"", data)
                data = re.sub(rb"<((?:\w+:)?workbookView)\b", rb'<\1 activeTab="%d" firstSheet="%d"' % (first, first),
                              data, count=1)
                # a hidden sheet with a print area of its own still prints in LibreOffice: drop those names
                shown = {k for k, tag in enumerate(tags) if b'state="hidden"' not in tag}
                data = _PRINT_NAME.sub(lambda m: m.group(0) if int(m.group(1)) in shown else b"", data)
            out.writestr(item, data)
    staged.replace(path)


def write_pdf(book: str | Path, pages: list[FormSheet], pdf: str | Path) -> int:
    """Write ``pages`` (values only, one printed page each) to ``pdf``, through LibreOffice.

    Parameters
    ----------
    book : path
        The refreshed workbook (the pages' styles and the sheets their formulas read come from it).
    pages : list of FormSheet
        Account Review pages, each with its own sheet name.
    pdf : path
        Where the PDF goes (replaced).

    Returns
    -------
    int
        The number of pages written.

    Raises
    ------
    LibreOfficeMissing
        Before anything is done, when LibreOffice is not installed.
    BookError
        When LibreOffice wrote no PDF.
    """
    from chs_excel.files.writer import PackageBookWriter

    soffice = find_soffice()
    pdf = Path(pdf)
    with tempfile.TemporaryDirectory(prefix="chs-excel-review-") as folder:
        work = Path(folder) / "review.xlsx"
        shutil.copyfile(book, work)
        # the workbook's own page goes: its sheet view is the selected one, which LibreOffice prints even hidden
        PackageBookWriter(work, work).write([values_only(page) for page in pages], (ACCOUNT_REVIEW,))
        _show_only(work, {page.name for page in pages})
        profile = Path(folder) / "profile"
        command = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", folder, str(work)]
        run = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                             env={**os.environ, "HOME": folder})  # LibreOffice writes nothing outside the folder
        made = Path(folder) / "review.pdf"
        if not made.is_file():  # LibreOffice exits 0 even when it fails
            raise BookError(f"LibreOffice wrote no PDF ({(run.stderr or run.stdout).strip()[:300] or 'no message'})")
        pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(made), pdf)
    return len(pages)
