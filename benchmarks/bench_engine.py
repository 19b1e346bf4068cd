"""Speed of chs-excel: the engine alone, and a whole ``chs-excel refresh`` on generated workbooks.

Run:  python benchmarks/bench_engine.py            (engine at 10k, 100k and 1,048,575 accounts)
      python benchmarks/bench_engine.py --report    (also the report sheets at 100k and 1,048,575 accounts)
      python benchmarks/bench_engine.py --refresh   (also whole refreshes of 10k and 100k-account workbooks)

The engine figure is ``chs_excel.core.engine.score`` on in-memory data: 8 metrics over
all six measure types, 3 categories, no file I/O. The report figure is what a refresh's
report stage builds from the engine's result, in memory: points lost, drivers, and the
Scores, Benchmark Gap (12 segment x stage benchmarks with category targets, 5 playbooks),
Distribution and Data Issues sheets (Score History aside). The refresh figure splits
reading (calamine + cell checks), scoring and writing (openpyxl).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chs_excel import contract as c  # noqa: E402
from chs_excel.config import config_from_tables  # noqa: E402
from chs_excel.core.engine import ScoringInput, score  # noqa: E402
from chs_excel.core.explain import driver_text, points_lost, rounded, shown_overall  # noqa: E402
from chs_excel.pipeline import refresh_file  # noqa: E402
from chs_excel.sheets.data_issues import issues_sheet  # noqa: E402
from chs_excel.sheets.distribution import distribution_sheet  # noqa: E402
from chs_excel.sheets.gap import gap_sheet  # noqa: E402
from chs_excel.sheets.scores import scores_sheet  # noqa: E402
from tests.helpers import CATEGORY_HEADER, METRIC_HEADER, metric_row, table  # noqa: E402

AS_OF = dt.date(2026, 11, 15)
METRICS = [
    metric_row("Active users trend", "Product", 30, "trend", "Active users", low=-0.2, high=0.2),
    metric_row("Data trend", "Product", 20, "trend", "Data GB", low=-0.25, high=0.25),
    metric_row("Feature usage", "Product", 30, "ratio", "Features used", source2="Features available", low=0.1, high=0.8),
    metric_row("Seats used", "Product", 20, "range", "Seat use", low=0.2, high=1.0),
    metric_row("Outreach", "Engagement", 30, "goal", "Outreach", target=8, goal_period="month"),
    metric_row("Business reviews", "Engagement", 30, "threshold", "QBRs", cut_points="1, 2, 3, 4", scores="10, 40, 65, 85, 100"),
    metric_row("Open tickets", "Engagement", 40, "range", "Tickets", low=0, high=8, direction="lower"),
    metric_row("CSM sentiment", "Sentiment", 100, "categorical", "Sentiment", labels="Green=100; Amber=60; Red=20"),
]
CATEGORIES = [["Product", 45], ["Engagement", 35], ["Sentiment", 20]]
SOURCES = ["Features used", "Features available", "Seat use", "Outreach", "QBRs", "Tickets", "Sentiment"]


def config():
    return config_from_tables({c.CATEGORIES: table(c.CATEGORIES, CATEGORY_HEADER, CATEGORIES),
                               c.METRICS: table(c.METRICS, METRIC_HEADER, METRICS)})


def accounts(n: int, seed: int = 1) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"A{k:07d}" for k in range(n)])
    frame = pd.DataFrame({
        "Features used": rng.integers(0, 21, n).astype(float), "Features available": np.full(n, 20.0),
        "Seat use": rng.uniform(0, 1.2, n), "Outreach": rng.integers(0, 12, n).astype(float),
        "QBRs": rng.integers(0, 5, n).astype(float), "Tickets": rng.integers(0, 15, n).astype(float),
        "Sentiment": rng.choice(np.array(["Green", "Amber", "Red"], dtype=object), n),
    }, index=ids)
    frame.loc[frame.sample(frac=0.05, random_state=seed).index, "Tickets"] = np.nan  # some gaps to renormalise
    trends = {name: (pd.Series(rng.uniform(50, 150, n), index=ids), pd.Series(rng.uniform(50, 150, n), index=ids))
              for name in ("Active users", "Data GB")}
    return frame, trends


def bench_engine(sizes, repeats: int = 5) -> None:
    cfg = config()
    print(f"engine: {len(cfg.metrics)} metrics, {len(cfg.categories)} categories; median of {repeats} runs")
    for n in sizes:
        frame, trends = accounts(n)
        data = ScoringInput(frame, AS_OF, trends)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            score(cfg, data)
            times.append(time.perf_counter() - start)
        print(f"  {n:>9,} accounts: {statistics.median(times):7.3f} s  (min {min(times):.3f} s)")


SEGMENTS = ["Enterprise", "Mid-Market", "SMB"]
STAGES = ["Onboard", "Adopt", "Optimize", "Renew"]
BENCHMARK_HEADER = [col.header for col in c.BENCHMARK_COLUMNS] + ["Product", "Engagement"]
BENCHMARKS = [[segment, stage, 55 + 5 * i + 3 * j, 50 + 5 * j if j % 2 else "", 45 + 4 * i]
              for i, segment in enumerate(SEGMENTS) for j, stage in enumerate(STAGES)]
PLAYBOOK_HEADER = [col.header for col in c.PLAYBOOK_COLUMNS]
PLAYBOOKS = [["Renewal rescue", "Red", "", "", "Renew", "Executive business review within two weeks.", "CS Director"],
             ["Ticket clinic", "", "Engagement", "Open tickets", "", "Clear the open tickets.", "Support"],
             ["Adoption plan", "", "Product", "", "", "Training on the unused features.", "CSM"],
             ["Relationship refresh", "Amber", "", "", "", "Weekly outreach.", "CSM"],
             ["Account review", "", "", "", "", "Bring the account to the weekly CS meeting.", "CS Manager"]]


def report_config():
    """:func:`config` with benchmarks (and category targets) for every segment and stage, and playbooks."""
    return config_from_tables({c.CATEGORIES: table(c.CATEGORIES, CATEGORY_HEADER, CATEGORIES),
                               c.METRICS: table(c.METRICS, METRIC_HEADER, METRICS),
                               c.BENCHMARKS: table(c.BENCHMARKS, BENCHMARK_HEADER, BENCHMARKS),
                               c.PLAYBOOKS: table(c.PLAYBOOKS, PLAYBOOK_HEADER, PLAYBOOKS)})


def bench_report(sizes, repeats: int = 5) -> None:
    cfg = report_config()
    print(f"report sheets (Scores, Benchmark Gap, Distribution, Data Issues) from the engine's result; "
          f"median of {repeats} runs")
    for n in sizes:
        frame, trends = accounts(n)
        result = score(cfg, ScoringInput(frame, AS_OF, trends))
        rng = np.random.default_rng(3)
        labels = pd.DataFrame({"Account name": [f"Company {k + 1}" for k in range(n)],
                               "Segment": rng.choice(np.array(SEGMENTS, dtype=object), n),
                               "Stage": rng.choice(np.array(STAGES, dtype=object), n),
                               "CSM": [f"CSM {k % 25 + 1}" for k in range(n)]}, index=frame.index)
        change, drops = pd.Series(np.nan, index=frame.index), pd.Series("", index=frame.index, dtype=object)
        runs = []
        for _ in range(repeats):
            run: dict[str, float] = {}
            overall, band = timed(run, "explain", lambda: shown_overall(cfg, result))
            categories = timed(run, "explain", lambda: pd.DataFrame(
                {cat.name: rounded(result.category_scores[cat.name]) for cat in cfg.categories}, index=overall.index))
            lost = timed(run, "explain", lambda: points_lost(cfg, result.metric_scores))
            drivers = timed(run, "explain", lambda: driver_text(lost))
            timed(run, "Scores", lambda: scores_sheet(cfg, result, labels, overall, band, categories, change, drops,
                                                      drivers))
            timed(run, "Benchmark Gap", lambda: gap_sheet(cfg, labels, overall, band, categories, lost, AS_OF))
            timed(run, "Distribution", lambda: distribution_sheet(cfg, labels, overall, band, categories, AS_OF))
            timed(run, "Data Issues", lambda: issues_sheet(result.issues))
            runs.append(run)
        totals = [sum(run.values()) for run in runs]
        parts = ", ".join(f"{part} {statistics.median(run[part] for run in runs):.3f} s" for part in runs[0])
        print(f"  {n:>9,} accounts: {statistics.median(totals):7.3f} s  (min {min(totals):.3f} s) = {parts}")


def timed(run: dict[str, float], part: str, make):
    """``make()``, its time added to ``run[part]``."""
    start = time.perf_counter()
    out = make()
    run[part] = run.get(part, 0.0) + time.perf_counter() - start
    return out


def write_config_sheets(wb) -> None:
    """The benchmark scorecard's Categories, Metrics and Settings sheets into an xlsxwriter workbook."""
    for name, header, rows in ((c.CATEGORIES, CATEGORY_HEADER, CATEGORIES), (c.METRICS, METRIC_HEADER, METRICS),
                               (c.SETTINGS, ["Setting", "Value"], [["As-of date", AS_OF.isoformat()]])):
        ws = wb.add_worksheet(name)
        for r, row in enumerate([header] + rows):
            for j, v in enumerate(row):
                if v != "":
                    ws.write(r, j, v)


def write_values(ws, r: int, cols: list, start: int = 5) -> None:
    """Row ``r`` of the sheet from row ``r - 1`` of each column array, from column ``start`` on; NaN left blank."""
    for j, col in enumerate(cols, start=start):
        v = col[r - 1]
        if not (isinstance(v, float) and np.isnan(v)):
            ws.write(r, j, v)


def write_workbook(path: Path, n: int, history_accounts: int | None = None) -> None:
    """A workbook with the benchmark scorecard, n accounts and two months of history for the trend sources
    (for the first ``history_accounts`` accounts: 4 history rows each)."""
    import xlsxwriter
    frame, trends = accounts(n)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    write_config_sheets(wb)
    ws = wb.add_worksheet(c.ACCOUNTS)
    ws.write_row(0, 0, ["Account ID", "Account name", "Segment", "Stage", "CSM"] + SOURCES)
    cols = [frame[s].to_numpy() for s in SOURCES]
    for r, account in enumerate(frame.index, start=1):
        ws.write_row(r, 0, [account, f"Company {r}", "SMB", "Adopt", "CSM 1"])
        write_values(ws, r, cols)
    ws = wb.add_worksheet(c.HISTORY)
    ws.write_row(0, 0, list(c.HISTORY_COLUMNS))
    r = 1
    for name, (prev, latest) in trends.items():
        for period, values in ((dt.datetime(2026, 10, 1), prev), (dt.datetime(2026, 11, 1), latest)):
            fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
            for account, v in list(zip(frame.index, values.to_numpy()))[:history_accounts]:
                ws.write_row(r, 0, [account])
                ws.write_datetime(r, 1, period, fmt)
                ws.write_row(r, 2, [name, float(v)])
                r += 1
    wb.close()


def bench_refresh(sizes) -> None:
    print("whole refresh (chs_excel.pipeline.refresh_file), one run each:")
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = Path(folder) / f"book_{n}.xlsx"
            write_workbook(path, n)
            size = path.stat().st_size / 1e6
            start = time.perf_counter()
            summary = refresh_file(path)
            total = time.perf_counter() - start
            s = summary.seconds
            print(f"  {n:>9,} accounts ({4 * n:,} history rows, {size:.1f} MB): total {total:6.2f} s = "
                  f"read+check {s['read']:.2f} s, score {s['score']:.2f} s, report {s['report']:.2f} s, write {s['write']:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", action="store_true", help="also time the report sheets built from the result")
    parser.add_argument("--refresh", action="store_true", help="also time whole refreshes of generated workbooks")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_048_575])
    parser.add_argument("--report-sizes", type=int, nargs="*", default=[100_000, 1_048_575])
    parser.add_argument("--refresh-sizes", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    bench_engine(args.sizes)
    if args.report:
        bench_report(args.report_sizes)
    if args.refresh:
        bench_refresh(args.refresh_sizes)
