"""Worksheet XML for one :class:`~chs_excel.book.table.OutputSheet`, built column by column.

Cells are generated as whole numpy object columns and joined once, so a sheet
of 100,000 accounts is a few array operations per column, not a Python loop
over cells. All text is written as inline strings: data is never a formula.
"""
from __future__ import annotations

import datetime as dt
import re
from itertools import chain, repeat

import numpy as np
import pandas as pd

from chs_excel.book.dates import date_to_serial
from chs_excel.book.look import rules_for
from chs_excel.book.table import OutputSheet, cell_position, column_letter, link_kind
from chs_excel.files.ooxml import NEEDS_ESCAPE, NS_MAIN, NS_REL, XML_DECLARATION, escape
from chs_excel.files.styles import StyleIds

MAX_TEXT = 32_767  # Excel's limit for one cell


def cell_elements(values: np.ndarray, refs: np.ndarray, style_ids: np.ndarray, date1904: bool = False) -> np.ndarray:
    """One ``<c>`` element per value (empty string for a blank), as an object array.

    Parameters
    ----------
    values : numpy.ndarray
        Object array of cell values: numbers, text (written inline, never a formula), booleans, dates.
    refs : numpy.ndarray
        Object array of the cells' references (``"B7"``).
    style_ids : numpy.ndarray
        Integer array of ``cellXfs`` indices (0: no ``s`` attribute).
    date1904 : bool
        Dates become serials of the 1904 date system (else 1900).
    """
    styles = _style_attr(style_ids)
    out = np.full(len(values), "", dtype=object)
    kinds = np.fromiter(map(_KIND.__getitem__, map(type, values)), dtype=np.int8, count=len(values))
    if (at := np.flatnonzero(kinds == _NUMBER)).size:
        nums = values[at].astype(float)
        finite = np.isfinite(nums)
        whole = finite & (nums == np.round(nums)) & (np.abs(nums) < 1e15)
        text = np.empty(len(nums), dtype=object)
        text[whole] = np.round(nums[whole]).astype(np.int64).astype(str).tolist()
        text[finite & ~whole] = [repr(x) for x in nums[finite & ~whole].tolist()]
        at = at[finite]
        out[at] = _wrapped(refs[at], styles[at], text[finite], "><v>", "</v></c>")
    if (at := np.flatnonzero(kinds == _TEXT)).size:
        text = np.array(_escaped(values[at].tolist()), dtype=object)
        at, text = at[text != ""], text[text != ""]
        out[at] = _wrapped(refs[at], styles[at], text, ' t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>")
    if (at := np.flatnonzero(kinds == _BOOL)).size:
        flags = np.where(values[at].astype(bool), "1", "0").astype(object)
        out[at] = _wrapped(refs[at], styles[at], flags, ' t="b"><v>', "</v></c>")
    if (at := np.flatnonzero(kinds == _DATE)).size:
        serial = np.array([str(date_to_serial(v, date1904)).removesuffix(".0") for v in values[at]], dtype=object)
        out[at] = _wrapped(refs[at], styles[at], serial, "><v>", "</v></c>")
    return out


class _Kinds(dict):
    def __missing__(self, key: type) -> int:
        return 0  # anything else is a blank cell


# How a value is written, by its exact type (a subclass such as datetime is listed on its own)
_NUMBER, _TEXT, _BOOL, _DATE = 1, 2, 3, 4
_KIND = _Kinds({float: _NUMBER, int: _NUMBER, np.float64: _NUMBER, np.int64: _NUMBER, str: _TEXT, bool: _BOOL,
                np.bool_: _BOOL, dt.date: _DATE, dt.datetime: _DATE, pd.Timestamp: _DATE})


def _wrapped(refs: np.ndarray, styles: np.ndarray, texts: np.ndarray, opening: str, closing: str) -> np.ndarray:
    """``<c r="ref"{style}{opening}{text}{closing}`` per cell, as an object array."""
    cells = [f'<c r="{r}"{s}{opening}{t}{closing}' for r, s, t in zip(refs.tolist(), styles.tolist(), texts.tolist())]
    return np.array(cells, dtype=object)


def _escaped(texts: list[str]) -> list[str]:
    """``escape(text, MAX_TEXT)`` of each text, escaping only those it would change (usually none)."""
    if not NEEDS_ESCAPE.search("\n".join(texts)) and max(map(len, texts)) <= MAX_TEXT:  # "\n" needs no escape
        return texts
    return [escape(t, MAX_TEXT) if len(t) > MAX_TEXT or NEEDS_ESCAPE.search(t) else t for t in texts]


def _style_attr(ids: np.ndarray) -> np.ndarray:
    uniq, inverse = np.unique(ids, return_inverse=True)
    return np.array([f' s="{i}"' if i > 0 else "" for i in uniq.tolist()], dtype=object)[inverse]


def worksheet_xml(sheet: OutputSheet, ids: StyleIds, drawing_rel: str | None = None, *, date1904: bool = False,
                  protection: str | None = None) -> tuple[bytes, list[tuple[str, str]]]:
    """The sheet's XML and its external hyperlinks as ``(relationship id, target)``.

    ``date1904``: dates are serials of the 1904 date system; ``protection``: a ``<sheetProtection>`` element kept
    from the sheet this one replaces.
    """
    frame = sheet.frame
    columns = list(frame.columns)
    width, n, head = max(len(columns), max((len(r) for r in sheet.preamble), default=0), 1), len(frame), sheet.header_row
    width = max(width, max((len(r) for r in sheet.postscript), default=0))
    letters = np.array([column_letter(j + 1) for j in range(width)], dtype=object)
    styled = {"title": ids.title, "header": ids.header, "": 0}

    def loose_row(r: int, row: list) -> str:
        refs = letters[:len(row)] + str(r)
        style = np.full(len(row), styled[sheet.style_of(r)])
        return f'<row r="{r}">' + "".join(cell_elements(np.array(row, dtype=object), refs, style, date1904)) + "</row>"

    rows_xml: list[str] = [loose_row(r, row) for r, row in enumerate(sheet.preamble, start=1) if row]
    header = cell_elements(np.array([str(c) for c in columns], dtype=object), letters[:len(columns)] + str(head),
                           np.full(len(columns), ids.header))
    rows_xml.append(f'<row r="{head}" ht="30" customHeight="1">' + "".join(header) + "</row>")
    if n:
        bands = sheet.cell_bands()
        numbers = (np.arange(head + 1, head + n + 1)).astype(str).astype(object)
        cells = []  # per column; each row is joined once below
        for j, col in enumerate(columns):
            style = np.zeros(n, dtype=np.int64)
            if col in sheet.number_formats:
                style[:] = ids.number_format(sheet.number_formats[col])
            if col in bands:
                for band, xf in ids.band.items():
                    style[bands[col] == band] = xf
            if col in sheet.links:
                linked = np.array([bool(link_kind(t)) for t in sheet.links[col]], dtype=bool)
                style[linked] = ids.link
            cells.append(cell_elements(frame[col].to_numpy(dtype=object), letters[j] + numbers, style, date1904).tolist())
        opening = [f'<row r="{r}">' for r in numbers.tolist()]
        rows_xml.append("".join(chain.from_iterable(zip(opening, *cells, repeat("</row>", n)))))
    rows_xml += [loose_row(sheet.postscript_row + k, row) for k, row in enumerate(sheet.postscript) if row]
    end_row = sheet.postscript_row + len(sheet.postscript) - 1 if sheet.postscript else head + n
    last_col = letters[len(columns) - 1] if columns else "A"
    widths = [sheet.widths.get(col, max(10, min(40, len(str(col)) + 2))) for col in columns]
    parts = [f'{XML_DECLARATION}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">',
             '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',  # printed landscape, one page wide
             f'<dimension ref="A1:{letters[width - 1]}{end_row}"/>', sheet_view_xml(sheet.freeze), cols_xml(widths),
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


def sheet_view_xml(freeze: str) -> str:
    """``<sheetViews>`` with the panes frozen above and left of ``freeze`` (``"A1"`` or ``""``: none)."""
    if not re.fullmatch(r"[A-Z]{1,3}\d+", freeze or "") or freeze == "A1":
        return '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    row, col = (k - 1 for k in cell_position(freeze))
    split = (f' xSplit="{col}"' if col else "") + (f' ySplit="{row}"' if row else "")
    pane = "bottomRight" if col and row else ("topRight" if col else "bottomLeft")
    return (f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{freeze}" activePane="{pane}" '
            f'state="frozen"/><selection pane="{pane}" activeCell="{freeze}" sqref="{freeze}"/></sheetView></sheetViews>')


def cols_xml(widths: list[float]) -> str:
    """``<cols>`` giving columns A, B, ... these widths (in characters); empty for no columns."""
    if not widths:
        return ""
    return "<cols>" + "".join(f'<col min="{j}" max="{j}" width="{w:g}" customWidth="1"/>'
                              for j, w in enumerate(widths, start=1)) + "</cols>"


def conditional_format_xml(sqref: str, rules: dict[str, str], dxf_ids: dict[str, int], first_priority: int) -> str:
    """One ``<conditionalFormatting>`` over ``sqref``: a stop-if-true expression rule per band, numbered on from
    ``first_priority`` (priorities are unique across the sheet)."""
    body = "".join(f'<cfRule type="expression" dxfId="{dxf_ids[band]}" priority="{first_priority + k}" stopIfTrue="1">'
                   f"<formula>{escape(formula)}</formula></cfRule>" for k, (band, formula) in enumerate(rules.items()))
    return f'<conditionalFormatting sqref="{sqref}">{body}</conditionalFormatting>'


def hyperlink_xml(ref: str, target: str, rel_id: str | None = None) -> str:
    """A ``<hyperlink>``: to a relationship ``rel_id`` (an external target) or to a place in the workbook."""
    if rel_id:
        return f'<hyperlink ref="{ref}" r:id="{rel_id}"/>'
    return f'<hyperlink ref="{ref}" location="{escape(target.lstrip("#"))}" display="{escape(target)}"/>'


def _conditional_formats(sheet: OutputSheet, columns: list, head: int, n: int, ids: StyleIds) -> str:
    out, priority = [], 1
    for j, col in enumerate(columns, start=1):
        if col not in sheet.bands and col not in sheet.band_label_columns:
            continue
        letter = column_letter(j)
        rules = rules_for(sheet.bands.get(col), f"{letter}{head + 1}")
        out.append(conditional_format_xml(f"{letter}{head + 1}:{letter}{head + n}", rules, ids.band_dxf, priority))
        priority += len(rules)
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
                items.append(hyperlink_xml(ref, target, rel))
            elif kind == "place":
                items.append(hyperlink_xml(ref, target))
    return ("<hyperlinks>" + "".join(items) + "</hyperlinks>" if items else ""), external
