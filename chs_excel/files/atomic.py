"""Replace a file in one step: write a temporary file beside it, then move it into place.

A crash, a kill or a full disk at any point leaves either the old file or the
new one, never half of each. A locked or read-only file is refused before any work.

* A symlinked workbook is refreshed where it really lives: the new file is written beside the link's
  target and moved over the target; the link stays a link.
* The new file keeps the old file's permission bits and (when the process may change it, e.g. as root)
  its owner and group.
* A file without its owner's write bit is read-only for everyone, root included.
* ``--backup`` replaces the previous backup in one step too (a hard link to the old file, or a synced copy).
* :func:`refresh_lock` keeps two refreshes of one file from running at once (a lock file beside it).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from chs_excel.problems import BookError

LOCK_PREFIX = ".~chs-excel-lock-"
LOCK_WAIT_SECONDS = 60.0  # how long a second refresh of the same file waits before it gives up
LOCK_STALE_SECONDS = 15 * 60.0  # a lock this old is left over from a refresh that never finished


def final_path(target: Path) -> Path:
    """The file ``target`` finally names, symlinks followed (the path itself when it does not exist yet)."""
    return Path(os.path.realpath(target))


def _stat(path: Path, shown: Path) -> os.stat_result | None:
    """``path``'s status; None when nothing is there; :class:`BookError` when a folder on the way cannot be entered."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as exc:
        raise BookError(f"cannot reach {shown.name}: permission denied (a folder on the way to it cannot be opened: "
                        f"{path.parent}); nothing was changed.") from exc
    except OSError as exc:
        raise BookError(f"cannot reach {shown.name}: {exc.strerror or exc}; nothing was changed.") from exc


def is_read_only(status: os.stat_result) -> bool:
    """No write bit for the owner: read-only for every user (root passes ``os.access``, so the bits decide)."""
    return not status.st_mode & stat.S_IWUSR


def check_writable(target: Path) -> None:
    """Fail early, before any work, when the target cannot be replaced."""
    final = final_path(target)
    status = _stat(final, target)
    if status is not None and (is_read_only(status) or not os.access(final, os.W_OK)):
        raise BookError(f"{target.name} is read-only; nothing was changed. Use --output to write a copy.")
    if not os.access(final.parent, os.W_OK):
        raise BookError(f"cannot write in {final.parent}; nothing was changed. Use --output to write elsewhere.")
    for lock in {target.absolute().parent / f"~${target.name}", final.parent / f"~${final.name}"}:
        if _stat(lock, target) is not None:
            raise BookError(f"{target.name} is open in Excel (lock file {lock.name} exists); close it first or use "
                            f"--output. Nothing was changed.")


def backup_path(target: Path) -> Path:
    return target.with_name(f"{target.stem}.backup{target.suffix}")


def _keep_owner_and_mode(path: Path, status: os.stat_result) -> None:
    """Give ``path`` the owner, group and permission bits of the file it replaces (owner only where allowed)."""
    if hasattr(os, "chown"):
        mine = path.stat()
        for uid, gid in ((status.st_uid, status.st_gid), (-1, status.st_gid)):
            if (mine.st_uid, mine.st_gid) == (status.st_uid, status.st_gid):
                break
            try:
                os.chown(path, uid, gid)
                break
            except OSError:
                continue  # not permitted (not root): keep what we may
    os.chmod(path, stat.S_IMODE(status.st_mode) & 0o777)  # after chown, which can clear bits


def _sync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows has no directory handles for this)."""
    if os.name != "posix":
        return
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _replace_backup(source: Path, backup: Path, status: os.stat_result) -> None:
    """Make ``backup`` the current ``source`` in one step: a hard link to it when the file system allows
    (no copying, no extra space), else a synced copy; then move it over the old backup."""
    handle, name = tempfile.mkstemp(prefix=".~chs-excel-backup-", suffix=backup.suffix, dir=backup.parent)
    os.close(handle)
    temp = Path(name)
    try:
        temp.unlink()
        try:
            os.link(source, temp)
        except OSError:
            shutil.copy2(source, temp)
            _keep_owner_and_mode(temp, status)
            _sync(temp)
        os.replace(temp, backup)
    finally:
        if temp.exists():
            temp.unlink()


def atomic_write(target: Path, write: Callable[[Path], None], backup: bool = False) -> None:
    """Call ``write(temp_path)``, then move the temporary file over ``target`` (keeping a backup if asked)."""
    final = final_path(target)
    folder = final.parent
    try:
        handle, temp_name = tempfile.mkstemp(prefix=".~chs-excel-", suffix=target.suffix, dir=folder)
    except OSError as exc:
        raise BookError(f"cannot write in {folder}: {exc.strerror or exc}. Nothing was changed.") from exc
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        _sync(temp)
        status = _stat(final, target)
        if status is not None:
            _keep_owner_and_mode(temp, status)
            if backup:
                _replace_backup(final, backup_path(final), status)
        os.replace(temp, final)
        _sync_folder(folder)
    except OSError as exc:
        raise BookError(f"cannot save {target.name}: {exc.strerror or exc} (is it open in Excel, or read-only?). "
                        f"Nothing was changed.") from exc
    finally:
        if temp.exists():
            temp.unlink()


# ---------------------------------------------------------------- one refresh of a file at a time


def lock_path(target: Path) -> Path:
    final = final_path(target)
    return final.with_name(f"{LOCK_PREFIX}{final.name}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x00100000 | 0x1000, False, pid)  # SYNCHRONIZE | QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            return kernel32.WaitForSingleObject(handle, 0) == 0x102  # WAIT_TIMEOUT: still running
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _holder(lock: Path) -> tuple[bytes, dict]:
    """The lock file's bytes and what they say (pid, host, time); empty when it is gone or being written."""
    try:
        raw = lock.read_bytes()
    except OSError:
        return b"", {}
    try:
        info = json.loads(raw)
    except ValueError:
        info = {}
    return raw, info if isinstance(info, dict) else {}


def _is_stale(lock: Path, info: dict) -> bool:
    """Left over by a refresh that did not finish: its process is gone (same computer) or it is too old."""
    started = info.get("time")
    if not isinstance(started, (int, float)):  # empty or unreadable: its writer died between creating and writing
        try:
            return time.time() - lock.stat().st_mtime > 10
        except OSError:
            return False
    if time.time() - started > LOCK_STALE_SECONDS:
        return True
    pid = info.get("pid")
    return info.get("host") == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid)


def _break(lock: Path, seen: bytes) -> None:
    """Remove a stale lock, but only the one judged stale (another waiter may have replaced it meanwhile)."""
    aside = lock.with_name(f"{lock.name}.stale-{secrets.token_hex(6)}")
    try:
        os.rename(lock, aside)
    except OSError:
        return  # gone already, or (Windows) still open by its holder
    try:
        if aside.read_bytes() != seen:  # a fresh lock, taken after we looked: give it back
            with contextlib.suppress(OSError):
                os.link(aside, lock)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            aside.unlink()


def _describe(info: dict) -> str:
    parts = []
    if isinstance(info.get("pid"), int):
        parts.append(f"process {info['pid']}" + (f" on {info['host']}" if info.get("host") else ""))
    if isinstance(info.get("time"), (int, float)):
        parts.append(f"since {dt.datetime.fromtimestamp(info['time']).strftime('%H:%M:%S')}")
    return f" ({', '.join(parts)})" if parts else ""


def _say(message: str) -> None:
    print(f"chs-excel: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def refresh_lock(target: Path, wait: float | None = None, say: Callable[[str], None] = _say) -> Iterator[Path]:
    """Hold the lock file beside ``target`` (``.~chs-excel-lock-<name>``) for a whole read-score-write.

    Created with O_CREAT | O_EXCL, which is atomic on POSIX and Windows, and holds the owner's pid, computer
    and start time. Another refresh of the same file waits up to ``wait`` seconds (default
    :data:`LOCK_WAIT_SECONDS`), then refuses. A lock whose process is gone, or older than
    :data:`LOCK_STALE_SECONDS`, is taken over.
    """
    target = Path(target)
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    lock = lock_path(target)
    token = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
                        "id": secrets.token_hex(8)}).encode("utf-8")
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            handle = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            pass
        except FileNotFoundError as exc:
            raise BookError(f"{target}: no such folder ({lock.parent}); nothing was changed.") from exc
        except PermissionError as exc:
            if not (os.name == "nt" and lock.exists()):  # Windows: a lock file being deleted refuses a new open
                raise BookError(f"cannot write in {lock.parent}: permission denied (the folder is read-only or "
                                f"cannot be opened); nothing was changed. Use --output to write elsewhere.") from exc
        except OSError as exc:
            raise BookError(f"cannot write in {lock.parent}: {exc.strerror or exc}; nothing was changed. "
                            f"Use --output to write elsewhere.") from exc
        seen, info = _holder(lock)
        if not seen and not lock.exists():
            continue  # released while we looked
        if _is_stale(lock, info):
            _break(lock, seen)
            continue
        if time.monotonic() >= deadline:
            raise BookError(f"another chs-excel refresh of {target.name} is still running{_describe(info)}; "
                            f"nothing was changed. Try again when it has finished, or delete {lock} if no "
                            f"refresh is running.")
        if not told:
            say(f"waiting for another chs-excel refresh of {target.name} to finish...")
            told = True
        time.sleep(0.1)
    try:
        os.write(handle, token)
        os.close(handle)
        handle = None
        yield lock
    finally:
        if handle is not None:
            os.close(handle)
        if _holder(lock)[0] == token:  # still ours (not taken over as stale by then)
            with contextlib.suppress(OSError):
                lock.unlink()
