"""Python-side speed of chs-excel inside Excel, through xlwings' own dispatch (no Excel needed).

Run:  python benchmarks/bench_excel.py

Measures (median of several runs), on the JSON body Office.js posts (a JSON round trip: blanks null,
dates as serial numbers):
  * one spilled =HEALTH_SCORE over 10,000 accounts + 40,000 history rows via
    xlwings.server.custom_functions_call, on CPython (xlwings Server) and with Pyodide's JsNull check
    made as cheap as it is inside Pyodide (xlwings Lite); targets: under 300 ms each;
  * 1,000 single-row =HEALTH_SCORE calls (header passed separately; the config is cached); target 3 ms each;
  * the refresh_scores script over 10,000 accounts via xlwings.server.custom_scripts_call.
"""
from __future__ import annotations

import asyncio
import json
import datetime as dt
import os
import statistics
import sys
import time
import types
from pathlib import Path

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import xlwings as xw  # noqa: E402
from xlwings import server  # noqa: E402

import bench_engine as be  # noqa: E402
from chs_excel import excel  # noqa: E402
from chs_excel.excel import functions as sf  # noqa: E402
from tests.helpers import CATEGORY_HEADER, METRIC_HEADER  # noqa: E402

SERIAL = {dt.date(2026, 10, 1): 46296.0, dt.date(2026, 11, 1): 46327.0}


def office_tables(n: int):
    frame, trends = be.accounts(n)
    header = ["Account ID", "Account name", "Segment", "Stage", "CSM"] + be.SOURCES
    rows = [header]
    cols = [frame[s].to_numpy() for s in be.SOURCES]
    for r, account in enumerate(frame.index):
        rows.append([account, f"Company {r}", "SMB", "Adopt", "CSM 1"]
                    + ["" if isinstance(c[r], float) and c[r] != c[r] else c[r] for c in cols])
    history = [["Account ID", "Period", "Column", "Value"]]
    for name, (prev, latest) in trends.items():
        for period, values in ((dt.date(2026, 10, 1), prev), (dt.date(2026, 11, 1), latest)):
            history += [[a, SERIAL[period], name, float(v)] for a, v in zip(frame.index, values.to_numpy())]
    metrics = [METRIC_HEADER] + be.METRICS
    categories = [CATEGORY_HEADER] + [c + ["", "", ""] for c in be.CATEGORIES]
    settings = [["Setting", "Value"], ["As-of date", 46341.0]]
    return rows, metrics, categories, settings, history


def call_body(name, *args):
    """What arrives at xlwings' dispatch: the JSON Office.js posted, parsed (no numpy values, no tuples)."""
    body = {"client": "Office.js", "version": xw.__version__, "func_name": name,
            "args": [[[None if v == "" else v for v in row] for row in a] if isinstance(a, list) else a for a in args],
            "caller_address": "Sheet1!A1", "runtime": "1.4"}
    return json.loads(json.dumps(body, default=float))


def median_time(fn, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    rows, metrics, categories, settings, history = office_tables(10_000)
    body = call_body("health_score", rows, metrics, categories, settings, history)
    result = asyncio.run(server.custom_functions_call(body, excel))
    assert len(result) == 10_000
    whole = median_time(lambda: asyncio.run(server.custom_functions_call(body, excel)))
    ours = median_time(lambda: sf.health_score(*body["args"]))
    print(f"spilled =HEALTH_SCORE, 10,000 accounts (+{len(history) - 1:,} history rows), CPython (xlwings Server): "
          f"{whole * 1000:.0f} ms end to end, of which chs-excel {ours * 1000:.0f} ms")
    # Inside Pyodide the import succeeds (and is cached): stand in a module so the check costs what it costs there.
    fake = types.ModuleType("pyodide.ffi")
    fake.JsNull = type("JsNull", (), {})
    sys.modules.setdefault("pyodide", types.ModuleType("pyodide"))
    sys.modules["pyodide.ffi"] = fake
    lite_like = median_time(lambda: asyncio.run(server.custom_functions_call(body, excel)))
    del sys.modules["pyodide.ffi"]
    print(f"  same call with Pyodide's JsNull check (xlwings Lite): {lite_like * 1000:.0f} ms end to end")
    header = [rows[0]]
    small = [call_body("health_score", [rows[i + 1]], metrics, categories, settings, [[None]], [[None]], header)
             for i in range(1000)]
    no_trend = [m[:] for m in metrics if m[3] != "trend"]

    def thousand():
        for b in small:
            b["args"][1] = no_trend
            asyncio.run(server.custom_functions_call(b, excel))
    t = median_time(thousand, repeats=3)
    print(f"1,000 single-row =HEALTH_SCORE calls (no trend metrics, config cached): {t:.2f} s, {t:.2f} ms per call "
          f"end to end")

    sheets = {"Settings": settings, "Categories": categories, "Metrics": metrics, "Accounts": rows, "Metric History": history}
    payload = {"client": "Office.js", "version": xw.__version__,
               "book": {"name": "b.xlsx", "active_sheet_index": 0, "selection": "A1"}, "names": [],
               "sheets": [{"name": k, "values": v, "pictures": [], "tables": []} for k, v in sheets.items()]}

    def refresh():
        book = xw.Book(json=payload)
        asyncio.run(server.custom_scripts_call(excel, "refresh_scores", typehint_to_value={xw.Book: book}))
    t = median_time(refresh, repeats=3)
    book = xw.Book(json=payload)
    actions = asyncio.run(server.custom_scripts_call(excel, "refresh_scores", typehint_to_value={xw.Book: book})).json()["actions"]
    print(f"refresh_scores script, 10,000 accounts: {t:.2f} s, {len(actions)} actions sent to Excel")


if __name__ == "__main__":
    main()
