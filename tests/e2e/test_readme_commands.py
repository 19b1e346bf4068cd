"""Every ``chs-excel`` command the README shows runs as written.

The commands come from README.md itself: every line of a fenced code block that starts with ``chs-excel ``, and
every inline code span that is a whole command (``chs-excel backtest BOOK``). Each runs in-process through
``chs_excel.cli.main`` in a fresh folder holding the workbooks the command names, and must exit 0 (or the code
given in EXIT_CODES) without a traceback. Shell lines that only end in a chs-excel command (the setup lines at the
top) are not run here.

Placeholders: a placeholder (``BOOK``, ``<book>``, ``PATH``) must be in PLACEHOLDERS, a workbook the command reads
must be one of INPUTS; ``[X]`` is run both without and with X. Anything else fails with a message saying what to add
here, so a new README command is never skipped silently.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from chs_excel import contract as c
from chs_excel.cli import main, parser
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE = ROOT / "examples" / "saas_churn"


def _demo_workbook(path: Path) -> None:
    write_template(path)
    refresh_file(path)


def _example_with_outcomes(path: Path) -> None:
    shutil.copyfile(EXAMPLE / "saas_churn.xlsx", path)


def _users_workbook(path: Path) -> None:
    """A team's own workbook, no chs-excel sheet yet: a Customers sheet of accounts (the example's columns), a Pipeline."""
    wb = openpyxl.Workbook()
    wb.active.title = "Customers"
    wb.active.append(["Account ID", "Account name", "Segment", "Stage", "CSM", "Features used", "Features available",
                      "Outreach this month", "QBRs attended (12 mo)", "Open support tickets", "CSM sentiment"])
    wb.active.append(["C-1", "Best Co", "SMB", "Adopt", "Ann", 12, 20, 5, 2, 1, "Green"])
    wb.create_sheet("Pipeline")["A1"] = "Deal"
    wb.save(path)


def _sheet_as_parquet(sheet: str):
    """The demo's sheet as a Parquet file, every cell as its text (dates ISO): what an export from elsewhere holds."""
    def make(path: Path) -> None:
        import datetime as dt

        import pandas as pd
        rows = list(openpyxl.load_workbook(write_template(path.with_suffix(".xlsx")))[sheet].iter_rows(values_only=True))
        text = [[v.date().isoformat() if isinstance(v, dt.datetime) else None if v is None else str(v) for v in row]
                for row in rows[1:]]
        pd.DataFrame(text, columns=list(rows[0]), dtype=object).to_parquet(path)
    return make


# Workbooks (or other files) a README command reads, by the name it is run with, and how to make them.
INPUTS = {
    "my-accounts.xlsx": _demo_workbook,  # the demo: 60 accounts, refreshed
    "book-with-outcomes.xlsx": _example_with_outcomes,  # the saas_churn example: it has an Outcomes sheet
    "examples/saas_churn/saas_churn.xlsx": _example_with_outcomes,  # the example by its path (a copy: not changed)
    "my-workbook.xlsx": _users_workbook,  # a team's own workbook, for `chs-excel init`
    "accounts.parquet": _sheet_as_parquet(c.ACCOUNTS),  # the demo's accounts and history, for `chs-excel score`
    "history.parquet": _sheet_as_parquet(c.HISTORY),
}
# Placeholders, and the name they are run with (an INPUTS name for one the command reads).
PLACEHOLDERS = {"BOOK": "book-with-outcomes.xlsx", "PATH": "given-path.xlsx", "FOLDER": "given-folder"}
# README commands whose documented exit code is not 0, by their line as written.
EXIT_CODES: dict[str, int] = {}

SUBCOMMANDS = set(next(a for a in parser()._subparsers._group_actions).choices)
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"(?<!`)`(chs-excel [^`]+)`(?!`)")
PLACEHOLDER = re.compile(r"^(<[^>]+>|[A-Z][A-Z0-9_]*)$")


def readme_commands(text: str) -> tuple[list[str], list[str]]:
    """(commands, mentions): runnable ``chs-excel`` lines, and inline ``chs-excel SUBCOMMAND`` references."""
    commands, mentions, in_block, pending = [], [], False, ""
    for raw in text.splitlines():
        if FENCE.match(raw):
            in_block, pending = not in_block, ""
            continue
        if in_block:
            line = pending + raw.strip().removeprefix("$ ")
            if line.endswith("\\"):  # a command continued on the next line
                pending = line[:-1].rstrip() + " "
                continue
            pending = ""
            if line.startswith("chs-excel ") or line == "chs-excel":
                commands.append(line)
        else:
            for span in INLINE.findall(raw):
                words = shlex.split(span, comments=True)
                if words[1] not in SUBCOMMANDS and not words[1].startswith("-"):
                    continue  # text chs-excel prints, e.g. `chs-excel error: …`, not a command
                (commands if len(words) > 2 else mentions).append(span)
    return commands, mentions


def _variants(line: str) -> list[list[str]]:
    """The argument lists a README line stands for: ``[X]`` is run without X and with X."""
    words = shlex.split(line, comments=True)[1:]
    variants = [[]]
    for word in words:
        if word.startswith("[") and word.endswith("]"):
            variants = [v for base in variants for v in (base, base + [word[1:-1]])]
        else:
            variants = [v + [word] for v in variants]
    return variants


def _cases() -> list:
    commands, _ = readme_commands(README.read_text(encoding="utf-8"))
    if not commands:
        raise AssertionError(f"found no `chs-excel ...` command in {README}: the README test would test nothing")
    return [pytest.param(line, argv, id=shlex.join(["chs-excel", *argv])) for line in commands for argv in _variants(line)]


CASES = _cases()


def _resolve(line: str, argv: list[str]) -> tuple[list[str], list[str]]:
    """Swap placeholders for real names; return the arguments and the inputs the command reads."""
    resolved = []
    for word in argv:
        if PLACEHOLDER.match(word):
            if word not in PLACEHOLDERS:
                pytest.fail(f"README command `{line}` uses the placeholder {word!r}, which this test does not know: "
                            f"add it to INPUTS (a workbook it reads) or PLACEHOLDERS (a name it writes) in {__file__}")
            word = PLACEHOLDERS[word]
        resolved.append(word)
    try:
        args = parser().parse_args(resolved)
    except SystemExit as exc:
        if exc.code == 0:  # --version, --help: nothing to read
            return resolved, []
        pytest.fail(f"README command `{line}` is not a valid chs-excel command (exit {exc.code})")
    files = ("book", "config") + (("accounts", "history") if args.command == "score" else ())  # init: a sheet name
    reads = [str(getattr(args, name)) for name in files if getattr(args, name, None) is not None]
    for name in reads:
        if name not in INPUTS:
            pytest.fail(f"README command `{line}` reads {name!r}, which this test does not know how to make: "
                        f"add it to INPUTS in {__file__}")
    return resolved, reads


@pytest.mark.parametrize(("line", "argv"), CASES)
def test_readme_command_runs(line, argv, tmp_path, monkeypatch, capsys):
    resolved, reads = _resolve(line, argv)
    monkeypatch.chdir(tmp_path)
    for name in reads:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)  # a README path such as examples/...
        INPUTS[name](tmp_path / name)
    try:
        code = main(resolved)
    except SystemExit as exc:  # argparse's own exits: --version, --help
        code = exc.code
    out, err = capsys.readouterr()
    expected = EXIT_CODES.get(line, 0)
    if "--pdf" in resolved and not (shutil.which("soffice") or shutil.which("libreoffice")):
        expected = 1  # no LibreOffice here: the command must say so (tests/review checks the message)
    assert code == expected, f"`{line}` (run as chs-excel {shlex.join(resolved)}) exited {code}, not {expected}:\n{out}{err}"
    assert "Traceback" not in out + err


def test_readme_mentions_real_subcommands():
    """Inline ``chs-excel SUBCOMMAND`` references name subcommands that exist."""
    _, mentions = readme_commands(README.read_text(encoding="utf-8"))
    known = set(next(a for a in parser()._actions if a.dest == "command").choices)
    for span in mentions:
        words = shlex.split(span)
        assert len(words) < 2 or words[1].startswith("-") or words[1] in known, f"README mentions `{span}`: no such subcommand"


def test_extraction_finds_blocks_inline_commands_and_skips_shell_lines():
    text = """Run `chs-excel backtest BOOK` or see `chs-excel refresh`.

```bash
python3 -m venv .venv && chs-excel demo
chs-excel refresh my-accounts.xlsx            # a comment
  $ chs-excel gap my-accounts.xlsx \\
      --top 3
```
"""
    commands, mentions = readme_commands(text)
    assert commands == ["chs-excel backtest BOOK", "chs-excel refresh my-accounts.xlsx            # a comment",
                        "chs-excel gap my-accounts.xlsx --top 3"]
    assert mentions == ["chs-excel refresh"]
    assert _variants("chs-excel demo [PATH]   # x") == [["demo"], ["demo", "PATH"]]


def test_unknown_placeholders_fail_with_a_clear_message():
    with pytest.raises(pytest.fail.Exception, match="placeholder 'NEWTHING'"):
        _resolve("chs-excel template NEWTHING", ["template", "NEWTHING"])
    with pytest.raises(pytest.fail.Exception, match="reads 'customers.xlsx'"):
        _resolve("chs-excel refresh customers.xlsx", ["refresh", "customers.xlsx"])
    with pytest.raises(pytest.fail.Exception, match="not a valid chs-excel command"):
        _resolve("chs-excel frobnicate", ["frobnicate"])


def test_saas_churn_example_builds_from_a_fresh_clone(tmp_path):
    """The README's `python examples/saas_churn/build_workbook.py`: the shipped CSV, a new file, never an old one."""
    script = EXAMPLE / "build_workbook.py"
    out = tmp_path / "built.xlsx"
    run = subprocess.run([sys.executable, str(script), str(out)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Scored 2000 accounts" in run.stdout and "AUC 0.856" in run.stdout
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert c.SCORES in sheets and c.VALIDATION in sheets
    before = out.read_bytes()
    again = subprocess.run([sys.executable, str(script), str(out)], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 1
    assert "already exists; pass --force" in again.stderr
    assert out.read_bytes() == before
