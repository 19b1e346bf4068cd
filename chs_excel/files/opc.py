"""The OPC (Open Packaging Conventions) view of a workbook's zip: parts, relationships, sheets.

Zip member names are case-sensitive but OPC part names are not, relationship
targets may be relative (to the source part's folder), absolute (``/xl/...``)
or percent-encoded, the main workbook part is wherever ``/_rels/.rels`` says,
and XML parts may be UTF-8 or UTF-16. Everything here follows the package's
own relationships instead of assuming Excel's usual names.
"""
from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote

from defusedxml import ElementTree

from chs_excel.files.ooxml import NS_REL, NS_REL_STRICT, STRICT_PREFIX
from chs_excel.problems import BookError

REL_NAMESPACES = (NS_REL, NS_REL_STRICT)


def damaged(label: str, detail: str) -> BookError:
    return BookError(f"{label} is damaged ({detail}); open it in Excel, which can often repair it, save it and try "
                     f"again. Nothing was changed.")


def decode_xml(data: bytes, label: str = "the workbook", part: str = "") -> str:
    """The text of an XML part, whatever its encoding (UTF-8 or UTF-16, with or without a byte order mark)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, data = "utf-8", data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"<\x00"):
        encoding = "utf-16-le"
    elif data.startswith(b"\x00<"):
        encoding = "utf-16-be"
    else:
        declared = re.match(rb"""<\?xml[^>]*?encoding\s*=\s*["']([\w.-]+)["']""", data[:200])
        encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
        encoding = "utf-8" if encoding.startswith("utf-16") else encoding  # declared UTF-16 but stored as bytes
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise damaged(label, f"{part} is not readable text: {exc}") from exc


def encode_xml(text: str) -> bytes:
    """UTF-8 bytes of an XML part, its declaration saying so."""
    text = text.lstrip("\ufeff")
    text = re.sub(r"""^(<\?xml[^>]*?encoding\s*=\s*)["'][\w.-]+["']""", r'\1"UTF-8"', text, count=1)
    return text.encode("utf-8")


def rels_path(part: str) -> str:
    """The relationships part of ``part`` (``xl/_rels/workbook.xml.rels``); the package's (``""``) is ``_rels/.rels``."""
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def normalise(path: str) -> str:
    out: list[str] = []
    for piece in path.split("/"):
        if piece == "..":
            if out:
                out.pop()
        elif piece not in (".", ""):
            out.append(piece)
    return "/".join(out)


def relative(source_part: str, target_part: str) -> str:
    """The relationship target from ``source_part`` to ``target_part`` (both part names)."""
    source = PurePosixPath(source_part).parent.parts
    target = PurePosixPath(target_part).parts
    common = 0
    while common < min(len(source), len(target) - 1) and source[common] == target[common]:
        common += 1
    return "/".join([".."] * (len(source) - common) + list(target[common:]))


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str
    external: bool
    part: str  # the zip name of the target (its case as stored), or the resolved name if absent

    @property
    def kind(self) -> str:
        return self.type.rstrip("/").rpartition("/")[2].lower()


@dataclass(frozen=True)
class Sheet:
    name: str
    sheet_id: str
    rid: str
    kind: str  # worksheet, chartsheet, dialogsheet, xlmacrosheet, xlintlmacrosheet, ...
    part: str | None


class Package:
    """A read-only OPC view of an open zip file."""

    def __init__(self, package: zipfile.ZipFile, label: str = "the workbook"):
        self.zip, self.label = package, label
        self.parts: dict[str, str] = {}  # lower-case part name -> zip name
        for info in package.infolist():
            key = info.filename.lower()
            if key in self.parts:
                same = self.parts[key] == info.filename
                raise damaged(label, f"it holds two parts named {info.filename}" if same else
                              f"it holds parts {self.parts[key]} and {info.filename}, whose names differ only in case")
            self.parts[key] = info.filename
        self.main = self._main_part()

    def find(self, part: str) -> str | None:
        return self.parts.get(part.lstrip("/").lower())

    def read(self, part: str) -> bytes:
        name = self.find(part)
        if name is None:
            raise KeyError(part)
        try:
            return self.zip.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
            raise damaged(self.label, f"{name}: {exc}") from exc

    def text(self, part: str) -> str:
        return decode_xml(self.read(part), self.label, part)

    def xml(self, part: str):
        try:
            return ElementTree.fromstring(self.text(part))
        except BookError:
            raise
        except Exception as exc:  # ParseError, and defusedxml's refusals of entities and DTDs
            raise damaged(self.label, f"{part} is not valid XML: {exc}") from exc

    def resolve(self, source_part: str, target: str) -> str:
        target = unquote(target.split("#", 1)[0])
        if target.startswith("/"):
            name = normalise(target)
        else:
            folder = source_part.rpartition("/")[0]
            name = normalise(f"{folder}/{target}" if folder else target)
        return self.find(name) or name

    def rels(self, part: str) -> list[Rel]:
        """The relationships of ``part`` ("" for the package itself)."""
        path = rels_path(part)
        if self.find(path) is None:
            return []
        out = []
        for rel in self.xml(path):
            if local(rel.tag) != "Relationship":
                continue
            external = rel.get("TargetMode") == "External"
            target = rel.get("Target", "")
            out.append(Rel(rel.get("Id", ""), rel.get("Type", ""), target, external,
                           "" if external else self.resolve(part, target)))
        return out

    def _main_part(self) -> str:
        for rel in self.rels(""):
            if rel.kind == "officedocument" and not rel.external and self.find(rel.part):
                return self.find(rel.part)
        fallback = self.find("xl/workbook.xml")
        if fallback is None:
            raise BookError(f"{self.label} is a zip file but not an Excel workbook (no workbook part)")
        return fallback

    def workbook_root(self):
        return self.xml(self.main)

    def is_strict(self) -> bool:
        root = self.workbook_root()
        return root.tag.startswith("{" + STRICT_PREFIX) or root.get("conformance") == "strict"

    def sheets(self) -> list[Sheet]:
        root = self.workbook_root()
        rels = {r.id: r for r in self.rels(self.main)}
        out = []
        for element in root:
            if local(element.tag) != "sheets":
                continue
            for sheet in element:
                if local(sheet.tag) != "sheet":
                    continue
                rid = next((v for k, v in sheet.attrib.items()
                            if local(k) == "id" and k.startswith(tuple("{" + ns for ns in REL_NAMESPACES))), "")
                rel = rels.get(rid)
                part = self.find(rel.part) if rel and not rel.external else None
                out.append(Sheet(sheet.get("name", ""), sheet.get("sheetId", ""), rid, rel.kind if rel else "", part))
        return out

    def reachable(self, starts: list[str], skip: set[str] = frozenset()) -> set[str]:
        """Every part reachable from ``starts`` through relationships (with their .rels parts), never entering ``skip``."""
        found: set[str] = set()
        todo = [p for p in starts if p not in skip]
        while todo:
            part = todo.pop()
            if part in found:
                continue
            if part:
                found.add(part)
            rels_name = self.find(rels_path(part))
            if rels_name:
                found.add(rels_name)
            for rel in self.rels(part):
                name = self.find(rel.part) if not rel.external else None
                if name and name not in found and name not in skip:
                    todo.append(name)
        return found
