"""In-place refresh of a big workbook against its floor.

Run:  python benchmarks/bench_refresh.py [--accounts 100000] [--history-rows 200000]

The floor is what no refresh can avoid: reading the input sheets with
python-calamine, plus writing chs-excel's output sheets (their XML, zipped)
on their own. The in-place refresh also checks cells, scores, builds the
report and copies every other part of the package through unchanged.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import python_calamine  # noqa: E402

try:
    import resource  # POSIX only: the peak memory line is left out elsewhere
except ImportError:
    resource = None

import bench_engine as be  # noqa: E402
from chs_excel import contract as c  # noqa: E402
from chs_excel.pipeline import refresh_file  # noqa: E402
from chs_excel.files.writer import COMPRESS_LEVEL  # noqa: E402
from chs_excel.files.styles import Styles, StyleIds  # noqa: E402
from chs_excel.files.worksheet import worksheet_xml  # noqa: E402

try:
    from chs_excel.book.form import FormSheet  # noqa: E402
    from chs_excel.files.form import form_xml  # noqa: E402
except ImportError:  # an older chs-excel (benchmarking a baseline): every output sheet is a table
    FormSheet = form_xml = None


def part_xml(sheet, ids):
    """A table's worksheet XML (blocks), or a laid-out page's (the Account Review)."""
    if FormSheet is not None and isinstance(sheet, FormSheet):
        return form_xml(sheet, ids), []
    return worksheet_xml(sheet, ids)


def floor_read(path: Path) -> float:
    start = time.perf_counter()
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        if name in c.INPUT_SHEETS:
            book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return time.perf_counter() - start


def floor_write(sheets, folder: Path) -> float:
    """Writing the output sheets alone: their XML, streamed into a zip as the writer does."""
    start = time.perf_counter()
    ids = StyleIds(Styles(None))
    with zipfile.ZipFile(folder / "outputs-only.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as out:
        for k, sheet in enumerate(sheets, start=1):
            xml, _ = part_xml(sheet, ids)
            with out.open(f"xl/worksheets/sheet{k}.xml", "w") as entry:
                for block in [xml] if isinstance(xml, bytes) else xml:  # bytes: an older worksheet_xml
                    entry.write(block)
    return time.perf_counter() - start


def sheet_xml_only(sheets) -> float:
    """Making the output sheets' XML, nothing else (no zip)."""
    start = time.perf_counter()
    ids = StyleIds(Styles(None))
    for sheet in sheets:
        xml, _ = part_xml(sheet, ids)
        for _block in [xml] if isinstance(xml, bytes) else xml:
            pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--history-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        book = folder / "big.xlsx"
        be.write_workbook(book, args.accounts, history_accounts=args.history_rows // 4)
        size = book.stat().st_size / 1e6
        refresh_file(book)  # first refresh adds the output sheets; the timed ones replace them
        totals, reads, writes, xmls, parts = [], [], [], [], {}
        for _ in range(args.repeats):
            start = time.perf_counter()
            summary = refresh_file(book)
            totals.append(time.perf_counter() - start)
            parts = summary.seconds
            reads.append(floor_read(book))
            writes.append(floor_write(summary.report.sheets, folder))
            xmls.append(sheet_xml_only(summary.report.sheets))
        total, read, write, xml = (statistics.median(x) for x in (totals, reads, writes, xmls))
        floor = read + write
        print(f"workbook: {args.accounts:,} accounts, {args.history_rows:,} history rows, {size:.1f} MB "
              f"(median of {args.repeats})")
        print(f"  floor: calamine read of the input sheets {read:.2f} s + writing the output sheets alone "
              f"{write:.2f} s = {floor:.2f} s")
        print(f"  in-place refresh: {total:.2f} s = {total / floor:.2f} x the floor "
              f"(last run: read+checks {parts['read']:.2f} s, score {parts['score']:.2f} s, "
              f"report {parts['report']:.2f} s, write {parts['write']:.2f} s)")
        print(f"  the output sheets' XML alone (worksheet_xml, no zip): {xml:.2f} s")
        if resource is not None:
            print(f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
