"""Imports point one way: entry points > pipeline > core, with the file and Excel edges outside.

Every import of every chs_excel module (those inside functions too) is read with ``ast`` and checked against
what its layer may use. A new arrow the wrong way fails here, naming the module and the import.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chs_excel"

# layer -> chs_excel layers it may import (besides itself). Third-party rules follow.
MAY_IMPORT = {
    "core": {"config.model", "contract", "cellvalues", "problems"},
    "config": {"contract", "cellvalues", "problems", "core.measures"},
    "analysis": {"core", "config", "contract", "cellvalues", "problems"},
    "book": {"core", "config", "contract", "cellvalues", "problems"},
    "sheets": {"core", "config", "analysis", "book", "contract", "cellvalues", "problems"},
    "inputs": {"core", "config", "book", "contract", "cellvalues", "problems"},
    "pipeline": {"core", "config", "analysis", "book", "sheets", "inputs", "contract", "cellvalues", "problems", "files"},
    "files": {"core", "config", "book", "contract", "cellvalues", "problems"},
    "excel": {"core", "config", "analysis", "book", "sheets", "inputs", "pipeline", "contract", "cellvalues", "problems", "files.ooxml"},
    "demo": {"core", "config", "book", "contract", "cellvalues", "problems", "files"},
}
# Third-party packages a layer must not load (the pure layers stay importable without the io stack).
FORBIDDEN_THIRD_PARTY = {
    "core": {"jsonschema", "openpyxl", "python_calamine", "xlwings", "defusedxml"},
    "config": {"openpyxl", "python_calamine", "xlwings", "pandas", "numpy"},
    "analysis": {"openpyxl", "python_calamine", "xlwings"},
    "sheets": {"openpyxl", "python_calamine", "xlwings"},
    "book": {"openpyxl", "python_calamine", "xlwings"},
    "files": {"xlwings"},
}


def layer_of(module: str) -> str:
    """chs_excel.core.engine -> core; chs_excel.pipeline -> pipeline."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            if node.module == "chs_excel":  # from chs_excel import contract -> chs_excel.contract
                found += [f"chs_excel.{alias.name}" for alias in node.names]
    return found


def allowed(source_layer: str, target: str) -> bool:
    target_path = target.split(".", 1)[1] if "." in target else ""
    if layer_of(target) == source_layer or not target_path:
        return True
    return any(target_path == rule or target_path.startswith(rule + ".") for rule in MAY_IMPORT[source_layer])


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_point_the_right_way(path):
    name = module_name(path)
    layer = layer_of(name)
    if layer not in MAY_IMPORT:
        return  # entry points (cli, init) and the package root may use every layer
    wrong = [t for t in imports_of(path) if t.startswith("chs_excel.") and not allowed(layer, t)]
    assert not wrong, f"{name} ({layer}/) imports {wrong}; {layer}/ may use only {sorted(MAY_IMPORT[layer])}"
    banned = FORBIDDEN_THIRD_PARTY.get(layer, set())
    loaded = [t for t in imports_of(path) if t.split(".")[0] in banned]
    assert not loaded, f"{name} ({layer}/) imports {loaded}, which its layer must not load"


def test_the_rules_catch_a_wrong_arrow():
    assert not allowed("core", "chs_excel.files.writer")
    assert not allowed("config", "chs_excel.book.table")
    assert allowed("pipeline", "chs_excel.core.engine")
    assert allowed("core", "chs_excel.config.model") and not allowed("core", "chs_excel.config")
