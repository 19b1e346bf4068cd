"""The names Office Open XML (ECMA-376) gives things: namespaces, relationship and content types; XML escaping."""
from __future__ import annotations

import re

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
