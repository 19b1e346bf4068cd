"""Add the few cell formats chs-excel needs to an existing ``xl/styles.xml``, by text edits.

The file is never re-serialised: namespaces, ``mc:Ignorable`` prefixes and
extension lists stay exactly as the program that wrote them left them.
Formats already present (from an earlier refresh) are reused, so the file does
not grow with every refresh.
"""
from __future__ import annotations

import re

from chs_excel.book.look import BAND_LOOKS, HEADER, LINK, TITLE, Look
from chs_excel.files.ooxml import NS_MAIN, XML_DECLARATION, escape

MINIMAL = (f'{XML_DECLARATION}'
           f'<styleSheet xmlns="{NS_MAIN}">'
           '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           '</styleSheet>')
# Order of the styleSheet children (ECMA-376 CT_Stylesheet), to know where a missing section goes.
ORDER = ["numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs", "tableStyles",
         "colors", "extLst"]
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "0%": 9, "0.00%": 10, "yyyy-mm-dd": None}


def font_xml(look: Look) -> str:
    """The ``<font>`` of a look: bold, underline, size, colour, Calibri."""
    parts = ("<b/>" if look.bold else "") + ("<u/>" if look.underline else "") + f'<sz val="{look.size:g}"/>'
    parts += f'<color rgb="FF{look.font}"/>' if look.font else ""
    return f'<font>{parts}<name val="Calibri"/><family val="2"/></font>'


def fill_xml(color: str) -> str:
    """A solid ``<fill>`` of ``color`` (RRGGBB)."""
    return f'<fill><patternFill patternType="solid"><fgColor rgb="FF{color}"/><bgColor rgb="FF{color}"/></patternFill></fill>'


def xf_xml(font: int = 0, fill: int = 0, number_format: int = 0, wrap: bool = False, top: bool = False) -> str:
    """A cell format (``<xf>`` of ``cellXfs``) from font, fill and number format indices; ``wrap``: text wraps
    from the top of the cell; ``top``: aligned to the top without wrapping (beside wrapped cells of its row)."""
    attrs = f'numFmtId="{number_format}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"'
    attrs += "".join(f' {a}="1"' for a, on in (("applyNumberFormat", number_format), ("applyFont", font),
                                               ("applyFill", fill), ("applyAlignment", wrap or top)) if on)
    body = '<alignment vertical="top" wrapText="1"/>' if wrap else '<alignment vertical="top"/>' if top else ""
    return f"<xf {attrs}>{body}</xf>" if body else f"<xf {attrs}/>"


def dxf_xml(look: Look) -> str:
    """The differential format (``<dxf>``) a conditional-format rule applies: font colour (and bold), solid fill.

    Parts the look leaves as ``None`` are left out, so the rule keeps the cell's own."""
    font = ("<b/>" if look.bold else "") + (f'<color rgb="FF{look.font}"/>' if look.font else "")
    fill = (f'<fill><patternFill patternType="solid"><fgColor rgb="FF{look.fill}"/><bgColor rgb="FF{look.fill}"/>'
            f'</patternFill></fill>') if look.fill else ""
    return f'<dxf>{f"<font>{font}</font>" if font else ""}{fill}</dxf>'


class Styles:
    """Editable view of styles.xml: ``font()``, ``fill()``, ``xf()``, ``dxf()`` return indices."""

    def __init__(self, xml: str | None):
        self.xml = xml or MINIMAL
        root = re.search(r"<(\w+:)?styleSheet\b", self.xml)
        self.p = (root.group(1) or "") if root else ""  # "x:" when the file prefixes its elements

    def _section(self, tag: str) -> re.Match | None:
        p = self.p
        return re.search(rf"<{p}{tag}\b[^>]*?(/>|>(.*?)</{p}{tag}>)", self.xml, re.S)

    def _children(self, tag: str, child: str) -> list[str]:
        m = self._section(tag)
        if not m or m.group(1) == "/>":
            return []
        p = self.p
        return re.findall(rf"<{p}{child}\b(?:[^>]*/>|.*?</{p}{child}>)", m.group(2), re.S)

    def _add(self, tag: str, child: str, element: str) -> int:
        """Index of ``element`` in section ``tag``, appending it if it is not there yet."""
        if self.p:
            element = re.sub(r"<(/?)(\w+)\b", rf"<\1{self.p}\2", element)
        children = self._children(tag, child)
        if element in children:
            return children.index(element)
        m = self._section(tag)
        if m is None:
            later = [t for t in ORDER[ORDER.index(tag) + 1:] if self._section(t)]
            block = f'<{self.p}{tag} count="1">{element}</{self.p}{tag}>'
            if later:
                at = self._section(later[0]).start()
                self.xml = self.xml[:at] + block + self.xml[at:]
            else:
                at = self.xml.rindex(f"</{self.p}styleSheet>")
                self.xml = self.xml[:at] + block + self.xml[at:]
            return 0
        count = len(children) + 1
        if m.group(1) == "/>":
            opening = re.sub(r'\scount="\d+"', "", self.xml[m.start():m.end()]).removesuffix("/>").rstrip()
            block = f'{opening} count="{count}">{element}</{self.p}{tag}>'
        else:
            opening = re.sub(r'\scount="\d+"', "", self.xml[m.start():m.start(2)]).rstrip(">")
            block = f'{opening} count="{count}">{m.group(2)}{element}</{self.p}{tag}>'
        self.xml = self.xml[:m.start()] + block + self.xml[m.end():]
        return count - 1

    def number_format(self, code: str) -> int:
        if BUILTIN_FORMATS.get(code) is not None:
            return BUILTIN_FORMATS[code]
        formats = self._children("numFmts", "numFmt")
        for f in formats:
            if f'formatCode="{escape(code)}"' in f:
                return int(re.search(r'numFmtId="(\d+)"', f).group(1))
        used = [int(x) for x in re.findall(r'numFmtId="(\d+)"', "".join(formats))]
        new_id = max([163] + used) + 1
        self._add("numFmts", "numFmt", f'<numFmt numFmtId="{new_id}" formatCode="{escape(code)}"/>')
        return new_id

    def font(self, look: Look) -> int:
        return self._add("fonts", "font", font_xml(look))

    def fill(self, color: str) -> int:
        return self._add("fills", "fill", fill_xml(color))

    def xf(self, font: int = 0, fill: int = 0, number_format: int = 0, wrap: bool = False, top: bool = False) -> int:
        return self._add("cellXfs", "xf", xf_xml(font, fill, number_format, wrap, top))

    def dxf(self, look: Look) -> int:
        return self._add("dxfs", "dxf", dxf_xml(look))

    def cell_format(self, look: Look) -> int:
        """The cell format (index into ``cellXfs``) of a look."""
        return self.xf(self.font(look), self.fill(look.fill) if look.fill else 0, wrap=look.wrap)


class StyleIds:
    """The cell-format indices one refresh uses, added to ``styles`` once."""

    def __init__(self, styles: Styles):
        self.styles = styles
        self._parts: dict[int, tuple[int, int, int]] = {0: (0, 0, 0)}  # xf -> (font, fill, number format)
        self._looks: dict[tuple[Look, str], int] = {}
        self.header = self.look(HEADER)
        self.title = self.look(TITLE)
        self.link = self.look(LINK)
        self.band = {band: self.look(look) for band, look in BAND_LOOKS.items()}
        self.band_dxf = {band: styles.dxf(look) for band, look in BAND_LOOKS.items()}
        self._formats: dict[str, int] = {}
        self._wrapped: dict[int, int] = {}
        self._top: dict[int, int] = {}
        self._dxfs: dict[Look, int] = {}

    def _xf(self, font: int = 0, fill: int = 0, number_format: int = 0, wrap: bool = False) -> int:
        xf = self.styles.xf(font, fill, number_format, wrap)
        if not wrap:
            self._parts[xf] = (font, fill, number_format)
        return xf

    def number_format(self, code: str) -> int:
        if code not in self._formats:
            self._formats[code] = self._xf(number_format=self.styles.number_format(code))
        return self._formats[code]

    def look(self, look: Look | None, number_format: str = "") -> int:
        """The cell format of a look (``None``: the default font, no fill) with a number format (``""``: General)."""
        key = (look or Look(), number_format)
        if key not in self._looks:
            numbers = self.styles.number_format(number_format) if number_format else 0
            if look is None:
                self._looks[key] = self._xf(number_format=numbers) if numbers else 0
            else:
                font, fill = self.styles.font(look), self.styles.fill(look.fill) if look.fill else 0
                self._looks[key] = self._xf(font, fill, numbers, look.wrap)
        return self._looks[key]

    def wrapped(self, xf: int) -> int:
        """``xf`` (a format made here) with its text wrapped and aligned to the top of the cell."""
        if xf not in self._wrapped:
            parts = self._parts.get(xf)
            self._wrapped[xf] = xf if parts is None else self.styles.xf(*parts, wrap=True)  # None: wraps already
        return self._wrapped[xf]

    def top_aligned(self, xf: int) -> int:
        """``xf`` (a format made here) aligned to the top of the cell, so a row reads from its top line."""
        if xf not in self._top:
            parts = self._parts.get(xf)
            self._top[xf] = xf if parts is None else self.styles.xf(*parts, top=True)  # None: aligned already
        return self._top[xf]

    def dxf(self, look: Look) -> int:
        """The differential format (index into ``dxfs``) of a conditional-format rule's look."""
        if look not in self._dxfs:
            self._dxfs[look] = self.styles.dxf(look)
        return self._dxfs[look]
