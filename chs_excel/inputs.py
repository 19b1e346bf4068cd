"""Turn the Accounts and Metric History sheets into clean engine input, reporting every unusable cell.

A cell that cannot be used never stops the refresh: it is left out (the
metric counts as missing for that account, weights renormalise) and listed
as a :class:`DataIssue` with its sheet, cell and what was done instead.
Problems that make the sheets unusable as a whole (a missing column) are
:class:`Problem` s and stop the refresh.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.table import Table
from chs_excel.cellvalues import EXCEL_ERRORS, CellError
from chs_excel.config import HealthConfig
from chs_excel.core.engine import ScoringInput, SourceDates
from chs_excel.core.measures import unknown_labels
from chs_excel.problems import DataIssue, Problem, show_value

# Kinds of raw cell, found in one pass per column.
NUMBER, BLANK, TEXT, BOOL, DATE, ERROR, NOT_A_NUMBER = range(7)


_KIND_OF_TYPE = {float: NUMBER, int: NUMBER, np.float64: NUMBER, np.int64: NUMBER, bool: BOOL, np.bool_: BOOL,
                 type(None): BLANK, dt.date: DATE, dt.datetime: DATE, dt.time: DATE, dt.timedelta: DATE,
                 pd.Timestamp: DATE, CellError: ERROR, str: TEXT}


def cell_kinds(raw) -> np.ndarray:
    """The kind of every cell (NUMBER, BLANK, TEXT, BOOL, DATE, ERROR), by one type lookup per cell.

    NaN and infinity (a number cell reading ``NaN`` or ``INF``) are NOT_A_NUMBER; None, blank or whitespace-only text count as BLANK; text that is exactly an
    Excel error (``#N/A``) counts as ERROR.
    """
    values = _objects(raw)
    n = len(values)
    # map() over C functions: the per-cell work runs without a Python-level loop (millions of cells).
    kinds = np.fromiter(map(_KIND_OF_TYPE.get, map(type, values), repeat(TEXT, n)), dtype=np.int8, count=n)
    numeric = np.flatnonzero(kinds == NUMBER)
    if len(numeric):
        as_float = values[numeric].astype(float)
        kinds[numeric[~np.isfinite(as_float)]] = NOT_A_NUMBER  # a file cell can hold NaN or INF
    text = np.flatnonzero(kinds == TEXT)
    if len(text):
        as_text = list(map(str, values[text]))  # str() of a str is the same object: no copy
        kinds[text[np.fromiter(map(operator.not_, map(str.strip, as_text)), dtype=bool, count=len(text))]] = BLANK
        kinds[text[np.fromiter(map(EXCEL_ERRORS.__contains__, as_text), dtype=bool, count=len(text))]] = ERROR
    return kinds


_REASONS = {
    TEXT: "text in a number column",
    BOOL: "TRUE/FALSE in a number column",
    DATE: "a date or time in a number column",
    NOT_A_NUMBER: "not a number (the cell holds NaN or infinity)",
}


def reason(kind: int, value) -> str:
    """Why a cell of this kind cannot be used as a number."""
    if kind == ERROR:
        return f"an Excel error ({value}) instead of a number" if str(value).startswith("#") else "a formula with no saved value"
    return _REASONS[kind]


def numbers(raw: pd.Series, kinds: np.ndarray | None = None) -> tuple[pd.Series, np.ndarray]:
    """Numeric values of a raw column, and a reason code per cell that could not be used (0 = fine).

    Numbers stay; text that reads as a number (``"12"``, ``" 3.5 "``) is accepted;
    blanks are missing without complaint; anything else is missing and flagged.
    """
    values, bad = _numbers(_objects(raw), kinds)
    return pd.Series(values, index=raw.index), bad


def _numbers(cells: np.ndarray, kinds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`numbers` of a 1-D object array, as a float array."""
    kinds = cell_kinds(cells) if kinds is None else kinds
    values = np.full(len(cells), np.nan)
    is_number = kinds == NUMBER
    if is_number.any():
        values[is_number] = cells[is_number].astype(float)
    bad = np.where(np.isin(kinds, (BOOL, DATE, ERROR, NOT_A_NUMBER)), kinds, 0)
    text = np.flatnonzero(kinds == TEXT)
    if len(text):
        stripped = pd.Series(list(map(str.strip, map(str, cells[text]))), dtype=object)
        parsed = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=float)
        values[text] = parsed
        bad[text[~np.isfinite(parsed)]] = TEXT
    return values, bad


def _objects(raw) -> np.ndarray:
    """A column of cells as a 1-D object array (no copy when it already is one)."""
    if isinstance(raw, np.ndarray) and raw.dtype == object:
        return raw
    if hasattr(raw, "to_numpy"):
        return raw.to_numpy(dtype=object)
    return _object_array(raw if isinstance(raw, list) else list(raw))


def _object_array(items) -> np.ndarray:
    """A sized iterable of cells as a 1-D object array (np.fromiter: several times faster than a slice assignment)."""
    return np.fromiter(items, dtype=object, count=len(items))


def _column(table: Table, j: int) -> np.ndarray:
    """Column ``j`` of the table's rows as a 1-D object array (a row too short for it reads as None, blank)."""
    rows = table.rows
    try:
        return np.fromiter(map(operator.itemgetter(j), rows), dtype=object, count=len(rows))
    except IndexError:
        return _object_array([row[j] if j < len(row) else None for row in rows])


def _is_str(values: np.ndarray) -> np.ndarray:
    """True where a cell is exactly ``str`` (not a subclass such as CellError)."""
    return np.fromiter(map(operator.is_, map(type, values), repeat(str)), dtype=bool, count=len(values))


def _id_texts(values: np.ndarray) -> np.ndarray:
    """:func:`account_ids` as an object array: text stripped, whole numbers without ".0", blank -> ""."""
    if set(map(type, values)) <= {str}:  # the usual column: all text
        return _object_array(list(map(str.strip, values)))
    kinds = cell_kinds(values)
    out = np.full(len(values), "", dtype=object)
    shown = np.flatnonzero(kinds != BLANK)
    if len(shown):
        out[shown] = _object_array(list(map(str, values[shown])))
        text = shown[_is_str(values[shown])]
        out[text] = _object_array(list(map(str.strip, values[text])))
        numeric = np.flatnonzero(kinds == NUMBER)  # finite: NaN and INF are NOT_A_NUMBER
        whole = numeric[values[numeric].astype(float) % 1 == 0]
        out[whole] = _object_array(list(map(str, map(int, values[whole]))))
    return out


def account_ids(raw: Iterable) -> list[str]:
    """Account IDs as text: 1001.0 -> "1001", surrounding spaces dropped, blank -> ""."""
    return _id_texts(_objects(raw)).tolist()


@dataclass(frozen=True)
class AccountRows:
    """What each data row of the Accounts sheet is to the scoring, decided once for every entry point.

    Attributes
    ----------
    ids : list of str
        Each row's Account ID as text ("" when blank), see :func:`account_ids`.
    blank : numpy.ndarray of bool
        Rows with a blank Account ID: skipped (a data issue unless the whole row is blank).
    empty : numpy.ndarray of bool
        Wholly blank rows (a subset of ``blank``): skipped without an issue.
    duplicate : numpy.ndarray of bool
        Rows repeating an earlier row's Account ID: skipped; the first row for the account is scored.
    """

    ids: list[str]
    blank: np.ndarray
    empty: np.ndarray
    duplicate: np.ndarray

    @property
    def scored(self) -> np.ndarray:
        """Rows that are scored: one per account, in sheet order."""
        return ~(self.blank | self.duplicate)


def account_rows(table: Table) -> AccountRows | None:
    """Which rows of the Accounts sheet are scored and why the others are not (None: no Account ID column).

    Parameters
    ----------
    table : Table
        The Accounts sheet (rows as wide as its header).

    Returns
    -------
    AccountRows or None
    """
    id_j = table.find(c.ACCOUNT_ID)
    if id_j is None:
        return None
    ids = _id_texts(_column(table, id_j))
    blank = ids == ""
    duplicate = pd.Series(ids, dtype=object).duplicated(keep="first").to_numpy() & ~blank
    empty = blank.copy()  # only a row with data needs an ID; column by column, as a range may hold many blank rows
    for j in range(len(table.header)):
        if not empty.any():
            break
        still = np.flatnonzero(empty)
        cells = _column(table, j)[still] if len(still) > len(empty) // 16 else \
            [table.rows[i][j] if j < len(table.rows[i]) else None for i in still.tolist()]
        empty[still] = cell_kinds(cells) == BLANK
    return AccountRows(ids.tolist(), blank, empty, duplicate)


def _label_texts(cells: np.ndarray) -> np.ndarray:
    """Descriptive cells as shown in the output: text stripped, blank -> "", anything else as a message quotes it."""
    out = np.full(len(cells), "", dtype=object)
    text = np.fromiter(map(isinstance, cells, repeat(str)), dtype=bool, count=len(cells))
    out[text] = _object_array(list(map(str.strip, cells[text])))
    other = np.flatnonzero(~text)
    other = other[np.fromiter(map(operator.is_not, cells[other], repeat(None)), dtype=bool, count=len(other))]
    out[other] = _object_array(list(map(show_value, cells[other])))
    return out


def _issue(table: Table, i: int, j: int, value, problem: str, action: str) -> DataIssue:
    return DataIssue(table.sheet, table.cell(i, j), table.header[j], value if not isinstance(value, CellError) else str(value), problem, action)


def _columns_used(config: HealthConfig) -> tuple[dict[str, str], set[str]]:
    """Source columns read from Accounts -> 'number'/'label'; and trend sources read from Metric History.

    A logged metric's Source is read from Metric History (:func:`history_latest`); its Source 2 from Accounts.
    """
    kinds: dict[str, str] = {}
    trend_sources = set()
    for m in config.metrics:
        if m.measure == "trend":
            trend_sources.add(m.source)
            continue
        if not m.logged:
            kinds[m.source] = "label" if m.measure == "categorical" else "number"
        if m.source2:
            kinds[m.source2] = "number"
    return kinds, trend_sources


def _source_problems(table: Table, config: HealthConfig) -> list[Problem]:
    problems = []
    seen: dict[str, list[int]] = {}
    for j, h in enumerate(table.header):
        if h.strip():
            seen.setdefault(h.strip().casefold(), []).append(j)
    for m in config.metrics:
        if m.measure == "trend":
            continue
        for name, where in ((None if m.logged else m.source, m.source_location), (m.source2, m.source2_location)):
            if not name:
                continue
            hits = seen.get(name.strip().casefold(), [])
            if not hits:
                problems.append(Problem(where, f'source column "{name}" is not a column of the Accounts sheet '
                                               f"(its header row {table.header_row} has: {', '.join(h for h in table.header if h)})"))
            elif len(hits) > 1:
                cells = " and ".join(table.header_cell(j) for j in hits)
                problems.append(Problem(where, f'source column "{name}" appears more than once on the Accounts sheet ({cells}); '
                                               f"rename one so it is clear which to use"))
    for name, where, what in _other_columns(config):
        if not seen.get(name.strip().casefold()):
            problems.append(Problem(where, f'{what} "{name}" is not a column of the Accounts sheet '
                                           f"(its header row {table.header_row} has: {', '.join(h for h in table.header if h)})"))
    return problems


def _other_columns(config: HealthConfig) -> list[tuple[str, str, str]]:
    """Accounts columns read besides the metric sources: (name, where it is named, what names it).

    The metrics' date columns (Stale after) and the columns the rules' When names.
    """
    named = [(m.date_column, m.date_column_location, "date column") for m in config.metrics
             if m.date_column and m.stale_after is not None]
    return named + [(r.when, r.when_location, "rule column") for r in config.rules if r.kind == "column"]


class _DateCells:
    """Where each scored account's date cell is (``Accounts!M5``) and what it holds, without keeping the table."""

    def __init__(self, sheet: str, column_cell: str, excel_rows: np.ndarray, raw: np.ndarray):
        self.sheet = sheet
        self.prefix = column_cell.rstrip("0123456789")  # "Accounts!M"
        self.excel_rows = excel_rows
        self.raw = raw

    def cell(self, position: int) -> str:
        return f"{self.prefix}{int(self.excel_rows[position])}"

    def value(self, position: int):
        return self.raw[position]


def accounts_frame(table: Table, config: HealthConfig, rows: AccountRows | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame, list[DataIssue], list[Problem]]:
    """The scored source columns (indexed by Account ID), the descriptive columns, the data issues, and fatal problems.

    ``rows``: :func:`account_rows` of ``table`` when the caller has it already.
    """
    id_j = table.find(c.ACCOUNT_ID)
    if id_j is None:
        found = ", ".join(h for h in table.header if h) or "nothing"
        return pd.DataFrame(), pd.DataFrame(), [], [Problem(f"{table.sheet}!{table.header_row}:{table.header_row}",
                                                            f'column "{c.ACCOUNT_ID}" is missing from the header row (found: {found})')]
    problems = _source_problems(table, config)
    if config.segment_column != "Segment" and table.find(config.segment_column) is None:
        problems.append(Problem(config.segment_column_location, f'Segment column "{config.segment_column}" is not a column '
                                                                f"of the Accounts sheet (its header row {table.header_row} has: "
                                                                f"{', '.join(h for h in table.header if h)})"))
    if problems:
        return pd.DataFrame(), pd.DataFrame(), [], problems
    issues: list[DataIssue] = []
    rows = rows or account_rows(table)
    ids = np.asarray(rows.ids, dtype=object)
    blank, duplicate = rows.blank, rows.duplicate
    for i in np.flatnonzero(blank & ~rows.empty):
        issues.append(_issue(table, i, id_j, table.rows[i][id_j], "blank Account ID", "skipped the row"))
    if duplicate.any():
        first_row: dict[str, int] = {}
        for i, ident in zip(np.flatnonzero(~blank).tolist(), ids[~blank].tolist()):
            first_row.setdefault(ident, i)
        for i in np.flatnonzero(duplicate):
            issues.append(_issue(table, i, id_j, ids[i], f'Account ID "{ids[i]}" already appears in row {table.excel_row(first_row[ids[i]])}',
                                 "skipped this row; the first row for the account is scored"))
    keep = rows.scored
    kinds, _ = _columns_used(config)
    source: dict[str, np.ndarray] = {}
    for name, kind in kinds.items():
        j = table.find(name)
        cells = _column(table, j)
        if kind == "number":
            values, bad = _numbers(cells)
            for i in np.flatnonzero((bad > 0) & keep):
                issues.append(_issue(table, i, j, table.rows[i][j], reason(int(bad[i]), table.rows[i][j]), "left the metric out for this account"))
        else:
            ks = cell_kinds(cells)
            values = np.where(ks == TEXT, cells, None)
            numeric = np.flatnonzero(ks == NUMBER)
            if len(numeric):
                values[numeric] = _object_array(list(map(show_value, cells[numeric])))
            for i in np.flatnonzero(np.isin(ks, (BOOL, DATE, ERROR, NOT_A_NUMBER)) & keep):
                issues.append(_issue(table, i, j, table.rows[i][j], "not a label" if ks[i] != ERROR else reason(ERROR, table.rows[i][j]),
                                     "left the metric out for this account"))
        source[name] = values
    for rule in config.rules:  # the Accounts columns rules compare: numbers or text, as the rule's Value is
        if rule.kind != "column" or rule.when in source:
            continue
        cells = _column(table, table.find(rule.when))
        source[rule.when] = _numbers(cells)[0] if not isinstance(rule.value, str) else \
            np.where(_is_str(cells), cells, None)
    index = pd.Index(ids[keep], name=c.ACCOUNT_ID)
    frame = pd.DataFrame({name: v[keep] for name, v in source.items()}, index=index)
    labels = {}
    for header in c.ACCOUNT_COLUMNS[1:]:
        j = table.find(config.segment_column if header == "Segment" else header)
        labels[header] = _label_texts(_column(table, j)[keep]) if j is not None else np.full(keep.sum(), "", dtype=object)
    descriptive = pd.DataFrame(labels, index=index)
    issues += layout_issues(table, "scored like any other row (delete the row to leave the account out)")
    issues += _unknown_label_issues(table, config, frame, np.flatnonzero(keep))
    return frame, descriptive, issues, []


def source_dates(table: Table, config: HealthConfig, rows: AccountRows) -> dict[str, SourceDates]:
    """For each metric with Stale after and a Date column: the date of each scored account, and where it is.

    Dates, date text and serial numbers are read; a blank or any other cell is NaT (the engine says so).
    """
    kept = np.flatnonzero(rows.scored)
    read: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    dates = {}
    for m in config.metrics:
        if m.stale_after is None or not m.date_column:
            continue
        j = table.find(m.date_column)
        if j not in read:  # metrics sharing a date column read it once
            cells = _column(table, j)[kept]
            read[j] = (_periods(cells), cells)
        days, cells = read[j]
        where = _DateCells(table.sheet, table.header_cell(j), table.header_row + 1 + kept, cells)
        dates[m.name] = SourceDates(days, table.sheet, table.header[j], where.cell, where.value)
    return dates


def layout_issues(table: Table | None, hidden_action: str) -> list[DataIssue]:
    """Merged cells and hidden rows in the data area: not errors, but worth knowing."""
    if table is None:
        return []
    issues = []
    for area in table.merged:
        first, _, last = area.partition(":")
        if int("".join(ch for ch in last if ch.isdigit())) <= table.header_row:
            continue
        issues.append(DataIssue(table.sheet, f"{table.sheet}!{first}", "", area,
                                f"merged cells {area}: only {first} holds a value", "read the other cells as blank"))
    for row in table.hidden_rows:
        if row > table.header_row:
            issues.append(DataIssue(table.sheet, f"{table.sheet}!A{row}", "", "", "the row is hidden", hidden_action))
    return issues


def _unknown_label_issues(table: Table, config: HealthConfig, frame: pd.DataFrame, rows: np.ndarray) -> list[DataIssue]:
    issues = []
    for m in config.metrics:
        if m.measure != "categorical" or m.logged:  # a logged label's cell is on Metric History (history_latest)
            continue
        j = table.find(m.source)
        unknown = unknown_labels(frame[m.source].to_numpy(), m.labels)
        known = ", ".join(m.labels)
        for pos in np.flatnonzero(unknown):
            i = rows[pos]
            issues.append(_issue(table, i, j, table.rows[i][j], f'label not in the {m.name} labels ({known})',
                                 "left the metric out for this account"))
    return issues


def _history_sheet_problems(table: Table | None, metrics: list, what: str) -> list[Problem]:
    """No Metric History sheet (one problem per metric that reads it), or one without its columns."""
    if table is None:
        return [Problem(m.source_location, f'{what} "{m.name}" reads "{m.source}" from the "{c.HISTORY}" sheet, '
                                           f"and the workbook has none") for m in metrics]
    missing = [h for h in c.HISTORY_COLUMNS if table.find(h) is None]
    found = ", ".join(h for h in table.header if h) or "nothing"
    return [Problem(f"{table.sheet}!{table.header_row}:{table.header_row}",
                    f'column "{h}" is missing from the header row (found: {found})') for h in missing]


class HistoryCells:
    """Metric History's columns read once, for the trends and the logged metrics alike.

    Parameters
    ----------
    table : Table
        The Metric History sheet, with its four columns (see :data:`contract.HISTORY_COLUMNS`).
    accounts : pandas.Index
        The scored Account IDs.

    Attributes
    ----------
    raw : dict of str to numpy.ndarray
        Each column's cells as read, by header.
    ids : numpy.ndarray
        Each row's Account ID as text.
    periods : numpy.ndarray of datetime64[us]
        Each row's Period (NaT: not a date).
    unique : pandas.Index
        The accounts, each once.
    account : numpy.ndarray of int
        Each row's position in ``unique`` (-1: not on the Accounts sheet).
    """

    def __init__(self, table: Table, accounts: pd.Index):
        self.table = table
        self.positions = {h: table.find(h) for h in c.HISTORY_COLUMNS}
        self.raw = {h: _column(table, j) for h, j in self.positions.items()}
        self.ids = _id_texts(self.raw["Account ID"])
        self.periods = _periods(self.raw["Period"])
        self.unique = accounts if accounts.is_unique else accounts.unique()
        self.account = self.unique.get_indexer(pd.Index(self.ids, dtype=object))
        self._kinds: np.ndarray | None = None
        self._numbers: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def kinds(self) -> np.ndarray:
        """The kind of each Value cell (:func:`cell_kinds`), worked out on first use."""
        if self._kinds is None:
            self._kinds = cell_kinds(self.raw["Value"])
        return self._kinds

    @property
    def numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """Each Value cell as a number (NaN when it is not one) and why not (:func:`numbers`' reason codes)."""
        if self._numbers is None:
            self._numbers = _numbers(self.raw["Value"], self.kinds)
        return self._numbers


def history_trends(table: Table | None, config: HealthConfig, accounts: pd.Index, as_of: dt.date,
                   dates: dict[str, SourceDates] | None = None, cells: HistoryCells | None = None
                   ) -> tuple[dict[str, tuple[pd.Series, pd.Series]], list[DataIssue], list[Problem]]:
    """For each trend source: the previous and the latest period's value per account, at or before ``as_of``.

    ``dates``: filled, for each trend metric with Stale after and no Date column, with the period of the
    latest row used per account (where that row's Period cell is), for the engine's stale check.
    ``cells``: the sheet already read (:class:`HistoryCells`), when the logged metrics read it too.
    """
    _, trend_sources = _columns_used(config)
    if not trend_sources:
        return {}, [], []
    trend_metrics = [m for m in config.metrics if m.measure == "trend"]
    problems = _history_sheet_problems(table, trend_metrics, "trend metric")
    if problems:
        return {}, [], problems
    issues: list[DataIssue] = []
    n = len(table.rows)
    cells = cells or HistoryCells(table, accounts)
    positions, get, ids, periods = cells.positions, cells.raw, cells.ids, cells.periods
    wanted = {s.strip().casefold(): s for s in trend_sources}
    keys = sorted(wanted)  # the trends' source names, folded, in the order rows are ranked in
    column = _key_codes(get["Column"], keys)  # position in keys, -1 for a row of any other column
    used = column >= 0
    values, bad = cells.numbers
    unique, account = cells.unique, cells.account  # position in unique, -1 if not on Accounts
    known = account >= 0
    p_j, v_j, a_j = positions["Period"], positions["Value"], positions["Account ID"]
    for i in np.flatnonzero(used & np.isnat(periods)):
        issues.append(_issue(table, i, p_j, table.rows[i][p_j], "period is not a date", "skipped the history row"))
    for i in np.flatnonzero(used & (bad > 0)):
        issues.append(_issue(table, i, v_j, table.rows[i][v_j], reason(int(bad[i]), table.rows[i][v_j]), "skipped the history row"))
    for i in np.flatnonzero(used & ~known):
        issues.append(_issue(table, i, a_j, table.rows[i][a_j], f'account "{ids[i]}" is not on the Accounts sheet', "skipped the history row"))
    usable = used & known & ~np.isnat(periods) & ~np.isnan(values)
    ok = usable & (periods <= np.datetime64(as_of, "us"))
    if usable.any() and not ok.any():
        first = int(np.flatnonzero(usable)[np.argmin(periods[usable])])
        issues.append(_issue(table, first, p_j, table.rows[first][p_j],
                             f"every period in {c.HISTORY} is after the as-of date {as_of.isoformat()}",
                             "left the trend metrics out: they have no data yet"))
    rows = np.flatnonzero(ok)
    # Ranked by (column, account ID as text, period, row): per column and account the last row of each period
    # counts; the latest period is the trend's latest value, the one before it the previous value.
    rank = _text_ranks(unique, account[rows])
    order = np.lexsort((rows, periods[rows], rank, column[rows]))
    rows = rows[order]
    col, acc, day = column[rows], account[rows], periods[rows]
    last = np.ones(len(rows), dtype=bool)  # the last row of its (column, account, period)
    last[:-1] = (col[1:] != col[:-1]) | (acc[1:] != acc[:-1]) | (day[1:] != day[:-1])
    rows, col, acc = rows[last], col[last], acc[last]
    starts = np.ones(len(rows), dtype=bool)  # the first (earliest) period of its (column, account)
    starts[1:] = (col[1:] != col[:-1]) | (acc[1:] != acc[:-1])
    ends = np.ones(len(rows), dtype=bool)  # the latest
    ends[:-1] = starts[1:]
    for row in rows[starts & ends]:
        issues.append(_issue(table, int(row), p_j, table.rows[row][p_j],
                             f'only one period of "{table.rows[row][positions["Column"]]}" on or before '
                             f"{as_of.isoformat()}: a trend needs two", "left the trend metric out for this account"))
    issues += layout_issues(table, "used like any other row")
    latest_at = np.flatnonzero(ends)
    previous_at = latest_at[~starts[latest_at]] - 1
    trends = {}
    for key, name in wanted.items():
        code = keys.index(key)
        pair = []
        for at in (previous_at, latest_at):
            at = at[col[at] == code]
            value = np.full(len(unique), np.nan)
            value[acc[at]] = values[rows[at]]
            series = pd.Series(value, index=unique, name="value")
            pair.append(series if unique is accounts else series.reindex(accounts))
        trends[name] = tuple(pair)
    if dates is not None:
        dates.update(_latest_periods(table, config, wanted, keys, rows, col, acc, latest_at, periods, unique, accounts))
    present = {keys[k] for k in np.unique(column[used])}
    # An empty history sheet (a new workbook: nothing recorded yet) leaves the trend metrics without data; rows that
    # never name a trend source are a typo in Source, a config error.
    problems = [Problem(m.source_location, f'trend source "{m.source}" has no rows in the "Column" column of {c.HISTORY}')
                for m in trend_metrics if n and m.source.strip().casefold() not in present]
    return trends, issues, problems


def _latest_periods(table: Table, config: HealthConfig, wanted: dict[str, str], keys: list[str], rows: np.ndarray,
                    col: np.ndarray, acc: np.ndarray, latest_at: np.ndarray, periods: np.ndarray, unique: pd.Index,
                    accounts: pd.Index) -> dict[str, SourceDates]:
    """The period of the latest Metric History row used per account, for trend metrics dated by their history."""
    dated = [m for m in config.metrics if m.measure == "trend" and m.stale_after is not None and not m.date_column]
    out = {}
    p_j = table.find("Period")
    for m in dated:
        code = keys.index(m.source.strip().casefold())
        at = latest_at[col[latest_at] == code]
        row = np.full(len(unique), -1, dtype=np.int64)
        row[acc[at]] = rows[at]
        if unique is not accounts:
            row = pd.Series(row, index=unique).reindex(accounts).to_numpy()
        day = np.full(len(row), np.datetime64("NaT"), dtype="datetime64[us]")
        day[row >= 0] = periods[row[row >= 0]]
        where = _DateCells(table.sheet, table.header_cell(p_j), table.header_row + 1 + row, np.full(len(row), None))
        # An account without a latest row has no trend score, so the engine never asks where its date is.
        out[m.name] = SourceDates(day, table.sheet, table.header[p_j], where.cell, where.value)
    return out


LOGGED_SKIPPED = "skipped the entry (the account's latest usable entry before it counts)"


def history_latest(table: Table | None, config: HealthConfig, accounts: pd.Index, as_of: dt.date,
                   dates: dict[str, SourceDates] | None = None, cells: HistoryCells | None = None
                   ) -> tuple[dict[str, pd.Series], list[DataIssue], list[Problem]]:
    """For each logged metric (Read from: Metric History), the value of its latest usable entry per account.

    An entry is a Metric History row whose ``Column`` is the metric's Source (case and surrounding spaces
    ignored). Entries dated after ``as_of`` are ignored; of several entries on the latest date, the last row
    counts. An entry that cannot be used - its Period is not a date, its account is not on Accounts, its Value
    is blank, is not a number (for a number metric) or is not one of the metric's labels (categorical) - is
    listed on Data Issues and skipped: the latest usable entry before it counts, dated by its own Period.
    Vectorised: one sort of each metric's entries, whatever the number of accounts.

    Parameters
    ----------
    table : Table or None
        The Metric History sheet (None: the workbook has none, a problem when a metric is logged).
    config : HealthConfig
    accounts : pandas.Index
        The scored Account IDs; the values are aligned on them.
    as_of : datetime.date
    dates : dict, optional
        Filled, for each logged metric with Stale after and no Date column, with the Period of the entry used
        per account and where that cell is (:class:`SourceDates`), for the engine's stale check.
    cells : HistoryCells, optional
        The sheet already read (when the trends read it too).

    Returns
    -------
    logged : dict of str to pandas.Series
        By metric name: numbers as float (labels as text for a categorical metric), NaN (None) where nothing
        usable was logged by ``as_of``.
    issues : list of DataIssue
    problems : list of Problem
        No Metric History sheet or column; or a Source that no row of a non-empty sheet names (a typo, or
        nothing logged yet).
    """
    metrics = [m for m in config.metrics if m.logged]
    if not metrics:
        return {}, [], []
    problems = _history_sheet_problems(table, metrics, "metric")
    if problems:
        return {}, [], problems
    cells = cells or HistoryCells(table, accounts)
    table = cells.table
    keys = sorted({m.source.strip().casefold() for m in metrics})
    column = _key_codes(cells.raw["Column"], keys)  # position in keys, -1 for a row of any other column
    present = set(np.unique(column[column >= 0]).tolist())
    absent = [m for m in metrics if keys.index(m.source.strip().casefold()) not in present]
    if len(column) and absent:
        return {}, [], [Problem(m.source_location, f'"{m.name}" reads the latest entry of "{m.source}" from '
                                                   f'{c.HISTORY}, and no row of its "Column" column names it (it names: '
                                                   f"{_names_in(cells.raw['Column'])}); check the spelling, or log a "
                                                   f"first entry") for m in absent]
    p_j, v_j, a_j = (cells.positions[h] for h in ("Period", "Value", "Account ID"))
    used, dated, known = column >= 0, ~np.isnat(cells.periods), cells.account >= 0
    issues: list[DataIssue] = []
    for i in np.flatnonzero(used & ~dated):
        issues.append(_issue(table, i, p_j, table.rows[i][p_j], "period is not a date", LOGGED_SKIPPED))
    readable = _logged_values(cells, column, metrics, keys, issues)
    for i in np.flatnonzero(used & ~known):
        issues.append(_issue(table, i, a_j, table.rows[i][a_j], f'account "{cells.ids[i]}" is not on the Accounts sheet',
                             "skipped the entry"))
    in_time = dated & known & (cells.periods <= np.datetime64(as_of, "us"))
    logged = {}
    for m in metrics:
        label = m.measure == "categorical"
        values, fine = readable["label" if label else "number"]
        usable = (column == keys.index(m.source.strip().casefold())) & fine
        if label:  # a label the metric does not know is as unusable as a blank
            at = np.flatnonzero(usable)
            unknown = at[unknown_labels(values[at], m.labels)]
            shown = ", ".join(m.labels)
            for i in unknown:
                issues.append(_issue(table, i, v_j, table.rows[i][v_j], f"label not in the {m.name} labels ({shown})",
                                     LOGGED_SKIPPED))
            usable[unknown] = False
        counted = usable & in_time
        if not counted.any() and (usable & dated & known).any():
            first = int(np.flatnonzero(usable & dated & known)[np.argmin(cells.periods[usable & dated & known])])
            issues.append(_issue(table, first, p_j, table.rows[first][p_j],
                                 f'every "{m.source}" entry in {c.HISTORY} is after the as-of date {as_of.isoformat()}',
                                 f'left "{m.name}" out: nothing was logged by then'))
        rows = np.flatnonzero(counted)
        # By account, then date, then row: each account's last row is its latest entry (the last of that date).
        rows = rows[np.lexsort((rows, cells.periods[rows].view(np.int64), cells.account[rows]))]
        account = cells.account[rows]
        last = np.ones(len(rows), dtype=bool)
        last[:-1] = account[1:] != account[:-1]
        latest_row = np.full(len(cells.unique), -1, dtype=np.int64)  # per account, the row of its latest entry
        latest_row[account[last]] = rows[last]
        if cells.unique is not accounts:
            latest_row = pd.Series(latest_row, index=cells.unique).reindex(accounts).to_numpy()
        has = latest_row >= 0
        value = np.full(len(latest_row), None if label else np.nan, dtype=object if label else float)
        value[has] = values[latest_row[has]]
        logged[m.name] = pd.Series(value, index=accounts, name=m.name)
        if dates is not None and m.stale_after is not None and not m.date_column:
            day = np.full(len(latest_row), np.datetime64("NaT"), dtype="datetime64[us]")
            day[has] = cells.periods[latest_row[has]]
            where = _DateCells(table.sheet, table.header_cell(p_j), table.header_row + 1 + latest_row,
                               np.full(len(latest_row), None))
            # An account without an entry has no score, so the engine never asks where its date is.
            dates[m.name] = SourceDates(day, table.sheet, table.header[p_j], where.cell, where.value)
    return logged, issues, []


def _logged_values(cells: HistoryCells, column: np.ndarray, metrics: list, keys: list[str],
                   issues: list[DataIssue]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metric History's Value cells read as numbers and as labels, as the logged metrics need them, and where each
    reading is usable; unusable cells of the rows of logged sources are added to ``issues``."""
    table, v_j = cells.table, cells.positions["Value"]
    raw, kinds = cells.raw["Value"], cells.kinds
    wanted = {"label": set(), "number": set()}
    for m in metrics:
        wanted["label" if m.measure == "categorical" else "number"].add(keys.index(m.source.strip().casefold()))
    readable = {}
    if wanted["number"]:
        values, bad = cells.numbers
        for i in np.flatnonzero(np.isin(column, list(wanted["number"])) & (bad > 0)):
            issues.append(_issue(table, i, v_j, raw[i], reason(int(bad[i]), raw[i]), LOGGED_SKIPPED))
        readable["number"] = (values, ~np.isnan(values))
    if wanted["label"]:
        labels = np.where(kinds == TEXT, raw, None)
        numeric = np.flatnonzero(kinds == NUMBER)
        if len(numeric):  # a number logged as a label reads as the sheet shows it (7, not 7.0)
            labels[numeric] = _object_array(list(map(show_value, raw[numeric])))
        not_labels = np.isin(kinds, (BOOL, DATE, ERROR, NOT_A_NUMBER))
        for i in np.flatnonzero(np.isin(column, list(wanted["label"])) & not_labels):
            problem = "not a label" if kinds[i] != ERROR else reason(ERROR, raw[i]).replace("a number", "a label")
            issues.append(_issue(table, i, v_j, raw[i], problem, LOGGED_SKIPPED))
        readable["label"] = (labels, np.isin(kinds, (TEXT, NUMBER)))
    for i in np.flatnonzero((column >= 0) & (kinds == BLANK)):
        issues.append(_issue(table, i, v_j, "", "the value is blank", LOGGED_SKIPPED))
    return readable


def _names_in(cells: np.ndarray, most: int = 10) -> str:
    """The distinct texts of Metric History's Column column, as a message lists them (the first ``most``)."""
    names = list(dict.fromkeys(str(v).strip() for v in cells.tolist() if v is not None and str(v).strip()))
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "") if names else "nothing"


def _key_codes(cells: np.ndarray, keys: list[str]) -> np.ndarray:
    """Per cell, the position in ``keys`` of its text stripped and case-folded (-1: none of them)."""
    code = {key: k for k, key in enumerate(keys)}
    if _is_str(cells).all():  # folded once per distinct text: a column names a handful of sources
        folded = {text: code.get(text.strip().casefold(), -1) for text in set(cells.tolist())}
        return np.fromiter(map(folded.__getitem__, cells), dtype=np.int64, count=len(cells))
    return np.fromiter((code.get(v.strip().casefold() if type(v) is str else ("" if v is None else str(v).strip().casefold()), -1)
                        for v in cells), dtype=np.int64, count=len(cells))


def _periods(cells: np.ndarray) -> np.ndarray:
    """The Period cells as datetime64[us] (NaT where a cell is not a date): dates, serial numbers, date text.

    Microseconds hold every date Excel can (nanoseconds stop at 2262 and would fail on a typo such as 1500).
    """
    kinds = cell_kinds(cells)
    periods = np.full(len(cells), np.datetime64("NaT"), dtype="datetime64[us]")
    dated = np.flatnonzero(kinds == DATE)
    if len(dated):  # converted once per distinct value: a history repeats a few periods over many accounts
        codes, distinct = pd.factorize(cells[dated], use_na_sentinel=False)
        moments = pd.Series([None if isinstance(v, dt.time) else v for v in distinct], dtype=object)
        periods[dated] = _as_us(_wall_clock(pd.to_datetime(moments, errors="coerce", utc=True)))[codes]
    serial = np.flatnonzero(kinds == NUMBER)  # Office.js sends date cells as serial numbers
    if len(serial):
        days = cells[serial].astype(float)
        periods[serial] = _as_us(pd.Series(pd.to_datetime(np.where((days >= 1) & (days < 2958466), days, np.nan),
                                                          unit="D", origin="1899-12-30")))
    text = np.flatnonzero(kinds == TEXT)
    if len(text):
        stripped = list(map(str.strip, map(str, cells[text])))
        codes, distinct = pd.factorize(np.asarray(stripped, dtype=object))
        moments = pd.Series(distinct, dtype=object)
        periods[text] = _as_us(_wall_clock(pd.to_datetime(moments, errors="coerce", format="mixed", utc=True)))[codes]
    return periods


def _as_us(moments: pd.Series) -> np.ndarray:
    return moments.to_numpy(dtype="datetime64[us]")


def _text_ranks(accounts: pd.Index, at: np.ndarray) -> np.ndarray:
    """For positions ``at`` in ``accounts`` (all text), each account's rank in text order (the order sort_values gives)."""
    present = np.unique(at)
    order = np.argsort(accounts.to_numpy(dtype=object)[present], kind="stable")
    rank = np.zeros(len(accounts), dtype=np.int64)
    rank[present[order]] = np.arange(len(present))
    return rank[at]


def _wall_clock(moments: pd.Series) -> pd.Series:
    """Parsed with utc=True (so mixed naive and zoned values never raise), shown as naive wall-clock time."""
    return moments.dt.tz_localize(None)


def scoring_input(tables: dict[str, Table], config: HealthConfig, as_of: dt.date, rows: AccountRows | None = None
                  ) -> tuple[ScoringInput, pd.DataFrame, list[DataIssue], list[Problem]]:
    """Everything the engine needs from the data sheets, plus the account labels for the output.

    ``rows``: :func:`account_rows` of the Accounts table when the caller has it already.
    """
    if c.ACCOUNTS not in tables:
        return ScoringInput(pd.DataFrame(), as_of), pd.DataFrame(), [], [
            Problem(c.ACCOUNTS, f'the workbook has no "{c.ACCOUNTS}" sheet; it is required')]
    frame, descriptive, issues, problems = accounts_frame(tables[c.ACCOUNTS], config, rows)
    if problems:
        return ScoringInput(frame, as_of), descriptive, issues, problems
    dates = source_dates(tables[c.ACCOUNTS], config, rows or account_rows(tables[c.ACCOUNTS]))
    history = tables.get(c.HISTORY)
    cells = HistoryCells(history, frame.index) if history is not None and any(m.from_history for m in config.metrics) \
        and all(history.find(h) is not None for h in c.HISTORY_COLUMNS) else None
    trends, history_issues, problems = history_trends(history, config, frame.index, as_of, dates, cells)
    logged, logged_issues, logged_problems = history_latest(history, config, frame.index, as_of, dates, cells)
    said = {issue.cell for issue in history_issues}  # a row a trend reads too was reported once, by the trend
    issues = issues + history_issues + [issue for issue in logged_issues if issue.cell not in said]
    problems = list(dict.fromkeys(problems + logged_problems))  # a missing column of the sheet: said once
    return ScoringInput(frame, as_of, trends, dates, logged), descriptive, issues, problems
