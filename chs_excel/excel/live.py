"""Read and write a live Excel workbook through an ``xlwings.Book``.

Works with every xlwings runtime (classic COM on Windows/Mac, xlwings Lite,
xlwings Server) because it only uses the public Book/Sheet/Range API. The
writer batches: one value write per sheet, fills in blocks of at most 10,000
cells, conditional formats created once per column.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from chs_excel.core.engine import band_labels
from chs_excel.book.cells import clean_grid
from chs_excel.book.table import (EXCEL_ERRORS, OutputSheet, Table, band_rules, column_letter, label_rules, link_kind,
                                  table_from_grid)

BAND_COLORS = {"Red": ("#FFC7CE", "#9C0006"), "Amber": ("#FFEB9C", "#9C5700"), "Green": ("#C6EFCE", "#006100")}
HEADER_COLOR = "#1F4E78"
BAND_RGB = {band: tuple(int(fill[k:k + 2], 16) for k in (1, 3, 5)) for band, (fill, _) in BAND_COLORS.items()}
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


EPOCH = dt.datetime(1899, 12, 30)


def _cell_value(value):
    """Python value -> what Excel should store; data text is never entered as a formula."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and (value[:1] in ("=", "+", "-", "@") or value in EXCEL_ERRORS):
        return "'" + value  # the apostrophe makes Excel keep it as text
    if isinstance(value, (dt.date, pd.Timestamp)):  # raw writes take dates as serial numbers
        moment = pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
        return (moment - EPOCH).total_seconds() / 86400
    return value


def _column_values(series: pd.Series) -> list:
    """One column as Excel values, in bulk: numbers stay numbers, NaN becomes blank, text is made safe."""
    values = series.to_numpy(dtype=object)
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if numeric:
        floats = series.to_numpy(dtype=float)
        return [None if f != f else f for f in floats.tolist()]
    return [_cell_value(v) for v in values]


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

    def write(self, sheets: list[OutputSheet]) -> None:
        for out in sheets:
            self._write_one(out)

    def _write_one(self, out: OutputSheet) -> None:
        sheet = self._sheet(out.name)
        try:
            charts = list(sheet.charts)
        except (KeyError, AttributeError):  # a client that reports no chart list
            charts = []
        for chart in charts:  # charts are not cleared with the cells
            chart.delete()
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
                sheet.range((row, 1)).font.bold = True
            elif style == "header":
                band = sheet.range((row, 1), (row, width))
                band.color = HEADER_COLOR
                band.font.bold = True
                band.font.color = "#FFFFFF"
        header = sheet.range((head, 1), (head, width))
        header.color = HEADER_COLOR
        header.font.bold = True
        header.font.color = "#FFFFFF"
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
        sheet.autofit("c")

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
        banded = {}
        for col, (red, amber) in out.bands.items():
            banded[columns.index(col)] = band_labels(out.frame[col].to_numpy(dtype=float), red, amber)
        for col in out.band_label_columns:
            banded[columns.index(col)] = out.frame[col].to_numpy(dtype=object)
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
            col = columns[j]
            rules = band_rules(cell, *out.bands[col]) if col in out.bands else label_rules(cell)
            for band, formula in rules.items():
                fill, font = BAND_COLORS[band]
                area.conditional_formats.add_custom("=" + formula, fill_color=fill, font_color=font, stop_if_true=True)
