"""How a refresh treats the file itself: backups, symlinks, owners, read-only files, folders that cannot be
entered, and two refreshes of one workbook at once."""
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

import chs_excel
from chs_excel import contract as c
from chs_excel.files import atomic
from chs_excel.files.atomic import backup_path, lock_path, refresh_lock
from chs_excel.files.reader import FileBookReader
from chs_excel.cli import main
from chs_excel.problems import BookError
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template

ROOT = Path(chs_excel.__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def book(tmp_path):
    return write_template(tmp_path / "book.xlsx")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~chs-excel"))


# ---------------------------------------------------------------- --backup


def test_backup_replaces_the_previous_backup_in_one_step(book, monkeypatch):
    """A full disk while the backup is made leaves the previous backup whole (not a truncated copy)."""
    old_backup = b"the previous backup, whole"
    backup_path(book).write_bytes(old_backup)
    original = book.read_bytes()

    def no_links(*args, **kwargs):
        raise OSError(1, "Operation not permitted")  # a file system without hard links: the copy path

    def disk_fills_up(src, dst, *args, **kwargs):
        Path(dst).write_bytes(Path(src).read_bytes()[:100])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(shutil, "copy2", disk_fills_up)
    with pytest.raises(BookError, match="No space left on device"):
        refresh_file(book, backup=True)
    assert backup_path(book).read_bytes() == old_backup
    assert book.read_bytes() == original
    assert leftovers(book.parent) == []


@pytest.mark.parametrize("links", [True, False])
def test_backup_holds_the_previous_version(book, monkeypatch, links):
    if not links:
        monkeypatch.setattr(os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(1, "no hard links here")))
    backup_path(book).write_bytes(b"older")
    original = book.read_bytes()
    refresh_file(book, backup=True)
    assert backup_path(book).read_bytes() == original
    assert book.read_bytes() != original and c.SCORES in openpyxl.load_workbook(book).sheetnames
    assert not os.path.samefile(book, backup_path(book))
    assert leftovers(book.parent) == []


# ---------------------------------------------------------------- symlinks, owner, mode, read-only


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_a_symlinked_workbook_is_refreshed_where_it_lives(tmp_path):
    (tmp_path / "shared").mkdir()
    real = write_template(tmp_path / "shared" / "real.xlsx")
    link = tmp_path / "book.xlsx"
    try:
        link.symlink_to(real)
    except OSError:
        pytest.skip("this system does not let us make symlinks")
    refresh_file(link, backup=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert c.SCORES in openpyxl.load_workbook(real).sheetnames
    assert backup_path(real).exists()  # the backup lives beside the real file
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


def test_mode_is_kept(book):
    os.chmod(book, 0o640)
    refresh_file(book)
    assert stat.S_IMODE(book.stat().st_mode) == 0o640


@pytest.mark.skipif(not IS_ROOT, reason="only root may give a file to another user")
def test_owner_and_group_are_kept_when_root_refreshes(book):
    os.chown(book, 65534, 65534)
    os.chmod(book, 0o664)
    refresh_file(book, backup=True)
    status = book.stat()
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (65534, 65534, 0o664)
    assert c.SCORES in openpyxl.load_workbook(book).sheetnames


def test_a_read_only_file_is_refused_even_for_root(book, capsys):
    os.chmod(book, 0o444)
    original = book.read_bytes()
    try:
        assert main(["refresh", str(book), "-q"]) == 1
        assert capsys.readouterr().err == ("chs-excel: book.xlsx is read-only; nothing was changed. "
                                           "Use --output to write a copy.\n")
        assert book.read_bytes() == original and stat.S_IMODE(book.stat().st_mode) == 0o444
    finally:
        os.chmod(book, 0o644)


# ---------------------------------------------------------------- folders that cannot be entered


def test_a_folder_that_cannot_be_entered_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    """Root passes every permission check, so the refusal is simulated where the OS would give it."""
    locked = tmp_path / "locked"
    locked.mkdir()
    book = write_template(locked / "book.xlsx")
    real_stat, real_open = pathlib.Path.stat, os.open

    def inside(path) -> bool:
        return str(locked) in os.path.abspath(os.fspath(path))

    def stat_(self, *args, **kwargs):
        if inside(self):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    def open_(path, *args, **kwargs):
        if inside(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(pathlib.Path, "stat", stat_)
    monkeypatch.setattr(os, "open", open_)
    for args in (["refresh", str(book), "-q"], ["validate", str(book)], ["refresh", str(book), "-q", "-o",
                                                                          str(tmp_path / "out.xlsx")]):
        assert main(args) == 1
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "ermission denied" in err and "nothing was changed" in err, err
    with pytest.raises(BookError, match="cannot reach book.xlsx: permission denied"):
        atomic.check_writable(book)


# ---------------------------------------------------------------- one refresh of a file at a time


def history_dates(path: Path) -> set:
    with FileBookReader(path) as reader:
        return {row[0] for row in reader.read_table(c.SCORE_HISTORY).rows}


def test_two_refreshes_at_once_lose_no_snapshot(tmp_path):
    """Each pair of real processes starts together; each adds its own as-of date to Score History."""
    books = [write_template(tmp_path / f"book{i}.xlsx") for i in range(3)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for book in books:
        for day in ("2026-11-15", "2026-11-16"):
            runs.append(subprocess.Popen([sys.executable, "-m", "chs_excel.cli", "refresh", str(book), "-q",
                                          "--as-of", day], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True))
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert "Traceback" not in err
    import datetime as dt
    for book in books:
        assert history_dates(book) >= {dt.date(2026, 11, 15), dt.date(2026, 11, 16)}, book
        assert leftovers(tmp_path) == []


def test_a_second_refresh_waits_then_refuses(book, monkeypatch, capsys):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = lock_path(book)
        lock.write_text(json.dumps({"pid": holder.pid, "host": __import__("socket").gethostname(),
                                    "time": time.time()}))
        said = []
        start = time.monotonic()
        with pytest.raises(BookError, match=r"another chs-excel refresh of book.xlsx is still running \(process "
                                            rf"{holder.pid} on .*nothing was changed"):
            with refresh_lock(book, wait=0.3, say=said.append):
                pass
        assert 0.3 <= time.monotonic() - start < 5
        assert said == ["waiting for another chs-excel refresh of book.xlsx to finish..."]
        assert lock.exists()  # someone else's lock is left alone
        monkeypatch.setattr(atomic, "LOCK_WAIT_SECONDS", 0.2)
        original = book.read_bytes()
        assert main(["refresh", str(book), "-q"]) == 1
        err = capsys.readouterr().err
        assert "waiting for another chs-excel refresh of book.xlsx to finish..." in err
        assert "is still running" in err and book.read_bytes() == original
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over(book):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = __import__("socket").gethostname()
    lock = lock_path(book)
    lock.write_text(json.dumps({"pid": gone.pid, "host": host, "time": time.time()}))  # its process is gone
    with refresh_lock(book, wait=0, say=pytest.fail) as held:
        assert json.loads(held.read_text())["pid"] == os.getpid()
    assert not lock.exists()
    lock.write_text(json.dumps({"pid": os.getpid(), "host": "elsewhere", "time": time.time() - 3600}))  # too old
    refresh_file(book)
    assert not lock.exists() and c.SCORES in openpyxl.load_workbook(book).sheetnames


def test_the_lock_follows_a_symlink(tmp_path):
    real = write_template(tmp_path / "real.xlsx")
    link = tmp_path / "link.xlsx"
    try:
        link.symlink_to(real)
    except (OSError, NotImplementedError):
        pytest.skip("no symlinks here")
    assert lock_path(link) == lock_path(real) == real.resolve().with_name(".~chs-excel-lock-real.xlsx")
