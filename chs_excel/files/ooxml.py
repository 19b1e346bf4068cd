"""The names Office Open XML (ECMA-376) gives things: namespaces, relationship and content types; XML escaping;
reading and writing a package's parts as streams of bytes, and finding a few things in them without parsing
all of a part."""
from __future__ import annotations

import codecs
import contextlib
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator

try:  # ISA-L (isal): deflate at level 1 ~5x as fast as zlib's (and smaller), inflate ~2x, CRC-32 ~9x
    from isal import isal_zlib as _fast
except ImportError:  # no isal wheel for this platform: zipfile's zlib does it all
    _fast = None
_FAST_LEVEL = {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 2, 6: 3, 7: 3, 8: 3, 9: 3}  # zlib's 0-9 to ISA-L's 0-3

# Namespaces (Transitional: what Excel writes; Strict files use STRICT_PREFIX and are refused by the writer)
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart"
NS_DRAWING = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS_SHEET_DRAWING = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
STRICT_PREFIX = "http://purl.oclc.org/ooxml/"
NS_REL_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"

# Relationship types
REL_WORKSHEET = f"{NS_REL}/worksheet"
REL_DRAWING = f"{NS_REL}/drawing"
REL_CHART = f"{NS_REL}/chart"
REL_HYPERLINK = f"{NS_REL}/hyperlink"
REL_STYLES = f"{NS_REL}/styles"
REL_CALC_CHAIN = f"{NS_REL}/calcChain"

# Content types
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Characters XML 1.0 cannot hold at all (not even as &#...;): dropped rather than making the part unreadable
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Text that ``escape`` would change (beyond cutting it to a limit): a quick check before escaping
NEEDS_ESCAPE = re.compile(r'[&<>"\x00-\x08\x0b\x0c\x0e-\x1f]')


def escape(text: str, limit: int | None = None) -> str:
    """``text`` made safe for XML element content and double-quoted attribute values.

    Parameters
    ----------
    text : str
        Any text; characters XML cannot hold are dropped.
    limit : int, optional
        Keep at most this many characters (counted before escaping, so an entity is never cut).
    """
    text = _NOT_XML.sub("", text)[:limit]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def part_blocks(package: zipfile.ZipFile, member: str | zipfile.ZipInfo, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of one zip member, inflated about ``size`` compressed bytes at a time: a part is scanned without
    holding all of it.

    Reading to the end checks the member's CRC (``zipfile.BadZipFile`` when it is wrong), as ``read`` does;
    damaged compressed data raises ``zlib.error`` or ``EOFError``, as there.
    """
    info = member if isinstance(member, zipfile.ZipInfo) else package.getinfo(member)
    if _fast is None or info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:  # 0x1: encrypted
        with package.open(info) as stream:
            while block := stream.read(size):
                yield block
        return
    at = _data_offset(package, info)
    end = at + info.compress_size
    inflate, crc, length = _fast.decompressobj(-15), 0, 0
    while not inflate.eof:
        raw = inflate.unconsumed_tail
        if not raw and at < end:
            with _lock(package):  # the file is shared with zipfile's own readers, which seek it too
                package.fp.seek(at)
                raw = package.fp.read(min(size, end - at))
            if not raw:
                raise EOFError(f"{info.filename} is cut short")
            at += len(raw)
        try:
            block = inflate.decompress(raw, 16 * size)  # at most this much at once, even from a zip bomb
            if not raw and not block:  # all read: what the inflater still holds
                block = inflate.flush()
                if not block and not inflate.eof:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        except _fast.error as exc:
            raise zlib.error(f"Error -3 while decompressing data: {exc}") from exc
        if block:
            crc, length = _fast.crc32(block, crc), length + len(block)
            yield block
    if crc != info.CRC or length != info.file_size:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")


def write_member(target: zipfile.ZipFile, info: zipfile.ZipInfo, blocks: Iterable[bytes], level: int,
                 zip64: bool = False) -> None:
    """Add a member deflated from ``blocks`` to ``target`` (open for writing to a file), as
    ``target.open(info, "w")`` would, but with ISA-L's deflate and CRC-32 where it is installed.

    ``zip64``: give the entry the ZIP64 extension; without it a member past 4 GiB raises RuntimeError (as zipfile
    does), and the whole package is to be written again with it.
    """
    info.compress_type = zipfile.ZIP_DEFLATED
    if _fast is None:
        info._compresslevel = level  # ZipFile.open(info, "w") takes the level from the ZipInfo
        with target.open(info, "w", force_zip64=zip64) as entry:
            for block in blocks:
                entry.write(block)
        return
    info.flag_bits, info.CRC, info.file_size, info.compress_size = 0, 0, 0, 0
    if not info.external_attr:
        info.external_attr = 0o600 << 16  # what zipfile gives a member with none: rw-------
    fp = target.fp
    fp.seek(target.start_dir)
    info.header_offset = fp.tell()
    fp.write(info.FileHeader(zip64))
    target._didModify = True
    deflate, crc, length, packed = _fast.compressobj(_FAST_LEVEL.get(level, 1), zipfile.ZIP_DEFLATED, -15), 0, 0, 0
    for block in blocks:
        crc, length = _fast.crc32(block, crc), length + len(block)
        data = deflate.compress(block)
        packed += len(data)
        fp.write(data)
    data = deflate.flush()
    packed += len(data)
    fp.write(data)
    if not zip64 and max(length, packed) > zipfile.ZIP64_LIMIT:
        raise RuntimeError("File size too large, try using force_zip64")
    info.CRC, info.file_size, info.compress_size = crc, length, packed
    target.start_dir = fp.tell()
    fp.seek(info.header_offset)
    fp.write(info.FileHeader(zip64))  # now with the CRC and sizes; the same length as before
    fp.seek(target.start_dir)
    target.filelist.append(info)
    target.NameToInfo[info.filename] = info


def _data_offset(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Where the member's compressed bytes start (after its local header)."""
    with _lock(package):
        package.fp.seek(info.header_offset)
        header = package.fp.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename!r}")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


def _lock(package: zipfile.ZipFile):
    return getattr(package, "_lock", None) or contextlib.nullcontext()


def ascii_compatible(head: bytes) -> bool:
    """Whether a part starting with ``head`` spells its markup in single bytes (UTF-8 and the like, not UTF-16),
    so its tags can be found by a byte search."""
    return not head.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"))


_DECLARATION = re.compile(rb"""(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([\w.-]+)["']""")


def declared_encoding(head: bytes) -> str:
    """The encoding named by the XML declaration at the start of ``head`` (an ASCII-compatible part); UTF-8
    without one, or for a name Python does not know, or UTF-16 declared but stored as bytes."""
    m = _DECLARATION.match(head[:200])
    encoding = m.group(1).decode("ascii").lower() if m else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        return "utf-8"
    return "utf-8" if encoding.startswith("utf-16") else encoding


# A cell formula with its text, any prefix (the text holds no "<": XML escapes it)
FORMULA = re.compile(r"<(?:\w+:)?f\b[^>]*>([^<]*)</(?:\w+:)?f>")
FORMULA_BYTES = re.compile(FORMULA.pattern.encode("ascii"))
# The start of a <sheetProtection> element, any prefix
SHEET_PROTECTION = re.compile(rb"<(?:[\w.-]+:)?sheetProtection[\s/>]")


def find_tag(data: bytes, name: bytes, tag: re.Pattern) -> re.Match | None:
    """The first match of ``tag`` (a start tag named ``name``, any prefix) in ``data``: the name is found by a
    byte search and ``tag`` tried only around it (a regex alone would stop at every '<')."""
    at = data.find(name)
    while at >= 0:
        m = tag.search(data, max(0, at - 64), at + len(name) + 1)
        if m:
            return m
        at = data.find(name, at + 1)
    return None


def tag_end(data: bytes) -> int:
    """Where the tag that ``data`` starts with ends (just past its ">"; a ">" in a quoted attribute value does
    not end it), or -1 when ``data`` does not hold all of it."""
    quote = None
    for at, byte in enumerate(data):
        if quote is not None:
            if byte == quote:
                quote = None
        elif byte in b"\"'":
            quote = byte
        elif byte == 0x3E:  # ">"
            return at + 1
    return -1


def has_formula_text(data: bytes, end: int) -> bool:
    """A formula with text (``</f>`` or ``</x:f>``) closes before ``end``: one byte search for ``f>``, each hit
    checked, instead of a regex stopping at every '<'. (``<f .../>``, a shared formula's other cells, has no text.)"""
    at = data.find(b"f>", 0, end)
    while at >= 0:
        if data[at - 2:at] == b"</" or data[at - 1:at] == b":":
            return True
        at = data.find(b"f>", at + 2, end)
    return False


def last_start_tag(data: bytes) -> int:
    """Where the last start tag of ``data`` begins (``len(data)`` if it has none; a final "<" if that is all).
    Every element with no child element (a formula, a value) that starts before it also ends before it: a block
    of XML cut there holds such elements whole, and what follows is carried into the next block."""
    at = len(data)
    while (at := data.rfind(b"<", 0, at)) >= 0:
        if data[at + 1:at + 2] not in (b"/", b""):  # a "<" at the very end may begin an end tag
            return at
    return len(data) - 1 if data.endswith(b"<") else len(data)
