"""Neutral shapes exchanged between workbook readers/writers and the rest of chs-excel."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd


class CellError(str):
    """A cell that holds an Excel error (``#N/A``) or a formula with no saved value."""


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Table:
    """A sheet read as a header row and the rows under it.

    ``rows`` hold raw cell values: numbers, text, dates, booleans, ``''`` for
    blank and :class:`CellError` for Excel errors. ``header_row`` and
    ``first_col`` are 1-based Excel coordinates of the header's first cell.
    """

    sheet: str
    header: list[str]
    rows: list[list[Any]]
    header_row: int = 1
    first_col: int = 1

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

    def column(self, j: int) -> list[Any]:
        return [row[j] if j < len(row) else "" for row in self.rows]


@dataclass
class OutputSheet:
    """A sheet chs-excel writes, described without any Excel library.

    ``bands`` maps a column name to ``(red_below, amber_below)``: its cells are
    filled red/amber/green and get matching conditional-format rules.
    """

    name: str
    frame: pd.DataFrame
    bands: dict[str, tuple[float, float]] = field(default_factory=dict)
    band_label_columns: tuple[str, ...] = ()
    number_formats: dict[str, str] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)
    freeze: str = "B2"


class BookReader(Protocol):
    def sheet_names(self) -> list[str]: ...

    def read_table(self, sheet: str) -> Table: ...


class BookWriter(Protocol):
    def write(self, sheets: list[OutputSheet]) -> None: ...
