"""Worksheet XML for one :class:`~chs_excel.book.table.OutputSheet`, produced in blocks of rows.

A block of rows is built as one byte matrix, a row per line: each column's cells
are fixed-width fields (the cell reference, its style and type, its value), the
values formatted per column by numpy, and the bytes no cell needs are NUL. Dropping
every NUL gives the block's XML, so a sheet of 100,000 accounts is a few array
operations per column and block, with no Python object per cell for numbers and
one per text. (NUL cannot occur in XML: :func:`~chs_excel.files.ooxml.escape` drops it.)

:class:`SheetXml` yields the XML block by block, so a writer can stream a sheet into
its zip entry without ever holding the whole part. All text is written as inline
strings: data is never a formula.
"""
from __future__ import annotations

import datetime as dt
import queue
import re
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd

from chs_excel.book.dates import date_to_serial
from chs_excel.book.form import PageSetup
from chs_excel.book.look import rules_for
from chs_excel.book.table import OutputSheet, cell_position, column_letter, link_kind
from chs_excel.files.ooxml import NEEDS_ESCAPE, NS_MAIN, NS_REL, XML_DECLARATION, escape
from chs_excel.files.styles import StyleIds

MAX_TEXT = 32_767  # Excel's limit for one cell
BLOCK_ROWS = 16_384  # rows per block of XML: ~15 MB of it for a 25-column sheet
BLOCK_BYTES = 2 * 1024**2  # the byte matrix is built in parts this size, which stay in the CPU cache


class _Kinds(dict):
    def __missing__(self, key: type) -> int:
        return _BLANK  # anything else is a blank cell


# How a value is written, by its exact type (a subclass such as datetime is listed on its own)
_BLANK, _NUMBER, _TEXT, _BOOL, _DATE = 0, 1, 2, 3, 4
_KIND = _Kinds({float: _NUMBER, int: _NUMBER, np.float64: _NUMBER, np.int64: _NUMBER, str: _TEXT, bool: _BOOL,
                np.bool_: _BOOL, dt.date: _DATE, dt.datetime: _DATE, pd.Timestamp: _DATE})
# What comes between a cell's style and its value, and after its value, by kind
_OPENING = ("", "><v>", ' t="inlineStr"><is><t xml:space="preserve">', ' t="b"><v>', "><v>")
_CLOSING = ("", "</v></c>", "</t></is></c>", "</v></c>", "</v></c>")


def _column_values(values, date1904: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's kind (``_BLANK`` ... ``_DATE``, int8) and value as it is written (escaped UTF-8, a numpy
    ``S`` array; NUL bytes in it are padding, to be dropped); a number that is not finite and a text that
    escapes to nothing are blank.

    ``values`` is a pandas Series (its dtype picks a path without looking at each cell) or a sequence of
    Python values, written by their exact type.
    """
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "fiu":
            return _numbers(values.to_numpy(dtype=np.float64))
        if isinstance(dtype, np.dtype) and dtype.kind == "b":
            flags = values.to_numpy()
            return np.full(len(flags), _BOOL, np.int8), np.where(flags, b"1", b"0")
        if isinstance(dtype, pd.StringDtype):  # str, or a missing value (blank)
            texts = values.to_numpy(dtype=object)
            try:
                return _texts(texts)
            except TypeError:  # str.join met a missing value: look for them (pandas does it in C)
                pass
            missing = values.isna().to_numpy()
            kinds, out = np.zeros(len(texts), np.int8), np.zeros(len(texts), "S1")
            return _scatter(kinds, out, np.flatnonzero(~missing), *_texts(texts[~missing]))
        values = values.to_numpy(dtype=object)
    values = np.asarray(values, dtype=object)
    kinds_present = {_KIND[t] for t in set(map(type, values))}
    if kinds_present == {_BLANK}:
        return np.zeros(len(values), np.int8), np.zeros(len(values), "S1")
    if len(kinds_present) == 1:  # one kind of value: no look at each cell
        return _of_kind(kinds_present.pop(), values, date1904)
    kinds = np.fromiter(map(_KIND.__getitem__, map(type, values)), dtype=np.int8, count=len(values))
    out = np.zeros(len(values), "S1")
    for kind in sorted(kinds_present - {_BLANK}):
        at = np.flatnonzero(kinds == kind)
        kinds, out = _scatter(kinds, out, at, *_of_kind(kind, values[at], date1904))
    return kinds, out


def _scatter(kinds: np.ndarray, out: np.ndarray, at: np.ndarray, sub_kinds: np.ndarray,
             sub_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``kinds`` and ``out`` with the cells ``at`` set (``out`` widened when the new values are longer)."""
    if sub_values.dtype.itemsize > out.dtype.itemsize:
        out = out.astype(sub_values.dtype)
    kinds[at], out[at] = sub_kinds, sub_values
    return kinds, out


def _of_kind(kind: int, values: np.ndarray, date1904: bool) -> tuple[np.ndarray, np.ndarray]:
    if kind == _NUMBER:
        return _numbers(values.astype(float))
    if kind == _TEXT:
        return _texts(values)
    if kind == _BOOL:
        return np.full(len(values), _BOOL, np.int8), np.where(values.astype(bool), b"1", b"0")
    return _dates(values, date1904)


def _numbers(nums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A whole number below 1e15 as an integer (``3``, not ``3.0``), any other finite one as Python's
    ``repr`` writes it (the shortest text that reads back as the same float); not finite: blank."""
    finite = np.isfinite(nums)
    rounded = np.round(nums)
    whole = finite & (nums == rounded) & (np.abs(nums) < 1e15)
    kinds = np.where(finite, _NUMBER, _BLANK).astype(np.int8)
    if whole.all():
        return kinds, _integers(rounded.astype(np.int64))
    integers = _integers(rounded[whole].astype(np.int64))
    fractions = finite & ~whole
    texts = _fractions(nums[fractions])
    out = np.zeros(len(nums), f"S{max(integers.itemsize, texts.itemsize, 1)}")
    out[whole], out[fractions] = integers, texts
    return kinds, out


def _fractions(nums: np.ndarray) -> np.ndarray:
    """``repr`` of finite numbers that are not whole, the common ones (a few decimals) made by numpy.

    A number that ``r / 10**k`` gives back exactly, for the least ``k`` and ``|r| < 10**15``, is written
    ``r`` with a point ``k`` digits from its end: that text reads back as the number (the division is
    correctly rounded), and none shorter does, so it is the one ``repr`` picks, which writes numbers from
    1e-4 to 1e16 that way. The text may hold NUL bytes between its parts (dropped with the block's padding).
    """
    out = np.zeros(len(nums), "S1")
    other = (np.abs(nums) < 1e-4) | (np.abs(nums) >= 1e15)  # written by repr: with an exponent, or 16+ digits
    left = np.flatnonzero(~other)
    for k in range(1, _MAX_DECIMALS + 1):
        if not left.size:
            break
        scaled = np.round(nums[left] * 10.0 ** k)
        exact = (scaled / 10.0 ** k == nums[left]) & (np.abs(scaled) < 1e15)
        if exact.any():
            at, digits = left[exact], np.abs(scaled[exact]).astype(np.int64)
            sign = np.where(nums[at] < 0, b"-", b"\0")
            point = np.full(len(at), b".")
            # "1" and k digits, the "1" dropped: the fraction with its leading zeros
            fraction = _integers(digits % 10 ** k + 10 ** k).view(np.uint8).reshape(len(at), -1)[:, 1:]
            parts = [sign, _integers(digits // 10 ** k), point, np.ascontiguousarray(fraction).view(f"S{k}").ravel()]
            texts = np.concatenate([p.view(np.uint8).reshape(len(at), -1) for p in parts], axis=1)
            texts = np.ascontiguousarray(texts).view(f"S{texts.shape[1]}").ravel()
            out = out if out.itemsize >= texts.itemsize else out.astype(texts.dtype)
            out[at] = texts
            left = left[~exact]
    left = np.sort(np.concatenate([left, np.flatnonzero(other)]))
    if left.size:  # many digits, or tiny: Python's repr (numpy's own shortest float text is the same, and slower)
        texts = np.array(list(map(repr, nums[left].tolist())), dtype="S")
        out = out if out.itemsize >= texts.itemsize else out.astype(texts.dtype)
        out[left] = texts
    return out


_MAX_DECIMALS = 6  # tried by _fractions before it falls back to repr


def _integers(ints: np.ndarray) -> np.ndarray:
    """Decimal text of int64 values, no wider than the longest needs."""
    if not len(ints):
        return np.zeros(0, "S1")
    low, high = int(ints.min()), int(ints.max())
    width = max(len(str(low)), len(str(high)))
    if width in _SMALL_MIN:  # scores, counts, row numbers: looked up, ~10x faster than numpy's int-to-text cast
        return _small_integers(width)[ints - _SMALL_MIN[width]]
    return ints.astype(f"S{width}")


_SMALL_MIN = {w: -(10 ** (w - 1) - 1) for w in range(1, 6)}  # the least number of each width's table
_SMALL: dict[int, np.ndarray] = {}


def _small_integers(width: int) -> np.ndarray:
    """The text of every integer from ``_SMALL_MIN[width]`` to ``10 ** width - 1``, at that width."""
    if width not in _SMALL:
        _SMALL[width] = np.arange(_SMALL_MIN[width], 10 ** width).astype(f"S{width}")
    return _SMALL[width]


def _texts(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Text cells: escaped, cut at Excel's limit, UTF-8; one that is empty then is blank."""
    texts = texts.tolist()
    joined = "\n".join(texts)  # "\n" needs no escape; raises TypeError for anything but str
    if len(joined) < len(texts) or not texts:  # all empty, or none
        return np.zeros(len(texts), np.int8), np.zeros(len(texts), "S1")
    data = joined.encode("utf-8")  # what escape() changes is ASCII: found by a byte-level pass in C, not a regex
    if len(data.translate(None, _NEEDS_ESCAPE_BYTES)) != len(data) or (
            len(joined) > MAX_TEXT and max(map(len, texts)) > MAX_TEXT):
        texts = [escape(t, MAX_TEXT) if len(t) > MAX_TEXT or NEEDS_ESCAPE.search(t) else t for t in texts]
        joined = "".join(texts)
    if joined.isascii():  # numpy encodes ASCII itself, without a Python bytes object per cell
        out = np.array(texts, dtype="S")
    else:
        out = np.array([t.encode("utf-8") for t in texts], dtype="S")
    kinds = np.where(out.view(np.uint8).reshape(len(out), -1)[:, 0] != 0, _TEXT, _BLANK).astype(np.int8)
    return kinds, out


_NEEDS_ESCAPE_BYTES = bytes(b for b in range(128) if NEEDS_ESCAPE.match(chr(b)))


def _dates(values: np.ndarray, date1904: bool) -> tuple[np.ndarray, np.ndarray]:
    """Date cells: their serial number (days since the workbook's epoch), without a trailing ``.0``."""
    serials: dict = {}  # most columns hold a few dates many times; the key holds the time zone (dropped, not converted)
    texts = []
    for v in values.tolist():
        key = (type(v), v, getattr(v, "tzinfo", None))
        text = serials.get(key)
        if text is None:
            text = serials[key] = str(date_to_serial(v, date1904)).removesuffix(".0")
        texts.append(text)
    return np.full(len(texts), _DATE, np.int8), np.array(texts, dtype="S") if texts else np.zeros(0, "S1")


def cell_elements(values: np.ndarray, refs: np.ndarray, style_ids: np.ndarray, date1904: bool = False) -> np.ndarray:
    """One ``<c>`` element per value (empty string for a blank), as an object array: for a few cells (a
    title, a header row); :class:`SheetXml` builds a sheet's data rows without a Python string per cell.

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
    kinds, texts = _column_values(np.asarray(values, dtype=object), date1904)
    texts = [t.replace(b"\0", b"").decode("utf-8") for t in texts.tolist()]  # NUL: padding
    cells = [f'<c r="{r}"{_style(s)}{_OPENING[k]}{t}{_CLOSING[k]}' if k else ""
             for r, s, k, t in zip(refs.tolist(), np.asarray(style_ids).tolist(), kinds.tolist(), texts)]
    return np.array(cells, dtype=object)


def _style(xf: int) -> str:
    return f' s="{xf}"' if xf > 0 else ""


class _Matrix:
    """The rows of a block as one byte matrix, built field by field from left to right.

    A field is a constant (the same bytes in every row) or an ``(rows, width)`` uint8 array whose unused
    bytes are NUL; :meth:`xml` drops every NUL, row after row."""

    def __init__(self, rows: int):
        self.rows, self.width = rows, 0
        self.fields: list[tuple[int, bytes | np.ndarray]] = []
        self.blanks: list[tuple[np.ndarray, int, int]] = []  # rows whose bytes start:end are to be NUL
        self._constant = bytearray()

    def constant(self, data: bytes) -> None:
        self._constant += data

    def array(self, values: np.ndarray) -> None:
        """Per-row bytes: an ``S`` array, one value per row."""
        self._flush()
        values = np.ascontiguousarray(values)
        width = values.dtype.itemsize
        self.fields.append((self.width, values.view(np.uint8).reshape(self.rows, width)))
        self.width += width

    def _flush(self) -> None:
        if self._constant:
            self.fields.append((self.width, bytes(self._constant)))
            self.width += len(self._constant)
            self._constant = bytearray()

    def blank(self, rows: np.ndarray, start: int) -> None:
        """Leave out, in ``rows``, everything from ``start`` (a :attr:`position`) to the current position."""
        if rows.size:
            self.blanks.append((rows, start, self.position))

    @property
    def position(self) -> int:
        return self.width + len(self._constant)

    def xml(self) -> bytes:
        self._flush()
        out = np.empty((self.rows, self.width), np.uint8)
        for at, field in self.fields:
            if isinstance(field, bytes):
                out[:, at:at + len(field)] = np.frombuffer(field, np.uint8)
            else:
                out[:, at:at + field.shape[1]] = field
        for rows, start, end in self.blanks:
            out[rows, start:end] = 0
        return out.tobytes().translate(None, b"\0")


class _Column:
    """What one data column needs for every block: its letter, styles (per row only where bands or links
    differ) and the ``<c>`` openings of each (style, kind)."""

    def __init__(self, j: int, values: pd.Series, xfs: list[int], codes: np.ndarray | None):
        self.letter = column_letter(j + 1).encode("ascii")
        self.values, self.codes = values, codes  # codes: per row, an index into xfs (None: all xfs[0])
        # openings[kind][code]; all_openings[code * len(_OPENING) + kind], for a column of mixed kinds
        self.openings = [np.array([f'"{_style(xf)}{opening}'.encode("utf-8") for xf in xfs], dtype="S")
                         for opening in _OPENING]
        self.all_openings = np.array([o for row in zip(*self.openings) for o in row], dtype="S")
        self.closings = np.array([c.encode("ascii") for c in _CLOSING], dtype="S")


_END = object()  # no more blocks


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


class SheetXml:
    """The XML of one output sheet, in blocks of bytes: iterate it (again, if need be) to get them.

    Everything that changes shared state (cell formats added to ``ids``) and the external hyperlinks
    (:attr:`links`, as ``(relationship id, target)``) are settled when it is made; the rows are formatted
    only as they are iterated.

    ``date1904``: dates are serials of the 1904 date system; ``protection``: a ``<sheetProtection>`` element
    kept from the sheet this one replaces.
    """

    def __init__(self, sheet: OutputSheet, ids: StyleIds, drawing_rel: str | None = None, *, date1904: bool = False,
                 protection: str | None = None):
        self.sheet, self.ids, self.drawing_rel = sheet, ids, drawing_rel
        self.date1904, self.protection = date1904, protection
        frame = sheet.frame
        self.columns = columns = list(frame.columns)
        self.n = n = len(frame)
        self.head = head = sheet.header_row
        self.link_kinds = {col: _link_kinds(targets) for col, targets in sheet.links.items()}
        self.links: list[tuple[str, str]] = []
        for col, targets in sheet.links.items():
            for target, kind in zip(targets, self.link_kinds[col]):
                if kind == "external":
                    self.links.append((f"rIdLink{len(self.links) + 1}", target))
        bands = sheet.cell_bands() if n else {}
        self.data_columns = []
        for j, col in enumerate(columns):
            xfs = [ids.number_format(sheet.number_formats[col]) if col in sheet.number_formats else 0]
            codes = None
            if col in bands:  # the band's format replaces the number format
                labels, names = pd.factorize(bands[col])  # one pass over the column, not one per band
                xfs += ids.band.values()
                codes = np.array([list(ids.band).index(b) + 1 if b in ids.band else 0 for b in names] + [0],
                                 dtype=np.int8)[labels]
            if col in sheet.links:  # and a link's replaces both
                linked = np.array([bool(kind) for kind in self.link_kinds[col]], dtype=bool)
                codes = np.zeros(n, np.int8) if codes is None else codes
                codes[linked] = len(xfs)
                xfs.append(ids.link)
            if col in sheet.wrap:  # long text wraps inside the column, from the top of the row
                xfs = [ids.wrapped(xf) for xf in xfs]
            elif sheet.wrap:  # beside wrapped text a cell reads from the top of its row too
                xfs = [ids.top_aligned(xf) for xf in xfs]
            self.data_columns.append(_Column(j, frame.iloc[:, j], xfs, codes))
        self.conditional_formats = _conditional_formats(sheet, columns, head, n, ids) if n else ""
        self.row_openings = _wrapped_row_openings(sheet, columns) if n and sheet.wrap else None
        width = max(len(columns), max((len(r) for r in sheet.preamble), default=0), 1)
        self.width = max(width, max((len(r) for r in sheet.postscript), default=0))

    def __bytes__(self) -> bytes:
        return b"".join(self)

    def ahead(self, depth: int = 2) -> Iterator[bytes]:
        """The blocks, made in a worker thread up to ``depth`` blocks ahead of the caller: a writer deflates one
        block (zlib lets go of the GIL) while the next is made. Close the iterator (``contextlib.closing``) when
        stopping early; an exception raised making a block is raised here."""
        blocks: queue.Queue = queue.Queue(depth)
        stop = threading.Event()

        def offer(item) -> bool:
            while not stop.is_set():
                try:
                    blocks.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            try:
                for block in self:
                    if not offer(block):
                        return
                offer(_END)
            except BaseException as exc:  # handed to the caller
                offer(_Failed(exc))

        worker = threading.Thread(target=work, name="chs-excel sheet XML", daemon=True)
        worker.start()
        try:
            while (item := blocks.get()) is not _END:
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
        finally:
            stop.set()
            worker.join()

    def __iter__(self) -> Iterator[bytes]:
        sheet, columns, n, head = self.sheet, self.columns, self.n, self.head
        letters = np.array([column_letter(j + 1) for j in range(self.width)], dtype=object)
        end_row = sheet.postscript_row + len(sheet.postscript) - 1 if sheet.postscript else head + n
        widths = [sheet.widths.get(col, max(10, min(40, len(str(col)) + 2))) for col in columns]
        parts = [f'{XML_DECLARATION}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">',
                 sheet_properties_xml(sheet.page),
                 f'<dimension ref="A1:{letters[self.width - 1]}{end_row}"/>', sheet_view_xml(sheet.freeze),
                 cols_xml(widths), "<sheetData>"]
        parts += [self._loose_row(r, row, letters) for r, row in enumerate(sheet.preamble, start=1) if row]
        header = cell_elements(np.array([str(c) for c in columns], dtype=object), letters[:len(columns)] + str(head),
                               np.full(len(columns), self.ids.header))
        parts.append(f'<row r="{head}" ht="30" customHeight="1">' + "".join(header) + "</row>")
        yield "".join(parts).encode("utf-8")
        for start in range(0, n, BLOCK_ROWS):
            yield self._rows(start, min(start + BLOCK_ROWS, n))
        parts = [self._loose_row(sheet.postscript_row + k, row, letters)
                 for k, row in enumerate(sheet.postscript) if row]
        parts += ["</sheetData>", self.protection or ""]  # sheetProtection follows sheetData
        if n:
            last_col = letters[len(columns) - 1] if columns else "A"
            parts.append(f'<autoFilter ref="A{head}:{last_col}{head + n}"/>')
            parts.append(self.conditional_formats)
        yield "".join(parts).encode("utf-8")
        yield from self._hyperlinks()
        parts = [page_xml(sheet.page)]
        if self.drawing_rel:
            parts.append(f'<drawing r:id="{self.drawing_rel}"/>')
        parts.append("</worksheet>")
        yield "".join(parts).encode("utf-8")

    def _loose_row(self, r: int, row: list, letters: np.ndarray) -> str:
        """A preamble or postscript row."""
        refs = letters[:len(row)] + str(r)
        style = np.full(len(row), {"title": self.ids.title, "header": self.ids.header, "": 0}[self.sheet.style_of(r)])
        values = np.empty(len(row), dtype=object)
        for k, value in enumerate(row):  # one value per cell, even a tuple (np.array would make it a row of its own)
            values[k] = value
        return f'<row r="{r}">' + "".join(cell_elements(values, refs, style, self.date1904)) + "</row>"

    def _rows(self, start: int, stop: int) -> bytes:
        """The XML of data rows ``start:stop`` (0-based, in the frame)."""
        numbers = _integers(np.arange(self.head + 1 + start, self.head + 1 + stop, dtype=np.int64))
        cells = []  # per column: kinds, values and style codes of these rows
        for column in self.data_columns:
            kinds, values = _column_values(column.values.iloc[start:stop], self.date1904)
            codes = column.codes[start:stop] if column.codes is not None else None
            cells.append((kinds, values, codes))
        row_bytes = sum(column.all_openings.itemsize + values.itemsize + 24
                        for column, (_, values, _) in zip(self.data_columns, cells))
        step = max(1, BLOCK_BYTES // max(row_bytes, 1))
        openings = None if self.row_openings is None else self.row_openings[start:stop]
        if step >= stop - start:
            return self._matrix(numbers, cells, openings)
        return b"".join(self._matrix(numbers[a:a + step], [(k[a:a + step], v[a:a + step], None if c is None else
                                                            c[a:a + step]) for k, v, c in cells],
                                     None if openings is None else openings[a:a + step])
                        for a in range(0, stop - start, step))

    def _matrix(self, numbers: np.ndarray, cells: list, openings: np.ndarray | None = None) -> bytes:
        block = _Matrix(len(numbers))
        block.constant(b'<row r="')
        block.array(numbers)
        if openings is None:
            block.constant(b'">')
        else:
            block.array(openings)
        for column, (kinds, values, codes) in zip(self.data_columns, cells):
            present = kinds[kinds != _BLANK]
            if not present.size:
                continue  # no cell in these rows
            start = block.position
            block.constant(b'<c r="' + column.letter)
            block.array(numbers)
            if (present == present[0]).all():  # one kind: fields as narrow as that kind needs
                kind = int(present[0])
                if codes is None:
                    block.constant(column.openings[kind][0])
                else:
                    block.array(column.openings[kind][codes])
                block.array(values)
                block.constant(column.closings[kind])
            else:
                block.array(column.all_openings[kinds if codes is None else codes * len(_OPENING) + kinds])
                block.array(values)
                block.array(column.closings[kinds])
            if present.size < len(kinds):
                block.blank(np.flatnonzero(kinds == _BLANK), start)
        block.constant(b"</row>")
        return block.xml()

    def _hyperlinks(self) -> Iterator[bytes]:
        """``<hyperlinks>``, in blocks of rows; external links are numbered as :attr:`links` lists them."""
        started, external, places = False, 0, {}
        for col, targets in self.sheet.links.items():
            letter = column_letter(self.columns.index(col) + 1)
            kinds = self.link_kinds[col]
            for start in range(0, len(targets), BLOCK_ROWS):
                items = []
                for r in range(start, min(start + BLOCK_ROWS, len(targets))):
                    kind = kinds[r]
                    if kind == "external":
                        external += 1
                        items.append(hyperlink_xml(f"{letter}{self.head + 1 + r}", targets[r], f"rIdLink{external}"))
                    elif kind:  # a place in the workbook: its attributes escaped once per place
                        place = places.get(targets[r])
                        if place is None:
                            place = places[targets[r]] = hyperlink_xml("", targets[r]).removeprefix('<hyperlink ref=""')
                        items.append(f'<hyperlink ref="{letter}{self.head + 1 + r}"{place}')
                if items:
                    yield (("" if started else "<hyperlinks>") + "".join(items)).encode("utf-8")
                    started = True
        if started:
            yield b"</hyperlinks>"


LINE_HEIGHT = 15.0  # points per line of Calibri 11
MAX_LINES = 27  # a row of at most 409 points, Excel's highest


def wrapped_lines(texts: pd.Series, width: float) -> np.ndarray:
    """About how many lines each text takes wrapped in a column ``width`` characters wide (1 for short or
    blank text), counted in bulk: a line holds ``width - 1`` characters (words do not fill lines), and each
    line break starts a new one."""
    if not (texts.dtype == object or isinstance(texts.dtype, pd.StringDtype)):
        return np.ones(len(texts))  # numbers, dates: one line
    length = texts.str.len().fillna(0).to_numpy(dtype=float)  # not text (a number, blank): NaN, one line
    breaks = texts.str.count("\n").fillna(0).to_numpy(dtype=float)
    lines = np.ceil(length / max(width - 1.0, 1.0)) + breaks
    return np.clip(lines, 1, MAX_LINES)


def _wrapped_row_openings(sheet: OutputSheet, columns: list) -> np.ndarray | None:
    """The end of each data row's opening tag: ``">`` or, for a row whose wrapped text needs more than one line,
    its height (``" ht="45" customHeight="1">``). The spreadsheet programs do not grow a row for wrapped text
    on their own when they open a file (LibreOffice, Excel until it is edited), so the height is written."""
    widths = {col: sheet.widths.get(col, max(10, min(40, len(str(col)) + 2))) for col in columns}
    lines = np.ones(len(sheet.frame))
    for col in sheet.wrap:
        if col in widths:
            lines = np.maximum(lines, wrapped_lines(sheet.frame[col], widths[col]))
    if (lines <= 1).all():
        return None
    kinds, at = np.unique(lines, return_inverse=True)
    texts = np.array([b'">' if k <= 1 else f'" ht="{k * LINE_HEIGHT:g}" customHeight="1">'.encode("ascii")
                      for k in kinds], dtype="S")
    return texts[at]


def _link_kinds(targets: list[str | None]) -> list[str]:
    """``link_kind`` of each target, worked out once per distinct target (a column links to a few places)."""
    kinds = {target: link_kind(target) for target in set(targets)}
    return [kinds[target] for target in targets]


def worksheet_xml(sheet: OutputSheet, ids: StyleIds, drawing_rel: str | None = None, *, date1904: bool = False,
                  protection: str | None = None) -> tuple[SheetXml, list[tuple[str, str]]]:
    """The sheet's XML, as blocks of bytes made as they are iterated (``bytes(xml)`` for all of it), and its
    external hyperlinks as ``(relationship id, target)``.

    ``date1904``: dates are serials of the 1904 date system; ``protection``: a ``<sheetProtection>`` element
    kept from the sheet this one replaces.
    """
    xml = SheetXml(sheet, ids, drawing_rel, date1904=date1904, protection=protection)
    return xml, xml.links


def sheet_view_xml(freeze: str) -> str:
    """``<sheetViews>`` with the panes frozen above and left of ``freeze`` (``"A1"`` or ``""``: none)."""
    if not re.fullmatch(r"[A-Z]{1,3}\d+", freeze or "") or freeze == "A1":
        return '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    row, col = (k - 1 for k in cell_position(freeze))
    split = (f' xSplit="{col}"' if col else "") + (f' ySplit="{row}"' if row else "")
    pane = "bottomRight" if col and row else ("topRight" if col else "bottomLeft")
    return (f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{freeze}" activePane="{pane}" '
            f'state="frozen"/><selection pane="{pane}" activeCell="{freeze}" sqref="{freeze}"/></sheetView></sheetViews>')


PAGE_MARGINS = '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'  # inches


def sheet_properties_xml(page: PageSetup | None) -> str:
    """``<sheetPr>`` asking for the page setup's fit to pages (empty when the sheet prints at 100%)."""
    return '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if page is not None and page.fits else ""


def page_xml(page: PageSetup | None) -> str:
    """``<pageMargins>`` and ``<pageSetup>`` (orientation, pages wide and tall) of a sheet; the margins alone for
    ``None`` (the spreadsheet's own defaults). Print titles and area are workbook names, written by the writer."""
    if page is None:
        return PAGE_MARGINS
    attrs = f' orientation="{"landscape" if page.landscape else "portrait"}"'
    if page.fits:  # 0 is "as many pages as it takes"; 1 is the default, left out as Excel does
        attrs += "".join(f' {name}="{int(value)}"' for name, value in (("fitToWidth", page.fit_width),
                                                                       ("fitToHeight", page.fit_height)) if value != 1)
    return f"{PAGE_MARGINS}<pageSetup{attrs}/>"


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
