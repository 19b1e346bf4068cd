"""Record what xlwings' real JavaScript clients send to Python for workbook_template.xlsx.

Run from the repo root with the venv active:

    python tests/clients/make_payloads.py [--xlwings-server GIT_DIR] [--check]

The clients' own payload-building code runs under node against a small fake of the Excel /
Google Sheets object model filled with the template's values (see run_client.mjs):

* office_scripts_book.json  xlwings/js/xlwings.ts of the INSTALLED xlwings (Office Scripts)
* google_sheets_book.json   xlwings/js/xlwings.js of the INSTALLED xlwings (Google Apps Script)
* officejs_book.json, officejs_function_calls.json  the Office.js add-in client of xlwings Server /
  xlwings Lite, from a git checkout or mirror of github.com/xlwings/xlwings-server at XLWINGS_SERVER_COMMIT
  (skipped, existing files kept, when that repository is not available)

typescript@5 is npm-installed once into ~/.cache/chs-excel-clients (never into the repo).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tarfile
import io
import tempfile
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # xlwings.server (functions.json), as tests/conftest.py
os.environ.setdefault("XLWINGS_ON_SERVER", "true")  # register @func/@script as xlwings Server / Lite do

import openpyxl  # noqa: E402
from openpyxl.styles.numbers import is_date_format  # noqa: E402
from openpyxl.utils.datetime import to_excel  # noqa: E402
import xlwings as xw  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TEMPLATE = ROOT / "workbook_template.xlsx"
FIXTURES = ROOT / "tests" / "fixtures" / "clients"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chs-excel-clients"
TYPESCRIPT = "typescript@5"
XLWINGS_SERVER_COMMIT = "88620030ee48643d4eff789728cc3aecf302be38"  # xlwings-server main, 2026-08-19
XLWINGS_SERVER_DEFAULT = Path("/work/.mirror/xlwings+xlwings-server/repo")
SPREADSHEET_TZ = "Europe/Berlin"  # Google Sheets: File > Settings > Time zone
SCRIPT_TZ = "America/New_York"  # Apps Script project time zone = the JS engine's local time zone (node TZ)
SESSION_ID = "00000000-0000-4000-8000-000000000001"  # custom-functions-code.js keeps it in localStorage
ORIGIN = "https://chs-excel.example.com"
REGENERATE = "python tests/clients/make_payloads.py"

# The worksheet-function formulas of the README (a few of them), plus one call with cells changed
# in memory (cell_overrides) to show how errors and booleans reach Python.
FUNCTION_CALLS = [
    ("Scores!B2", "=HEALTH_SCORE(Accounts!A1:M61, Metrics!A1:V8, Categories!A1:E4, Settings!A1:C5, "
                  "'Metric History'!A1:D1841, Overrides!A1:H4, , Rules!A1:G3)", None),
    ("Scores!C2", '=CATEGORY_SCORE(Accounts!A1:M61, "Engagement", Metrics!A1:V8, Categories!A1:E4, Settings!A1:C5, '
                  "'Metric History'!A1:D1841)", None),
    ("Scores!D2", '=METRIC_SCORE(Accounts!A1:M61, "CSM sentiment", Metrics!A1:V8, Categories!A1:E4, Settings!A1:C5, '
                  "'Metric History'!A1:D1841)", None),
    ("Scores!E2", "=HEALTH_GAP(Accounts!A1:M61, 75, Metrics!A1:V8, Categories!A1:E4, Settings!A1:C5, "
                  "'Metric History'!A1:D1841)", None),
    ("Scores!F7", "=HEALTH_SCORE(Accounts!A7:M7, Metrics!A1:V8, Categories!A1:E4, Settings!A1:C5, 'Metric History'!A1:D1841, , Accounts!A1:M1)", None),
    ("Scores!G2", "=HEALTH_SCORE(Accounts!A1:M4, Metrics!A1:V8, Categories!A1:E4, Settings!A1:C5, 'Metric History'!A1:D1841)",
     {"Accounts": {"G2": "#N/A", "H3": "#DIV/0!", "I4": True, "J4": False}}),
]


# ------------------------------------------------------------------------------------------
# The workbook, as the fakes need it
# ------------------------------------------------------------------------------------------
def format_category(fmt: str) -> str:
    """Excel's NumberFormatCategory for a number format (only Date/Time matter to the clients)."""
    if fmt in ("General", None):
        return "General"
    if is_date_format(fmt):
        bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", fmt).lower()
        return "Date" if ("y" in bare or "d" in bare or "h" not in bare and "s" not in bare) else "Time"
    if "%" in fmt:
        return "Percentage"
    if fmt == "@":
        return "Text"
    return "Number" if re.fullmatch(r"[0#,.\s]+", fmt) else "Custom"


def excel_value(cell):
    """A cell as Range.values / getValues() give it: serial numbers for dates, error text, '' for blanks."""
    v = cell.value
    if v is None:
        return ""
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return to_excel(v)
    return v


def gs_date_ms(v) -> int:
    """Apps Script getValues(): the instant of the cell's wall-clock time in the spreadsheet time zone."""
    if isinstance(v, dt.time):
        v = dt.datetime.combine(dt.date(1899, 12, 30), v)
    elif not isinstance(v, dt.datetime):
        v = dt.datetime.combine(v, dt.time())
    return round(v.replace(tzinfo=ZoneInfo(SPREADSHEET_TZ)).timestamp() * 1000)


def describe_book(path: Path) -> dict:
    wb = openpyxl.load_workbook(path, data_only=True)
    active = wb.active
    sel = active.sheet_view.selection[0] if active.sheet_view.selection else None
    selection = (sel.activeCell or sel.sqref or "A1") if sel else "A1"
    sheets = []
    for ws in wb.worksheets:
        n_rows, n_cols = ws.max_row, ws.max_column  # Excel's used range (formatted cells count too)
        values, categories, errors, gs_dates = [], [], [], []
        gs_last_row = gs_last_col = 0  # Sheets' getLastRow/getLastColumn: last cell with content
        for r, row in enumerate(ws.iter_rows(min_row=1, max_row=n_rows, max_col=n_cols)):
            values.append([excel_value(c) for c in row])
            categories.append([format_category(c.number_format) for c in row])
            for c_ix, c in enumerate(row):
                if c.value is None:
                    continue
                gs_last_row, gs_last_col = max(gs_last_row, r + 1), max(gs_last_col, c_ix + 1)
                if c.data_type == "e":
                    errors.append([r, c_ix])
                if isinstance(c.value, (dt.datetime, dt.date, dt.time)):
                    gs_dates.append([r, c_ix, gs_date_ms(c.value)])
        sheets.append({"name": ws.title, "n_rows": n_rows, "n_cols": n_cols, "gs_last_row": gs_last_row,
                       "gs_last_col": gs_last_col, "excel_values": values, "categories": categories,
                       "errors": errors, "gs_dates": gs_dates})
    return {"name": path.name, "active_sheet_index": wb.index(active), "selection": selection, "sheets": sheets}


# ------------------------------------------------------------------------------------------
# Worksheet-function calls
# ------------------------------------------------------------------------------------------
def split_args(text: str) -> list[str]:
    args, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        cur += ch
    return args + [cur.strip()]


def parse_formula(formula: str, overrides: dict | None):
    m = re.fullmatch(r"=([A-Z_]+)\((.*)\)", formula)
    func_id, args = m.group(1), []
    for a in split_args(m.group(2)):
        if a == "":
            args.append(None)
        elif a.startswith('"'):
            args.append({"literal": a[1:-1]})
        elif re.fullmatch(r"-?\d+(\.\d+)?", a):
            args.append({"literal": float(a) if "." in a else int(a)})
        else:
            sheet, rng = a.rsplit("!", 1)
            sheet = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
            args.append({"sheet": sheet, "range": rng, "overrides": (overrides or {}).get(sheet, {})})
    return func_id, args


def custom_functions_code(source: str) -> tuple[str, dict]:
    """custom-functions-code.js exactly as xlwings-server's /custom-functions-code route serves it."""
    import chs_excel.excel as module
    from xlwings import server
    import inspect

    js = source.replace("placeholder_xlwings_version", xw.__version__).replace(
        "placeholder_custom_functions_call_path", "/xlwings/custom-functions-call")
    for _, obj in inspect.getmembers(module):
        if hasattr(obj, "__xlfunc__"):
            func_name = obj.__xlfunc__["name"]
            streaming = "true" if inspect.isasyncgenfunction(obj) else "false"
            js += textwrap.dedent(f"""\
            async function {func_name}() {{
                let args = ["{func_name}", {streaming}]
                args.push.apply(args, arguments);
                return await base.apply(null, args);
            }}
            CustomFunctions.associate("{func_name.upper()}", {func_name});
            """)
    meta = server.custom_functions_meta(module)
    return js, meta


# ------------------------------------------------------------------------------------------
# Running node
# ------------------------------------------------------------------------------------------
def ensure_typescript() -> Path:
    if not (CACHE / "node_modules" / "typescript" / "package.json").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--silent", TYPESCRIPT],
                       check=True, stdout=subprocess.DEVNULL)
    return CACHE


def run_node(job: dict, tmp: Path) -> dict:
    job_path = tmp / f"job-{job['mode']}.json"
    job["out"] = str(tmp / f"out-{job['mode']}.json")
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "TZ": SCRIPT_TZ}
    subprocess.run(["node", str(HERE / "run_client.mjs"), str(job_path)], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if not os.environ.get("CLIENTS_DEBUG") else None)
    return json.loads(Path(job["out"]).read_text())


def git_source(repo: Path, commit: str, subdir: str, dest: Path) -> None:
    data = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit, subdir],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


# ------------------------------------------------------------------------------------------
# Writing fixtures
# ------------------------------------------------------------------------------------------
def dumps(obj, indent: int = 0) -> str:
    """JSON with one line per flat list (a row of cell values) and one key per line otherwise."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return json.dumps(obj, ensure_ascii=False)
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in obj) + f"\n{pad}]"
    return json.dumps(obj, ensure_ascii=False)


def write_fixture(name: str, content: dict, check: bool) -> bool:
    path = FIXTURES / name
    text = dumps(content) + "\n"
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"{'ok     ' if same else 'CHANGED'} {path.relative_to(ROOT)}")
        return same
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({len(text):,} bytes)")
    return True


def generated_by(client: str, extra: dict) -> dict:
    return {"client_file": client, "xlwings_version": xw.__version__, "workbook": TEMPLATE.name,
            "regenerate": REGENERATE, "runner": "tests/clients/run_client.mjs (node, TZ=" + SCRIPT_TZ + ")", **extra}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--xlwings-server", type=Path,
                   default=Path(os.environ.get("XLWINGS_SERVER_REPO", XLWINGS_SERVER_DEFAULT)),
                   help="git checkout or mirror of github.com/xlwings/xlwings-server (for the Office.js fixtures)")
    p.add_argument("--check", action="store_true", help="compare with the committed fixtures, write nothing")
    opts = p.parse_args(argv)

    xw_dir = Path(xw.__file__).parent
    ts_file, gs_file = xw_dir / "js" / "xlwings.ts", xw_dir / "js" / "xlwings.js"
    book = describe_book(TEMPLATE)
    ok = True
    with tempfile.TemporaryDirectory(prefix="chs-clients-") as tmp_name:
        tmp = Path(tmp_name)

        # Office Scripts
        result = run_node({"mode": "office-scripts", "book": book, "client_path": str(ts_file),
                           "typescript_dir": str(ensure_typescript())}, tmp)
        (req,) = result
        meta = generated_by("xlwings/js/xlwings.ts (the installed xlwings package)", {
            "typescript": "transpileModule of npm " + TYPESCRIPT + ", types stripped only",
            "entry": "main(workbook) as shipped: runPython(workbook, \"url\", {auth: \"DEVELOPMENT\"})",
            "request": {"url": req["url"], "method": req["method"], "headers": req["headers"]},
            "fake": "getValues(): serial numbers for dates, '' for blanks, error text; getNumberFormatCategories() "
                    "from each cell's number format (yyyy-mm-dd, yyyy-mm -> Date)"})
        ok &= write_fixture("office_scripts_book.json", {"_generated_by": meta, **json.loads(req["body"])}, opts.check)

        # Google Sheets
        result = run_node({"mode": "google-sheets", "book": book, "client_path": str(gs_file),
                           "spreadsheet_time_zone": SPREADSHEET_TZ, "script_time_zone": SCRIPT_TZ}, tmp)
        (req,) = result
        meta = generated_by("xlwings/js/xlwings.js (the installed xlwings package)", {
            "entry": "hello() as shipped: runPython(\"url\", {auth: \"DEVELOPMENT\"})",
            "spreadsheet_time_zone": SPREADSHEET_TZ, "script_time_zone_and_node_TZ": SCRIPT_TZ,
            "request": {"url": req["url"], "method": req["method"], "headers": req["headers"]},
            "fake": "getValues(): JS Date objects for date cells (midnight in the spreadsheet time zone), "
                    "'' for blanks, error text; getLastRow()/getLastColumn(): last cell with content"})
        ok &= write_fixture("google_sheets_book.json", {"_generated_by": meta, **json.loads(req["body"])}, opts.check)

        # Office.js add-in (xlwings Server / xlwings Lite)
        repo = opts.xlwings_server
        if not repo.exists():
            print(f"skipped Office.js fixtures: no xlwings-server repository at {repo} (use --xlwings-server)")
            return 0 if ok else 1
        git_source(repo, XLWINGS_SERVER_COMMIT, "xlwings_server/static/js", tmp)
        static_js = tmp / "xlwings_server" / "static" / "js"
        (static_js / "package.json").write_text('{"type": "module"}')  # the browser loads them as ES modules
        cf_code, cf_meta = custom_functions_code((static_js / "custom-functions" / "custom-functions-code.js").read_text())
        n_params = {f["id"]: len(f["parameters"]) for f in cf_meta["functions"]}
        calls = []
        for caller, formula, overrides in FUNCTION_CALLS:
            func_id, args = parse_formula(formula, overrides)
            args += [None] * (n_params[func_id] - len(args))  # Excel passes every declared parameter
            calls.append({"func_id": func_id, "formula": formula, "args": args, "caller": caller})
        jsconfig = {"appPath": "", "authProviders": [], "customFunctionsMaxRetries": 3,
                    "customFunctionsRetryCodes": [500, 502, 504], "environment": "prod", "isOfficialLiteAddin": False,
                    "pyodideBaseUrl": "", "taskpaneReloadAttempts": 3, "onWasm": False, "requestTimeout": 300,
                    "xlwingsVersion": xw.__version__}
        script_call = {"scriptName": "refresh_scores", "auth": "", "headers": {"Auth-Provider": ""},
                       "errorDisplayMode": "taskpane", "include": "", "exclude": "", "lazy": False, "args": []}
        result = run_node({"mode": "officejs", "book": book, "static_js_dir": str(static_js), "jsconfig": jsconfig,
                           "origin": ORIGIN, "culture_info_name": "en-US", "short_date_pattern": "M/d/yyyy",
                           "local_storage": {"xlwingsSessionId": SESSION_ID}, "script_call": script_call,
                           "custom_functions_code": cf_code, "function_calls": calls}, tmp)
        source = f"github.com/xlwings/xlwings-server@{XLWINGS_SERVER_COMMIT}"
        req = result["script"]
        meta = generated_by(f"xlwings_server/static/js/custom-scripts/index.js (runPython -> getBookData), {source}", {
            "entry": "xlwings.runPython(" + json.dumps(script_call) + ") as a task pane button calls it",
            "jsconfig": jsconfig,
            "api_sets": {"ExcelApi": "1.17", "CustomFunctionsRuntime": "1.4"},
            "request": {"url": req["url"], "method": req["method"], "headers": req["headers"]},
            "fake": "Range.values: serial numbers for dates, '' for blanks, error text; numberFormatCategories from "
                    "each cell's number format. xlwings Lite sends the same payload to Pyodide instead of over HTTP"})
        ok &= write_fixture("officejs_book.json", {"_generated_by": meta, **json.loads(req["body"])}, opts.check)

        meta = generated_by(f"xlwings_server/static/js/custom-functions/custom-functions-code.js (base()), {source}", {
            "served_as": "the /custom-functions-code route: placeholders replaced with xlwings " + xw.__version__ +
                         " and /xlwings/custom-functions-call, plus one CustomFunctions.associate stub per @func "
                         "of chs_excel.excel",
            "request": {"url": result["calls"][0]["request"]["url"], "method": "POST",
                        "headers": result["calls"][0]["request"]["headers"]},
            "session_id": "preset in localStorage['xlwingsSessionId'] (normally a random UUID)",
            "args_from_excel_runtime": "ASSUMED, not client code: Excel hands each 'matrix'/'any' parameter (functions.json "
                                       "has allowCustomDataForDataTypeAny and allowErrorForDataTypeAny) a 2-D array: "
                                       "numbers (dates as serial numbers), strings, booleans, null for blank cells, "
                                       "{type: 'Error', basicType: 'Error', basicValue: '#N/A', errorType: 'NotAvailable'} "
                                       "for error cells, [[literal]] for literals, null for omitted optional arguments",
            "cell_overrides": "_cell_overrides: cells changed in memory for that call only (the template has no "
                              "errors or booleans)"})
        out_calls = []
        for call, spec in zip(result["calls"], FUNCTION_CALLS):
            extra = {"_formula": call["formula"], "_caller": spec[0]}
            if spec[2]:
                extra["_cell_overrides"] = spec[2]
            out_calls.append({**extra, **json.loads(call["request"]["body"])})
        ok &= write_fixture("officejs_function_calls.json", {"_generated_by": meta, "calls": out_calls}, opts.check)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
