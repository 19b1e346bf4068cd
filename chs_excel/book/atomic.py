"""Replace a file in one step: write a temporary file beside it, then move it into place.

A crash, a kill or a full disk at any point leaves either the old file or the
new one, never half of each. A locked or read-only file is refused before any work.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from chs_excel.problems import BookError


def check_writable(target: Path) -> None:
    """Fail early, before any work, when the target cannot be replaced."""
    if target.exists() and not os.access(target, os.W_OK):
        raise BookError(f"{target.name} is read-only; nothing was changed. Use --output to write a copy.")
    if not os.access(target.resolve().parent, os.W_OK):
        raise BookError(f"cannot write in {target.resolve().parent}; nothing was changed. Use --output to write elsewhere.")
    lock = target.resolve().parent / f"~${target.name}"
    if lock.exists():
        raise BookError(f"{target.name} is open in Excel (lock file {lock.name} exists); close it first or use --output. "
                        f"Nothing was changed.")


def backup_path(target: Path) -> Path:
    return target.with_name(f"{target.stem}.backup{target.suffix}")


def atomic_write(target: Path, write: Callable[[Path], None], backup: bool = False) -> None:
    """Call ``write(temp_path)``, then move the temporary file over ``target`` (keeping a backup if asked)."""
    folder = target.resolve().parent
    try:
        handle, temp_name = tempfile.mkstemp(prefix=".~chs-excel-", suffix=target.suffix, dir=folder)
    except OSError as exc:
        raise BookError(f"cannot write in {folder}: {exc.strerror or exc}. Nothing was changed.") from exc
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        if target.exists():
            os.chmod(temp, target.stat().st_mode & 0o777)
            if backup:
                shutil.copy2(target, backup_path(target))
        os.replace(temp, target)
    except OSError as exc:
        raise BookError(f"cannot save {target.name}: {exc.strerror or exc} (is it open in Excel, or read-only?). "
                        f"Nothing was changed.") from exc
    finally:
        if temp.exists():
            temp.unlink()
