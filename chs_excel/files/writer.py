"""Refresh a workbook file by swapping only chs-excel's own parts inside its zip package.

Every part chs-excel does not own is copied byte for byte, compressed bytes
and all: charts, pictures, shapes, pivot tables, comments, data validation,
defined names, protection, the cached values of formulas, VBA. The few shared
parts a new sheet must be registered in (``workbook.xml``, its relationships,
``[Content_Types].xml``, ``styles.xml``, ``calcChain.xml``) are edited as text,
never re-serialised.
"""
from __future__ import annotations

import html
import re
import struct
import zipfile
import zlib
from contextlib import closing
from itertools import chain
from pathlib import Path
from xml.parsers import expat

from chs_excel.contract import SNAPSHOT_SHEET
from chs_excel.files.atomic import atomic_write, check_writable
from chs_excel.files.package import open_package
from chs_excel.book.form import FormSheet, LineChart, PageSetup
from chs_excel.book.table import OutputSheet, quoted_sheet
from chs_excel.problems import BookError
from chs_excel.files.chart import chart_xml, drawing_xml, line_chart_xml, line_drawing_xml
from chs_excel.files.form import form_xml
from chs_excel.files.ooxml import (CT_CHART, CT_DRAWING, CT_RELS, CT_STYLES, CT_WORKSHEET, FORMULA, FORMULA_BYTES,
                                   NS_PACKAGE_REL, NS_REL, REL_CALC_CHAIN, REL_CHART, REL_DRAWING, REL_HYPERLINK,
                                   REL_STYLES, REL_WORKSHEET, SHEET_PROTECTION, XML_DECLARATION, ascii_compatible,
                                   declared_encoding, escape, find_tag, has_formula_text, last_start_tag,
                                   part_blocks, tag_end, write_member)
from chs_excel.files.opc import Package, Sheet, damaged, decode_xml, encode_xml, local, relative, rels_path
from chs_excel.files.styles import Styles, StyleIds
from chs_excel.files.worksheet import worksheet_xml

COMPRESS_LEVEL = 1  # deflate level for the parts written: ~5x faster than 6, ~35% larger, same format


def _rels(items: list[tuple[str, str, str, bool]]) -> bytes:
    body = "".join(f'<Relationship Id="{rid}" Type="{kind}" Target="{escape(target)}"'
                   + (' TargetMode="External"' if external else "") + "/>" for rid, kind, target, external in items)
    return f'{XML_DECLARATION}<Relationships xmlns="{NS_PACKAGE_REL}">{body}</Relationships>'.encode("utf-8")


def _free(pattern: str, taken: set[str]) -> str:
    k = 1
    while pattern.format(k) in taken:
        k += 1
    return pattern.format(k)


def copy_raw(source: zipfile.ZipFile, target: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one member's compressed bytes as they are (no inflate, no deflate)."""
    source.fp.seek(info.header_offset)
    header = source.fp.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    source.fp.seek(info.header_offset + 30 + name_length + extra_length)
    raw = source.fp.read(info.compress_size)
    clone = zipfile.ZipInfo(info.filename, info.date_time)
    clone.compress_type, clone.CRC = info.compress_type, info.CRC
    clone.compress_size, clone.file_size = info.compress_size, info.file_size
    clone.external_attr, clone.create_system, clone.flag_bits = info.external_attr, info.create_system, info.flag_bits & ~0x08
    clone.header_offset = target.fp.tell()
    target.fp.write(clone.FileHeader(zip64=info.file_size > 0xFFFFFFFF or info.compress_size > 0xFFFFFFFF))
    target.fp.write(raw)
    target.filelist.append(clone)
    target.NameToInfo[clone.filename] = clone
    target.start_dir = target.fp.tell()
    target._didModify = True


OUTPUT_FOLDERS = {"sheet": "worksheets/sheet{}.xml", "drawing": "drawings/drawing{}.xml", "chart": "charts/chart{}.xml"}
# CT_Workbook children after definedNames: calcPr goes before the first of these present
AFTER_CALC_PR = ("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes", "webPublishing",
                 "fileRecoveryPr", "webPublishObjects", "extLst")
PRINT_NAMES = {"_xlnm.print_titles", "_xlnm.print_area"}
KIND_NAMES = {"chartsheet": "a chart sheet", "dialogsheet": "a dialog sheet", "xlmacrosheet": "a macro sheet",
              "xlintlmacrosheet": "a macro sheet"}


def _sheet_reference(names: list[str]) -> re.Pattern:
    """A formula reference to one of ``names``: ``Scores!F2``, ``'Score History'!A1``, ``'Scores'!A1:B2``."""
    quoted = "|".join(re.escape(quoted_sheet(n)) for n in names)
    bare = "|".join(re.escape(n) for n in names if re.fullmatch(r"[A-Za-z_][\w.]*", n))
    pattern = rf"(?:{quoted})!" + (rf"|(?<![\w.'\]])(?:{bare})!" if bare else "")
    return re.compile(pattern, re.I)


class Plan:
    """The edits one refresh makes to a package: parts replaced, added and dropped."""

    def __init__(self, package: zipfile.ZipFile, label: str = "the workbook"):
        self.package, self.label = package, label
        self.opc = opc = Package(package, label)
        if opc.is_strict():
            raise BookError(f"{label} is saved as Strict Open XML, which chs-excel cannot update yet; in Excel use "
                            f"File > Save As > Excel Workbook (.xlsx) and try again. Nothing was changed.")
        self.main = opc.main
        self.main_rels = opc.find(rels_path(self.main)) or rels_path(self.main)
        self.types_part = opc.find("[Content_Types].xml")
        if self.types_part is None:
            raise damaged(label, "it has no [Content_Types].xml")
        self.folder = self.main.rpartition("/")[0]
        self.workbook = opc.text(self.main)
        self.workbook_rels = opc.text(self.main_rels) if opc.find(self.main_rels) else (
            f'{XML_DECLARATION}<Relationships xmlns="{NS_PACKAGE_REL}"></Relationships>')
        self.types = opc.text(self.types_part)
        root = opc.workbook_root()
        self.p = self._prefix(self.workbook, "workbook")  # "x:" when the workbook's elements are prefixed
        self.r = next((m.group(1) for m in re.finditer(r'xmlns:(\w+)="([^"]+)"', self._root_tag(self.workbook, "workbook"))
                       if m.group(2) == NS_REL), None)
        props = next((e for e in root if local(e.tag) == "workbookPr"), None)
        self.date1904 = props is not None and props.get("date1904", "").strip().lower() in ("1", "true")
        self.sheets = opc.sheets()
        workbook_rels = opc.rels(self.main)
        styles = next((r.part for r in workbook_rels if r.type == REL_STYLES and opc.find(r.part)), None)
        self.styles_part = opc.find(styles) if styles else None
        self.styles = Styles(opc.text(self.styles_part) if self.styles_part else None)
        calc = next((r.part for r in workbook_rels if r.type == REL_CALC_CHAIN and opc.find(r.part)), None)
        self.calc_part = opc.find(calc) if calc else None
        self.parts = {s.name: s.part for s in self.sheets if s.part}
        self.written: dict[str, bytes] = {}
        self.dropped: set[str] = set()
        self.removed_ids: set[str] = set()  # sheetIds of the sheets deleted
        self.formula_free: set[str] = set()  # parts the reader inflated whole and found without formulas
        self.verified: set[str] = set()  # parts read to their end here (CRC checked): see _referenced_elsewhere
        # chs-excel's Score History snapshots: no formulas of ours, never scanned or inflated unless replaced
        self.snapshot_parts = {s.part for s in self.sheets if s.part and SNAPSHOT_SHEET.match(s.name)}

    @staticmethod
    def _root_tag(text: str, name: str) -> str:
        m = re.search(rf"<(?:\w+:)?{name}\b[^>]*>", text)
        return m.group(0) if m else ""

    @staticmethod
    def _prefix(text: str, name: str) -> str:
        m = re.search(rf"<(\w+:)?{name}\b", text)
        return m.group(1) or "" if m else ""

    def taken(self) -> set[str]:
        return {n.lower() for n in (set(self.opc.parts.values()) - self.dropped) | set(self.written)}

    def _free(self, kind: str) -> str:
        pattern = f"{self.folder}/{OUTPUT_FOLDERS[kind]}" if self.folder else OUTPUT_FOLDERS[kind]
        taken, k = self.taken(), 1
        while pattern.format(k).lower() in taken:
            k += 1
        return pattern.format(k)

    def _rid(self) -> str:
        used = set(re.findall(r'Id="([^"]+)"', self.workbook_rels))
        return _free("rIdChs{}", used)

    def _append(self, text: str, closing: str, element: str) -> str:
        m = list(re.finditer(rf"</(\w+:)?{closing}\s*>", text))
        if not m:
            raise damaged(self.label, f"no </{closing}> where one is needed")
        at, prefix = m[-1].start(), m[-1].group(1) or ""
        if prefix:  # the part uses a prefix for its own namespace: our element must too
            element = re.sub(r"<(/?)(\w+)\b", rf"<\1{prefix}\2", element)
        return text[:at] + element + text[at:]

    def _override(self, part: str, content_type: str) -> None:
        if not re.search(rf'PartName="/{re.escape(part)}"', self.types, re.I):
            self.types = self._append(self.types, "Types", f'<Override PartName="/{part}" ContentType="{content_type}"/>')

    def _drop(self, part: str) -> None:
        """Leave ``part`` out; its content type goes in :meth:`_forget_dropped_types`, unless the part is written
        again under the same name (then its entry stays where it was, so a second refresh changes no byte)."""
        self.dropped.add(part)

    def _type_new_relationship_parts(self) -> None:
        """Some producers list every part by name and declare no default type for ``.rels``: name ours too."""
        if re.search(r'<(\w+:)?Default\b[^>]*Extension="rels"', self.types, re.I):
            return
        for part in sorted(self.written):
            if part.lower().endswith(".rels"):
                self._override(part, CT_RELS)

    def _forget_dropped_types(self) -> None:
        for part in sorted(self.dropped - set(self.written)):
            self.types = re.sub(rf'<(\w+:)?Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "", self.types,
                                flags=re.I)

    def _relationship(self, rid: str, kind: str, target: str) -> None:
        self.workbook_rels = self._append(self.workbook_rels, "Relationships",
                                          f'<Relationship Id="{rid}" Type="{kind}" Target="{escape(target)}"/>')

    def existing(self, name: str):
        """The workbook's sheet matching ``name`` as Excel does (ignoring case), if any."""
        key = name.strip().casefold()
        return next((s for s in self.sheets if s.name.strip().casefold() == key), None)

    def sheet_path(self, name: str, hidden: bool = False) -> str:
        sheet = self.existing(name)
        if sheet is not None and sheet.part:
            return sheet.part
        path = self._free("sheet")
        rid = self._rid()
        ids = [int(s.sheet_id) for s in self.sheets if s.sheet_id.isdigit()]
        rel_attr = f'{self.r}:id="{rid}"' if self.r else f'xmlns:r="{NS_REL}" r:id="{rid}"'
        state = ' state="hidden"' if hidden else ""
        entry = f'<{self.p}sheet name="{escape(name)}" sheetId="{max(ids, default=0) + 1}"{state} {rel_attr}/>'
        m = re.search(rf"</{self.p}sheets\s*>|<{self.p}sheets\s*/>", self.workbook)
        if m is None:
            raise damaged(self.label, "its workbook part lists no sheets")
        block = entry if m.group(0).startswith("</") else f"<{self.p}sheets>{entry}</{self.p}sheets>"
        self.workbook = self.workbook[:m.start()] + block + self.workbook[m.end() if not m.group(0).startswith("</") else m.start():]
        self._relationship(rid, REL_WORKSHEET, relative(self.main, path))
        self._override(path, CT_WORKSHEET)
        self.sheets.append(Sheet(name, str(max(ids, default=0) + 1), rid, "worksheet", path))
        self.parts[name] = path
        return path

    def remove_sheet(self, name: str) -> None:
        """Delete one of chs-excel's own worksheets (a Score History snapshot no longer kept): its entry, its
        relationship, its part and what only it uses; defined names and views that count sheets by position
        are renumbered so they keep pointing at the same sheets."""
        sheet = self.existing(name)
        if sheet is None or sheet.kind != "worksheet" or not sheet.part:
            return
        position = self.sheets.index(sheet)
        others = self.opc.reachable([""], skip={sheet.part})
        for part in self.opc.reachable([sheet.part]) - others:
            self._drop(part)
        self.removed_ids.add(sheet.sheet_id)
        p = self.p
        entry = next((m for m in re.finditer(rf"<{p}sheet\b[^>]*/>", self.workbook)
                      if re.search(rf'\bid="{re.escape(sheet.rid)}"', m.group(0))), None)
        if entry is None:
            raise damaged(self.label, f"its workbook part has no entry for the sheet '{sheet.name}'")
        self.workbook = self.workbook[:entry.start()] + self.workbook[entry.end():]
        self.workbook_rels = re.sub(rf'<(\w+:)?Relationship\b[^>]*\bId="{re.escape(sheet.rid)}"[^>]*/>', "",
                                    self.workbook_rels)

        def renumber(m: re.Match) -> str:
            k = int(m.group(2))
            return f'{m.group(1)}="{k - 1 if k > position else (0 if k == position else k)}"'
        # a name local to the deleted sheet goes with it; later sheets move one place up
        self.workbook = re.sub(rf'<{p}definedName\b[^>]*\blocalSheetId="{position}"[^>]*(?:/>|>.*?</{p}definedName>)',
                               "", self.workbook, flags=re.S)
        self.workbook = re.sub(r'\b(localSheetId)="(\d+)"', renumber, self.workbook)
        self.workbook = re.sub(r'\b(activeTab|firstSheet)="(\d+)"', renumber, self.workbook)
        self.sheets.remove(sheet)
        self.parts.pop(sheet.name, None)

    def check(self, names: list[str]) -> None:
        """Refuse, before anything is written, to replace a sheet whose loss would be silent."""
        for name in names:
            sheet = self.existing(name)
            if sheet is None:
                continue
            if sheet.kind != "worksheet" or not sheet.part:
                what = KIND_NAMES.get(sheet.kind, f"not a worksheet ({sheet.kind or 'no part'})")
                raise BookError(f"the sheet '{sheet.name}' of {self.label} is {what}, and chs-excel writes its "
                                f"'{name}' sheet there; rename that sheet and try again. Nothing was changed.")
            for rel in self.opc.rels(sheet.part):
                if rel.kind not in ("table", "pivottable") or rel.external or not self.opc.find(rel.part):
                    continue
                element = self.opc.xml(rel.part)
                what = "table" if rel.kind == "table" else "pivot table"
                title = element.get("displayName") or element.get("name") or rel.part
                raise BookError(f"the sheet '{sheet.name}' of {self.label} holds your {what} '{title}', which a "
                                f"refresh would replace; rename the sheet or move the {what}. Nothing was changed.")

    def apply(self, sheets: list[OutputSheet | FormSheet], remove: tuple[str, ...] = ()) -> None:
        """Write ``sheets`` (tables and forms, each replacing the sheet of its name) and delete ``remove``."""
        names = [s.name for s in sheets]
        self.check(names)
        written = {n.strip().casefold() for n in names}
        for name in remove:
            if name.strip().casefold() not in written:
                self.remove_sheet(name)
        replaced = [self.existing(n) for n in names if self.existing(n) is not None]
        owned = {s.part for s in replaced}
        protections = {s.part: self._protection(s.part) for s in replaced}
        # our previous drawings, charts, link relationships: dropped unless another part still uses them
        others = self.opc.reachable([""], skip=owned)
        for part in self.opc.reachable(sorted(owned)) - owned - others:
            self._drop(part)
        self._forget_in_calc_chain({s.sheet_id for s in replaced} | self.removed_ids)
        if self._referenced_elsewhere(names, owned):
            self._full_calc_on_load()
        ids = StyleIds(self.styles)
        for sheet in sheets:
            path = self.sheet_path(sheet.name, sheet.hidden)
            rels: list[tuple[str, str, str, bool]] = []
            drawing_rel = None
            if isinstance(sheet, FormSheet):
                if sheet.charts:
                    drawing_rel = "rIdDrawing1"
                    rels.append((drawing_rel, REL_DRAWING, relative(path, self._line_charts(sheet.charts)), False))
                xml, links = form_xml(sheet, ids, drawing_rel, date1904=self.date1904,
                                      protection=protections.get(path)), []
            else:
                if sheet.charts and len(sheet.frame):
                    drawing_rel = "rIdDrawing1"
                    rels.append((drawing_rel, REL_DRAWING, relative(path, self._charts(sheet)), False))
                xml, links = worksheet_xml(sheet, ids, drawing_rel, date1904=self.date1904,
                                           protection=protections.get(path))
            rels += [(rid, REL_HYPERLINK, target, True) for rid, target in links]
            self.written[path] = xml  # blocks of bytes, made as the writer zips them: the sheet is never whole
            sheet_rels = self.opc.find(rels_path(path)) or rels_path(path)
            if rels:
                self.written[sheet_rels] = _rels(rels)
                self.dropped.discard(sheet_rels)
            self.dropped.discard(path)
        for sheet in sheets:
            if sheet.page is not None:
                self._print_names(sheet.name, sheet.page)
        if self.styles_part:
            self.written[self.styles_part] = encode_xml(self.styles.xml)
        else:
            path = f"{self.folder}/styles.xml" if self.folder else "styles.xml"
            path = self.opc.find(path) or path
            if path.lower() in self.taken():
                raise damaged(self.label, f"{path} is there but the workbook does not use it for its styles")
            self.written[path] = encode_xml(self.styles.xml)
            self._override(path, CT_STYLES)
            self._relationship(self._rid(), REL_STYLES, relative(self.main, path))
        self.written[self.main] = encode_xml(self.workbook)
        self.written[self.main_rels] = encode_xml(self.workbook_rels)
        self._forget_dropped_types()
        self._type_new_relationship_parts()
        self.written[self.types_part] = encode_xml(self.types)

    def _charts(self, sheet: OutputSheet) -> str:
        """Write one drawing part holding every chart of ``sheet`` (one chart part each); the drawing's name."""
        drawing = self._free("drawing")
        self.written[drawing] = b""  # reserve the name
        n, columns = len(sheet.frame), list(sheet.frame.columns)
        charts = []
        for spec in sheet.charts:
            chart = self._free("chart")
            self.written[chart] = chart_xml(spec, sheet.name, columns, sheet.header_row, n)
            charts.append(chart)
        self.written[drawing] = drawing_xml([spec.anchor for spec in sheet.charts], n)
        self.written[rels_path(drawing)] = _rels([(f"rId{k}", REL_CHART, relative(drawing, chart), False)
                                                  for k, chart in enumerate(charts, start=1)])
        self._override(drawing, CT_DRAWING)
        for chart in charts:
            self._override(chart, CT_CHART)
        return drawing

    def _line_charts(self, charts: list[LineChart]) -> str:
        """Write one drawing part holding a form's line charts (one chart part each); the drawing's name."""
        drawing = self._free("drawing")
        self.written[drawing] = b""  # reserve the name
        parts = []
        for spec in charts:
            chart = self._free("chart")
            self.written[chart] = line_chart_xml(spec)
            parts.append(chart)
        self.written[drawing] = line_drawing_xml(charts)
        self.written[rels_path(drawing)] = _rels([(f"rId{k}", REL_CHART, relative(drawing, chart), False)
                                                  for k, chart in enumerate(parts, start=1)])
        self._override(drawing, CT_DRAWING)
        for chart in parts:
            self._override(chart, CT_CHART)
        return drawing

    def _print_names(self, name: str, page: PageSetup) -> None:
        """Set the print titles and print area of our sheet ``name`` as the page asks: workbook names
        ``_xlnm.Print_Titles`` / ``_xlnm.Print_Area`` local to the sheet (by its position). One already there
        (from the last refresh) is replaced where it stands, or removed when the page no longer asks for it,
        so refreshing again never adds a second one; names of other sheets and the user's other names stay."""
        position = self.sheets.index(self.existing(name))
        for kind, text in (("Print_Area", page.print_area_formula(name)), ("Print_Titles", page.print_titles(name))):
            self._local_name(f"_xlnm.{kind}", position, text)

    def _local_name(self, name: str, position: int, text: str | None) -> None:
        p = self.p
        element = f'<{p}definedName name="{name}" localSheetId="{position}">{escape(text)}</{p}definedName>' if text else ""
        old = next((m for m in re.finditer(rf'<{p}definedName\b([^>]*?)(?:/>|>.*?</{p}definedName\s*>)', self.workbook,
                                           re.S)
                    if re.search(rf'\bname="{re.escape(name)}"', m.group(1), re.I)
                    and re.search(rf'\blocalSheetId="{position}"', m.group(1))), None)
        if old is not None:
            if old.group(0) != element:
                self.workbook = self.workbook[:old.start()] + element + self.workbook[old.end():]
            return
        if not element:
            return
        m = re.search(rf"</{p}definedNames\s*>|<{p}definedNames\s*/>", self.workbook)
        if m is not None:
            block = element if m.group(0).startswith("</") else f"<{p}definedNames>{element}</{p}definedNames>"
            end = m.start() if m.group(0).startswith("</") else m.end()
            self.workbook = self.workbook[:m.start()] + block + self.workbook[end:]
            return
        # CT_Workbook: definedNames comes after sheets (functionGroups, externalReferences) and before calcPr
        later = [re.search(rf"<{p}{tag}\b", self.workbook) for tag in ("calcPr",) + AFTER_CALC_PR]
        later = [x.start() for x in later if x]
        at = min(later) if later else list(re.finditer(rf"</{p}workbook\s*>", self.workbook))[-1].start()
        self.workbook = self.workbook[:at] + f"<{p}definedNames>{element}</{p}definedNames>" + self.workbook[at:]

    def _protection(self, part: str) -> str | None:
        """The sheet's ``<sheetProtection>`` element, rebuilt without a prefix, if it has one.

        It follows sheetData, at the end of what may be a big part: the part is streamed in blocks through a
        byte search for the tag, and only that element is parsed."""
        name = self.opc.find(part) or part
        data, found, element, encoding = None, False, None, "utf-8"
        try:
            for block in part_blocks(self.package, name):
                if data is None:
                    if not ascii_compatible(block):  # UTF-16: no byte search; parse it whole
                        parsed = next((e for e in self.opc.xml(part) if local(e.tag) == "sheetProtection"), None)
                        if parsed is None:
                            return None
                        return "<sheetProtection" + "".join(f' {local(k)}="{escape(v)}"' for k, v in
                                                            parsed.attrib.items() if not k.startswith("{")) + "/>"
                    data, encoding = b"", declared_encoding(block)
                data += block
                if not found:
                    m = find_tag(data, b"sheetProtection", SHEET_PROTECTION)
                    if m is None:
                        data = data[-100:]  # the tag may be cut between two blocks
                        continue
                    data, found = data[m.start():], True
                end = tag_end(data)
                if end >= 0:
                    element = data[:end]
                    break
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
            raise damaged(self.label, f"{name}: {exc}") from exc
        if element is None:
            if found:  # the part ends inside the tag
                raise damaged(self.label, f"{part} is not valid XML: it ends inside <sheetProtection>")
            return None
        attrs: list[str] = []
        parser = expat.ParserCreate()  # no namespace processing: names as written ("xr:uid")
        parser.ordered_attributes = True
        parser.StartElementHandler = lambda tag, pairs: attrs.extend(pairs)
        try:
            text = element.decode(encoding)
            parser.Parse(text if text.endswith("/>") else text[:-1] + "/>", True)
        except (expat.ExpatError, UnicodeDecodeError) as exc:
            raise damaged(self.label, f"{part} is not valid XML: {exc}") from exc
        # a prefixed attribute is in a namespace: left out, as the "{namespace}name" keys of a parsed element were
        return "<sheetProtection" + "".join(f' {k}="{escape(v)}"' for k, v in zip(attrs[::2], attrs[1::2])
                                            if ":" not in k and k != "xmlns") + "/>"

    def _referenced_elsewhere(self, names: list[str], owned: set[str]) -> bool:
        """Do formulas outside the replaced sheets (cells or defined names) refer to them?

        Every other worksheet is streamed in blocks; a block is searched for formulas only if it holds the end
        of one and (when the names can be searched for as bytes) one of the names. A part read to its end has had
        its CRC checked: it is listed in ``self.verified``, so that the writer need not inflate it again."""
        targets = list(names) + [s.name for s in self.sheets if s.part in owned]
        pattern = _sheet_reference(targets)
        root = self.opc.workbook_root()
        for element in root.iter():
            if local(element.tag) == "definedName" and pattern.search(element.text or "") and not (
                    element.get("name", "").lower() in PRINT_NAMES):  # where to print: nothing to calculate
                return True
        # names XML writes as they are (no entity), found ignoring ASCII case as the pattern does
        needles = [n.lower().encode("ascii") for n in targets] if all(
            n.isascii() and not set(n) & set("&<>'\"") for n in targets) else None
        for sheet in self.sheets:
            if sheet.part in owned or not sheet.part or sheet.kind != "worksheet" or sheet.part in self.snapshot_parts:
                continue
            if sheet.part in self.formula_free:  # the input sheets, at a million rows: not inflated a second time
                self.verified.add(sheet.part)
                continue
            carry, encoding = None, "utf-8"
            try:
                for block in chain(part_blocks(self.package, sheet.part), [b""]):  # b"": the end
                    if carry is None:
                        if not ascii_compatible(block):  # UTF-16: search the whole text
                            text = decode_xml(self.opc.read(sheet.part), self.label, sheet.part)
                            if any(pattern.search(html.unescape(m.group(1))) for m in FORMULA.finditer(text)):
                                return True
                            break
                        carry, encoding = b"", declared_encoding(block)
                    data = carry + block
                    cut = last_start_tag(data) if block else len(data)  # formulas before it are whole
                    carry = data[cut:]
                    if not has_formula_text(data, cut):
                        continue
                    if needles is not None:
                        lowered = data.lower()
                        if not any(n in lowered for n in needles):
                            continue
                    for m in FORMULA_BYTES.finditer(data, 0, cut):
                        if pattern.search(html.unescape(m.group(1).decode(encoding, "replace"))):
                            return True
                self.verified.add(sheet.part)  # read to its end: its CRC is right
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
                raise damaged(self.label, f"{sheet.part}: {exc}") from exc
        return False

    def _full_calc_on_load(self) -> None:
        """Ask the spreadsheet to recalculate every formula when it opens the file."""
        p = self.p
        m = re.search(rf"<{p}calcPr\b[^>]*?(/?)>", self.workbook)
        if m:
            tag = re.sub(r'\sfullCalcOnLoad="[^"]*"', "", m.group(0))
            tag = re.sub(r"\s*(/?)>$", r' fullCalcOnLoad="1"\1>', tag)
            self.workbook = self.workbook[:m.start()] + tag + self.workbook[m.end():]
            return
        element = f'<{p}calcPr fullCalcOnLoad="1"/>'
        later = [re.search(rf"<{p}{name}\b", self.workbook) for name in AFTER_CALC_PR]
        later = [x.start() for x in later if x]
        at = min(later) if later else list(re.finditer(rf"</{p}workbook\s*>", self.workbook))[-1].start()
        self.workbook = self.workbook[:at] + element + self.workbook[at:]

    def _forget_in_calc_chain(self, ids: set[str]) -> None:
        """Drop calcChain entries of the sheets being replaced (entries omit ``i`` when it repeats)."""
        if self.calc_part is None or not ids:
            return
        text = self.opc.text(self.calc_part)
        current, kept = None, []
        cells = list(re.finditer(r"<(\w+:)?c\b([^>]*?)/>", text))
        for m in cells:
            attrs = m.group(2)
            found = re.search(r'\bi="(\d+)"', attrs)
            current = found.group(1) if found else current
            if current in ids:
                continue
            attrs = re.sub(r'\si="\d+"', "", attrs)
            kept.append(f'<{m.group(1) or ""}c{attrs} i="{current}"/>')
        if len(kept) == len(cells):
            return
        if not kept:
            self._drop(self.calc_part)
            self.workbook_rels = re.sub(rf'<(\w+:)?Relationship\b[^>]*Type="{re.escape(REL_CALC_CHAIN)}"[^>]*/>', "",
                                        self.workbook_rels)
            return
        opening = re.search(r"<(\w+:)?calcChain\b[^>]*>", text)
        prefix = opening.group(1) or ""
        self.written[self.calc_part] = encode_xml(text[:opening.end()] + "".join(kept) + f"</{prefix}calcChain>")


class PackageBookWriter:
    """:class:`~chs_excel.book.table.BookWriter`: writes into a copy of ``source`` saved at ``target``, atomically."""

    def __init__(self, source: str | Path, target: str | Path, backup: bool = False):
        self.source, self.target, self.backup = Path(source), Path(target), backup
        self.formula_free: set[str] = set()  # filled by the reader of the same file (see refresh_file)
        self.date1904 = False  # the workbook counts dates from 1904-01-01 (Mac Excel 2008 and older)
        if self.source.exists():  # refuse a package we cannot update (Strict, damaged) before any scoring
            with open_package(self.source) as package:
                self.date1904 = Plan(package, self.source.name).date1904

    def write(self, sheets: list[OutputSheet | FormSheet], remove: tuple[str, ...] = ()) -> None:
        check_writable(self.target)
        with open_package(self.source) as package:
            plan = Plan(package, self.source.name)
            plan.formula_free = self.formula_free
            plan.apply(sheets, remove)
            # The parts copied as they are must be whole: a bad CRC is a damaged file. Parts replaced or left out
            # are never copied, and those the plan read to their end have been checked already.
            # Score History's old snapshots are copied unread (a refresh must not slow down as history grows): a
            # damaged one stays as damaged as it was, and the backtest, which reads them, says so.
            checked = set(plan.written) | plan.dropped | plan.verified | plan.snapshot_parts
            for info in package.infolist():
                if info.filename in checked:
                    continue
                try:
                    for _ in part_blocks(package, info):
                        pass
                except zipfile.BadZipFile as exc:
                    raise damaged(self.source.name, f"{info.filename} fails its checksum") from exc
                except (zlib.error, EOFError, NotImplementedError, ValueError) as exc:
                    raise damaged(self.source.name, str(exc)) from exc

            def put(out: zipfile.ZipFile, info: zipfile.ZipInfo, data, zip64: bool) -> None:
                """Deflate one part into ``out``: bytes at once, a sheet block by block as it is made (never whole)."""
                if isinstance(data, bytes):
                    write_member(out, info, [data], COMPRESS_LEVEL, zip64)
                    return
                with closing(data.ahead()) as blocks:  # the next block is made while this one is deflated
                    write_member(out, info, blocks, COMPRESS_LEVEL, zip64)

            def write(temp: Path, zip64: bool = False) -> None:
                written = dict(plan.written)
                with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as out:
                    for info in package.infolist():
                        if info.filename in written:
                            put(out, _fresh(info), written.pop(info.filename), zip64)
                        elif info.filename not in plan.dropped:
                            copy_raw(package, out, info)
                    for name, data in written.items():
                        put(out, _fresh(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))), data, zip64)

            def write_any_size(temp: Path) -> None:
                try:
                    write(temp)
                except RuntimeError as exc:  # a streamed sheet passed 4 GiB: its entry needs the ZIP64 extension
                    if "force_zip64" not in str(exc):
                        raise
                    write(temp, zip64=True)

            atomic_write(self.target, write_any_size, backup=self.backup)


def _fresh(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new entry for a part chs-excel writes: the name, time and attributes of ``info``."""
    clone = zipfile.ZipInfo(info.filename, info.date_time)
    clone.compress_type = zipfile.ZIP_DEFLATED
    clone.external_attr = info.external_attr
    return clone
