"""The Account Review page: saved values, recalculation in LibreOffice, the kept choice, `chs-excel review`."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from chs_excel.cli import main
from chs_excel.config import config_from_tables
from chs_excel.core.explain import points_lost
from chs_excel.demo.template import write_template
from chs_excel.files.reader import FileBookReader
from chs_excel.pipeline import read_tables, refresh_file

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_lo = pytest.mark.skipif(not SOFFICE or not shutil.which("pdfinfo"), reason="LibreOffice/pdfinfo not installed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("review") / "demo.xlsx"
    write_template(path)
    return path


def _copy(demo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "book.xlsx"
    shutil.copyfile(demo, target)
    return target


def _sheet_rows(path: Path, name: str) -> list[tuple]:
    return list(openpyxl.load_workbook(path, data_only=True)[name].iter_rows(values_only=True))


def _expected(book: Path, account: str) -> dict:
    """What the page must show for ``account``, worked out from the written Scores, Accounts and Benchmarks sheets
    and the config (not from the page's code)."""
    scores = _sheet_rows(book, "Scores")
    header = list(scores[0])
    row = dict(zip(header, next(r for r in scores[1:] if r[0] == account)))
    with FileBookReader(book) as reader:
        config = config_from_tables(read_tables(reader))
    metric_scores = pd.DataFrame({m.name: [np.nan if row[m.name] is None else float(row[m.name])]
                                  for m in config.metrics})
    lost = points_lost(config, metric_scores).iloc[0].to_dict()
    accounts = _sheet_rows(book, "Accounts")
    acc = dict(zip(accounts[0], next(r for r in accounts[1:] if r[0] == account)))
    bench = None
    for b in sorted(config.benchmarks, key=lambda b: -b.specificity):  # most specific first, stable
        if (b.segment in (None, acc["Segment"])) and (b.stage in (None, acc["Stage"])):
            bench = b.target
            break
    return {"row": row, "lost": lost, "accounts": acc, "benchmark": bench, "config": config}


def _page(book: Path) -> dict:
    """The page's cells by label: metric and category rows by their name in column A, plus the fixed cells."""
    ws = openpyxl.load_workbook(book, data_only=True)["Account Review"]
    by_label = {}
    for r in range(1, ws.max_row + 1):
        label = ws.cell(r, 1).value
        if isinstance(label, str) and label not in by_label:
            by_label[label] = [ws.cell(r, k).value for k in range(1, 9)]
    fixed = {ref: ws[ref].value for ref in ("C3", "D3", "B4", "E4", "G4", "A7", "B7", "D7", "G7", "H7")}
    return {"label": by_label, **fixed}


def _check(book: Path, account: str) -> None:
    want = _expected(book, account)
    page, row = _page(book), want["row"]
    assert page["C3"] == account
    assert (page["D3"], page["B4"], page["E4"], page["G4"]) == (row["Account name"], row["Segment"], row["Stage"],
                                                                 row["CSM"])
    assert page["A7"] == row["Overall"] and page["B7"] == row["Band"]
    assert page["D7"] == pytest.approx(row["Coverage"])
    assert page["G7"] == want["benchmark"]
    assert page["H7"] == pytest.approx(row["Overall"] - want["benchmark"])
    config = want["config"]
    for cat in config.categories:
        line = page["label"][cat.name]
        assert line[1] == row[cat.name]
        in_cat = [want["lost"][m.name] for m in config.metrics if m.category == cat.name]
        assert line[2] == pytest.approx(sum(in_cat), abs=1e-9)
    for m in config.metrics:
        line = page["label"][m.name]
        assert (line[3] if line[3] != "" else None) == row[m.name]
        if row[m.name] is not None:
            assert line[4] == pytest.approx(want["lost"][m.name], abs=1e-9)
        if m.from_history:  # a trend or a logged signal: its value is on Metric History, not the accounts sheet
            assert line[2] == "see Metric History"
        elif m.measure in ("threshold", "range", "goal", "categorical"):
            raw = want["accounts"][m.source]
            assert line[2] == raw or (isinstance(raw, str) and raw.strip() == line[2])
    assert page["label"]["Costing most points"][1] == (row["Drivers"] or None)


@pytest.mark.parametrize("account", ["ACC-012", "ACC-057"])
def test_saved_values_match_an_independent_computation(demo, tmp_path, account):
    book = _copy(demo, tmp_path)
    refresh_file(book, review_account=account)
    _check(book, account)


def test_the_choice_is_kept_and_falls_back_to_the_lowest_score(demo, tmp_path):
    book = _copy(demo, tmp_path)
    refresh_file(book, review_account="acc-033")  # case does not matter
    refresh_file(book)
    assert _page(book)["C3"] == "ACC-033"
    wb = openpyxl.load_workbook(book)
    wb["Account Review"]["C3"] = "ACC-999"  # no longer an account
    wb.save(book)
    refresh_file(book)
    first = _sheet_rows(book, "Scores")[1][0]
    assert _page(book)["C3"] == first


def test_unknown_account_names_close_matches_and_writes_nothing(demo, tmp_path, capsys):
    book = _copy(demo, tmp_path)
    before = book.read_bytes()
    assert main(["review", str(book), "--account", "ACC-0122"]) == 1
    err = capsys.readouterr().err
    assert "ACC-0122" in err and "ACC-012" in err and "Nothing was written" in err
    assert book.read_bytes() == before


def test_missing_libreoffice_says_what_to_install_and_still_writes(demo, tmp_path, capsys, monkeypatch):
    book = _copy(demo, tmp_path)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["review", str(book), "--account", "ACC-005", "--pdf", str(tmp_path / "x.pdf")]) == 1
    err = capsys.readouterr().err
    assert "LibreOffice" in err and "install" in err and "workbook was written" in err
    assert _page(book)["C3"] == "ACC-005"
    assert not (tmp_path / "x.pdf").exists()


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def _leftovers() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("chs-excel-review-")}


@needs_lo
def test_pdf_one_page_and_all_accounts(demo, tmp_path):
    book = _copy(demo, tmp_path)
    before = _leftovers()
    assert main(["review", str(book), "--account", "ACC-012", "--pdf", str(tmp_path / "one.pdf")]) == 0
    assert _pages(tmp_path / "one.pdf") == 1
    assert main(["review", str(book), "--all", "--pdf", str(tmp_path / "all.pdf")]) == 0
    assert _pages(tmp_path / "all.pdf") == len(_sheet_rows(book, "Scores")) - 1 == 60
    assert _leftovers() == before


@needs_lo
def test_libreoffice_recalculates_the_page_for_another_account(demo, tmp_path):
    book = _copy(demo, tmp_path)
    refresh_file(book, review_account="ACC-012")
    wb = openpyxl.load_workbook(book)
    wb["Account Review"]["C3"] = "ACC-057"  # a person picks another account; no Python runs after this
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    out = tmp_path / "recalc"
    subprocess.run([SOFFICE, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--convert-to",
                    "xlsx", "--outdir", str(out), str(changed)], capture_output=True, timeout=300)
    recalculated = out / "changed.xlsx"
    assert recalculated.is_file()
    # LibreOffice's values for ACC-057 are what Python computes for ACC-057 (and the Scores row's)
    _check(recalculated, "ACC-057")
