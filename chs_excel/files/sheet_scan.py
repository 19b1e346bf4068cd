"""What the file reader needs from a sheet's XML that python-calamine does not give.

* cells holding an Excel error (``t="e"``) or a formula with no saved value (calamine reads both as blank);
* hidden rows;
* the sheet's used range, *before* calamine sees the sheet: calamine builds a dense grid from the
  first to the last cell, so one stray value at XFD1048576 asks it for 16,384 x 1,048,576 cells
  (hundreds of GB) and the process aborts. A sheet whose range is too large is read from a trimmed
  copy holding only the block under its header row (:func:`trimmed_sheet`), or refused.

The XML is parsed as XML (expat, no DTDs or entities): attribute order, quoting, whitespace and
namespace prefixes are free. Parsing every cell costs about 2 s per million cells, so the sheet is
first streamed once (inflated a chunk at a time, never held whole) through cheap byte searches
(:func:`prescan`), and parsed only when they find something: a cell reference that can make the used
range large (two or more column letters, or a row beyond Excel's last), or a marker of what calamine
does not give (an ``"e"`` attribute value, a formula, ``hidden``).
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from chs_excel.book.table import column_letter, column_number
from chs_excel.cellvalues import CellError
from chs_excel.files.ooxml import NS_MAIN, XML_DECLARATION, escape, part_blocks

NO_SAVED_VALUE = "(formula with no saved value: open and save the workbook in Excel to calculate it)"

# The most cells of one sheet handed to calamine (it holds them densely, ~32 bytes each, then Python
# lists of them). 26 columns x 1,048,576 rows fits, so a sheet whose cell references have one letter
# and a row Excel can have never needs the full parse for its size.
MAX_CELLS = 28_000_000

CHUNK = 1 << 17  # compressed bytes inflated at a time (about 1 MB of XML: searched while in the CPU's cache)
# In the folded XML (see _folded), the start of an r attribute that may put the used range far: two column letters
# (either case: calamine reads both), or a row beyond 1,048,576, Excel's last (8+ digits, or 7 from 1,048,577).
# Typical references fail it at their second or third character, which keeps the search fast.
_FAR_HINT = re.compile(rb"""r="(?:(?P<letters>[A-Za-z]{2})|[A-Za-z]?(?=\d{7})"""
                       rb"""(?:\d{8}|[2-9]|1[1-9]|10[5-9]|1049|1048[6-9]|10485[89]|104857[7-9]))""")
# A letters hint is a reference only when letters are followed by digits and the closing quote (calamine refuses
# anything else), so `xmlns:r="http://..."` or `operator="greaterThan"` is not one.
_LETTERS_REF = re.compile(rb"""r="[A-Za-z]+(\d*)""")
_LONGEST_CUT = 4096  # a reference cut by a chunk's end is carried over whole; one longer than this counts as far
_REF = re.compile(r"\s*([A-Za-z]+)(\d+)\s*$")


def _has_formula(data: bytes) -> bool:
    """An <f> element (any prefix) anywhere: found by byte search, much faster than a regex over every '<'."""
    for needle in (b"<f", b":f"):
        i = data.find(needle)
        while i >= 0:
            if data[i + 2:i + 3] in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
                return True
            i = data.find(needle, i + 2)
    return False


def sheet_chunks(package: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The part's XML, inflated a chunk at a time (ISA-L where installed; the CRC is checked at the end)."""
    return part_blocks(package, part, CHUNK)


# Deletes XML whitespace (so `r = " AB1"` reads `r="AB1"`) and makes every quote `"`: one search then covers
# both quotings.
_SPACE = b" \t\r\n"
_QUOTES = bytes.maketrans(b"'", b'"')


class _FarSearch:
    """Fed a sheet's XML chunk by chunk (whitespace deleted, quotes made `"`): has a cell or row reference appeared
    that could put the used range beyond :data:`MAX_CELLS`? False positives only cost the full parse. A reference
    cut by a chunk boundary is searched again with the next chunk (the bytes carried over hold it whole)."""

    def __init__(self):
        self.carry = b""

    def feed(self, folded: bytes) -> bool:
        text = self.carry + folded
        self.carry = text[-16:]  # longer than any whole match of _FAR_HINT
        for hint in _FAR_HINT.finditer(text):
            if not hint.group("letters"):
                return True
            ref = _LETTERS_REF.match(text, hint.start())
            if ref.end() == len(text):  # the text ends inside it: decided with the next chunk
                if ref.end() - ref.start() > _LONGEST_CUT:
                    return True
                self.carry = text[ref.start():]
                break
            if ref.group(1) and text[ref.end()] == ord('"'):
                return True
        return False


class _MarkerSearch:
    """Fed a sheet's XML chunk by chunk, as it is and folded like :class:`_FarSearch`'s: may it hold an error cell,
    a formula (saved value or not) or a hidden row?"""

    def __init__(self):
        self.carry = self.folded_carry = b""

    def feed(self, raw: bytes, folded: bytes) -> bool:
        text, folded = self.carry + raw, self.folded_carry + folded
        self.carry, self.folded_carry = text[-8:], folded[-8:]  # longer than any marker
        return b'"e"' in folded or b"hidden" in folded or _has_formula(text)


def _folded(chunk: bytes) -> bytes:
    return chunk.translate(_QUOTES, _SPACE)


def far_reference(chunks: Iterable[bytes]) -> bool:
    """True when a cell or row reference could put the used range beyond :data:`MAX_CELLS` (see :class:`_FarSearch`)."""
    search = _FarSearch()
    return any(search.feed(_folded(chunk)) for chunk in chunks)


def has_markers(chunks: Iterable[bytes]) -> bool:
    """True when the XML may hold an error cell, a formula (saved value or not) or a hidden row."""
    search = _MarkerSearch()
    return any(search.feed(chunk, _folded(chunk)) for chunk in chunks)


def prescan(chunks: Iterable[bytes]) -> tuple[bool, bool]:
    """:func:`far_reference` and :func:`has_markers` in one pass over the chunks (the XML is inflated once).

    Returns (far, marked); ``marked`` may stay False when ``far`` is True (the full parse finds everything then).
    """
    far, marks = _FarSearch(), _MarkerSearch()
    marked = False
    for chunk in chunks:
        folded = _folded(chunk)
        marked = marked or marks.feed(chunk, folded)
        if far.feed(folded):
            return True, marked
    return False, marked


@dataclass
class SheetScan:
    errors: dict[tuple[int, int], CellError] = field(default_factory=dict)  # (row, col), 1-based
    hidden: list[int] = field(default_factory=list)                           # Excel row numbers
    max_row: int = 0      # the used range (every <c>, valued or not); 0 when the full parse was not needed
    max_col: int = 0
    spans: dict[int, list[int]] = field(default_factory=dict)  # row -> [first, last] column holding a value
    merged: list[str] = field(default_factory=list)
    far_cell: str = ""    # the cell that set the used range's far corner, for messages

    @property
    def cells(self) -> int:
        return self.max_row * self.max_col

    def block(self) -> tuple[int, int]:
        """(last row, last column) of the block a table can come from: the first row holding a value is
        the header candidate, its last value the table's last column; rows run to the last one with a
        value in those columns. Cells right of that block (or below it and right of it) cannot be in the table."""
        if not self.spans:
            return 0, 0
        last_col = self.spans[min(self.spans)][1]
        last_row = max(r for r, (first, _) in self.spans.items() if first <= last_col)
        return last_row, last_col


def _parser() -> expat.XMLParserType:
    parser = expat.ParserCreate()

    def forbid(*_args):
        raise ValueError("the sheet's XML declares entities (refused: an XML bomb or external entity)")
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


class _Names(dict):
    """Element name -> local name (``x:c`` -> ``c``), computed once per spelling."""

    def __missing__(self, name: str) -> str:
        local = self[name] = name.rpartition(":")[2]
        return local


def _position(ref: str | None, row: int, col: int) -> tuple[int, int]:
    m = _REF.match(ref) if ref else None
    return (int(m.group(2)), column_number(m.group(1))) if m else (row, col)


def scan_sheet(data: bytes, force: bool = False) -> SheetScan:
    """Errors, hidden rows and (when it could be large, or ``force``) the used range of one sheet's XML.

    Raises ``ValueError``/``expat.ExpatError`` for XML that is not well formed.
    """
    far, marked = (True, True) if force else prescan((data,))
    return parse_sheet((data,), far) if far or marked else SheetScan()


def parse_sheet(chunks: Iterable[bytes], extent: bool) -> SheetScan:
    """Parse the XML (fed chunk by chunk) for errors and hidden rows; with ``extent`` also the used range,
    each row's valued span and the merged ranges."""
    scan = SheetScan()
    names = _Names()
    errors, hidden, spans, merged = scan.errors, scan.hidden, scan.spans, scan.merged
    text: list[str] = []
    row = col = 0            # where the current cell is when it has no reference of its own
    ref = kind = value = pending = None
    formula = valued = in_v = False
    max_row = max_col = 0
    far = ""
    parser = _parser()
    collect = text.append

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row, col, ref, kind, value, formula, valued, in_v, max_row, max_col, far, pending
        local = names[name]
        if local == "c":
            ref, kind, value, formula, valued = attrs.get("r"), attrs.get("t"), None, False, False
            if ref and extent:
                row, col = _position(ref, row, col + 1)
            elif ref:
                pending = ref  # parsed only if needed: a later cell has no reference, or this one is an error
            else:
                if pending:
                    row, col = _position(pending, row, col)
                    pending = None
                col += 1
            if extent:
                if row > max_row:
                    max_row, far = row, ref or far
                if col > max_col:
                    max_col, far = col, ref or far
        elif local == "v":
            valued = True
            if kind == "e" or formula:
                text.clear()
                parser.CharacterDataHandler = collect
                in_v = True
        elif local == "f":
            formula = True
        elif local == "row":
            r = attrs.get("r", "").strip()
            row, col, pending = (int(r) if r.isdigit() else row + 1), 0, None
            if attrs.get("hidden", "").strip() in ("1", "true"):
                hidden.append(row)
        elif local == "is":
            valued = True
        elif local == "mergeCell" and attrs.get("ref"):
            merged.append(attrs["ref"].strip())

    def end(name: str) -> None:
        nonlocal row, col, value, in_v, pending
        local = names[name]
        if local == "c":
            if kind == "e" or (formula and not value):
                if ref and not extent:
                    row, col = _position(ref, row, col)
                    pending = None
                if kind == "e":
                    errors[(row, col)] = CellError(value.strip() if value and value.strip() else "#ERROR")
                else:
                    errors[(row, col)] = CellError(NO_SAVED_VALUE)
            if valued and extent:
                span = spans.get(row)
                if span is None:
                    spans[row] = [col, col]
                elif col < span[0]:
                    span[0] = col
                elif col > span[1]:
                    span[1] = col
        elif local == "v" and in_v:
            parser.CharacterDataHandler = None
            in_v = False
            value = "".join(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    for chunk in chunks:
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
    scan.max_row, scan.max_col, scan.far_cell = max_row, max_col, far
    return scan


def read_scan(package: zipfile.ZipFile, part: str) -> tuple[bytes, SheetScan]:
    """The part's whole XML and its :func:`scan_sheet` (for tests; the reader streams the part, never holding it)."""
    data = package.read(part)
    return data, scan_sheet(data)


def trimmed_sheet(data: bytes | Iterable[bytes], last_row: int, last_col: int) -> bytes:
    """A minimal worksheet XML holding only the values of cells in rows 1..last_row, columns 1..last_col.

    ``data``: the sheet's XML, whole or as chunks (:func:`sheet_chunks`). Values, types and styles (for
    dates) are kept; formulas, formatting and everything else are not needed to read values and are left out.
    """
    names = _Names()
    out: list[str] = [f'{XML_DECLARATION}<worksheet xmlns="{NS_MAIN}"><sheetData>']
    state = {"row": 0, "col": 0, "attrs": None, "v": None, "is": None, "in": "", "phonetic": 0, "open_row": 0}
    text: list[str] = []
    parser = _parser()

    def collect(chunk: str) -> None:
        text.append(chunk)

    def start(name: str, attrs: dict[str, str]) -> None:
        local = names[name]
        if local == "row":
            r = attrs.get("r", "").strip()
            state["row"] = int(r) if r.isdigit() else state["row"] + 1
            state["col"] = 0
        elif local == "c":
            m = _REF.match(attrs.get("r") or "")
            if m:
                state["row"], state["col"] = int(m.group(2)), column_number(m.group(1))
            else:
                state["col"] += 1
            state["attrs"], state["v"], state["is"] = attrs, None, None
        elif local == "v" and state["attrs"] is not None:
            text.clear()
            parser.CharacterDataHandler = collect
        elif local == "is":
            state["is"] = []
        elif local == "rPh":
            state["phonetic"] += 1
        elif local == "t" and state["is"] is not None and not state["phonetic"]:
            text.clear()
            parser.CharacterDataHandler = collect

    def end(name: str) -> None:
        local = names[name]
        if local == "v" and state["attrs"] is not None:
            parser.CharacterDataHandler = None
            state["v"] = "".join(text)
        elif local == "t" and state["is"] is not None and not state["phonetic"]:
            parser.CharacterDataHandler = None
            state["is"].append("".join(text))
        elif local == "rPh":
            state["phonetic"] -= 1
        elif local == "c" and state["attrs"] is not None:
            row, col, attrs = state["row"], state["col"], state["attrs"]
            state["attrs"] = None
            if row > last_row or col > last_col or (state["v"] is None and state["is"] is None):
                return
            if row != state["open_row"]:
                if state["open_row"]:
                    out.append("</row>")
                out.append(f'<row r="{row}">')
                state["open_row"] = row
            extra = "".join(f' {k}="{escape(attrs[k].strip())}"' for k in ("t", "s") if attrs.get(k))
            body = f"<v>{escape(state['v'])}</v>" if state["is"] is None else \
                f'<is><t xml:space="preserve">{escape("".join(state["is"]))}</t></is>'
            out.append(f'<c r="{column_letter(col)}{row}"{extra}>{body}</c>')

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    for chunk in ((data,) if isinstance(data, bytes) else data):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
    if state["open_row"]:
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out).encode("utf-8")
