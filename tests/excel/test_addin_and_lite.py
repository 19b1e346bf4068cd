"""The desktop ribbon add-in and the xlwings Lite files: made by the CLI, checked part by part."""
import ast
import importlib.metadata as md
import io
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from defusedxml import ElementTree

from chs_excel.excel.addin import ADDIN_NAME, RIBBON_PART, WORKBOOK_PART, template_path
from chs_excel.contract import OUTPUT_SHEETS
from chs_excel.cli import main
from chs_excel.excel.lite import LITE_REQUIREMENTS, REQUIREMENTS, XLWINGS_MIN
from chs_excel.files.ooxml import NS_MAIN

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


NS = f"{{{NS_MAIN}}}"
CONF_PART = "xl/worksheets/sheet1.xml"  # the template's only sheet: its settings sheet
EDITED = {RIBBON_PART, WORKBOOK_PART, CONF_PART}


def vba_code(path: Path) -> dict[str, str]:
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(path))
    code = {name: text for _, _, name, text in parser.extract_macros()}
    parser.close()
    return code


def conf_sheet_name_from_vba(path: Path) -> str:
    """The settings sheet the add-in's VBA reads, worked out from the VBA source itself."""
    xlwings_module = vba_code(path)["xlwings.bas"]
    assert 'Set sht = wb.Sheets(PROJECT_NAME & ".conf")' in xlwings_module  # GetConfigFromSheet
    assert 'SheetExists(ThisWorkbook, PROJECT_NAME & ".conf")' in xlwings_module  # GetConfig: the add-in's own sheet
    assert 'd.Add UCase(cell.Value), cell.Offset(0, 1).Value' in xlwings_module  # key in A, value in B
    for key in ("INTERPRETER_WIN", "INTERPRETER_MAC", "UDF MODULES"):
        assert f'GetConfig("{key}"' in xlwings_module, key
    project = re.search(r'^Public Const PROJECT_NAME As String = "([^"]+)"', xlwings_module, re.M).group(1)
    return f"{project}.conf"


def as_xlsm(path: Path) -> bytes:
    """The add-in with its workbook content type swapped for the .xlsm one, in memory: openpyxl reads no .xlam."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.ms-excel.addin.macroEnabled.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            out.writestr(info, data)
    return buffer.getvalue()


def conf_values(path: Path) -> tuple[str, dict[str, object]]:
    """The settings sheet as openpyxl reads it: (sheet name, {key: value})."""
    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(as_xlsm(path)))
    assert len(book.sheetnames) == 1
    sheet = book[book.sheetnames[0]]
    return sheet.title, {row[0]: row[1] for row in sheet.iter_rows(min_col=1, max_col=2, values_only=True) if row[0]}


def test_addin_is_a_macro_enabled_addin_with_only_the_ribbon_and_settings_changed(addin):
    with zipfile.ZipFile(addin) as made, zipfile.ZipFile(template_path()) as template:
        assert made.namelist() == template.namelist()
        for name in made.namelist():
            if name not in EDITED:
                assert made.read(name) == template.read(name), name  # decompressed bytes
        assert made.read("xl/vbaProject.bin") == template.read("xl/vbaProject.bin")
        assert made.read("xl/sharedStrings.xml") == template.read("xl/sharedStrings.xml")  # inline strings only
        # workbook.xml: nothing but the settings sheet's name changed
        assert (made.read(WORKBOOK_PART).decode().replace('name="myaddin.conf"', 'name="_myaddin.conf"')
                == template.read(WORKBOOK_PART).decode())
        types = ElementTree.fromstring(made.read("[Content_Types].xml"))
        kinds = {o.get("PartName"): o.get("ContentType") for o in types}
        assert kinds["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
        assert kinds["/" + CONF_PART].endswith("worksheet+xml")
        for part in EDITED:
            ElementTree.fromstring(made.read(part))  # well-formed, or this raises
        ui = ElementTree.fromstring(made.read(RIBBON_PART))
    tabs = ui.findall(f".//{UI}tab")
    assert [t.get("label") for t in tabs] == ["Health Score"]
    buttons = ui.findall(f".//{UI}button")
    assert [b.get("label") for b in buttons] == ["Refresh scores"]
    procedures = vba_procedures(addin)
    for button in buttons:
        module, _, procedure = button.get("onAction").partition(".")
        assert procedure in procedures[module], button.get("onAction")


def test_settings_sheet_is_enabled_under_the_name_the_vba_reads(addin):
    expected = conf_sheet_name_from_vba(addin)
    assert expected == "myaddin.conf"
    with zipfile.ZipFile(addin) as made, zipfile.ZipFile(template_path()) as template:
        names = [s.get("name") for s in ElementTree.fromstring(made.read(WORKBOOK_PART)).iter(f"{NS}sheet")]
        shipped = [s.get("name") for s in ElementTree.fromstring(template.read(WORKBOOK_PART)).iter(f"{NS}sheet")]
    assert shipped == ["_" + expected]  # xlwings ships it disabled
    assert names == [expected]
    title, values = conf_values(addin)
    assert title == expected
    template_title, template_values = conf_values(template_path())
    # the keys the VBA looks up (upper-cased) are all there, in the template's order, contiguous from A1
    assert list(values) == list(template_values)
    assert {k.upper() for k in values} >= {"INTERPRETER_WIN", "INTERPRETER_MAC", "UDF MODULES", "USE UDF SERVER"}
    assert values["UDF Modules"] == "chs_excel.excel"
    untouched = set(values) - {"Interpreter_Win", "Interpreter_Mac", "UDF Modules"}
    assert untouched == {"PYTHONPATH", "Conda Path", "Conda Env", "Debug UDFs", "Use UDF Server", "Show Console"}
    assert {k: values[k] for k in untouched} == {k: template_values[k] for k in untouched}
    assert values["Use UDF Server"] is False and values["Show Console"] is False


@pytest.mark.parametrize("platform, key, other", [("win32", "Interpreter_Win", "Interpreter_Mac"),
                                                 ("darwin", "Interpreter_Mac", "Interpreter_Win")])
def test_addin_names_the_python_it_was_made_with_for_this_platform(tmp_path, monkeypatch, capsys, platform, key,
                                                                    other):
    import chs_excel.excel.addin
    monkeypatch.setattr(chs_excel.excel.addin, "current_platform", lambda: platform)
    assert main(["addin", str(tmp_path)]) == 0
    assert f"{key}: {sys.executable}" in capsys.readouterr().out
    _, values = conf_values(tmp_path / ADDIN_NAME)
    assert values[key] == sys.executable
    assert values[other] is None  # as the template has it: the VBA falls back to `python` on the PATH


def test_addin_made_where_there_is_no_desktop_excel_names_no_interpreter(tmp_path, monkeypatch, capsys):
    import chs_excel.excel.addin
    monkeypatch.setattr(chs_excel.excel.addin, "current_platform", lambda: "linux")
    assert main(["addin", str(tmp_path)]) == 0
    assert "--interpreter-win" in capsys.readouterr().out
    _, values = conf_values(tmp_path / ADDIN_NAME)
    assert values["Interpreter_Win"] is None and values["Interpreter_Mac"] is None
    assert main(["addin", str(tmp_path), "--interpreter", "/usr/bin/python3"]) == 2
    assert "--interpreter-win or --interpreter-mac" in capsys.readouterr().err


def test_interpreter_options(tmp_path, monkeypatch, capsys):
    import chs_excel.excel.addin
    monkeypatch.setattr(chs_excel.excel.addin, "current_platform", lambda: "win32")
    win = r"D:\Python\envs\cs\python.exe"
    assert main(["addin", str(tmp_path), "--interpreter", win]) == 0
    _, values = conf_values(tmp_path / ADDIN_NAME)
    assert (values["Interpreter_Win"], values["Interpreter_Mac"]) == (win, None)
    mac = "/Users/cs/.venvs/chs/bin/python"
    assert main(["addin", str(tmp_path), "--interpreter-win", "", "--interpreter-mac", mac]) == 0
    _, values = conf_values(tmp_path / ADDIN_NAME)
    assert (values["Interpreter_Win"], values["Interpreter_Mac"]) == (None, mac)  # "" leaves it empty
    capsys.readouterr()
    assert main(["addin", str(tmp_path), "--interpreter", win, "--interpreter-win", "C:\\other.exe"]) == 2
    assert "disagree" in capsys.readouterr().err
    assert main(["addin", str(tmp_path), "--interpreter-win", "C:\\a\nb.exe"]) == 2
    assert "control characters" in capsys.readouterr().err


def test_xml_special_characters_in_paths_survive(tmp_path):
    from chs_excel.excel.addin import write_addin
    win = r"C:\Users\O'Brien & <Co> \"CS\" Ops\Ünïcödé 日本\.venv\Scripts\python.exe"
    mac = "/Users/o'brien/A&B <x> \"y\"/bin/python3 "
    target = write_addin(tmp_path, interpreter_win=win, interpreter_mac=mac, platform="linux")
    with zipfile.ZipFile(target) as made:
        ElementTree.fromstring(made.read(CONF_PART))  # still well-formed
    _, values = conf_values(target)
    assert values["Interpreter_Win"] == win
    assert values["Interpreter_Mac"] == mac  # the trailing space too (xml:space="preserve")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_addin(addin, tmp_path):
    # LibreOffice loads no .xlam (xlwings' own template neither): open the same parts as a macro-enabled workbook.
    workbook = tmp_path / "addin.xlsm"
    workbook.write_bytes(as_xlsm(addin))
    out = tmp_path / "converted"
    done = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to",
                           "xlsx", "--outdir", str(out), str(workbook)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    import openpyxl
    book = openpyxl.load_workbook(next(out.glob("*.xlsx")))
    assert book.sheetnames == ["myaddin.conf"]


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
    from client_shapes import book_payload as book_json

    import chs_excel_addin
    from chs_excel.demo.template import write_template
    book = xw.Book(json=book_json(write_template(tmp_path / "b.xlsx")))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    chs_excel_addin.main()
    assert [a["args"][1] for a in book.impl.json()["actions"] if a["func"] == "addSheet"] == \
        list(OUTPUT_SHEETS) + ["Score History 2026-11-15"]


def test_addin_file_must_keep_its_name(tmp_path, capsys):
    assert main(["addin", str(tmp_path / "health.xlam")]) == 2
    assert "must be called chs_excel_addin.xlam" in capsys.readouterr().err


def test_lite_files_work_without_the_file_only_dependencies(tmp_path, capsys):
    assert main(["lite", str(tmp_path)]) == 0
    assert (tmp_path / "requirements.txt").read_text().split() == [f"xlwings>={XLWINGS_MIN}", "pyodide-http",
                                                                    "numpy", "pandas", "jsonschema", "scipy"]
    out = capsys.readouterr().out
    assert "ADD the lines of requirements.txt" in out and "keep Lite's own lines" in out
    assert "ADD the lines of the requirements.txt" in (tmp_path / "main.py").read_text()
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
    assert lines[0] == f"{functions} {['optimise_scorecard', 'refresh_scores', 'run_backtest', 'validate_config']}"
    assert ast.literal_eval(lines[1]) == [[60]]


PYODIDE_BUILT = {"numpy", "pandas", "rpds-py", "scipy"}  # compiled packages the Pyodide distribution ships


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


def test_lite_keeps_the_lines_xlwings_lite_itself_needs():
    names = [re.split(r"[<>=!;\[ ]", r)[0] for r in LITE_REQUIREMENTS]
    assert names == ["xlwings", "pyodide-http"]
    assert LITE_REQUIREMENTS[0] == f"xlwings>={XLWINGS_MIN}"


def test_xlwings_minimum_has_every_api_chs_excel_calls():
    """The installed xlwings is at least the minimum, and has what chs-excel calls (the minimum's evidence is in
    chs_excel/excel/lite.py: 0.37.4 lacks Range.set_colors and Range.conditional_formats)."""
    import inspect
    import tomllib

    import xlwings as xw
    from xlwings.main import Charts, ConditionalFormats

    def version(text):
        return tuple(int(p) for p in text.split(".")[:3])
    assert version(xw.__version__) >= version(XLWINGS_MIN)
    for name in ("func", "arg", "script"):
        assert callable(getattr(xw, name)), name
    for name in ("set_colors", "conditional_formats", "add_hyperlink", "raw_value"):
        assert hasattr(xw.Range, name), name
    assert hasattr(ConditionalFormats, "add_custom")
    assert "anchor" in inspect.signature(Charts.add).parameters
    pins = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"xlwings>={XLWINGS_MIN}" in [p.replace(" ", "") for p in pins]  # one minimum for desktop and Lite


def test_lite_main_scores_the_recorded_office_js_payloads(tmp_path):
    """main.py (the bundle, not the source tree) on what xlwings Server's Office.js client recorded."""
    assert main(["lite", str(tmp_path)]) == 0
    fixtures = Path(__file__).parents[1] / "fixtures" / "clients"
    probe = textwrap.dedent(f"""
        import asyncio, json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import main
        import xlwings as xw
        from xlwings import server
        def load(name):
            data = json.loads(open({str(fixtures)!r} + "/" + name, encoding="utf-8").read())
            return data
        book = xw.Book(json={{k: v for k, v in load("officejs_book.json").items() if not k.startswith("_")}})
        actions = asyncio.run(server.custom_scripts_call(main, "refresh_scores", typehint_to_value={{xw.Book: book}})).json()["actions"]
        print(sorted({{a["func"] for a in actions}}))
        call = load("officejs_function_calls.json")["calls"][0]
        result = asyncio.run(server.custom_functions_call({{k: v for k, v in call.items() if not k.startswith("_")}}, main))
        print(sum(isinstance(v, (int, float)) for (v,) in result), len(result))
    """)
    env = {"XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    funcs, counts = done.stdout.strip().splitlines()[-2:]
    assert "alert" not in funcs and "setValues" in funcs and "addSheet" in funcs
    scored, rows = map(int, counts.split())
    assert rows == 60 and scored >= 55  # the template's accounts without enough data stay blank
