"""One pipeline for every entry point: read tables, build config, choose the as-of date, score.

:func:`prepare` does those steps once; :func:`refresh`, :func:`backtest`,
:func:`validate_file` and the worksheet functions (:mod:`chs_excel.excel.functions`)
all start from what it returns. The same :func:`refresh` runs headless on a file
and inside Excel; only the :class:`~chs_excel.book.table.BookReader` and
``BookWriter`` differ.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis.history import Past
from chs_excel.analysis.targets import unmatched_names
from chs_excel.book.table import BookReader, BookWriter, Table
from chs_excel.config import HealthConfig, config_from_tables, convert_cell, excel_date_problem
from chs_excel.core.engine import ScoreResult, ScoringInput, score
from chs_excel.inputs import AccountRows, account_rows, scoring_input
from chs_excel.problems import ConfigError, DataIssue, Problem
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
        ruled = int((self.result.rules != "").sum()) if self.result is not None and self.result.rules is not None else 0
        if ruled:
            out.append(f"{ruled} account(s) capped or banded by a rule: see the 'Rule' column of '{c.SCORES}'.")
        if self.report is not None:
            gap = self.report.summary
            from chs_excel.sheets.gap import benchmark_advice  # what to add when no account has a benchmark
            out.append(benchmark_advice(gap) or
                       f"{gap.get('below', 0)} account(s) below their benchmark: see the '{c.GAP}' sheet.")
            if self.report.skew_warning:
                out.append(self.report.skew_warning)
            if self.report.history_note:
                out.append(self.report.history_note)
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


def resolve_as_of(config: HealthConfig, as_of: dt.date | None = None) -> dt.date:
    """The date the scores are for: ``as_of`` (``--as-of``) if given, else the Settings "As-of date", else today.

    Parameters
    ----------
    config : HealthConfig
        The scorecard; its ``as_of`` is the Settings value (None when blank).
    as_of : datetime.date, optional
        A date chosen for this run, winning over Settings.

    Returns
    -------
    datetime.date
    """
    return as_of or config.as_of or dt.date.today()


@dataclass
class Prepared:
    """The accounts read, checked and scored: what every entry point starts from.

    Attributes
    ----------
    config : HealthConfig
    as_of : datetime.date
        From :func:`resolve_as_of`.
    tables : dict of str to Table
        The input sheets by contract name.
    data : ScoringInput
        What the engine scored.
    labels : pandas.DataFrame
        Account name, Segment, Stage and CSM per account.
    rows : AccountRows or None
        What each Accounts row is (scored, blank, duplicate), for per-row output.
    input_issues : list of DataIssue
        The unusable cells of Accounts and Metric History.
    result : ScoreResult
    seconds : dict of str to float
        Time spent reading and scoring.
    """

    config: HealthConfig
    as_of: dt.date
    tables: dict[str, Table]
    data: ScoringInput
    labels: pd.DataFrame
    rows: AccountRows | None
    input_issues: list[DataIssue]
    result: ScoreResult
    seconds: dict[str, float] = field(default_factory=dict)
    reader: BookReader | None = None  # still open: Score History's snapshots are read from it on demand
    # the accounts sheet's (name, header row, first column, header): where the Account Review page looks values up
    accounts_layout: tuple | None = None

    # Worked out on first use: a worksheet function called once per row needs neither.
    @cached_property
    def issues(self) -> list[DataIssue]:
        """Every data issue (inputs, benchmarks matching no account, engine), as the Data Issues sheet lists them."""
        unmatched = []
        if len(self.labels):  # with no accounts yet (a new workbook), every benchmark matching none is no news
            unmatched = unmatched_names(self.config, self.labels.get("Segment", pd.Series(dtype=object)),
                                        self.labels.get("Stage", pd.Series(dtype=object)))
        return self.input_issues + unmatched + self.result.issues

    @cached_property
    def history(self) -> Past:
        """Score History as it is (:class:`chs_excel.analysis.history.Past`): each snapshot is read when first used."""
        names = self.reader.sheet_names() if self.reader is not None else list(self.tables)
        return Past(names, self.tables.get(c.SCORE_HISTORY), self.reader.read_table if self.reader is not None else None)


def prepare(source: BookReader | dict[str, Table], *, config: HealthConfig | None = None,
            as_of: dt.date | None = None, date1904: bool | None = None,
            progress: Callable[[str], None] = lambda step: None) -> Prepared:
    """Read the input sheets, build the config, choose the as-of date, check the inputs and score them.

    Parameters
    ----------
    source : BookReader or dict of str to Table
        A workbook to read the input sheets from, or the tables already built (the worksheet functions).
    config : HealthConfig, optional
        A config to use instead of the config sheets (a JSON config; the worksheet functions' cached one).
    as_of : datetime.date, optional
        Wins over the Settings as-of date (see :func:`resolve_as_of`).
    date1904 : bool, optional
        The date system of the workbook Score History will be written to: the as-of date must fit it.
        None when no Score History is written (a backtest, the worksheet functions).
    progress : callable, optional
        Told "reading" and "scoring" as the steps start.

    Returns
    -------
    Prepared

    Raises
    ------
    ConfigError
        Listing every config problem found; nothing is scored then.
    """
    seconds = {}
    start = time.perf_counter()
    progress("reading")
    if isinstance(source, dict):
        tables = source
        config = config or config_from_tables(tables)
    else:
        tables = read_tables(source, config)
        config = config or config_from_tables(tables)
        problems = _accounts_sheet_problems(source, config)
        if problems:
            raise ConfigError(problems)
    day = resolve_as_of(config, as_of)
    rows = account_rows(tables[c.ACCOUNTS]) if c.ACCOUNTS in tables else None
    accounts = tables.get(c.ACCOUNTS)
    layout = (accounts.sheet, accounts.header_row, accounts.first_col, list(accounts.header)) if accounts else None
    data, labels, issues, problems = scoring_input(tables, config, day, rows)
    outside = excel_date_problem(day, date1904=date1904) if date1904 is not None else None
    if outside:  # the workbook's own date system (1904 starts four years later) cannot hold the snapshot date
        where = config.as_of_location if config.as_of and not as_of else "--as-of"
        problems = problems + [Problem(where, f"the as-of date {outside}")]
    if problems:
        raise ConfigError(problems)
    from chs_excel.analysis.unscored import unscored_issues  # readable cells that still leave a metric unscored
    issues = issues + unscored_issues(config, data, tables, rows)
    seconds["read"] = time.perf_counter() - start
    progress("scoring")
    start = time.perf_counter()
    result = score(config, data)
    seconds["score"] = time.perf_counter() - start
    # Accounts and Metric History are in ``data`` now: their cells (a GiB at a million rows) need not live on
    kept = {name: table for name, table in tables.items() if name not in (c.ACCOUNTS, c.HISTORY)}
    return Prepared(config, day, kept, data, labels, rows, issues, result, seconds,
                    None if isinstance(source, dict) else source, layout)


def refresh(reader: BookReader, writer: BookWriter | None, *, config: HealthConfig | None = None,
            as_of: dt.date | None = None, progress: Callable[[str], None] = lambda step: None,
            review_account: str | None = None) -> RefreshSummary:
    """Read, validate, score and (unless ``writer`` is None) write Scores and Data Issues.

    ``review_account``: the account the Account Review page shows (default: the one chosen on the page, else the
    lowest-scored). Raises :class:`ConfigError` listing every config problem, and
    :class:`~chs_excel.sheets.review.UnknownAccount` for a ``review_account`` that is not an account; nothing
    is written then.
    """
    from chs_excel.sheets.review import find_account, read_selection, review_inputs

    prepared = prepare(reader, config=config, as_of=as_of, date1904=getattr(writer, "date1904", False),
                       progress=progress)
    seconds = prepared.seconds
    start = time.perf_counter()
    selected = find_account(review_account, prepared.result.overall.index) if review_account is not None \
        else read_selection(reader)  # the person's choice on the page survives the refresh
    report = build_report(prepared.config, prepared.result, prepared.labels, prepared.issues, prepared.as_of,
                          prepared.history, review=review_inputs(prepared, selected))
    seconds["report"] = time.perf_counter() - start
    result = prepared.result
    summary = RefreshSummary(len(result.overall), report.bands, int(result.overall.isna().sum()), prepared.issues,
                             prepared.as_of, result, seconds=seconds, report=report)
    if writer is not None:
        progress("writing")
        start = time.perf_counter()
        writer.write(report.sheets, tuple(report.remove))
        seconds["write"] = time.perf_counter() - start
    progress("done")
    return summary


def refresh_file(book: str | Path, output: str | Path | None = None, *, config: HealthConfig | None = None,
                 as_of: dt.date | None = None, backup: bool = False,
                 progress: Callable[[str], None] = lambda step: None,
                 review_account: str | None = None) -> RefreshSummary:
    """Refresh a workbook file in place (or into ``output``), replacing only chs-excel's own sheets.

    Everything else in the file is carried over byte for byte (see :mod:`chs_excel.files.writer`).
    """
    from chs_excel.files.atomic import refresh_lock
    from chs_excel.files.reader import FileBookReader  # file I/O stays off the in-Excel (Pyodide) path
    from chs_excel.files.writer import PackageBookWriter

    book = Path(book)
    target = Path(output) if output else book
    with refresh_lock(target), FileBookReader(book) as reader:  # one read-score-write of a file at a time
        writer = PackageBookWriter(book, target, backup=backup)
        writer.formula_free = reader.formula_free  # the sheets read whole and without formulas: not scanned again
        summary = refresh(reader, writer, config=config, as_of=as_of, progress=progress,
                          review_account=review_account)
    summary.written_to = target
    return summary


def backtest(reader: BookReader, writer: BookWriter | None, *, config: HealthConfig | None = None,
             as_of: dt.date | None = None, days: int = 90):
    """Score the accounts, compare the scores with the Outcomes sheet and write the Validation sheet."""
    from chs_excel.sheets.backtest import build_backtest

    prepared = prepare(reader, config=config, as_of=as_of)
    report = build_backtest(prepared.config, prepared.result, prepared.labels, prepared.as_of, prepared.history,
                            days)
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


def optimise(reader: BookReader, writer: BookWriter | None, *, config: HealthConfig | None = None,
             as_of: dt.date | None = None, options=None):
    """Score the accounts, fit weights and cut points to the Outcomes sheet, and write the Scorecard Proposal sheet.

    ``options``: a :class:`chs_excel.sheets.proposal.Options` (folds, minimum category weight, ...). Raises
    :class:`ConfigError` for a bad scorecard and ``BadOptions`` for options that do not fit it (nothing is written
    then); the scorecard itself is never changed.
    """
    from chs_excel.sheets.proposal import BadOptions, Options, build_proposal

    options = options or Options()
    prepared = prepare(reader, config=config, as_of=as_of)
    wrong = options.problems(len(prepared.config.categories))
    if wrong:
        raise BadOptions("; ".join(wrong))
    proposal = build_proposal(prepared.config, prepared.result, prepared.labels, prepared.as_of, prepared.history,
                              prepared.tables, options)
    if writer is not None:
        writer.write([proposal.sheet])
    return proposal


def optimise_file(book: str | Path, *, config: HealthConfig | None = None, as_of: dt.date | None = None,
                  options=None):
    from chs_excel.files.atomic import refresh_lock
    from chs_excel.files.reader import FileBookReader
    from chs_excel.files.writer import PackageBookWriter

    book = Path(book)
    with refresh_lock(book), FileBookReader(book) as reader:
        return optimise(reader, PackageBookWriter(book, book), config=config, as_of=as_of, options=options)


def validate_file(book: str | Path, *, config: HealthConfig | None = None,
                  as_of: dt.date | None = None) -> RefreshSummary:
    """Everything a refresh checks, without writing anything."""
    from chs_excel.files.reader import FileBookReader
    with FileBookReader(Path(book)) as reader:
        return refresh(reader, None, config=config, as_of=as_of)
