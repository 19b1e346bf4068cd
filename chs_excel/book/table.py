"""Neutral shapes exchanged between workbook readers/writers and the rest of chs-excel."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.form import PageSetup
from chs_excel.core.bands import band_labels


def _blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


def table_from_grid(sheet: str, grid: list[list], top_row: int = 1, left_col: int = 1) -> "Table":
    """A :class:`Table` from a block of cell values whose top-left cell is (``top_row``, ``left_col``).

    The first non-blank row is the header; trailing blank rows and columns are dropped.
    Blank cells may be ``None`` or ``''``; an Excel error may be a
    :class:`~chs_excel.cellvalues.CellError` or its text (``#N/A``).
    """
    rows_in = grid  # None stays None (blank); error text stays text: readers downstream recognise both
    top = next((i for i, row in enumerate(rows_in) if any(not _blank(v) for v in row)), None)
    if top is None:
        return Table(sheet, [], [], top_row, left_col)
    left = next(j for j, v in enumerate(rows_in[top]) if not _blank(v))
    header = [str(v).strip() if not _blank(v) else "" for v in rows_in[top][left:]]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    body = rows_in[top + 1:]
    if left == 0 and {len(row) for row in body} <= {width}:
        rows = body  # already the right shape: no copy (large ranges from Excel)
    else:
        rows = [row[left:left + width] for row in body]
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()
    for row in rows:
        if len(row) < len(header):
            row.extend([""] * (len(header) - len(row)))
    return Table(sheet, header, rows, header_row=top_row + top, first_col=left_col + left)


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_number(letters: str) -> int:
    """A -> 1, AA -> 27 (either case)."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def quoted_sheet(name: str) -> str:
    """A sheet name as a formula spells it before ``!``: ``'Score History'``, ``'Bob''s'`` (always quoted)."""
    return "'" + name.replace("'", "''") + "'"


CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)$")


def cell_position(ref: str) -> tuple[int, int]:
    """``"C4"`` (or ``"$C$4"``) -> ``(4, 3)``: the 1-based row and column of a cell reference.

    Raises ``ValueError`` for text that is not one cell's reference.
    """
    m = CELL_REF.match(ref)
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)), column_number(m.group(1))


@dataclass
class Table:
    """A sheet read as a header row and the rows under it.

    ``rows`` hold raw cell values: numbers, text, dates, booleans, ``''`` for
    blank and :class:`~chs_excel.cellvalues.CellError` for Excel errors. ``header_row`` and
    ``first_col`` are 1-based Excel coordinates of the header's first cell.
    """

    sheet: str
    header: list[str]
    rows: list[list[Any]]
    header_row: int = 1
    first_col: int = 1
    merged: list[str] = field(default_factory=list)     # merged ranges, e.g. "F2:F3"
    hidden_rows: list[int] = field(default_factory=list)  # Excel row numbers

    def find(self, header: str) -> int | None:
        """Position of a column by header, ignoring case and spaces around it."""
        wanted = header.strip().casefold()
        hits = [i for i, h in enumerate(self.header) if h.strip().casefold() == wanted]
        return hits[0] if hits else None

    def excel_row(self, i: int) -> int:
        return self.header_row + 1 + i

    def cell(self, i: int, j: int) -> str:
        """``Sheet!D5`` for row ``i`` of ``rows`` and column ``j`` of ``header``."""
        return f"{self.sheet}!{column_letter(self.first_col + j)}{self.excel_row(i)}"

    def header_cell(self, j: int) -> str:
        return f"{self.sheet}!{column_letter(self.first_col + j)}{self.header_row}"


@dataclass
class BarChart:
    """A stacked bar chart of some of the table's columns, one bar per row."""

    title: str
    label_column: str
    value_columns: tuple[str, ...]
    colors: tuple[str, ...]
    anchor: str  # top-left cell, e.g. "L2"
    percent: bool = True          # stacked to 100% (False with stacked=False: side by side)
    stacked: bool = True
    horizontal: bool = True       # bars (True) or columns (False)
    point_colors: tuple[str, ...] = ()  # one colour per bar, for a single series
    value_format: str = "0%"


BAND_NAMES = frozenset(c.BANDS)
SAFE_LINK = re.compile(r"^(https://|http://|mailto:)[^\s\"<>]+$")
PLACE_LINK = re.compile(r"^#?('[^']+'|[^'!\s]+)![$]?[A-Za-z]{1,3}[$]?[0-9]+$")


@dataclass
class OutputSheet:
    """A sheet chs-excel writes, described without any Excel library.

    ``preamble`` rows (a title, a summary) come first, then the table's header
    row and ``frame``. ``bands`` maps a column name to ``(red_below, amber_below)``:
    its cells are filled red/amber/green and get matching conditional-format
    rules; ``band_label_columns`` hold band names and are coloured the same way.
    Writers take each cell's band from :meth:`cell_bands` and never band a
    value themselves. ``links`` maps a column to one link per row
    (https/http/mailto, or a place in the workbook such as ``Playbooks!A2``;
    anything else is not linked). ``widths`` are in characters (Excel's column
    width unit); ``freeze`` is the top-left cell of the scrolling pane (``"A1"``:
    nothing frozen). Every chart in ``charts`` is drawn.
    """

    name: str
    frame: pd.DataFrame
    bands: dict[str, tuple[float, float]] = field(default_factory=dict)
    band_label_columns: tuple[str, ...] = ()
    number_formats: dict[str, str] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)
    freeze: str = "B2"
    preamble: list[list] = field(default_factory=list)
    links: dict[str, list[str | None]] = field(default_factory=dict)
    charts: list[BarChart] = field(default_factory=list)
    postscript: list[list] = field(default_factory=list)  # rows after the table, one blank row between
    row_styles: dict[int, str] = field(default_factory=dict)  # Excel row -> "title" or "header" (preamble/postscript)
    hidden: bool = False  # a sheet the workbook keeps out of sight (Score History's snapshots)
    wrap: tuple[str, ...] = ()  # columns whose long text wraps (top-aligned) instead of running under the next
    page: PageSetup | None = None  # how it prints (None: the spreadsheet program's defaults)

    @property
    def header_row(self) -> int:
        return len(self.preamble) + 1

    @property
    def postscript_row(self) -> int:
        """Excel row of the first postscript row."""
        return self.header_row + len(self.frame) + 2

    def style_of(self, row: int) -> str:
        return self.row_styles.get(row, "title" if row == 1 and self.preamble else "")

    def cell_bands(self) -> dict[str, np.ndarray]:
        """The band of every data cell of each banded column, by column name, in frame order.

        Returns
        -------
        dict of str to numpy.ndarray
            One object array per column in ``bands`` (banded by its cut points)
            or ``band_label_columns`` (cells holding a band's name), with
            ``"Red"``, ``"Amber"``, ``"Green"`` or ``""`` (no band: blank, not a
            number, not a band's name) per row.
        """
        out: dict[str, np.ndarray] = {}
        for col in self.frame.columns:
            if col in self.bands:
                scores = pd.to_numeric(self.frame[col], errors="coerce").to_numpy(dtype=float)
                out[col] = band_labels(scores, *self.bands[col])
            elif col in self.band_label_columns:
                out[col] = np.array([v if isinstance(v, str) and v in BAND_NAMES else "" for v in self.frame[col]],
                                    dtype=object)
        return out


def link_kind(target: str | None) -> str:
    """'external', 'place' or '' (not a link chs-excel will write)."""
    if not target:
        return ""
    if SAFE_LINK.match(target):
        return "external"
    return "place" if PLACE_LINK.match(target) else ""


class BookReader(Protocol):
    def sheet_names(self) -> list[str]: ...

    def read_table(self, sheet: str) -> Table: ...


class BookWriter(Protocol):
    def write(self, sheets: list[OutputSheet], remove: tuple[str, ...] = ()) -> None:
        """Write ``sheets`` (replacing those of the same name) and delete the sheets named in ``remove``."""
