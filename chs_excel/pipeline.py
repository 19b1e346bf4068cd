"""One refresh, whatever the workbook lives in: read tables, build config, score, write sheets.

The same :func:`refresh` runs headless on a file and inside Excel; only the
:class:`~chs_excel.book.table.BookReader` and ``BookWriter`` differ.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chs_excel import contract as c
from chs_excel.book.table import BookReader, BookWriter, Table
import pandas as pd

from chs_excel.analysis.targets import unmatched_names
from chs_excel.config import HealthConfig, config_from_tables, excel_date_problem, convert_cell
from chs_excel.core.engine import ScoreResult, score
from chs_excel.inputs import scoring_input
from chs_excel.problems import ConfigError, DataIssue, Problem, Problem
from chs_excel.sheets.report import Report, build_report


@dataclass
class RefreshSummary:
    accounts: int
    bands: dict[str, int]
    no_score: int
    issues: list[DataIssue]
    as_of: dt.date
    result: ScoreResult | None = None
    written_to: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    report: Report | None = None

    def lines(self) -> list[str]:
        counts = ", ".join(f"{n} {band.lower()}" for band, n in self.bands.items())
        out = [f"Scored {self.accounts} accounts as of {self.as_of.isoformat()}: {counts}"
               + (f", {self.no_score} without a score (insufficient data)" if self.no_score else "") + "."]
        if self.report is not None:
            gap = self.report.summary
            out.append(f"{gap.get('below', 0)} account(s) below their benchmark: see the '{c.GAP}' sheet.")
            if self.report.skew_warning:
                out.append(self.report.skew_warning)
        out.append(f"{len(self.issues)} data issue(s)" + (f": see the '{c.DATA_ISSUES}' sheet." if self.issues else "."))
        if self.written_to:
            out.append(f"Wrote {self.written_to}")
        return out


ACCOUNTS_SHEET_SETTING = next(label for label, (key, _) in c.SETTINGS_ROWS.items() if key == "accounts_sheet")


def accounts_sheet_setting(settings: Table | None) -> str | None:
    """The Settings row "Accounts sheet": the name of a user's sheet that holds the accounts, if any."""
    if settings is None or settings.find("Setting") is None or settings.find("Value") is None:
        return None
    name_j, value_j = settings.find("Setting"), settings.find("Value")
    found = None
    for row in settings.rows:  # the last such row wins, as in the config
        if name_j < len(row) and str(row[name_j]).strip().casefold() == ACCOUNTS_SHEET_SETTING.casefold():
            value = convert_cell("accounts_sheet", row[value_j]) if value_j < len(row) else ""
            found = value.strip() if isinstance(value, str) and value.strip() else None
    return found


def read_tables(reader: BookReader, config: HealthConfig | None = None) -> dict[str, Table]:
    """The input sheets, by their contract name. Accounts comes from the sheet the Settings row "Accounts sheet"
    names (or ``config.accounts_sheet`` with a JSON config), else from the sheet called Accounts."""
    names = {name.strip().casefold(): name for name in reader.sheet_names()}
    tables = {sheet: reader.read_table(names[sheet.casefold()]) for sheet in c.INPUT_SHEETS
              if sheet.casefold() in names and sheet != c.ACCOUNTS}
    accounts = config.accounts_sheet if config is not None else accounts_sheet_setting(tables.get(c.SETTINGS))
    accounts = (accounts or c.ACCOUNTS).strip().casefold()
    if accounts in names and accounts not in {s.casefold() for s in c.INPUT_SHEETS + c.OWNED_SHEETS if s != c.ACCOUNTS}:
        tables[c.ACCOUNTS] = reader.read_table(names[accounts])
    return tables


def _accounts_sheet_problems(reader: BookReader, config: HealthConfig) -> list[Problem]:
    """An "Accounts sheet" setting must name a sheet of the workbook that chs-excel neither writes nor reads as config."""
    wanted = config.accounts_sheet
    if not wanted or wanted.strip().casefold() == c.ACCOUNTS.casefold():
        return []
    where = config.accounts_sheet_location
    if wanted.strip().casefold() in {s.casefold() for s in c.INPUT_SHEETS + c.OWNED_SHEETS}:
        return [Problem(where, f'Accounts sheet "{wanted}" is one of chs-excel\'s own sheets; name the sheet that '
                               f"holds your accounts")]
    sheets = reader.sheet_names()
    if wanted.strip().casefold() not in {name.strip().casefold() for name in sheets}:
        return [Problem(where, f'Accounts sheet "{wanted}" is not a sheet of this workbook (its sheets: '
                               f"{', '.join(sheets)})")]
    return []


def load(reader: BookReader, config: HealthConfig | None = None) -> tuple[dict[str, Table], HealthConfig]:
    tables = read_tables(reader, config)
    config = config or config_from_tables(tables)
    problems = _accounts_sheet_problems(reader, config)
    if problems:
        raise ConfigError(problems)
    return tables, config


def resolve_as_of(config: HealthConfig, as_of: dt.date | None) -> dt.date:
    return as_of or config.as_of or dt.date.today()


def refresh(reader: BookReader, writer: BookWriter | None, *, config: HealthConfig | None = None,
            as_of: dt.date | None = None, progress: Callable[[str], None] = lambda step: None) -> RefreshSummary:
    """Read, validate, score and (unless ``writer`` is None) write Scores and Data Issues.

    Raises :class:`ConfigError` listing every config problem; nothing is written then.
    """
    seconds = {}
    start = time.perf_counter()
    progress("reading")
    tables, config = load(reader, config)
    day = resolve_as_of(config, as_of)
    data, labels, issues, problems = scoring_input(tables, config, day)
    outside = excel_date_problem(day, date1904=getattr(writer, "date1904", False))
    if outside:  # the workbook's own date system (1904 starts four years later) cannot hold the snapshot date
        where = config.as_of_location if config.as_of and not as_of else "--as-of"
        problems = problems + [Problem(where, f"the as-of date {outside}")]
    if problems:
        raise ConfigError(problems)
    if len(labels):  # with no accounts yet (a new workbook), every benchmark matching none is no news
        issues += unmatched_names(config, labels.get("Segment", pd.Series(dtype=object)), labels.get("Stage", pd.Series(dtype=object)))
    seconds["read"] = time.perf_counter() - start
    progress("scoring")
    start = time.perf_counter()
    result = score(config, data)
    issues = issues + result.issues
    seconds["score"] = time.perf_counter() - start
    start = time.perf_counter()
    report = build_report(config, result, labels, issues, day, tables.get(c.SCORE_HISTORY))
    seconds["report"] = time.perf_counter() - start
    summary = RefreshSummary(len(result.overall), report.bands, int(result.overall.isna().sum()), issues, day, result,
                             seconds=seconds, report=report)
    if writer is not None:
        progress("writing")
        start = time.perf_counter()
        writer.write(report.sheets)
        seconds["write"] = time.perf_counter() - start
    progress("done")
    return summary


def refresh_file(book: str | Path, output: str | Path | None = None, *, config: HealthConfig | None = None,
                 as_of: dt.date | None = None, backup: bool = False,
                 progress: Callable[[str], None] = lambda step: None) -> RefreshSummary:
    """Refresh a workbook file in place (or into ``output``), replacing only chs-excel's own sheets.

    Everything else in the file is carried over byte for byte (see :mod:`chs_excel.files.writer`).
    """
    from chs_excel.files.atomic import refresh_lock
    from chs_excel.files.reader import FileBookReader  # file I/O stays off the in-Excel (Pyodide) path
    from chs_excel.files.writer import PackageBookWriter

    book = Path(book)
    target = Path(output) if output else book
    with refresh_lock(target), FileBookReader(book) as reader:  # one read-score-write of a file at a time
        summary = refresh(reader, PackageBookWriter(book, target, backup=backup), config=config, as_of=as_of,
                          progress=progress)
    summary.written_to = target
    return summary


def backtest(reader: BookReader, writer: BookWriter | None, *, config: HealthConfig | None = None,
             as_of: dt.date | None = None, days: int = 90):
    """Score the accounts, compare the scores with the Outcomes sheet and write the Validation sheet."""
    from chs_excel.analysis import history
    from chs_excel.sheets.validation import build_validation

    tables, config = load(reader, config)
    day = resolve_as_of(config, as_of)
    data, labels, issues, problems = scoring_input(tables, config, day)
    if problems:
        raise ConfigError(problems)
    result = score(config, data)
    past = history.read_history(tables.get(c.SCORE_HISTORY))
    report = build_validation(config, result, labels, day, past, days)
    if writer is not None:
        writer.write([report.sheet])
    return report


def backtest_file(book: str | Path, *, config: HealthConfig | None = None, as_of: dt.date | None = None,
                  days: int = 90):
    from chs_excel.files.atomic import refresh_lock
    from chs_excel.files.reader import FileBookReader
    from chs_excel.files.writer import PackageBookWriter

    book = Path(book)
    with refresh_lock(book), FileBookReader(book) as reader:
        return backtest(reader, PackageBookWriter(book, book), config=config, as_of=as_of, days=days)


def validate_file(book: str | Path, *, config: HealthConfig | None = None,
                  as_of: dt.date | None = None) -> RefreshSummary:
    """Everything a refresh checks, without writing anything."""
    from chs_excel.files.reader import FileBookReader
    with FileBookReader(Path(book)) as reader:
        return refresh(reader, None, config=config, as_of=as_of)
