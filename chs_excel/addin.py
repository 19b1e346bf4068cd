"""Build the classic "Health Score" ribbon add-in from the ribbon template xlwings ships.

Only the ribbon XML is replaced; the VBA (xlwings' own, signed off by its
maintainers) is copied byte for byte. Its ribbon callback
``RibbonMyAddin.RunMain`` runs ``import <add-in file name>; <name>.main()``,
so the file must be called ``chs_excel_addin.xlam`` to reach
:func:`chs_excel_addin.main`.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

ADDIN_NAME = "chs_excel_addin.xlam"
TEMPLATE = "quickstart_addin_ribbon.xlam"
RIBBON_PART = "customUI/customUI.xml"

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


def write_addin(path: str | Path) -> Path:
    target = addin_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(template_path()) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = RIBBON_XML.encode("utf-8") if info.filename == RIBBON_PART else source.read(info.filename)
            out.writestr(info, data)
    return target
