"""Worksheet XML for one :class:`~chs_excel.book.table.OutputSheet`, built column by column.

Cells are generated as whole numpy object columns and joined once, so a sheet
of 100,000 accounts is a few array operations per column, not a Python loop
over cells. All text is written as inline strings: data is never a formula.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from chs_excel.book.table import OutputSheet, band_rules, column_letter, label_rules, link_kind
from chs_excel.core.engine import band_labels
from chs_excel.files.styles import StyleIds

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAX_TEXT = 32_767  # Excel's limit for one cell
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
EPOCH = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)  # workbooks with <workbookPr date1904="1"/> (old Mac Excel) count from here


def escape(text: str) -> str:
    text = _ILLEGAL.sub("", text)[:MAX_TEXT]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _cells(values: np.ndarray, refs: np.ndarray, styles: np.ndarray, epoch: dt.datetime = EPOCH) -> np.ndarray:
    """One ``<c>`` element per value (empty string for a blank), as an object array."""
    out = np.full(len(values), "", dtype=object)
    kinds = pd.Series(values, dtype=object).map(type).to_numpy()
    is_num = np.isin(kinds, [float, int, np.float64, np.int64])
    if is_num.any():
        nums = values[is_num].astype(float)
        finite = np.isfinite(nums)
        whole = finite & (nums == np.round(nums)) & (np.abs(nums) < 1e15)
        text = np.where(whole, np.round(np.where(whole, nums, 0)).astype(np.int64).astype(str),
                        np.array([repr(float(x)) for x in nums], dtype=object) if (~whole).any() else "")
        cell = "<c r=\"" + refs[is_num] + "\"" + styles[is_num] + "><v>" + text.astype(object) + "</v></c>"
        out[is_num] = np.where(finite, cell, "")
    is_text = kinds == str
    if is_text.any():
        text = np.array([escape(v) for v in values[is_text]], dtype=object)
        out[is_text] = np.where(text == "", "", "<c r=\"" + refs[is_text] + "\"" + styles[is_text]
                                + " t=\"inlineStr\"><is><t xml:space=\"preserve\">" + text + "</t></is></c>")
    is_bool = np.isin(kinds, [bool, np.bool_])
    if is_bool.any():
        flags = np.where(values[is_bool].astype(bool), "1", "0").astype(object)
        out[is_bool] = "<c r=\"" + refs[is_bool] + "\"" + styles[is_bool] + " t=\"b\"><v>" + flags + "</v></c>"
    is_date = np.isin(kinds, [dt.date, dt.datetime, pd.Timestamp])
    if is_date.any():
        serial = [str((pd.Timestamp(v).to_pydatetime() - epoch).total_seconds() / 86400).removesuffix(".0")
                  for v in values[is_date]]
        out[is_date] = "<c r=\"" + refs[is_date] + "\"" + styles[is_date] + "><v>" + np.array(serial, dtype=object) + "</v></c>"
    return out


def _style_attr(ids: np.ndarray) -> np.ndarray:
    return np.where(ids > 0, ' s="' + ids.astype(str).astype(object) + '"', "").astype(object)


def worksheet_xml(sheet: OutputSheet, ids: StyleIds, drawing_rel: str | None = None, *, date1904: bool = False,
                  protection: str | None = None) -> tuple[bytes, list[tuple[str, str]]]:
    """The sheet's XML and its external hyperlinks as ``(relationship id, target)``.

    ``date1904``: dates are serials of the 1904 date system; ``protection``: a ``<sheetProtection>`` element kept
    from the sheet this one replaces.
    """
    epoch = EPOCH_1904 if date1904 else EPOCH
    frame = sheet.frame
    columns = list(frame.columns)
    width, n, head = max(len(columns), max((len(r) for r in sheet.preamble), default=0), 1), len(frame), sheet.header_row
    letters = np.array([column_letter(j + 1) for j in range(width)], dtype=object)
    width = max(width, max((len(r) for r in sheet.postscript), default=0))
    letters = np.array([column_letter(j + 1) for j in range(width)], dtype=object)
    styled = {"title": ids.title, "header": ids.header, "": 0}

    def loose_row(r: int, row: list) -> str:
        refs = letters[:len(row)] + str(r)
        style = np.full(len(row), styled[sheet.style_of(r)])
        return f'<row r="{r}">' + "".join(_cells(np.array(row, dtype=object), refs, _style_attr(style), epoch)) + "</row>"

    rows_xml: list[str] = [loose_row(r, row) for r, row in enumerate(sheet.preamble, start=1) if row]
    header = _cells(np.array([str(c) for c in columns], dtype=object), letters[:len(columns)] + str(head),
                    _style_attr(np.full(len(columns), ids.header)))
    rows_xml.append(f'<row r="{head}" ht="30" customHeight="1">' + "".join(header) + "</row>")
    if n:
        numbers = (np.arange(head + 1, head + n + 1)).astype(str).astype(object)
        body = ("<row r=\"" + numbers + "\">").astype(object)
        for j, col in enumerate(columns):
            values = frame[col].to_numpy(dtype=object)
            style = np.zeros(n, dtype=np.int64)
            if col in sheet.number_formats:
                style[:] = ids.number_format(sheet.number_formats[col])
            if col in sheet.bands:
                labels = band_labels(pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float), *sheet.bands[col])
                for band, xf in ids.band.items():
                    style[labels == band] = xf
            if col in sheet.band_label_columns:
                for band, xf in ids.band.items():
                    style[values == band] = xf
            if col in sheet.links:
                linked = np.array([bool(link_kind(t)) for t in sheet.links[col]], dtype=bool)
                style[linked] = ids.link
            body = body + _cells(values, letters[j] + numbers, _style_attr(style), epoch)
        rows_xml.append("".join((body + "</row>").tolist()))
    rows_xml += [loose_row(sheet.postscript_row + k, row) for k, row in enumerate(sheet.postscript) if row]
    end_row = sheet.postscript_row + len(sheet.postscript) - 1 if sheet.postscript else head + n
    last_col = letters[len(columns) - 1] if columns else "A"
    parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">',
             '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',  # printed landscape, one page wide
             f'<dimension ref="A1:{letters[width - 1]}{end_row}"/>', _views(sheet.freeze), _cols(sheet, columns),
             "<sheetData>", *rows_xml, "</sheetData>", protection or ""]  # sheetProtection follows sheetData
    if n:
        parts.append(f'<autoFilter ref="A{head}:{last_col}{head + n}"/>')
        parts.append(_conditional_formats(sheet, columns, head, n, ids))
    links_xml, external = _hyperlinks(sheet, columns, head)
    parts.append(links_xml)
    parts.append('<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>')
    parts.append('<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>')
    if drawing_rel:
        parts.append(f'<drawing r:id="{drawing_rel}"/>')
    parts.append("</worksheet>")
    return "".join(parts).encode("utf-8"), external


def _views(freeze: str) -> str:
    m = re.match(r"([A-Z]+)(\d+)$", freeze or "")
    if not m or freeze == "A1":
        return '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    col = sum((ord(ch) - 64) * 26 ** k for k, ch in enumerate(reversed(m.group(1)))) - 1
    row = int(m.group(2)) - 1
    split = (f' xSplit="{col}"' if col else "") + (f' ySplit="{row}"' if row else "")
    pane = "bottomRight" if col and row else ("topRight" if col else "bottomLeft")
    return (f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{freeze}" activePane="{pane}" '
            f'state="frozen"/><selection pane="{pane}" activeCell="{freeze}" sqref="{freeze}"/></sheetView></sheetViews>')


def _cols(sheet: OutputSheet, columns: list) -> str:
    if not columns:
        return ""
    widths = [sheet.widths.get(col, max(10, min(40, len(str(col)) + 2))) for col in columns]
    return "<cols>" + "".join(f'<col min="{j}" max="{j}" width="{w:g}" customWidth="1"/>'
                              for j, w in enumerate(widths, start=1)) + "</cols>"


def _conditional_formats(sheet: OutputSheet, columns: list, head: int, n: int, ids: StyleIds) -> str:
    out, priority = [], 1
    for j, col in enumerate(columns, start=1):
        letter = column_letter(j)
        first = f"{letter}{head + 1}"
        if col in sheet.bands:
            rules = band_rules(first, *sheet.bands[col])
        elif col in sheet.band_label_columns:
            rules = label_rules(first)
        else:
            continue
        body = ""
        for band, formula in rules.items():
            body += (f'<cfRule type="expression" dxfId="{ids.band_dxf[band]}" priority="{priority}" stopIfTrue="1">'
                     f"<formula>{escape(formula)}</formula></cfRule>")
            priority += 1
        out.append(f'<conditionalFormatting sqref="{letter}{head + 1}:{letter}{head + n}">{body}</conditionalFormatting>')
    return "".join(out)


def _hyperlinks(sheet: OutputSheet, columns: list, head: int) -> tuple[str, list[tuple[str, str]]]:
    items, external = [], []
    for col, targets in sheet.links.items():
        letter = column_letter(columns.index(col) + 1)
        for r, target in enumerate(targets):
            kind = link_kind(target)
            ref = f"{letter}{head + 1 + r}"
            if kind == "external":
                rel = f"rIdLink{len(external) + 1}"
                external.append((rel, target))
                items.append(f'<hyperlink ref="{ref}" r:id="{rel}"/>')
            elif kind == "place":
                items.append(f'<hyperlink ref="{ref}" location="{escape(target.lstrip("#"))}" display="{escape(target)}"/>')
    return ("<hyperlinks>" + "".join(items) + "</hyperlinks>" if items else ""), external
