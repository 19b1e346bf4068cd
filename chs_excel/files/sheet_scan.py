"""What the file reader needs from a sheet's XML that python-calamine does not give.

* cells holding an Excel error (``t="e"``) or a formula with no saved value (calamine reads both as blank);
* hidden rows;
* the sheet's used range, *before* calamine sees the sheet: calamine builds a dense grid from the
  first to the last cell, so one stray value at XFD1048576 asks it for 16,384 x 1,048,576 cells
  (hundreds of GB) and the process aborts. A sheet whose range is too large is read from a trimmed
  copy holding only the block under its header row (:func:`trimmed_sheet`), or refused.

The XML is parsed as XML (expat, no DTDs or entities): attribute order, quoting, whitespace and
namespace prefixes are free. Parsing every cell costs about 2 s per million cells, so cheap byte
checks first rule out sheets that cannot hold anything of interest (no ``"e"`` attribute value,
no formula, no ``hidden``, no cell reference beyond column Z or row 999,999).
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from xml.parsers import expat

from chs_excel.book.table import column_letter, column_number
from chs_excel.cellvalues import CellError
from chs_excel.files.ooxml import NS_MAIN, XML_DECLARATION, escape

NO_SAVED_VALUE = "(formula with no saved value: open and save the workbook in Excel to calculate it)"

# The most cells of one sheet handed to calamine (it holds them densely, ~32 bytes each, then Python
# lists of them). 26 columns x 1,048,576 rows fits, so a sheet whose cell references have one letter
# and at most six digits never needs the full parse for its size.
MAX_CELLS = 28_000_000

# A reference (any quoting/whitespace) with two or more column letters or a 7+ digit row: the only
# cells that can make the used range larger than MAX_CELLS.
_FAR = re.compile(rb"""r\s*=\s*["']\s*(?:[A-Z]{2}|[A-Z]*\d{7})""")
_REF = re.compile(r"\s*([A-Za-z]{1,4})(\d{1,9})\s*$")


def _has_formula(data: bytes) -> bool:
    """An <f> element (any prefix) anywhere: found by byte search, much faster than a regex over every '<'."""
    for needle in (b"<f", b":f"):
        i = data.find(needle)
        while i >= 0:
            if data[i + 2:i + 3] in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
                return True
            i = data.find(needle, i + 2)
    return False


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


def _needs_parse(data: bytes) -> bool:
    return (b'"e"' in data or b"'e'" in data or b"hidden" in data or _has_formula(data)
            or _FAR.search(data) is not None)


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
    """Errors, hidden rows and (when it could be large) the used range of one sheet's XML.

    Raises ``ValueError``/``expat.ExpatError`` for XML that is not well formed.
    """
    scan = SheetScan()
    if not force and not _needs_parse(data):
        return scan
    extent = force or _FAR.search(data) is not None  # positions of every cell are needed only then
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
    parser.Parse(data, True)
    scan.max_row, scan.max_col, scan.far_cell = max_row, max_col, far
    return scan


def read_scan(package: zipfile.ZipFile, part: str) -> tuple[bytes, SheetScan]:
    data = package.read(part)
    return data, scan_sheet(data)


def trimmed_sheet(data: bytes, last_row: int, last_col: int) -> bytes:
    """A minimal worksheet XML holding only the values of cells in rows 1..last_row, columns 1..last_col.

    Values, types and styles (for dates) are kept; formulas, formatting and everything else are not
    needed to read values and are left out.
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
    parser.Parse(data, True)
    if state["open_row"]:
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out).encode("utf-8")
