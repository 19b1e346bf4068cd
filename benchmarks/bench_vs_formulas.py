"""chs-excel against the alternative a CS team has: the same scorecard as an Excel formula workbook.

Run:  python benchmarks/bench_vs_formulas.py [--accounts 10000 100000 1048575] [--repeats 3] [--libreoffice-up-to N]

For N accounts (4 Metric History rows per account: 2 trend sources x 2 periods; Benchmarks and Playbooks
filled so Benchmark Gap and Data Issues have content) it builds

  (a) a chs-excel workbook (the scorecard of ``bench_engine``), refreshed once so the timed refreshes replace
      the output sheets, and
  (b) the equivalent formula workbook, built from the same config: the same Accounts data (the trend sources'
      previous and latest period values placed in columns, as a formula workbook needs them) and a Scores
      sheet of formulas: one score per metric (range/trend/ratio/goal clamped linear maps, threshold with
      LOOKUP, categorical with INDEX/MATCH), category scores as SUMPRODUCT weighted means renormalised over
      the metrics that have a score, coverage, overall (blank below the minimum coverage), band with IF,
      the benchmark target by segment and stage, the gap and the playbook of accounts below their benchmark.

Then, in alternating runs (median of ``--repeats``), it times

  * ``chs-excel refresh`` in place on (a), as a subprocess (wall time, peak RSS of the child);
  * LibreOffice headless loading (b), recalculating every formula and saving it as xlsx (wall time, peak RSS),
    with its own profile set to recalculate OOXML files on load (otherwise it would keep the cached values);
  * an independent floor: reading (a)'s input sheets with python-calamine plus deflating, at level 1, the
    XML of the output sheets chs-excel wrote (taken from the refreshed file's zip).

LibreOffice's saved values are read back and compared with chs-excel's Overall scores and bands, account by
account, so the comparison is between two computations of the same numbers.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import python_calamine  # noqa: E402
import xlsxwriter  # noqa: E402
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell  # noqa: E402

import bench_engine as be  # noqa: E402
from bench_refresh import floor_read  # noqa: E402
from chs_excel import contract as c  # noqa: E402
from chs_excel.core.engine import goal_period  # noqa: E402

SEGMENTS = ["Enterprise", "Mid-Market", "SMB"]
STAGES = ["Onboard", "Adopt", "Optimize", "Renew"]
BENCHMARK_TARGETS = {("Enterprise", "Onboard"): 65, ("Enterprise", "Adopt"): 70, ("Enterprise", "Optimize"): 75,
                     ("Enterprise", "Renew"): 80, ("Mid-Market", "Onboard"): 60, ("Mid-Market", "Adopt"): 65,
                     ("Mid-Market", "Optimize"): 70, ("Mid-Market", "Renew"): 75, ("SMB", "Onboard"): 55,
                     ("SMB", "Adopt"): 55, ("SMB", "Optimize"): 60, ("SMB", "Renew"): 65}
PLAYBOOKS = [["Renewal rescue", "Red", "Executive business review within two weeks; written success plan.", "CS Director"],
             ["Relationship refresh", "Amber", "Weekly outreach; schedule the next business review.", "CSM"],
             ["Account review", "", "Bring the account to the weekly CS meeting.", "CS Manager"]]
PLAYBOOK_HEADER = [col.header for col in c.PLAYBOOK_COLUMNS]
ACCOUNT_HEADER = list(c.ACCOUNT_COLUMNS) + be.SOURCES
PERIODS = (dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1))
LO_PROFILE = Path("/tmp/lo_bench")


def labels(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    return rng.choice(np.array(SEGMENTS, dtype=object), n), rng.choice(np.array(STAGES, dtype=object), n)


def data(n: int):
    """``bench_engine.accounts`` with a few cells a refresh reports on Data Issues (and scores as missing):
    an unknown sentiment label on every 500th account, text in a number column on every 700th."""
    frame, trends = be.accounts(n)
    frame["Seat use"] = frame["Seat use"].astype(object)
    frame.iloc[::500, frame.columns.get_loc("Sentiment")] = "Grey"
    frame.iloc[3::700, frame.columns.get_loc("Seat use")] = "n/a"
    for pair in trends.values():  # past Excel's rows, Metric History has no room: those accounts have no trend
        for values in pair:
            values.iloc[history_accounts(n):] = np.nan
    return frame, trends


EXCEL_ROWS = 1_048_576


def history_accounts(n: int) -> int:
    """Accounts with Metric History rows (4 each): all of them, as long as the sheet stays within Excel's rows."""
    return min(n, (EXCEL_ROWS - 1) // 4)


def write_chs_workbook(path: Path, n: int) -> None:
    """``bench_engine.write_workbook``'s scorecard and data, with segments and stages varied and the
    Benchmarks and Playbooks sheets filled (4 Metric History rows for each of :func:`history_accounts`)."""
    frame, trends = data(n)
    segment, stage = labels(n)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    be.write_config_sheets(wb)
    ws = wb.add_worksheet(c.ACCOUNTS)
    ws.write_row(0, 0, ACCOUNT_HEADER)
    cols = [frame[s].to_numpy() for s in be.SOURCES]
    for r, account in enumerate(frame.index, start=1):
        ws.write_row(r, 0, [account, f"Company {r}", segment[r - 1], stage[r - 1], f"CSM {r % 25 + 1}"])
        be.write_values(ws, r, cols)
    ws = wb.add_worksheet(c.HISTORY)
    ws.write_row(0, 0, list(c.HISTORY_COLUMNS))
    fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r = 1
    for name, pair in trends.items():
        for period, values in zip(PERIODS, pair):
            for account, v in zip(frame.index[:history_accounts(n)], values.to_numpy()):
                ws.write_string(r, 0, account)
                ws.write_datetime(r, 1, period, fmt)
                ws.write_string(r, 2, name)
                ws.write_number(r, 3, float(v))
                r += 1
    ws = wb.add_worksheet(c.BENCHMARKS)
    ws.write_row(0, 0, ["Segment", "Stage", "Target"])
    for r, ((seg, stg), target) in enumerate(BENCHMARK_TARGETS.items(), start=1):
        ws.write_row(r, 0, [seg, stg, target])
    ws = wb.add_worksheet(c.PLAYBOOKS)
    ws.write_row(0, 0, PLAYBOOK_HEADER)
    for r, (name, band, actions, owner) in enumerate(PLAYBOOKS, start=1):
        ws.write_row(r, 0, [name, band, "", "", "", actions, owner])
    wb.close()


def _linear(x: str, low: float, high: float, higher: bool) -> str:
    share = f"({x}-({low!r}))/({high!r}-({low!r}))"
    return f"MAX(1,MIN(100,1+99*{share}))" if higher else f"MAX(1,MIN(100,100-99*{share}))"


def _array(values) -> str:
    return "{" + ",".join(f'"{v}"' if isinstance(v, str) else repr(float(v)) for v in values) + "}"


def write_formula_workbook(path: Path, n: int) -> dict:
    """The same scorecard as formulas (see the module docstring); returns where the Scores columns are."""
    cfg = be.config()
    frame, trends = data(n)
    segment, stage = labels(n)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})

    # Settings: the as-of date, the bands, the minimum coverage and each goal metric's elapsed share (formulas).
    ws = wb.add_worksheet("Settings")
    ws.write_row(0, 0, ["Setting", "Value"])
    ws.write(1, 0, "As-of date")
    ws.write_datetime(1, 1, dt.datetime.combine(cfg_as_of := be.AS_OF, dt.time()), date_fmt)
    ws.write_row(2, 0, ["Red below", cfg.bands.red_below])
    ws.write_row(3, 0, ["Amber below", cfg.bands.amber_below])
    ws.write_row(4, 0, ["Minimum coverage", cfg.min_coverage])
    share_cell = {}
    row = 5
    for m in cfg.metrics:
        if m.measure == "goal":
            assert m.goal_period == "month", "this formula workbook spells out monthly goals only"
            start, end = goal_period(m, cfg_as_of)
            ws.write(row, 0, f"{m.name}: share of the goal period elapsed")
            ws.write_formula(row, 1, "=MIN(1,MAX(0,(Settings!$B$2-DATE(YEAR(Settings!$B$2),MONTH(Settings!$B$2),1)+1)"
                                     "/(EOMONTH(Settings!$B$2,0)-DATE(YEAR(Settings!$B$2),MONTH(Settings!$B$2),1)+1)))",
                             None, ((cfg_as_of - start).days + 1) / ((end - start).days + 1))
            share_cell[m.name] = f"Settings!$B${row + 1}"
            row += 1

    # Accounts: the same data, plus the trend sources' previous and latest values in columns.
    ws = wb.add_worksheet("Accounts")
    trend_header = [f"{name} ({p:%Y-%m})" for name in trends for p in PERIODS]
    ws.write_row(0, 0, ACCOUNT_HEADER + trend_header)
    col_of = {h: k for k, h in enumerate(ACCOUNT_HEADER)}
    trend_cols = {}
    for k, name in enumerate(trends):
        trend_cols[name] = (len(ACCOUNT_HEADER) + 2 * k, len(ACCOUNT_HEADER) + 2 * k + 1)
    cols = [frame[s].to_numpy() for s in be.SOURCES] + [v.to_numpy() for pair in trends.values() for v in pair]
    for r, account in enumerate(frame.index, start=1):
        ws.write_row(r, 0, [account, f"Company {r}", segment[r - 1], stage[r - 1], f"CSM {r % 25 + 1}"])
        be.write_values(ws, r, cols)

    ws = wb.add_worksheet("Benchmarks")
    ws.write_row(0, 0, ["Segment", "Stage", "Target", "Key"])
    for r, ((seg, stg), target) in enumerate(BENCHMARK_TARGETS.items(), start=1):
        ws.write_row(r, 0, [seg, stg, target])
        ws.write_formula(r, 3, f"=A{r + 1}&\"|\"&B{r + 1}", None, f"{seg}|{stg}")
    nb = len(BENCHMARK_TARGETS) + 1
    ws = wb.add_worksheet("Playbooks")
    ws.write_row(0, 0, ["Playbook", "Band", "Actions", "Owner"])
    for r, p in enumerate(PLAYBOOKS, start=1):
        ws.write_row(r, 0, p)
    band_playbooks = [p for p in PLAYBOOKS if p[1]]
    fallback = next(p[0] for p in PLAYBOOKS if not p[1])
    npb = len(band_playbooks) + 1

    # Scores: one row of formulas per account.
    metrics = list(cfg.metrics)
    cats = list(cfg.categories)
    order = [m.category for m in metrics]
    assert order == sorted(order, key=[cat.name for cat in cats].index), "metrics must be grouped by category"
    header = [c.ACCOUNT_ID] + [m.name for m in metrics] + [cat.name for cat in cats] + \
             ["Coverage", "Overall", "Band", "Benchmark", "Gap", "Playbook"]
    pos = {h: k for k, h in enumerate(header)}
    first_metric, first_cat = 1, 1 + len(metrics)
    ws = wb.add_worksheet("Scores")
    ws.write_row(0, 0, header)
    cat_w = [cat.weight for cat in cats]
    metric_w = np.array([m.weight for m in metrics])
    members = np.array([[m.category == cat.name for cat in cats] for m in metrics], dtype=float)
    effective = metric_w / (members @ (members.T @ metric_w)) * (members @ (np.array(cat_w) / sum(cat_w)))

    def acc(name: str, r: int) -> str:
        return f"Accounts!{xl_col_to_name(col_of[name])}{r + 1}"

    def metric_formula(m, r: int) -> str:
        if m.measure == "trend":
            p, latest = (f"Accounts!{xl_col_to_name(k)}{r + 1}" for k in trend_cols[m.source])
            return (f'=IF(AND(ISNUMBER({p}),ISNUMBER({latest}),N({p})<>0),'
                    f'{_linear(f"(({latest}-{p})/ABS({p}))", m.low, m.high, m.higher_is_better)},"")')
        x = acc(m.source, r)
        if m.measure == "range":
            return f'=IF(ISNUMBER({x}),{_linear(x, m.low, m.high, m.higher_is_better)},"")'
        if m.measure == "ratio":
            d = acc(m.source2, r)
            return (f'=IF(AND(ISNUMBER({x}),ISNUMBER({d}),N({d})<>0),'
                    f'{_linear(f"({x}/{d})", m.low, m.high, m.higher_is_better)},"")')
        if m.measure == "goal":
            due = f"({m.target!r}*{share_cell[m.name]})"
            return f'=IF(AND(ISNUMBER({x}),{due}>0),{_linear(f"({x}/{due})", m.low, m.high, True)},"")'
        if m.measure == "threshold":
            return f'=IF(ISNUMBER({x}),LOOKUP({x},{_array([-1e300] + list(m.cut_points))},{_array(m.scores)}),"")'
        if m.measure == "categorical":
            keys, values = list(m.labels), list(m.labels.values())
            return f'=IFERROR(INDEX({_array(values)},MATCH(TRIM({x}),{_array(keys)},0)),"")'
        raise ValueError(m.measure)

    def mean(lo: int, hi: int, weights, r: int) -> str:
        """Weighted mean of the cells lo..hi of row r over those holding a number (#DIV/0! when none does)."""
        cells = f"{xl_rowcol_to_cell(r, lo)}:{xl_rowcol_to_cell(r, hi)}"
        w = _array(weights)
        return f"SUMPRODUCT({cells},{w})/SUMPRODUCT(ISNUMBER({cells})*{w})"

    cat_ranges = []
    for cat in cats:
        ks = [k for k, m in enumerate(metrics) if m.category == cat.name]
        cat_ranges.append((first_metric + ks[0], first_metric + ks[-1], [metrics[k].weight for k in ks]))
    for i in range(n):
        r = i + 1
        ws.write_formula(r, 0, f"=Accounts!A{r + 1}", None, "")
        for k, m in enumerate(metrics):
            ws.write_formula(r, first_metric + k, metric_formula(m, r), None, "")
        for g, (lo, hi, w) in enumerate(cat_ranges):
            ws.write_formula(r, first_cat + g, f'=IFERROR({mean(lo, hi, w, r)},"")', None, "")
        cov = xl_rowcol_to_cell(r, pos["Coverage"])
        ov = xl_rowcol_to_cell(r, pos["Overall"])
        band = xl_rowcol_to_cell(r, pos["Band"])
        bench = xl_rowcol_to_cell(r, pos["Benchmark"])
        gap = xl_rowcol_to_cell(r, pos["Gap"])
        metric_cells = f"{xl_rowcol_to_cell(r, first_metric)}:{xl_rowcol_to_cell(r, first_cat - 1)}"
        ws.write_formula(r, pos["Coverage"], f"=SUMPRODUCT(ISNUMBER({metric_cells})*{_array(effective)})", None, 0)
        overall = mean(first_cat, first_cat + len(cats) - 1, cat_w, r)
        # shown as chs-excel shows it: a whole number, halves rounded up; the band is that of the shown score
        ws.write_formula(r, pos["Overall"], f'=IF({cov}<Settings!$B$5-1E-12,"",IFERROR(INT({overall}+0.5),""))',
                         None, "")
        ws.write_formula(r, pos["Band"], f'=IF({ov}="","",IF({ov}<Settings!$B$3,"Red",IF({ov}<Settings!$B$4,"Amber","Green")))',
                         None, "")
        ws.write_formula(r, pos["Benchmark"], f'=IFERROR(INDEX(Benchmarks!$C$2:$C${nb},MATCH({acc("Segment", r)}&"|"&'
                                              f'{acc("Stage", r)},Benchmarks!$D$2:$D${nb},0)),"")', None, "")
        ws.write_formula(r, pos["Gap"], f'=IF(AND(ISNUMBER({ov}),ISNUMBER({bench})),{ov}-{bench},"")', None, "")
        ws.write_formula(r, pos["Playbook"], f'=IF(AND(ISNUMBER({gap}),N({gap})<0),IFERROR(INDEX(Playbooks!$A$2:$A${npb},'
                                             f'MATCH({band},Playbooks!$B$2:$B${npb},0)),"{fallback}"),"")', None, "")
    wb.close()
    return {"overall": pos["Overall"], "band": pos["Band"], "formulas_per_row": len(header)}


# ---- timing -----------------------------------------------------------------------------------------------

RUNNER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
                  "rc": done.returncode, "out": done.stdout.decode(errors="replace")[-2000:]}))
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, the largest of the command's processes) of ``cmd``, run in a fresh
    wrapper process so RUSAGE_CHILDREN covers this command only."""
    out = subprocess.run([sys.executable, "-c", RUNNER, *cmd], check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{cmd[0]} failed ({result['rc']}):\n{result['out']}")
    return result["wall"], result["rss"] / 2 ** 20


def chs_refresh_cmd(book: Path) -> list[str]:
    exe = Path(sys.executable).parent / "chs-excel"
    return [str(exe), "refresh", str(book), "--quiet"] if exe.exists() else \
        [sys.executable, "-m", "chs_excel.cli", "refresh", str(book), "--quiet"]


def soffice_cmd(book: Path, out_dir: Path) -> list[str]:
    return ["soffice", f"-env:UserInstallation=file://{LO_PROFILE}", "--headless", "--norestore",
            "--convert-to", "xlsx", "--outdir", str(out_dir), str(book)]


def prepare_lo_profile() -> None:
    """A fresh LibreOffice profile that recalculates OOXML files on load (OOXMLRecalcMode 0 = always):
    by default LibreOffice keeps the cached values of a file that says Excel wrote it."""
    shutil.rmtree(LO_PROFILE, ignore_errors=True)
    user = LO_PROFILE / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">'
        '<value>0</value></prop></item>\n'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">'
        '<value>0</value></prop></item>\n'
        '</oor:items>\n')


def sheet_parts(book: Path) -> dict[str, str]:
    """Sheet name -> its part name in the package (from workbook.xml and its relationships)."""
    with zipfile.ZipFile(book) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    targets = {}
    for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
        tag = rel.group(0)
        rid, target = re.search(r'Id="([^"]+)"', tag).group(1), re.search(r'Target="([^"]+)"', tag).group(1)
        targets[rid] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    parts = {}
    for sheet in re.finditer(r"<sheet\b[^>]*>", wb):
        tag = sheet.group(0)
        name = re.search(r'name="([^"]+)"', tag).group(1)
        rid = re.search(r'r:id="([^"]+)"', tag).group(1)
        parts[name.replace("&amp;", "&")] = targets[rid]
    return parts


def output_xml(book: Path) -> list[bytes]:
    parts = sheet_parts(book)
    with zipfile.ZipFile(book) as z:
        return [z.read(part) for name, part in parts.items() if c.owned_sheet(name)]  # the snapshot sheet too


def floor_deflate(xmls: list[bytes]) -> float:
    start = time.perf_counter()
    for xml in xmls:
        z = zlib.compressobj(1, zlib.DEFLATED, -15)
        z.compress(xml)
        z.flush()
    return time.perf_counter() - start


def rows_of(book: Path, sheet: str) -> list[list]:
    return python_calamine.CalamineWorkbook.from_path(str(book)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def compare(chs_book: Path, lo_book: Path, where: dict) -> str:
    """Overall and band of every account: chs-excel's Scores sheet against LibreOffice's recalculated values."""
    chs_rows = rows_of(chs_book, c.SCORES)
    top = next(k for k, row in enumerate(chs_rows) if c.ACCOUNT_ID in row)
    head = chs_rows[top]
    i_id, i_ov, i_band = head.index(c.ACCOUNT_ID), head.index("Overall"), head.index("Band")
    ours = {row[i_id]: (row[i_ov], row[i_band]) for row in chs_rows[top + 1:] if row[i_id]}
    theirs = {row[0]: (row[where["overall"]], row[where["band"]]) for row in rows_of(lo_book, "Scores")[1:] if row[0]}
    if len(ours) != len(theirs) or set(ours) != set(theirs):
        return f"DIFFERENT account sets: chs-excel {len(ours):,}, LibreOffice {len(theirs):,}"
    worst, band_diff, blank_diff, computed, off = 0.0, 0, 0, 0, 0
    for account, (ov, band) in ours.items():
        lo_ov, lo_band = theirs[account]
        a_blank, b_blank = not isinstance(ov, (int, float)), not isinstance(lo_ov, (int, float))
        if a_blank or b_blank:
            blank_diff += a_blank != b_blank
            continue
        computed += lo_ov != 0
        worst = max(worst, abs(float(ov) - float(lo_ov)))
        band_diff += (band or "") != (lo_band or "")
        off += abs(float(ov) - float(lo_ov)) > 1e-9
    ok = off == 0 and band_diff == 0 and blank_diff == 0 and computed > 0
    return (f"{'agree' if ok else 'DIFFER'}: {len(ours):,} accounts, {off} shown Overall scores differ (largest by "
            f"{worst:g}), {band_diff} band differences, {blank_diff} blank/non-blank differences")


def measure(n: int, repeats: int, libreoffice: bool) -> dict:
    """One size: both workbooks built, then alternating timed runs (median of ``repeats``)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        chs_book, formula_book, out_dir = folder / "chs.xlsx", folder / "formulas.xlsx", folder / "lo_out"
        start = time.perf_counter()
        write_chs_workbook(chs_book, n)
        where = write_formula_workbook(formula_book, n) if libreoffice else None
        print(f"{n:,} accounts: built the workbook(s) in {time.perf_counter() - start:.1f} s: chs-excel "
              f"{chs_book.stat().st_size / 1e6:.1f} MB" + (f", formulas {formula_book.stat().st_size / 1e6:.1f} MB "
                                                           f"({n * where['formulas_per_row']:,} formulas)" if where else ""),
              flush=True)
        # Untimed warm-ups: the first refresh adds the output sheets (the timed ones replace them);
        # the first LibreOffice start fills its fresh profile.
        timed(chs_refresh_cmd(chs_book))
        if libreoffice:
            prepare_lo_profile()
            timed(soffice_cmd(formula_book, out_dir))
        chs, lo, floor = [], [], []
        for k in range(repeats):
            chs.append(timed(chs_refresh_cmd(chs_book)))
            if libreoffice:
                shutil.rmtree(out_dir, ignore_errors=True)
                lo.append(timed(soffice_cmd(formula_book, out_dir)))
                if not (out_dir / formula_book.name).exists():
                    raise SystemExit(f"LibreOffice wrote no {out_dir / formula_book.name}")
            xmls = output_xml(chs_book)
            floor.append(floor_read(chs_book) + floor_deflate(xmls))
            print(f"  run {k + 1}: chs-excel {chs[-1][0]:.2f} s / {chs[-1][1]:.0f} MiB"
                  + (f", LibreOffice {lo[-1][0]:.2f} s / {lo[-1][1]:.0f} MiB" if lo else "")
                  + f", floor {floor[-1]:.2f} s", flush=True)
        if libreoffice:
            print("  check:", compare(chs_book, out_dir / formula_book.name, where), flush=True)
        row = {"n": n, "chs": tuple(statistics.median(x[i] for x in chs) for i in (0, 1)),
               "floor": statistics.median(floor)}
        if lo:
            row["lo"] = tuple(statistics.median(x[i] for x in lo) for i in (0, 1))
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--libreoffice-up-to", type=int, default=200_000,
                        help="skip LibreOffice above this many accounts (at 1,048,575 it needs ~3 min and ~9 GiB)")
    args = parser.parse_args()
    if not shutil.which("soffice"):
        raise SystemExit("LibreOffice (soffice) is not installed: nothing to compare with")
    rows = [measure(n, args.repeats, n <= args.libreoffice_up_to) for n in args.accounts]
    print(f"\nmedian of {args.repeats} alternating runs (wall time / peak RSS of each process)\n")
    print("| accounts | chs-excel refresh | LibreOffice load + recalc + save of the same scorecard as formulas "
          "| floor: calamine read of the inputs + deflating the output XML | LibreOffice / chs-excel "
          "(target >= 5x) | chs-excel / floor (target <= 2x) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        (chs_s, chs_m), floor_s = row["chs"], row["floor"]
        lo = f"{row['lo'][0]:.2f} s / {row['lo'][1]:,.0f} MiB" if "lo" in row else "not run"
        ratio = f"{row['lo'][0] / chs_s:.2f}x" if "lo" in row else ""
        print(f"| {row['n']:,} | {chs_s:.2f} s / {chs_m:,.0f} MiB | {lo} | {floor_s:.2f} s | {ratio} | "
              f"{chs_s / floor_s:.2f}x |")


if __name__ == "__main__":
    main()
