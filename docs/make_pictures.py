"""Render each sheet of the demo workbook (and the example's Validation and Scorecard Proposal) to a PNG for the
docs, the way LibreOffice shows it.

Needs LibreOffice and poppler:  apt-get install -y --no-install-recommends libreoffice-calc poppler-utils
Run:  python docs/make_pictures.py   (writes docs/img/<sheet>.png)
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.worksheet.properties import PageSetupProperties

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from chs_excel.pipeline import backtest_file, optimise_file, refresh_file  # noqa: E402
from chs_excel.demo.template import write_template  # noqa: E402

SHEETS = ["Instructions", "Settings", "Categories", "Metrics", "Accounts", "Metric History", "Overrides", "Benchmarks",
          "Playbooks", "Scores", "Benchmark Gap", "Distribution", "Score History", "Data Issues"]


def render(book: Path, sheet: str, out: Path, work: Path, rows: int = 30, columns: int = 20) -> Path:
    wb = openpyxl.load_workbook(book)
    for name in wb.sheetnames:
        if name != sheet:
            wb.remove(wb[name])
    ws = wb[sheet]
    if ws.max_row > rows + 1:
        ws.delete_rows(rows + 2, ws.max_row)
    last_row = rows + 1 if ws._charts else min(rows + 1, ws.max_row)  # charts sit under the table
    ws.print_area = f"A1:{openpyxl.utils.get_column_letter(min(columns, ws.max_column))}{last_row}"
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    single = work / f"{sheet.replace(' ', '_')}.xlsx"
    wb.save(single)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{work}/lo", "--headless", "--convert-to", "pdf",
                    "--outdir", str(work), str(single)], check=True, capture_output=True)
    pdf = single.with_suffix(".pdf")
    if not pdf.exists():
        raise RuntimeError(f"LibreOffice did not render {sheet}")
    target = out / f"{sheet.replace(' ', '_').lower()}"
    box = _content_box(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-x", str(box[0]), "-y", str(box[1]),
                    "-W", str(box[2]), "-H", str(box[3]), "-singlefile", str(pdf), str(target)], check=True)
    return target.with_suffix(".png")


DPI = 110


def render_review(book: Path, out: Path, work: Path, account: str | None = None) -> Path:
    """docs/img/account_review.png: the Account Review page as ``chs-excel review --pdf`` prints it."""
    from chs_excel.review_pdf import write_pdf
    summary = refresh_file(book, review_account=account)
    shown = next(s for s in summary.report.sheets if s.name == "Account Review").cells["C3"].value
    pdf = work / "account_review.pdf"
    write_pdf(book, [summary.report.review_page(shown, "Review 1")], pdf)
    target = out / "account_review"
    box = _content_box(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-x", str(box[0]), "-y", str(box[1]),
                    "-W", str(box[2]), "-H", str(box[3]), "-singlefile", str(pdf), str(target)], check=True)
    return target.with_suffix(".png")


def render_export(book: Path, out: Path, work: Path, rows: int = 12) -> Path:
    """docs/img/crm_export.png: the first rows of ``chs-excel export --format csv``, opened as a spreadsheet."""
    import csv
    from chs_excel.export import export_file
    exported = work / "crm_export.csv"
    export_file(book, "csv", exported)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "CRM export"
    with exported.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            ws.append([float(v) if v.replace(".", "", 1).lstrip("-").isdigit() else v for v in row])
    for cell in ws[1]:
        cell.font = openpyxl.styles.Font(bold=True)
    for column in ws.columns:
        widest = max(len(str(c.value or "")) for c in column[:rows + 1])
        ws.column_dimensions[column[0].column_letter].width = min(48, widest + 2)
    sheet_book = work / "crm_export.xlsx"
    wb.save(sheet_book)
    return render(sheet_book, "CRM export", out, work, rows=rows, columns=15)  # up to Playbook


def _content_box(pdf: Path, margin: int = 12) -> tuple[int, int, int, int]:
    """x, y, width, height of the non-white part of page 1 at DPI (read from an uncompressed PPM render)."""
    ppm = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(ppm)], check=True)
    data = ppm.with_suffix(".ppm").read_bytes()
    parts = data.split(maxsplit=4)
    width, height, pixels = int(parts[1]), int(parts[2]), parts[4]
    import numpy as np
    image = np.frombuffer(pixels[:width * height * 3], dtype=np.uint8).reshape(height, width, 3)
    ink = np.argwhere(image.min(axis=2) < 245)
    if not len(ink):
        return 0, 0, width, height
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0)
    x, y = max(0, left - margin), max(0, top - margin)
    return x, y, min(width, right + margin) - x, min(height, bottom + margin) - y


def main() -> None:
    out = HERE / "img"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        book = write_template(work / "demo.xlsx")
        refresh_file(book, as_of=dt.date(2026, 9, 15))   # earlier snapshots: Score History lists three,
        refresh_file(book, as_of=dt.date(2026, 10, 15))  # and Scores shows changes
        refresh_file(book)
        for sheet in SHEETS:
            size = {"Benchmark Gap": {"columns": 11}, "Distribution": {"rows": 40}, "Metrics": {"columns": 22},
                    "Score History": {"rows": 12, "columns": 9}}.get(sheet, {})
            print(render(book, sheet, out, work, **size))
        print(render_review(book, out, work, account="ACC-014"))  # a rule capped its score
        print(render_export(book, out, work))
        # The example's 2,000 real accounts have outcomes: the backtest's and the optimiser's sheets
        example = work / "saas_churn.xlsx"
        shutil.copyfile(HERE.parent / "examples" / "saas_churn" / "saas_churn.xlsx", example)
        backtest_file(example)
        optimise_file(example)
        print(render(example, "Validation", out, work, rows=60, columns=8))
        print(render(example, "Scorecard Proposal", out, work, rows=50, columns=10))


if __name__ == "__main__":
    if not shutil.which("soffice"):
        sys.exit("LibreOffice (soffice) is needed: apt-get install -y --no-install-recommends libreoffice-calc poppler-utils")
    main()
