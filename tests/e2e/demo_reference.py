"""Write the reference of the demo's output sheets (run from the repository root, at a commit you trust):

    python tests/e2e/demo_reference.py tests/e2e/reference/demo_output.json

The reference holds every cell value of chs-excel's own sheets after ``chs-excel demo``, as openpyxl reads
them; test_demo_reference.py compares a fresh demo with it cell by cell.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import openpyxl

SHEETS = ("Scores", "Benchmark Gap", "Distribution", "Score History", "Data Issues", "Score History 2026-11-15")


def plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return {"date": value.isoformat()}
    return value


def demo_cells(book: Path) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(book)
    return {name: [[plain(v) for v in row] for row in wb[name].iter_rows(values_only=True)] for name in SHEETS}


def make_demo(folder: Path) -> Path:
    from chs_excel.cli import main
    book = folder / "demo.xlsx"
    assert main(["demo", str(book)]) == 0
    return book


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        cells = demo_cells(make_demo(Path(tmp)))
    lines = ["{"]
    for k, (name, rows) in enumerate(cells.items()):
        body = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in rows)
        lines.append(f" {json.dumps(name)}: [\n{body}\n ]" + ("," if k < len(cells) - 1 else ""))
    Path(sys.argv[1]).write_text("\n".join(lines + ["}"]) + "\n", encoding="utf-8")
