"""A laid-out sheet of single cells (a form, a one-page review), described without any Excel library.

:class:`~chs_excel.book.table.OutputSheet` is a table; a :class:`FormSheet` is a page a person reads:
cells placed one by one, some holding formulas over other sheets (so the page works in Excel with no
Python running), a drop-down list, colours that follow a formula, small line charts and a page setup.
Writers (the file writer and the live xlwings writer) put it in a workbook.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chs_excel.book.look import Look


@dataclass(frozen=True)
class Formula:
    """A formula (``text`` without the leading ``=``) and the value it gives when written.

    ``cached`` is what a spreadsheet shows before it recalculates (and what a PDF made without
    recalculating shows): chs-excel computes it for the account chosen when the page is written.
    """

    text: str
    cached: Any = None


@dataclass(frozen=True)
class Cell:
    """One cell: a value (number, text, date, bool, None) or a :class:`Formula`, how it looks, its number format."""

    value: Any
    look: Look | None = None
    number_format: str = ""


@dataclass(frozen=True)
class ListValidation:
    """A drop-down on ``ref`` (e.g. ``"B3"``) offering the values of ``source`` (a formula, e.g.
    ``"Scores!$A$2:$A$61"``, without the leading ``=``)."""

    ref: str
    source: str
    prompt: str = ""


@dataclass(frozen=True)
class FormulaColour:
    """Conditional formatting: the cells of ``ref`` take ``look`` where ``formula`` (relative to the
    top-left cell of ``ref``, without ``=``) is true. Rules are added in list order; the first one true wins."""

    ref: str
    formula: str
    look: Look


@dataclass(frozen=True)
class LineChart:
    """A line chart of one series: ``values`` over ``categories`` (absolute references with the sheet
    name, e.g. ``"'Account Review'!$H$5:$H$16"``), drawn from cell ``anchor`` over ``columns`` x ``rows`` cells."""

    title: str
    categories: str
    values: str
    anchor: str
    columns: int = 6
    rows: int = 10
    series_name: str = ""


@dataclass(frozen=True)
class PageSetup:
    """How a sheet prints.

    ``fit_width`` / ``fit_height``: pages across / down the sheet is shrunk to fit (0: as many as needed;
    both 0: no fitting, 100% scale). ``repeat_rows`` (e.g. ``"1:1"``) and ``repeat_columns`` (``"A:B"``)
    print on every page; ``print_area`` (``"A1:H40"``) limits what prints.
    """

    landscape: bool = False
    fit_width: int = 1
    fit_height: int = 0
    repeat_rows: str | None = None
    repeat_columns: str | None = None
    print_area: str | None = None


@dataclass
class FormSheet:
    """A sheet of placed cells.

    ``cells`` maps a cell reference (``"B3"``) to its :class:`Cell`; ``widths`` maps a column letter
    to its width in characters and ``heights`` a row number to its height in points; ``merged`` lists
    ranges (``"B1:F1"``) shown as one cell.
    """

    name: str
    cells: dict[str, Cell]
    widths: dict[str, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    validations: list[ListValidation] = field(default_factory=list)
    colours: list[FormulaColour] = field(default_factory=list)
    charts: list[LineChart] = field(default_factory=list)
    page: PageSetup = field(default_factory=PageSetup)
    hidden_columns: tuple[str, ...] = ()
    gridlines: bool = False
    hidden: bool = False
