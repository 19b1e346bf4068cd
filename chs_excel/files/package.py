"""Looking inside an .xlsx/.xlsm zip package safely, before any library parses it."""
from __future__ import annotations

import zipfile
from pathlib import Path

from chs_excel.problems import BookError
from chs_excel.files.opc import Package

MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_RATIO = 200  # a member unpacking to >200x its packed size (and >10 MB) is a zip bomb, not a workbook


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")


def open_package(path: Path) -> zipfile.ZipFile:
    """Open the workbook's zip package, refusing files that are not workbooks, are encrypted or are zip bombs."""
    if not path.exists():
        raise BookError(f"{path}: no such file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if head == _OLE:  # an OLE compound file: an encrypted workbook, or an old .xls
                if _ENCRYPTED in handle.read():
                    raise BookError(f"{path.name} is encrypted with a password, which chs-excel cannot open; in Excel "
                                    f"use File > Info > Protect Workbook > Encrypt with Password, clear the password, "
                                    f"save and try again. Nothing was changed.")
                raise BookError(f"{path.name} is an old-format Excel file (.xls), not .xlsx or .xlsm; in Excel use "
                                f"File > Save As > Excel Workbook (.xlsx) and try again. Nothing was changed.")
        package = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BookError(f"{path.name} cannot be read as an Excel workbook (.xlsx or .xlsm): {exc}. "
                        f"If it is an old .xls file, save it as .xlsx in Excel first.") from exc
    infos = package.infolist()
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES or any(
            i.file_size > 10_000_000 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos):
        package.close()
        raise BookError(f"{path.name} unpacks to an implausible size ({len(infos)} parts); refusing to open it")
    try:
        Package(package, path.name)  # duplicate part names, and a workbook part the package points to
    except BookError:
        package.close()
        raise
    return package


def sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip name of its XML part (followed through the package's relationships)."""
    return {sheet.name: sheet.part for sheet in Package(package).sheets() if sheet.part}
