"""Read a workbook file: python-calamine for values; the sheet XML for error cells, hidden rows and the used range."""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from xml.parsers import expat

import python_calamine

from chs_excel.files.ooxml import NS_MAIN
from chs_excel.files.package import open_package, sheet_parts
from chs_excel.files.sheet_scan import MAX_CELLS, SheetScan, read_scan, trimmed_sheet
from chs_excel.book.table import Table, column_letter, table_from_grid
from chs_excel.problems import BookError


# What the XML parser and python-calamine say, in words a workbook's owner can act on.
_REASONS = (
    ("entit", "it declares XML entities (the pattern of an \"XML bomb\"), which chs-excel refuses to expand; "
              "open it in Excel, save it as a new .xlsx and try again. Nothing was changed."),
    ("relationship not found", "one of its parts refers to a part that is missing; open it in Excel, which can "
                               "often repair it, save it and try again. Nothing was changed."),
    ("macrosheets", "it holds an Excel 4 macro sheet, which chs-excel's reader cannot read; move the macros to a "
                    "VBA module or a copy of the workbook and try again. Nothing was changed."),
)


def plain_reason(exc: Exception) -> str:
    """Why a workbook cannot be read, in one sentence (the parser's own words when nothing plainer fits)."""
    text = str(exc)
    for key, reason in _REASONS:
        if key in text.casefold():
            return reason
    return f"{text}. Nothing was changed."


class FileBookReader:
    """:class:`~chs_excel.book.table.BookReader` over an .xlsx/.xlsm file on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._package = open_package(self.path)
        try:
            self._parts = sheet_parts(self._package)
            self._book = python_calamine.CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine and the XML parser raise their own types
            self._package.close()
            raise BookError(f"{self.path.name} cannot be read: {plain_reason(exc)}") from exc

    def close(self) -> None:
        self._package.close()
        if hasattr(self._book, "close"):  # python-calamine >= 0.3 holds the file open until closed
            self._book.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sheet_names(self) -> list[str]:
        return list(self._book.sheet_names)

    def _resolve(self, sheet: str, names) -> str | None:
        """``sheet`` as the book spells it: exact, else the one name equal ignoring case and surrounding spaces."""
        names = list(names)
        if sheet in names:
            return sheet
        folded = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
        return folded[0] if len(folded) == 1 else None

    def read_table(self, sheet: str) -> Table:
        """The sheet's first non-blank row is its header; rows under it are data."""
        where = f'sheet "{sheet}" of {self.path.name}'
        name = self._resolve(sheet, self._book.sheet_names)
        if name is None:
            raise BookError(f"{where} cannot be read: the workbook has no such sheet")
        part = self._parts.get(self._resolve(name, self._parts) or "")
        try:
            data, scan = read_scan(self._package, part) if part else (b"", SheetScan())
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError, RuntimeError,
                NotImplementedError, expat.ExpatError) as exc:
            raise BookError(f"{where} cannot be read (the file is damaged: {exc}); open it in Excel, which can "
                            f"often repair it, and save it again") from exc
        book = self._book
        trimmed = scan.cells > MAX_CELLS
        if trimmed:  # calamine would allocate the whole used range: read only the block under the header
            last_row, last_col = scan.block()
            if last_row * last_col > MAX_CELLS:
                raise BookError(f"{where} is too large to read: its data runs to row {last_row:,} and column "
                                f"{column_letter(last_col)} ({last_row * last_col:,} cells; chs-excel reads at most "
                                f"{MAX_CELLS:,}). If that is not your data, a stray value sits far from the table "
                                f"(Ctrl+End in Excel goes to it): delete it, save, and try again")
            try:
                book = self._trimmed_book(part, trimmed_sheet(data, last_row, last_col))
            except Exception as exc:  # the XML parsed once already; anything here is a damaged package
                raise BookError(f"{where} cannot be read: {exc}") from exc
        del data
        try:
            calamine_sheet = book.get_sheet_by_name(name)
            grid = calamine_sheet.to_python(skip_empty_area=False)
            merged = calamine_sheet.merged_cell_ranges or []
        except Exception as exc:
            raise BookError(f"{where} cannot be read: {exc}") from exc
        finally:
            if trimmed and hasattr(book, "close"):
                book.close()
        width = max((len(row) for row in grid[:1]), default=0)
        spare = MAX_CELLS - len(grid) * width  # formulas with no value may lie right of calamine's range
        for (r, col), err in scan.errors.items():
            if r - 1 < len(grid):
                row = grid[r - 1]
                if col - 1 >= len(row):
                    if col - len(row) > spare:
                        continue
                    spare -= col - len(row)
                    row.extend([""] * (col - len(row)))
                row[col - 1] = err
        table = table_from_grid(name, grid)
        table.merged = scan.merged if trimmed else \
            [f"{column_letter(c0 + 1)}{r0 + 1}:{column_letter(c1 + 1)}{r1 + 1}" for (r0, c0), (r1, c1) in merged]
        table.hidden_rows = scan.hidden
        return table

    def _trimmed_book(self, part: str, sheet_xml: bytes):
        """An in-memory copy of the package for calamine: this sheet trimmed, other sheets empty, no media."""
        empty = f'<worksheet xmlns="{NS_MAIN}"><sheetData/></worksheet>'.encode("utf-8")
        sheets = set(self._parts.values())
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
            for info in self._package.infolist():
                if info.filename == part:
                    out.writestr(info.filename, sheet_xml)
                elif info.filename in sheets:
                    out.writestr(info.filename, empty)
                elif info.filename.endswith((".xml", ".rels")) and not info.filename.startswith("xl/media/"):
                    out.writestr(info.filename, self._package.read(info.filename))
        buffer.seek(0)
        return python_calamine.CalamineWorkbook.from_filelike(buffer)
