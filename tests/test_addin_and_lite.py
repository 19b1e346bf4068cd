"""The desktop ribbon add-in and the xlwings Lite files: made by the CLI, checked part by part."""
import ast
import importlib.metadata as md
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from defusedxml import ElementTree

from chs_excel.addin import ADDIN_NAME, RIBBON_PART, template_path
from chs_excel.contract import OUTPUT_SHEETS
from chs_excel.cli import main
from chs_excel.lite import REQUIREMENTS

UI = "{http://schemas.microsoft.com/office/2006/01/customui}"


@pytest.fixture
def addin(tmp_path, capsys) -> Path:
    assert main(["addin", str(tmp_path)]) == 0
    assert "xlwings addin install" in capsys.readouterr().out
    return tmp_path / ADDIN_NAME


def vba_procedures(path: Path) -> dict[str, set[str]]:
    """Module name -> Sub/Function names, read from the VBA project with oletools."""
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(path))
    modules = {}
    for _, _, name, code in parser.extract_macros():
        module = name.rsplit(".", 1)[0]
        modules[module] = set(re.findall(r"^\s*(?:Public\s+|Private\s+)?(?:Sub|Function)\s+(\w+)", code, re.M))
    parser.close()
    return modules


def test_addin_is_a_macro_enabled_addin_with_only_the_ribbon_changed(addin):
    with zipfile.ZipFile(addin) as made, zipfile.ZipFile(template_path()) as template:
        assert made.namelist() == template.namelist()
        for name in made.namelist():
            if name != RIBBON_PART:
                assert made.read(name) == template.read(name), name
        types = ElementTree.fromstring(made.read("[Content_Types].xml"))
        kinds = {o.get("PartName"): o.get("ContentType") for o in types}
        assert kinds["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
        assert "xl/vbaProject.bin" in made.namelist()
        ui = ElementTree.fromstring(made.read(RIBBON_PART))  # well-formed, or this raises
    tabs = ui.findall(f".//{UI}tab")
    assert [t.get("label") for t in tabs] == ["Health Score"]
    buttons = ui.findall(f".//{UI}button")
    assert [b.get("label") for b in buttons] == ["Refresh scores"]
    procedures = vba_procedures(addin)
    for button in buttons:
        module, _, procedure = button.get("onAction").partition(".")
        assert procedure in procedures[module], button.get("onAction")


def test_ribbon_callback_runs_the_module_named_after_the_file(addin):
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(addin))
    code = {name: text for _, _, name, text in parser.extract_macros()}["RibbonMyAddin.bas"]
    parser.close()
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in code
    assert Path(ADDIN_NAME).stem == "chs_excel_addin"
    import chs_excel_addin
    assert callable(chs_excel_addin.main)


def test_addin_main_refreshes_the_calling_book(monkeypatch, tmp_path):
    import xlwings as xw
    from office import book_json

    import chs_excel_addin
    from chs_excel.template import write_template
    book = xw.Book(json=book_json(write_template(tmp_path / "b.xlsx")))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    chs_excel_addin.main()
    assert [a["args"][1] for a in book.impl.json()["actions"] if a["func"] == "addSheet"] == list(OUTPUT_SHEETS)


def test_addin_file_must_keep_its_name(tmp_path, capsys):
    assert main(["addin", str(tmp_path / "health.xlam")]) == 2
    assert "must be called chs_excel_addin.xlam" in capsys.readouterr().err


def test_lite_files_work_without_the_file_only_dependencies(tmp_path, capsys):
    assert main(["lite", str(tmp_path)]) == 0
    assert (tmp_path / "requirements.txt").read_text().split() == ["numpy", "pandas", "jsonschema"]
    probe = textwrap.dedent(f"""
        import asyncio, os, sys
        for blocked in ("openpyxl", "python_calamine", "tqdm", "defusedxml"):
            sys.modules[blocked] = None  # importing any of them now fails
        sys.path.insert(0, {str(tmp_path)!r})
        import main
        import chs_excel
        assert chs_excel.__file__.startswith(os.path.join(__import__("tempfile").gettempdir(), "chs_excel_")), chs_excel.__file__
        import xlwings as xw
        from xlwings import server
        names = sorted(f["name"] for f in server.custom_functions_meta(main)["functions"])
        scripts = sorted(s["function_name"] for s in server.custom_scripts_meta(main))
        print(names, scripts)
        metrics = [["Metric", "Category", "Weight", "Measure", "Source", "Labels"], ["m", "A", 1, "categorical", "L", "a=20; b=60"]]
        categories = [["Category", "Weight"], ["A", 1]]
        call = {{"client": "Office.js", "version": xw.__version__, "func_name": "health_score",
                "args": [[["Account ID", "L"], ["X", "b"]], metrics, categories], "caller_address": "Sheet1!A1",
                "runtime": "1.4"}}
        print(asyncio.run(server.custom_functions_call(call, main)))
    """)
    env = {"XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    functions = ["CATEGORY_SCORE", "HEALTH_BAND", "HEALTH_DRIVERS", "HEALTH_GAP", "HEALTH_SCORE", "METRIC_SCORE"]
    assert lines[0] == f"{functions} {['refresh_scores', 'run_backtest', 'validate_config']}"
    assert ast.literal_eval(lines[1]) == [[60]]


PYODIDE_BUILT = {"numpy", "pandas", "rpds-py"}  # compiled packages the Pyodide distribution ships


def test_lite_requirements_are_pure_python_or_built_for_pyodide():
    seen, todo = set(), list(REQUIREMENTS)
    while todo:
        name = re.split(r"[<>=!;\[ ]", todo.pop())[0].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        dist = md.distribution(name)
        wheel = dist.read_text("WHEEL") or ""
        pure = "Root-Is-Purelib: true" in wheel
        assert pure or name in PYODIDE_BUILT, f"{name} is compiled and not known to be built for Pyodide"
        todo += [r for r in (dist.requires or []) if "extra ==" not in r and "platform_python_implementation" not in r]
    assert {"numpy", "pandas", "jsonschema", "rpds-py"} <= seen
