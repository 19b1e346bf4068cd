"""Does a refresh slow down as Score History grows? 52 weekly refreshes of one workbook.

Run:  python benchmarks/bench_history.py [--accounts 100000] [--weeks 52]

Builds the scorecard workbook of ``bench_vs_formulas`` (N accounts, 4 Metric History rows each, Benchmarks and
Playbooks filled), then refreshes it in place once a week for ``--weeks`` weeks (as-of dates a week apart, so
each refresh adds a snapshot). Prints the time and peak RSS of the first, second, every 13th and the last
refresh (each in its own process, as ``chs-excel refresh`` runs), the snapshots kept, the workbook's size, and
the ratio of the last refresh to the first (target: at most 1.1x).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_formulas import chs_refresh_cmd, timed, write_chs_workbook  # noqa: E402
from chs_excel.analysis import history  # noqa: E402
from chs_excel.files.package import sheet_parts  # noqa: E402


def snapshots(book: Path) -> int:
    with zipfile.ZipFile(book) as z:
        return len(history.snapshot_sheets(list(sheet_parts(z))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args()
    first_day = dt.date(2025, 11, 16)
    shown = {1, 2, args.weeks} | set(range(13, args.weeks, 13))
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "history.xlsx"
        write_chs_workbook(book, args.accounts)
        print(f"{args.accounts:,} accounts, {args.weeks} weekly refreshes\n")
        print("| refresh | as-of | seconds | peak RSS | snapshots kept | file MB |")
        print("|---|---|---|---|---|---|")
        times = {}
        for week in range(1, args.weeks + 1):
            day = first_day + dt.timedelta(weeks=week - 1)
            seconds, rss = timed(chs_refresh_cmd(book) + ["--as-of", day.isoformat()])
            times[week] = seconds
            if week in shown:
                print(f"| {week} | {day} | {seconds:.2f} | {rss:,.0f} MiB | {snapshots(book)} | "
                      f"{book.stat().st_size / 1e6:.1f} |", flush=True)
        print("\nevery refresh, in order (s):", " ".join(f"{times[w]:.2f}" for w in sorted(times)))
        last = sorted(times[w] for w in range(max(2, args.weeks - 4), args.weeks + 1))
        print(f"\nrefresh {args.weeks} / refresh 1: {times[args.weeks] / times[1]:.2f}x "
              f"(median of the last five / first: {last[len(last) // 2] / times[1]:.2f}x; / refresh 2, the first "
              f"that compares with a snapshot: {times[args.weeks] / times[min(2, args.weeks)]:.2f}x; target at most 1.1x)")


if __name__ == "__main__":
    main()
