"""Looking inside an .xlsx/.xlsm zip package safely, before any library parses it."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree

from chs_excel.book.table import CellError
from chs_excel.problems import BookError

MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_RATIO = 200  # a member unpacking to >200x its packed size (and >10 MB) is a zip bomb, not a workbook

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "pr": "http://schemas.openxmlformats.org/package/2006/relationships"}


def open_package(path: Path) -> zipfile.ZipFile:
    """Open the workbook's zip package, refusing files that are not workbooks or are zip bombs."""
    if not path.exists():
        raise BookError(f"{path}: no such file")
    try:
        package = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BookError(f"{path.name} cannot be read as an Excel workbook (.xlsx or .xlsm): {exc}. "
                        f"If it is an old .xls file, save it as .xlsx in Excel first.") from exc
    infos = package.infolist()
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES or any(
            i.file_size > 10_000_000 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos):
        package.close()
        raise BookError(f"{path.name} unpacks to an implausible size ({len(infos)} parts); refusing to open it")
    if "xl/workbook.xml" not in package.namelist():
        package.close()
        raise BookError(f"{path.name} is a zip file but not an Excel workbook (no xl/workbook.xml)")
    return package


def sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> path of its XML part inside the package."""
    workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.findall("pr:Relationship", NS)}
    parts = {}
    for sheet in workbook.findall("m:sheets/m:sheet", NS):
        target = targets.get(sheet.get(f"{{{NS['r']}}}id"), "")
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return parts


_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def error_cells(package: zipfile.ZipFile, part: str) -> dict[tuple[int, int], CellError]:
    """Cells holding an Excel error or a formula with no saved value, by (row, column), 1-based.

    Fast readers report both as blank; a user needs to hear that ``#N/A`` is
    not the same as an empty cell.
    """
    data = package.read(part)
    if b't="e"' not in data and b"<f" not in data:
        return {}
    found = {}
    for m in _CELL.finditer(data):
        attrs, body = m.group(3), m.group(4) or b""
        value = _VALUE.search(body)
        if b't="e"' in attrs:
            text = value.group(1).decode() if value else "#ERROR"
        elif b"<f" in body and (value is None or value.group(1) == b""):
            text = "(formula with no saved value: open and save the workbook in Excel to calculate it)"
        else:
            continue
        found[(int(m.group(2)), _col_number(m.group(1)))] = CellError(text)
    return found


def _rels_of(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels"


def parts_of_sheets(package: zipfile.ZipFile, sheets: tuple[str, ...]) -> set[str]:
    """Every part reachable from these sheets through relationships (their drawings, charts, ...)."""
    names = set(package.namelist())
    parts = sheet_parts(package)
    found: set[str] = set()
    todo = [parts[s] for s in sheets if s in parts]
    while todo:
        part = todo.pop()
        rels = _rels_of(part)
        if rels not in names or rels in found:
            continue
        found.add(rels)
        folder = PurePosixPath(part).parent
        for rel in ElementTree.fromstring(package.read(rels)).findall("pr:Relationship", NS):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            resolved = target.lstrip("/") if target.startswith("/") else _normalise(folder / target)
            if resolved in names and resolved not in found:
                found.add(resolved)
                todo.append(resolved)
    return found


def _normalise(path: PurePosixPath) -> str:
    out: list[str] = []
    for piece in path.parts:
        if piece == "..":
            out.pop() if out else None
        elif piece != ".":
            out.append(piece)
    return "/".join(out)


_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"')


def hidden_rows(package: zipfile.ZipFile, part: str) -> list[int]:
    """Excel row numbers hidden in the sheet."""
    data = package.read(part)
    if b"hidden=" not in data:
        return []
    return [int(m.group(1)) for m in _HIDDEN_ROW.finditer(data)]
