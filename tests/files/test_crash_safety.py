"""A refresh interrupted at any point leaves the original workbook as it was, or the new one whole."""
import os
import signal
import subprocess
import sys
import time
import zipfile

import openpyxl
import pytest

from chs_excel import contract as c
from chs_excel.files.atomic import backup_path
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template


@pytest.fixture
def book(tmp_path):
    return write_template(tmp_path / "book.xlsx")


@pytest.mark.parametrize("fail_at", [1, 4, 9, 15, 21])
def test_a_save_that_fails_midway_leaves_the_original(book, monkeypatch, fail_at):
    """Every part written or copied into the new package is a point where the disk can fill up."""
    from chs_excel.files import writer as package_writer
    with zipfile.ZipFile(book) as z:
        assert len(z.namelist()) >= 21
    original = book.read_bytes()
    calls = {"n": 0}

    def failing(real):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] >= fail_at:
                raise OSError(28, "No space left on device")
            return real(*args, **kwargs)
        return wrapper
    monkeypatch.setattr(package_writer, "write_member", failing(package_writer.write_member))
    monkeypatch.setattr(package_writer, "copy_raw", failing(package_writer.copy_raw))
    with pytest.raises(Exception, match="No space left on device"):
        refresh_file(book)
    assert calls["n"] == fail_at
    assert book.read_bytes() == original
    assert not [p for p in book.parent.iterdir() if p.name.startswith(".~chs-excel")]


@pytest.mark.parametrize("fail_at", [1, 2, 5])
def test_a_save_that_fails_inside_a_streamed_sheet_leaves_the_original(book, monkeypatch, fail_at):
    """A sheet is zipped block by block as a worker thread makes it: a failure there, halfway through the
    sheet's entry, is raised to the writer like any other."""
    from chs_excel.files.worksheet import SheetXml
    original = book.read_bytes()
    calls = {"n": 0}
    real = SheetXml.__iter__

    def blocks(self):
        for block in real(self):
            calls["n"] += 1
            if calls["n"] >= fail_at:
                raise OSError(28, "No space left on device")
            yield block
    monkeypatch.setattr(SheetXml, "__iter__", blocks)
    with pytest.raises(Exception, match="No space left on device"):
        refresh_file(book)
    assert calls["n"] == fail_at
    assert book.read_bytes() == original
    assert not [p for p in book.parent.iterdir() if p.name.startswith(".~chs-excel")]


def test_killed_refreshes_leave_the_old_or_the_new_workbook(book):
    original = book.read_bytes()
    script = f"from chs_excel.pipeline import refresh_file; refresh_file({str(book)!r})"
    outcomes = set()
    for delay in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3):
        proc = subprocess.Popen([sys.executable, "-c", script])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = book.read_bytes()
        if data == original:
            outcomes.add("old")
            continue
        wb = openpyxl.load_workbook(book)  # whole, or this raises
        assert [n for n in wb.sheetnames if not c.SNAPSHOT_SHEET.match(n)][-len(c.OUTPUT_SHEETS):] == list(c.OUTPUT_SHEETS)
        outcomes.add("new")
        book.write_bytes(original)
    assert outcomes  # every kill ended in one of the two states
    for stale in book.parent.glob(".~chs-excel-*"):
        stale.unlink()  # a kill can leave the hidden temporary file; the workbook itself is intact


def test_backup_keeps_the_previous_version(book):
    original = book.read_bytes()
    refresh_file(book, backup=True)
    assert backup_path(book).read_bytes() == original
    assert c.SCORES in openpyxl.load_workbook(book).sheetnames


def test_read_only_folder_is_refused_before_any_work(book, monkeypatch):
    from chs_excel.problems import BookError
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode == os.W_OK else real_access(path, mode))
    original = book.read_bytes()
    with pytest.raises(BookError, match="read-only; nothing was changed"):
        refresh_file(book)
    assert book.read_bytes() == original
