"""Read and write a live Excel workbook through an ``xlwings.Book``.

Works with every xlwings runtime (classic COM on Windows/Mac, xlwings Lite,
xlwings Server) because it only uses the public Book/Sheet/Range API. The
writer batches: one value write per sheet, fills in blocks of at most 10,000
cells, conditional formats created once per column. Colours and rules come
from :mod:`chs_excel.book.look`, each cell's band from
:meth:`~chs_excel.book.table.OutputSheet.cell_bands`, as in the file writer.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from chs_excel.book.cells import clean_grid
from chs_excel.book.dates import date_to_serial
from chs_excel.book.form import FormSheet, Formula, LineChart
from chs_excel.book.look import BAND_LOOKS, HEADER, TITLE, Look, rules_for
from chs_excel.book.table import OutputSheet, Table, cell_position, column_letter, link_kind, table_from_grid
from chs_excel.cellvalues import EXCEL_ERRORS

BAND_RGB = {band: tuple(int(look.fill[k:k + 2], 16) for k in (0, 2, 4)) for band, look in BAND_LOOKS.items()}
MAX_COLOR_CELLS = 10_000  # xlwings' limit for one Range.set_colors call


class XlwingsBookReader:
    """:class:`~chs_excel.book.table.BookReader` over an open ``xlwings.Book``."""

    def __init__(self, book):
        self.book = book

    def sheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.book.sheets]

    def read_table(self, sheet: str) -> Table:
        """The used range read raw (xlwings' per-cell conversion is the slow part), then cleaned once.

        Each client sends its own shapes (ISO date text, tz-aware datetimes, error codes,
        error objects, ...); :func:`~chs_excel.book.cells.clean_grid` makes them the file reader's.
        """
        used = self.book.sheets[sheet].used_range
        return table_from_grid(sheet, clean_grid(used.raw_value), used.row, used.column)


def _cell_value(value):
    """Python value -> what Excel should store; data text is never entered as a formula."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and (value[:1] in ("=", "+", "-", "@") or value in EXCEL_ERRORS):
        return "'" + value  # the apostrophe makes Excel keep it as text
    if isinstance(value, (dt.date, pd.Timestamp)):  # raw writes take dates as serial numbers
        return date_to_serial(value)
    return value


def _column_values(series: pd.Series) -> list:
    """One column as Excel values, in bulk: numbers stay numbers, NaN becomes blank, text is made safe."""
    values = series.to_numpy(dtype=object)
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if numeric:
        floats = series.to_numpy(dtype=float)
        return [None if f != f else f for f in floats.tolist()]
    return [_cell_value(v) for v in values]


# What the live writer cannot do through xlwings' public API (the file writer does all of it):
FORM_LIMITS = """\
- Page orientation, fit to pages and print titles: xlwings has no API for them (its page setup offers only the
  print area, and on its remote engine only that); set them in Excel (Page Layout) or refresh the file instead.
- Row heights for wrapped text: Excel fits rows to wrapped text itself when it lays the sheet out.
- Drop-downs, gridlines off and vertical alignment: Office.js clients only (xlwings Lite, Server with Office.js);
  on the other runtimes they are left out.
- A line chart whose categories and values are not two columns side by side: left out (the chart API takes one
  block of cells)."""
SHEET_REFERENCE = re.compile(r"^('(?:[^']|'')+'|[^'!]+)!(\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)$")


def _points(width: float) -> float:
    """A column width in characters as Office.js wants it, in points: Calibri 11 is 7 pixels a character plus 5
    of padding, and a pixel is 0.75 points."""
    return round((width * 7 + 5) * 0.75, 2)


def _optional(action) -> None:
    """Do what only some runtimes support (xlwings raises NotImplementedError on the others)."""
    try:
        action()
    except NotImplementedError:
        pass


def _hex(color: str) -> str:
    return "#" + color


def _style(cells, look: Look) -> None:
    """Fill, bold and font colour of a look (the live writer leaves sizes, underlines and wrapping to Excel)."""
    if look.fill:
        cells.color = _hex(look.fill)
    if look.bold:
        cells.font.bold = True
    if look.font:
        cells.font.color = _hex(look.font)


def frozen_cells(freeze: str) -> str | None:
    """The range Office.js' ``freezeAt`` takes for :attr:`OutputSheet.freeze <chs_excel.book.table.OutputSheet>`.

    ``freeze`` is the top-left cell of the scrolling pane (as in the file); ``freezeAt`` wants the cells
    that stay put: ``"C2"`` -> ``"A1:B1"``, ``"A5"`` -> ``"1:4"``, ``"C1"`` -> ``"A:B"``; ``"A1"`` -> None.
    """
    row, col = cell_position(freeze or "A1")
    rows, cols = row - 1, col - 1
    if rows and cols:
        return f"A1:{column_letter(cols)}{rows}"
    if rows:
        return f"1:{rows}"
    return f"A:{column_letter(cols)}" if cols else None


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Consecutive column positions grouped as (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs


class XlwingsBookWriter:
    """:class:`~chs_excel.book.table.BookWriter` into an open ``xlwings.Book``."""

    def __init__(self, book):
        self.book = book

    def _sheet(self, name: str):
        names = [s.name for s in self.book.sheets]
        if name in names:
            sheet = self.book.sheets[name]
            sheet.clear()  # contents, fills and conditional formats of our own sheet only
            return sheet
        return self.book.sheets.add(name, after=self.book.sheets[len(names) - 1])

    def write(self, sheets: list[OutputSheet | FormSheet], remove: tuple[str, ...] = ()) -> None:
        for out in sheets:
            if isinstance(out, FormSheet):
                self._write_form(out)
            else:
                self._write_one(out)
            if out.hidden:
                self.book.sheets[out.name].visible = False
        existing = {s.name.casefold(): s.name for s in self.book.sheets}
        for name in remove:  # Score History's snapshots no longer kept; never a sheet this refresh wrote
            if name.casefold() in existing and name.casefold() not in {out.name.casefold() for out in sheets}:
                self.book.sheets[existing[name.casefold()]].delete()

    @staticmethod
    def _clear_charts(sheet) -> None:
        try:
            charts = list(sheet.charts)
        except (KeyError, AttributeError):  # a client that reports no chart list
            charts = []
        for chart in charts:  # charts are not cleared with the cells
            chart.delete()

    def _write_form(self, form: FormSheet) -> None:
        """Write a :class:`~chs_excel.book.form.FormSheet`: values in one write, then each formula, look, number
        format, merged range, width and height; the drop-downs, formula colours, line charts, gridlines and print
        area where the runtime's API has them (see :data:`FORM_LIMITS`)."""
        sheet = self._sheet(form.name)
        self._clear_charts(sheet)
        if not form.cells:
            return
        places = {ref: cell_position(ref) for ref in form.cells}
        rows = max(r for r, _ in places.values())
        cols = max(k for _, k in places.values())
        grid = [[None] * cols for _ in range(rows)]
        for ref, cell in form.cells.items():
            if not isinstance(cell.value, Formula):
                r, k = places[ref]
                grid[r - 1][k - 1] = _cell_value(cell.value)  # text stays text, never a formula
        sheet.range((1, 1), (rows, cols)).raw_value = grid
        for ref, cell in form.cells.items():
            target = sheet.range(ref)
            if isinstance(cell.value, Formula):
                target.formula = "=" + cell.value.text.removeprefix("=")
            if cell.number_format:
                target.number_format = cell.number_format
            if cell.look is not None:
                _style(target, cell.look)
                if cell.look.wrap:
                    target.wrap_text = True
                    _optional(lambda: setattr(target, "vertical_alignment", "top"))
        for ref in form.merged:
            sheet.range(ref).merge()
        in_points = sheet.book.app.engine.type == "remote"
        for letter, width in form.widths.items():
            sheet.range(f"{letter}:{letter}").column_width = _points(width) if in_points else width
        for row, height in form.heights.items():
            sheet.range(f"{row}:{row}").row_height = height
        for letter in form.hidden_columns:
            sheet.range(f"{letter}:{letter}").columns.hidden = True
        if not form.gridlines:
            _optional(lambda: setattr(sheet, "show_gridlines", False))
        for validation in form.validations:
            source = self._reference(validation.source)
            if source is not None:
                _optional(lambda: sheet.range(validation.ref).data_validation.set_list(source, in_cell_dropdown=True))
        for colour in form.colours:
            look = colour.look
            sheet.range(colour.ref).conditional_formats.add_custom(
                "=" + colour.formula.removeprefix("="), fill_color=_hex(look.fill) if look.fill else None,
                font_color=_hex(look.font) if look.font else None, font_bold=True if look.bold else None,
                stop_if_true=True)
        for chart in form.charts:
            self._line_chart(sheet, chart)
        if form.page.print_area:
            _optional(lambda: setattr(sheet.page_setup, "print_area", form.page.print_area))

    def _reference(self, formula: str):
        """The ``xlwings.Range`` of a reference such as ``'Score History'!$A$2:$A$9`` (None if it is not one)."""
        m = SHEET_REFERENCE.match(formula.removeprefix("="))
        if m is None:
            return None
        name = m.group(1)[1:-1].replace("''", "'") if m.group(1).startswith("'") else m.group(1)
        names = {s.name.casefold(): s.name for s in self.book.sheets}
        if name.casefold() not in names:
            return None
        return self.book.sheets[names[name.casefold()]].range(m.group(2).replace("$", ""))

    def _line_chart(self, sheet, spec: LineChart) -> None:
        """A line chart with markers, when categories and values are side by side (one source block)."""
        categories, values = self._reference(spec.categories), self._reference(spec.values)
        if categories is None or values is None or categories.sheet.name != values.sheet.name:
            return
        if (categories.row, categories.shape) != (values.row, values.shape) or values.column != categories.column + 1:
            return  # the live chart API takes one block: categories then values
        source = categories.sheet.range((categories.row, categories.column),
                                        (categories.row + categories.shape[0] - 1, values.column))
        sheet.charts.add(width=spec.columns * 48, height=spec.rows * 15, chart_type="line_markers", source=source,
                         anchor=sheet[spec.anchor])

    def _write_one(self, out: OutputSheet) -> None:
        sheet = self._sheet(out.name)
        self._clear_charts(sheet)
        frame = out.frame
        columns = list(frame.columns)
        n, width, head = len(frame), len(columns), out.header_row
        data = [_column_values(frame[col]) for col in columns]
        width = max([width] + [len(r) for r in out.preamble + out.postscript])
        pad = [None] * width
        extra = [None] * (width - len(columns))

        def loose(rows):
            return [([_cell_value(v) for v in row] + pad)[:width] for row in rows]
        values = loose(out.preamble) + [([str(col) for col in columns] + pad)[:width]]
        values += [list(row) + extra for row in zip(*data)] if columns else []
        if out.postscript:
            values += [pad[:]] + loose(out.postscript)
        sheet.range((1, 1), (len(values), width)).raw_value = values  # one write, no per-cell conversion
        for row in range(1, len(values) + 1):
            style = out.style_of(row) if row < head or row >= out.postscript_row else ""
            if style == "title":
                _style(sheet.range((row, 1)), TITLE)
            elif style == "header":
                _style(sheet.range((row, 1), (row, width)), HEADER)
        _style(sheet.range((head, 1), (head, width)), HEADER)
        for col, fmt in out.number_formats.items():
            if n and col in columns:
                j = columns.index(col) + 1
                sheet.range((head + 1, j), (head + n, j)).number_format = fmt
        if n:
            self._colour(sheet, out, columns, head, n)
        for col, targets in out.links.items():
            j = columns.index(col) + 1
            for r, target in enumerate(targets):
                kind = link_kind(target)
                if kind:
                    address = target if kind == "external" else "#" + target.lstrip("#")
                    sheet.range((head + 1 + r, j)).add_hyperlink(address, str(frame[col].iloc[r]))
        for chart in out.charts:
            self._chart(sheet, chart, columns, head, n)
        for col in out.wrap:  # wrapped, top-aligned data cells (row heights: Excel fits them to the text)
            if n and col in columns:
                j = columns.index(col) + 1
                cells = sheet.range((head + 1, j), (head + n, j))
                cells.wrap_text = True
                _optional(lambda: setattr(cells, "vertical_alignment", "top"))
        if out.page is not None and out.page.print_area:
            _optional(lambda: setattr(sheet.page_setup, "print_area", out.page.print_area))
        sheet.autofit("c")
        self._widths(sheet, out, columns)
        self._freeze(sheet, out.freeze)

    @staticmethod
    def _widths(sheet, out: OutputSheet, columns: list) -> None:
        """The widths the sheet asks for (in characters); the other columns keep their autofit."""
        in_points = sheet.book.app.engine.type == "remote"  # Office.js measures column widths in points
        for col, width in out.widths.items():
            if col in columns:
                letter = column_letter(columns.index(col) + 1)
                # Calibri 11: a character is 7 pixels, plus 5 pixels of padding; a pixel is 0.75 points
                sheet.range(f"{letter}:{letter}").column_width = _points(width) if in_points else width

    @staticmethod
    def _freeze(sheet, freeze: str) -> None:
        try:
            panes = sheet.freeze_panes
        except NotImplementedError:
            # xlwings implements freeze panes only on its remote engine (Lite, Server: Office.js). The desktop
            # engines (COM, appscript) would need the sheet's window activated (ActiveWindow.FreezePanes),
            # taking the user away from the sheet they are on, so the panes stay as they are there.
            return
        frozen = frozen_cells(freeze)
        if frozen:
            panes.freeze_at(frozen)
        else:
            panes.unfreeze()

    def _chart(self, sheet, spec, columns: list, head: int, n: int) -> None:
        if not n:
            return
        label = columns.index(spec.label_column) + 1
        first, last = columns.index(spec.value_columns[0]) + 1, columns.index(spec.value_columns[-1]) + 1
        if last - first + 1 != len(spec.value_columns) or label != first - 1:
            return  # the live chart API takes one contiguous block: labels then values
        source = sheet.range((head, label), (head + n, last))
        shape = "bar" if spec.horizontal else "column"
        kind = (f"{shape}_stacked_100" if spec.percent else f"{shape}_stacked") if spec.stacked else f"{shape}_clustered"
        sheet.charts.add(width=480, height=max(200, 40 + 22 * n), chart_type=kind, source=source, anchor=sheet[spec.anchor])

    def _colour(self, sheet, out: OutputSheet, columns: list, head: int, n: int) -> None:
        banded = {columns.index(col): bands for col, bands in out.cell_bands().items()}
        for first, last in _runs(sorted(banded)):
            block = np.column_stack([banded[j] for j in range(first, last + 1)])
            colours = [[BAND_RGB.get(b) for b in row] for row in block.tolist()]
            step = max(1, MAX_COLOR_CELLS // (last - first + 1))
            for start in range(0, n, step):
                rows = colours[start:start + step]
                sheet.range((head + 1 + start, first + 1), (head + start + len(rows), last + 1)).set_colors(rows)
        for j in sorted(banded):
            letter = column_letter(j + 1)
            area, cell = sheet.range(f"{letter}{head + 1}:{letter}{head + n}"), f"{letter}{head + 1}"
            for band, formula in rules_for(out.bands.get(columns[j]), cell).items():
                look = BAND_LOOKS[band]
                area.conditional_formats.add_custom("=" + formula, fill_color=_hex(look.fill), font_color=_hex(look.font),
                                                    stop_if_true=True)
