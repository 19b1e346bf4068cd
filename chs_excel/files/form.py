"""Worksheet XML for a :class:`~chs_excel.book.form.FormSheet`: a page of placed cells.

A form is small (a few hundred cells), so it is built as one string, element by element, in the order
``CT_Worksheet`` requires: sheetPr, dimension, sheetViews, sheetFormatPr, cols, sheetData, sheetProtection,
mergeCells, conditionalFormatting, dataValidations, pageMargins, pageSetup, drawing.

Text is written as inline strings, never as formulas. A :class:`~chs_excel.book.form.Formula` is written with
the value chs-excel computed for it (``<f>`` then ``<v>``), so a reader that does not recalculate (a PDF
export, a viewer) shows the right page; its text comes from chs-excel, never from data (see
:func:`~chs_excel.book.form.formula_text` for the values a formula embeds).
"""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

from chs_excel.book.dates import date_to_serial
from chs_excel.book.form import Cell, FormSheet, Formula
from chs_excel.book.table import cell_position, column_letter, column_number
from chs_excel.cellvalues import EXCEL_ERRORS, CellError
from chs_excel.files.ooxml import NS_MAIN, NS_REL, XML_DECLARATION, escape
from chs_excel.files.styles import StyleIds
from chs_excel.files.worksheet import MAX_TEXT, page_xml, sheet_properties_xml

RANGE = re.compile(r"\$?[A-Za-z]{1,3}\$?\d+(:\$?[A-Za-z]{1,3}\$?\d+)?$")
DATE_FORMAT = "yyyy-mm-dd"  # a date cell with no number format of its own


def _number(value: float) -> str | None:
    """A finite number as the shortest text that reads back the same (``3``, not ``3.0``); None otherwise."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _is_date(value) -> bool:
    return isinstance(value, (dt.date, pd.Timestamp))


def value_xml(value, date1904: bool = False) -> tuple[str, str] | None:
    """``(type attribute, content)`` of a plain value's ``<c>``; None for a blank (None, NaN, empty text)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None
    if isinstance(value, bool):
        return ' t="b"', f"<v>{int(value)}</v>"
    if isinstance(value, (int, float)):
        text = _number(value)
        return None if text is None else ("", f"<v>{text}</v>")
    if _is_date(value):
        return "", f"<v>{_number(date_to_serial(value, date1904))}</v>"
    text = escape(str(value), MAX_TEXT)
    if not text:
        return None
    return ' t="inlineStr"', f'<is><t xml:space="preserve">{text}</t></is>'


def formula_xml(formula: Formula, date1904: bool = False) -> tuple[str, str]:
    """``(type attribute, content)`` of a formula cell: the formula and its cached value, typed by that value
    (text ``t="str"``, an error such as ``#N/A`` ``t="e"``, a boolean ``t="b"``, a number none)."""
    f = f"<f>{escape(formula.text.removeprefix('='))}</f>"
    cached = formula.cached
    if isinstance(cached, np.generic):
        cached = cached.item()
    if cached is None or (isinstance(cached, float) and not math.isfinite(cached)):
        return "", f  # no value saved: shown once the spreadsheet calculates
    if isinstance(cached, CellError) or (isinstance(cached, str) and cached in EXCEL_ERRORS):
        return ' t="e"', f"{f}<v>{escape(str(cached))}</v>"
    if isinstance(cached, bool):
        return ' t="b"', f"{f}<v>{int(cached)}</v>"
    if isinstance(cached, (int, float)):
        return "", f"{f}<v>{_number(cached)}</v>"
    if _is_date(cached):
        return "", f"{f}<v>{_number(date_to_serial(cached, date1904))}</v>"
    return ' t="str"', f"{f}<v>{escape(str(cached), MAX_TEXT)}</v>"


def _cell_format(cell: Cell, ids: StyleIds) -> int:
    value = cell.value.cached if isinstance(cell.value, Formula) else cell.value
    number_format = cell.number_format or (DATE_FORMAT if _is_date(value) else "")
    return ids.look(cell.look, number_format)


def _check_range(ref: str, what: str) -> str:
    if not RANGE.match(ref):
        raise ValueError(f"{what}: not a cell or range reference: {ref!r}")
    return ref.replace("$", "").upper()


def form_xml(sheet: FormSheet, ids: StyleIds, drawing_rel: str | None = None, *, date1904: bool = False,
             protection: str | None = None) -> bytes:
    """The worksheet part of ``sheet``.

    Parameters
    ----------
    sheet : FormSheet
        The page: cells, widths, heights, merged ranges, drop-downs, formula colours, page setup.
    ids : StyleIds
        Adds the cell formats and differential formats the page uses to the workbook's styles.
    drawing_rel : str, optional
        The relationship id of the drawing holding the page's charts.
    date1904 : bool
        Dates become serials of the 1904 date system (else 1900).
    protection : str, optional
        A ``<sheetProtection>`` element kept from the sheet this one replaces.
    """
    rows: dict[int, list[tuple[int, str]]] = {}
    last_row, last_col = 1, 1
    for ref, cell in sheet.cells.items():
        row, col = cell_position(ref)
        xf = _cell_format(cell, ids)
        content = formula_xml(cell.value, date1904) if isinstance(cell.value, Formula) else value_xml(cell.value,
                                                                                                        date1904)
        style = f' s="{xf}"' if xf else ""
        if content is None and not style:
            continue
        where = f"{column_letter(col)}{row}"
        element = f'<c r="{where}"{style}/>' if content is None else (
            f'<c r="{where}"{style}{content[0]}>{content[1]}</c>')
        rows.setdefault(row, []).append((col, element))
        last_row, last_col = max(last_row, row), max(last_col, col)
    for row in sheet.heights:
        rows.setdefault(row, [])
        last_row = max(last_row, row)
    body = []
    for row in sorted(rows):
        height = sheet.heights.get(row)
        attrs = f' ht="{height:g}" customHeight="1"' if height else ""
        body.append(f'<row r="{row}"{attrs}>' + "".join(e for _, e in sorted(rows[row])) + "</row>")

    columns = {column_number(c): {"width": w} for c, w in sheet.widths.items()}
    for letter in sheet.hidden_columns:
        columns.setdefault(column_number(letter), {})["hidden"] = True
    cols = "".join(f'<col min="{j}" max="{j}" width="{spec.get("width", 9.140625):g}"'
                   + (' customWidth="1"' if "width" in spec else "") + (' hidden="1"' if spec.get("hidden") else "")
                   + "/>" for j, spec in sorted(columns.items()))
    gridlines = "" if sheet.gridlines else ' showGridLines="0"'
    parts = [f'{XML_DECLARATION}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">', sheet_properties_xml(sheet.page),
             f'<dimension ref="A1:{column_letter(last_col)}{last_row}"/>',
             f'<sheetViews><sheetView{gridlines} workbookViewId="0"/></sheetViews>',
             '<sheetFormatPr defaultRowHeight="15"/>', f"<cols>{cols}</cols>" if cols else "",
             "<sheetData>", *body, "</sheetData>", protection or ""]
    if sheet.merged:
        merged = [_check_range(ref, "merged cells") for ref in sheet.merged]
        parts.append(f'<mergeCells count="{len(merged)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merged)
                     + "</mergeCells>")
    for priority, colour in enumerate(sheet.colours, start=1):  # in list order; the first one true wins
        parts.append(f'<conditionalFormatting sqref="{_check_range(colour.ref, "formula colour")}">'
                     f'<cfRule type="expression" dxfId="{ids.dxf(colour.look)}" priority="{priority}" stopIfTrue="1">'
                     f'<formula>{escape(colour.formula.removeprefix("="))}</formula></cfRule></conditionalFormatting>')
    if sheet.validations:
        items = []
        for v in sheet.validations:
            prompt = f' promptTitle="Choose" prompt="{escape(v.prompt, 255)}"' if v.prompt else ""
            items.append(f'<dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1"'
                         f'{prompt} sqref="{_check_range(v.ref, "drop-down")}">'
                         f'<formula1>{escape(v.source.removeprefix("="))}</formula1></dataValidation>')
        parts.append(f'<dataValidations count="{len(items)}">' + "".join(items) + "</dataValidations>")
    parts.append(page_xml(sheet.page))
    if drawing_rel:
        parts.append(f'<drawing r:id="{drawing_rel}"/>')
    parts.append("</worksheet>")
    return "".join(parts).encode("utf-8")
