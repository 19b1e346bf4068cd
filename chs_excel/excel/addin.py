"""Build the classic "Health Score" ribbon add-in from the ribbon template xlwings ships.

The VBA (xlwings' own, signed off by its maintainers) is copied byte for byte.
Its ribbon callback ``RibbonMyAddin.RunMain`` runs
``import <add-in file name>; <name>.main()``, so the file must be called
``chs_excel_addin.xlam`` to reach :func:`chs_excel_addin.main`.

Three parts change, at the part level (every other part, ``xl/vbaProject.bin``
included, is copied unchanged):

* ``customUI/customUI.xml``: the Health Score ribbon tab.
* ``xl/workbook.xml``: the settings sheet is renamed from ``_myaddin.conf`` (the
  template ships it disabled) to ``myaddin.conf``. The VBA reads settings with
  ``GetConfig``, which looks up ``wb.Sheets(PROJECT_NAME & ".conf")`` in the active
  workbook and then in the add-in itself, and ``PROJECT_NAME`` is ``"myaddin"`` in
  the template (it does not follow the file name).
* the settings sheet's worksheet part: ``Interpreter_Win`` / ``Interpreter_Mac``
  and ``UDF Modules`` get values (inline strings, so the shared-strings part is
  untouched). The other keys (PYTHONPATH, Conda Path, Conda Env, Debug UDFs,
  Use UDF Server, Show Console) keep the template's values.

Which interpreter: by default the Python running ``chs-excel addin``
(``sys.executable``: the one with chs-excel installed), written to the key of the
platform it runs on (Windows: ``Interpreter_Win``, macOS: ``Interpreter_Mac``). The
other platform's key keeps the template's empty value, which makes the VBA fall
back to ``python`` on the PATH. On any other platform (Linux, WSL) nothing is
filled in by default: a Linux path means nothing to Excel. ``interpreter`` sets
this platform's key explicitly; ``interpreter_win`` / ``interpreter_mac`` set either
key from anywhere (an empty string leaves that key empty).
"""
from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree

from chs_excel.book.table import column_number
from chs_excel.files.ooxml import NS_MAIN, NS_PACKAGE_REL, NS_REL, escape

ADDIN_NAME = "chs_excel_addin.xlam"
TEMPLATE = "quickstart_addin_ribbon.xlam"
RIBBON_PART = "customUI/customUI.xml"
WORKBOOK_PART = "xl/workbook.xml"
APP_PART = "docProps/app.xml"
PROJECT_NAME = "myaddin"  # ``Public Const PROJECT_NAME`` in the template's xlwings VBA module
CONF_SHEET = f"{PROJECT_NAME}.conf"  # the sheet GetConfigFromSheet reads
DISABLED_CONF_SHEET = f"_{CONF_SHEET}"  # as the template ships it
UDF_MODULES = "chs_excel.excel"
PLATFORM_KEYS = {"win32": "Interpreter_Win", "darwin": "Interpreter_Mac"}

MAIN_NS, REL_NS, PKG_REL_NS = (f"{{{ns}}}" for ns in (NS_MAIN, NS_REL, NS_PACKAGE_REL))

RIBBON_XML = """<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
  <ribbon>
    <tabs>
      <tab id="chsExcelTab" label="Health Score">
        <group id="chsExcelRefreshGroup" label="Customer health">
          <button id="chsExcelRefresh" label="Refresh scores" size="large" imageMso="RefreshAll"
                  screentip="Refresh health scores"
                  supertip="Checks the scorecard, then rewrites the Scores and Data Issues sheets. Your own sheets are left as they are."
                  onAction="RibbonMyAddin.RunMain" />
        </group>
      </tab>
    </tabs>
  </ribbon>
</customUI>
"""


def template_path() -> Path:
    import xlwings
    return Path(xlwings.__file__).parent / TEMPLATE


def addin_target(path: str | Path) -> Path:
    """Where to write: a folder gets ``chs_excel_addin.xlam``; a file must have that name."""
    path = Path(path)
    if path.suffix.lower() != ".xlam":
        return path / ADDIN_NAME
    if path.name != ADDIN_NAME:
        raise ValueError(f"the add-in file must be called {ADDIN_NAME} (its ribbon button runs the Python module "
                         f"named after the file), got {path.name}")
    return path


def _check_value(key: str, value: str) -> str:
    if any(ord(ch) < 32 for ch in value):  # XML 1.0 cannot carry most of them; no path has them
        raise ValueError(f"{key}: control characters (e.g. a line break) are not allowed: {value!r}")
    if len(value) > 32767:
        raise ValueError(f"{key}: longer than an Excel cell holds")
    return value


def current_platform() -> str:
    return sys.platform


def conf_settings(interpreter: str | None = None, interpreter_win: str | None = None,
                  interpreter_mac: str | None = None, platform: str | None = None) -> dict[str, str]:
    """The values to write into the add-in's settings sheet (keys as the template spells them)."""
    platform = current_platform() if platform is None else platform
    here = PLATFORM_KEYS.get(platform)
    settings: dict[str, str] = {"UDF Modules": UDF_MODULES}
    if interpreter is not None:
        if here is None:
            raise ValueError(f"--interpreter sets the interpreter for this platform's Excel, and there is no desktop "
                             f"Excel on {platform}: use --interpreter-win or --interpreter-mac")
        explicit = interpreter_win if here == "Interpreter_Win" else interpreter_mac
        if explicit is not None and explicit != interpreter:
            raise ValueError(f"--interpreter and --{here.lower().replace('_', '-')} disagree")
        settings[here] = interpreter
    elif here is not None:
        settings[here] = sys.executable
    if interpreter_win is not None:
        settings["Interpreter_Win"] = interpreter_win
    if interpreter_mac is not None:
        settings["Interpreter_Mac"] = interpreter_mac
    return {key: _check_value(key, value) for key, value in settings.items()}


def _conf_sheet_part(source: zipfile.ZipFile) -> str:
    """The worksheet part of the template's (disabled) settings sheet, found through workbook.xml and its rels."""
    workbook = ElementTree.fromstring(source.read(WORKBOOK_PART))
    ids = [s.get(f"{REL_NS}id") for s in workbook.iter(f"{MAIN_NS}sheet") if s.get("name") == DISABLED_CONF_SHEET]
    if len(ids) != 1:
        raise RuntimeError(f"the xlwings template {TEMPLATE} has no sheet {DISABLED_CONF_SHEET} any more; "
                           "this chs-excel does not know how to configure it")
    rels = ElementTree.fromstring(source.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels.iter(f"{PKG_REL_NS}Relationship") if r.get("Id") == ids[0])
    return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)


def _shared_strings(source: zipfile.ZipFile) -> list[str]:
    try:
        root = ElementTree.fromstring(source.read("xl/sharedStrings.xml"))
    except KeyError:
        return []
    return ["".join(t.text or "" for t in si.iter(f"{MAIN_NS}t")) for si in root.iter(f"{MAIN_NS}si")]


ROW = re.compile(r'<row\b[^>]*\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', re.S)
CELL = re.compile(r'<c\b[^>]*\br="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)


def _key_rows(sheet_xml: str, strings: list[str]) -> dict[str, int]:
    """Key (column A text) -> row number, for the settings sheet."""
    keys = {}
    for row in ROW.finditer(sheet_xml):
        for cell in CELL.finditer(row.group(2) or ""):
            if cell.group(1) != "A":
                continue
            text = cell.group(0)
            value = re.search(r"<v>(.*?)</v>", text, re.S)
            inline = re.search(r"<t\b[^>]*>(.*?)</t>", text, re.S)
            if 't="s"' in text and value:
                keys[strings[int(value.group(1))]] = int(row.group(1))
            elif inline:
                keys[inline.group(1)] = int(row.group(1))
    return keys


def _set_b(sheet_xml: str, row_number: int, value: str) -> str:
    """Put ``value`` into column B of the row (an inline string; empty removes the cell)."""
    row = next(r for r in ROW.finditer(sheet_xml) if int(r.group(1)) == row_number)
    start_tag = re.match(r"<row\b[^>]*>", row.group(0)).group(0)  # the row holds its key cell: not self-closing
    body = row.group(2)
    cells = list(CELL.finditer(body))
    a = next(c for c in cells if c.group(1) == "A")
    style = re.search(r'\bs="(\d+)"', a.group(0))
    style_attr = f' s="{style.group(1)}"' if style else ""
    text = escape(value)
    new_cell = (f'<c r="B{row_number}"{style_attr} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                if value else "")
    old_b = next((c for c in cells if c.group(1) == "B"), None)
    if old_b is not None:
        body = body[:old_b.start()] + new_cell + body[old_b.end():]
    else:
        body = body[:a.end()] + new_cell + body[a.end():]
    last = max(column_number(c.group(1)) for c in CELL.finditer(body))
    start_tag = re.sub(r'\bspans="(\d+):\d+"', lambda m: f'spans="{m.group(1)}:{max(last, int(m.group(1)))}"',
                       start_tag)
    return sheet_xml[:row.start()] + start_tag + body + "</row>" + sheet_xml[row.end():]


def configure_conf_sheet(sheet_xml: str, strings: list[str], settings: dict[str, str]) -> str:
    keys = _key_rows(sheet_xml, strings)
    missing = [key for key in settings if key not in keys]
    if missing:
        raise RuntimeError(f"the xlwings template's {DISABLED_CONF_SHEET} sheet has no {', '.join(missing)} row")
    for key, value in settings.items():
        sheet_xml = _set_b(sheet_xml, keys[key], value)
    return sheet_xml


def write_addin(path: str | Path, interpreter: str | None = None, interpreter_win: str | None = None,
                interpreter_mac: str | None = None, platform: str | None = None) -> Path:
    """Write the add-in; see the module docstring for what changes. Returns the file written."""
    target = addin_target(path)
    settings = conf_settings(interpreter, interpreter_win, interpreter_mac, platform)
    with zipfile.ZipFile(template_path()) as source:
        sheet_part = _conf_sheet_part(source)
        changed = {
            RIBBON_PART: RIBBON_XML.encode("utf-8"),
            sheet_part: configure_conf_sheet(source.read(sheet_part).decode("utf-8"), _shared_strings(source),
                                             settings).encode("utf-8"),
        }
        for part in (WORKBOOK_PART, APP_PART):  # the sheet name, and any defined name or title that holds it
            text = source.read(part).decode("utf-8")
            if DISABLED_CONF_SHEET in text:
                changed[part] = text.replace(DISABLED_CONF_SHEET, CONF_SHEET).encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                out.writestr(info, changed.get(info.filename, source.read(info.filename)))
    return target


def describe(settings: dict[str, str]) -> list[str]:
    """Human lines about what the settings sheet holds (for the CLI)."""
    lines = [f"Its settings sheet {CONF_SHEET} (inside the add-in) holds:"]
    for key in ("Interpreter_Win", "Interpreter_Mac"):
        value = settings.get(key)
        lines.append(f"  {key}: {value}" if value else f"  {key}: (empty: Excel runs the `python` on its PATH)")
    lines.append(f"  UDF Modules: {settings['UDF Modules']}")
    if not settings.get("Interpreter_Win") and not settings.get("Interpreter_Mac"):
        lines.append("  (no desktop Excel here: pass --interpreter-win / --interpreter-mac with the Python that has "
                     "chs-excel installed on the Excel machine)")
    return lines
