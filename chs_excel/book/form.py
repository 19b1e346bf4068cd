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


def quoted_name(sheet: str) -> str:
    """A sheet name as a formula spells it before ``!``, always quoted (``'Bob''s'``)."""
    return "'" + sheet.replace("'", "''") + "'"


def formula_text(value: Any) -> str:
    """A Python value as a literal inside a formula: text in double quotes (a ``"`` in it doubled), numbers as
    Python writes them, booleans ``TRUE``/``FALSE``.

    Use it for every value a formula embeds (an account ID, a label): a quote in the value then cannot end
    the literal and turn the rest into formula code.

    >>> formula_text('Acme "EU" Ltd')
    '"Acme ""EU"" Ltd"'
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"a formula cannot hold the number {value!r}")
        return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
    text = str(value).replace("\x00", "")
    return '"' + text.replace('"', '""') + '"'


def absolute_reference(sheet: str, ref: str) -> str:
    """``ref`` on ``sheet`` with every row and column made absolute: ``("Scores", "A2:A61")`` ->
    ``'Scores'!$A$2:$A$61``; whole rows (``1:1``) and columns (``A:B``) too."""
    def absolute(part: str) -> str:
        part = part.replace("$", "").upper()
        letters = part.rstrip("0123456789")
        digits = part[len(letters):]
        return (f"${letters}" if letters else "") + (f"${digits}" if digits else "")
    return quoted_name(sheet) + "!" + ":".join(absolute(p) for p in ref.split(":"))


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
    value_min: float | None = None  # the value axis' ends (None: the spreadsheet picks them)
    value_max: float | None = None
    colour: str = "1F4E78"  # the line's colour, RRGGBB


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

    @property
    def fits(self) -> bool:
        """Is the sheet shrunk to a number of pages (rather than printed at 100%)?"""
        return bool(self.fit_width or self.fit_height)

    def print_titles(self, sheet: str) -> str | None:
        """The ``_xlnm.Print_Titles`` formula of ``sheet`` (columns first, as Excel writes it), or None.

        >>> PageSetup(repeat_rows="1:1", repeat_columns="A:B").print_titles("Scores")
        "'Scores'!$A:$B,'Scores'!$1:$1"
        """
        parts = [absolute_reference(sheet, ref) for ref in (self.repeat_columns, self.repeat_rows) if ref]
        return ",".join(parts) or None

    def print_area_formula(self, sheet: str) -> str | None:
        """The ``_xlnm.Print_Area`` formula of ``sheet`` (``'Account Review'!$A$1:$H$40``), or None."""
        return absolute_reference(sheet, self.print_area) if self.print_area else None


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
