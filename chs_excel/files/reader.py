"""Read a workbook file: python-calamine for values; the sheet XML for error cells, hidden rows and the used range.

A sheet's XML is streamed once first (:func:`~chs_excel.files.sheet_scan.prescan`), for references that
could make calamine's dense grid too large (that must be known before calamine reads the sheet) and for
markers of error cells, formulas and hidden rows. Only a sheet with markers is parsed, in a worker thread
while calamine reads it (calamine does not hold the GIL meanwhile).
"""
from __future__ import annotations

import datetime as dt
import io
import operator
import threading
import zipfile
import zlib
from collections import deque
from itertools import repeat
from pathlib import Path
from xml.parsers import expat

import python_calamine

from chs_excel.files.ooxml import NS_MAIN
from chs_excel.files.package import open_package, sheet_parts
from chs_excel.files.sheet_scan import MAX_CELLS, SheetScan, parse_sheet, prescan, sheet_chunks, trimmed_sheet
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


# What reading a damaged zip member or malformed sheet XML raises.
_DAMAGED = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError, RuntimeError,
            NotImplementedError, expat.ExpatError)


class _Worker(threading.Thread):
    """Runs ``work(*args)`` in a thread; :meth:`result` waits for it and returns its value or raises its exception."""

    def __init__(self, work, *args):
        super().__init__(daemon=True)  # never keeps the process alive after the reader's caller has gone
        self._work, self._args = work, args
        self._value = self._error = None

    def run(self) -> None:
        try:
            self._value = self._work(*self._args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


# Cell types whose values are never equal to a value of another of them (unlike 1 == 1.0 == True, or
# CellError("#N/A") == "#N/A"), so one dictionary can map equal cells of a column to one object.
_SHAREABLE = frozenset({str, dt.date, dt.datetime, dt.time, dt.timedelta})
_SHARE_SAMPLE = 2000  # a column is shared when its first cells repeat: at most one value in two distinct


def share_repeated_cells(grid: list[list]) -> None:
    """Make equal text and date cells of a column one object, in place.

    calamine creates one Python object per cell: a Segment column of a million rows holds a million
    copies of a few words (~55 bytes each), a Metric History column the same few dates and source
    names. Rows stay the same lists; a repeated value is replaced by its first occurrence. (Numbers
    are left alone: 24 bytes a float saved is not worth the time, and -0.0 == 0.0.)
    """
    if len(grid) < _SHARE_SAMPLE:
        return
    head = grid[:_SHARE_SAMPLE]
    for j in range(len(grid[0])):
        sample = [row[j] for row in head]
        if not set(map(type, sample)) <= _SHAREABLE or len(set(sample)) > _SHARE_SAMPLE // 2:
            continue  # numbers, errors or unique values (names, IDs): decided on the first rows
        try:
            column = list(map(operator.itemgetter(j), grid))
        except IndexError:  # rows of different widths: not a grid from calamine
            return
        if set(map(type, column)) <= _SHAREABLE:
            first: dict = {}
            # map() over C functions: no Python-level loop over the cells.
            deque(map(operator.setitem, grid, repeat(j), map(first.setdefault, column, column)), maxlen=0)


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
        # parts read to their end (CRC checked) and found to hold no formula: the writer need not scan them again
        self.formula_free: set[str] = set()
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

        def damaged(exc: Exception) -> BookError:
            return BookError(f"{where} cannot be read (the file is damaged: {exc}); open it in Excel, which can "
                             f"often repair it, and save it again")
        scan, pending = SheetScan(), None
        try:
            far, marked = prescan(sheet_chunks(self._package, part)) if part else (False, False)
            if part and not far and not marked:
                self.formula_free.add(part)
            if far:
                scan = parse_sheet(sheet_chunks(self._package, part), True)  # the used range, before calamine
            elif marked:
                pending = _Worker(lambda: parse_sheet(sheet_chunks(self._package, part), False))
                pending.start()
        except _DAMAGED as exc:
            raise damaged(exc) from exc
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
                book = self._trimmed_book(part, trimmed_sheet(sheet_chunks(self._package, part), last_row, last_col))
            except Exception as exc:  # the XML parsed once already; anything here is a damaged package
                raise BookError(f"{where} cannot be read: {exc}") from exc
        failed = None
        try:
            calamine_sheet = book.get_sheet_by_name(name)
            grid = calamine_sheet.to_python(skip_empty_area=False)
            merged = calamine_sheet.merged_cell_ranges or []
            del calamine_sheet  # calamine's own copy of the cells
        except Exception as exc:
            failed = exc
        finally:
            if trimmed and hasattr(book, "close"):
                book.close()
        if pending is not None:
            try:
                scan = pending.result()
            except _DAMAGED as exc:  # the XML's own fault comes first, as when the scan ran before calamine
                raise damaged(exc) from exc
        if failed is not None:
            raise BookError(f"{where} cannot be read: {failed}") from failed
        share_repeated_cells(grid)
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
