"""Turn the Accounts and Metric History sheets into clean engine input, reporting every unusable cell.

A cell that cannot be used never stops the refresh: it is left out (the
metric counts as missing for that account, weights renormalise) and listed
as a :class:`DataIssue` with its sheet, cell and what was done instead.
Problems that make the sheets unusable as a whole (a missing column) are
:class:`Problem` s and stop the refresh.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.table import Table
from chs_excel.cellvalues import EXCEL_ERRORS, CellError
from chs_excel.config import HealthConfig
from chs_excel.core.engine import ScoringInput
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
    kind_of = _KIND_OF_TYPE.get
    kinds = np.fromiter((kind_of(type(v), TEXT) for v in values), dtype=np.int8, count=len(values))
    numeric = np.flatnonzero(kinds == NUMBER)
    if len(numeric):
        as_float = values[numeric].astype(float)
        kinds[numeric[~np.isfinite(as_float)]] = NOT_A_NUMBER  # a file cell can hold NaN or INF
    text = np.flatnonzero(kinds == TEXT)
    if len(text):
        as_text = [str(v) for v in values[text]]
        kinds[text[np.fromiter((not t.strip() for t in as_text), dtype=bool, count=len(text))]] = BLANK
        kinds[text[np.fromiter((t in EXCEL_ERRORS for t in as_text), dtype=bool, count=len(text))]] = ERROR
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
    kinds = cell_kinds(raw) if kinds is None else kinds
    values = np.full(len(raw), np.nan)
    is_number = kinds == NUMBER
    values[is_number] = raw.to_numpy()[is_number].astype(float)
    bad = np.where(np.isin(kinds, (BOOL, DATE, ERROR, NOT_A_NUMBER)), kinds, 0)
    is_text = kinds == TEXT
    if is_text.any():
        parsed = pd.to_numeric(pd.Series(raw.to_numpy()[is_text], dtype=object).map(lambda v: str(v).strip()), errors="coerce").to_numpy(dtype=float)
        values[is_text] = parsed
        bad[np.flatnonzero(is_text)[~np.isfinite(parsed)]] = TEXT
    return pd.Series(values, index=raw.index), bad


def _raw_frame(table: Table) -> pd.DataFrame:
    """The sheet's cells as they are (object dtype: no guessing of types)."""
    return pd.DataFrame(table.rows, dtype=object, columns=range(len(table.header))) if table.rows \
        else pd.DataFrame(columns=range(len(table.header)), dtype=object)


def _objects(raw) -> np.ndarray:
    """A column of cells as a 1-D object array (no copy when it already is one)."""
    if isinstance(raw, np.ndarray) and raw.dtype == object:
        return raw
    if hasattr(raw, "to_numpy"):
        return raw.to_numpy(dtype=object)
    items = list(raw)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _id_text(value, kind: int) -> str:
    if kind == BLANK:
        return ""
    if type(value) is str:
        return value.strip()
    if kind == NUMBER and float(value).is_integer():
        return str(int(value))
    return str(value)


def account_ids(raw: Iterable) -> list[str]:
    """Account IDs as text: 1001.0 -> "1001", surrounding spaces dropped, blank -> ""."""
    values = _objects(raw)
    return [_id_text(v, k) for v, k in zip(values.tolist(), cell_kinds(values).tolist())]


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
    ids = account_ids([row[id_j] for row in table.rows])
    blank = np.fromiter((not ident for ident in ids), dtype=bool, count=len(ids))
    duplicate = pd.Series(ids, dtype=object).duplicated(keep="first").to_numpy() & ~blank
    empty = blank.copy()  # only a row with data needs an ID; column by column, as a range may hold many blank rows
    for j in range(len(table.header)):
        if not empty.any():
            break
        still = np.flatnonzero(empty)
        empty[still] = cell_kinds([table.rows[i][j] for i in still.tolist()]) == BLANK
    return AccountRows(ids, blank, empty, duplicate)


def _issue(table: Table, i: int, j: int, value, problem: str, action: str) -> DataIssue:
    return DataIssue(table.sheet, table.cell(i, j), table.header[j], value if not isinstance(value, CellError) else str(value), problem, action)


def _columns_used(config: HealthConfig) -> tuple[dict[str, str], set[str]]:
    """Source columns read from Accounts -> 'number'/'label'; and trend sources read from Metric History."""
    kinds: dict[str, str] = {}
    trend_sources = set()
    for m in config.metrics:
        if m.measure == "trend":
            trend_sources.add(m.source)
            continue
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
        for name, where in ((m.source, m.source_location), (m.source2, m.source2_location)):
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
    return problems


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
    raw = _raw_frame(table)
    rows = rows or account_rows(table)
    ids = pd.Series(rows.ids, dtype=object)
    blank, duplicate = rows.blank, rows.duplicate
    for i in np.flatnonzero(blank & ~rows.empty):
        issues.append(_issue(table, i, id_j, table.rows[i][id_j], "blank Account ID", "skipped the row"))
    first_rows = pd.Series(np.flatnonzero(~blank), index=ids[~blank].to_numpy())
    first_rows = first_rows[~first_rows.index.duplicated()]
    for i in np.flatnonzero(duplicate):
        issues.append(_issue(table, i, id_j, ids[i], f'Account ID "{ids[i]}" already appears in row {table.excel_row(first_rows[ids[i]])}',
                             "skipped this row; the first row for the account is scored"))
    keep = rows.scored
    kinds, _ = _columns_used(config)
    source: dict[str, np.ndarray] = {}
    for name, kind in kinds.items():
        j = table.find(name)
        col = raw[j] if j in raw.columns else pd.Series([""] * len(raw), dtype=object)
        if kind == "number":
            values, bad = numbers(col)
            for i in np.flatnonzero((bad > 0) & keep):
                issues.append(_issue(table, i, j, table.rows[i][j], reason(int(bad[i]), table.rows[i][j]), "left the metric out for this account"))
        else:
            ks = cell_kinds(col)
            cells = col.to_numpy(dtype=object)
            values = np.where(ks == TEXT, cells, None)
            for i in np.flatnonzero(ks == NUMBER):
                values[i] = show_value(cells[i])
            for i in np.flatnonzero(np.isin(ks, (BOOL, DATE, ERROR, NOT_A_NUMBER)) & keep):
                issues.append(_issue(table, i, j, table.rows[i][j], "not a label" if ks[i] != ERROR else reason(ERROR, table.rows[i][j]),
                                     "left the metric out for this account"))
        source[name] = values.to_numpy() if isinstance(values, pd.Series) else values
    index = pd.Index(ids[keep].to_numpy(), name=c.ACCOUNT_ID)
    frame = pd.DataFrame({name: v[keep] for name, v in source.items()}, index=index)
    labels = {}
    for header in c.ACCOUNT_COLUMNS[1:]:
        j = table.find(config.segment_column if header == "Segment" else header)
        column = raw[j].to_numpy()[keep] if j is not None and j in raw.columns else np.full(keep.sum(), "", dtype=object)
        labels[header] = np.array(["" if v is None else (v.strip() if isinstance(v, str) else show_value(v)) for v in column],
                                  dtype=object)
    descriptive = pd.DataFrame(labels, index=index)
    issues += layout_issues(table, "scored like any other row (delete the row to leave the account out)")
    issues += _unknown_label_issues(table, config, frame, np.flatnonzero(keep))
    return frame, descriptive, issues, []


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
    from chs_excel.core.measures import unknown_labels
    issues = []
    for m in config.metrics:
        if m.measure != "categorical":
            continue
        j = table.find(m.source)
        unknown = unknown_labels(frame[m.source].to_numpy(), m.labels)
        known = ", ".join(m.labels)
        for pos in np.flatnonzero(unknown):
            i = rows[pos]
            issues.append(_issue(table, i, j, table.rows[i][j], f'label not in the {m.name} labels ({known})',
                                 "left the metric out for this account"))
    return issues


def history_trends(table: Table | None, config: HealthConfig, accounts: pd.Index, as_of: dt.date
                   ) -> tuple[dict[str, tuple[pd.Series, pd.Series]], list[DataIssue], list[Problem]]:
    """For each trend source: the previous and the latest period's value per account, at or before ``as_of``."""
    _, trend_sources = _columns_used(config)
    if not trend_sources:
        return {}, [], []
    trend_metrics = [m for m in config.metrics if m.measure == "trend"]
    if table is None:
        return {}, [], [Problem(m.source_location, f'trend metric "{m.name}" reads "{m.source}" from the '
                                                    f'"{c.HISTORY}" sheet, and the workbook has none') for m in trend_metrics]
    positions = {h: table.find(h) for h in c.HISTORY_COLUMNS}
    missing = [h for h, j in positions.items() if j is None]
    if missing:
        found = ", ".join(h for h in table.header if h) or "nothing"
        return {}, [], [Problem(f"{table.sheet}!{table.header_row}:{table.header_row}",
                                f'column "{h}" is missing from the header row (found: {found})') for h in missing]
    issues: list[DataIssue] = []
    n = len(table.rows)
    raw = _raw_frame(table)
    get = {h: (raw[j] if j in raw.columns else pd.Series([""] * n, dtype=object)) for h, j in positions.items()}
    ids = pd.Series(account_ids(get["Account ID"]), dtype=object)
    columns = pd.Series([v.strip().casefold() if type(v) is str else ("" if v is None else str(v).strip().casefold())
                         for v in get["Column"].to_numpy()], dtype=object)
    wanted = {s.strip().casefold(): s for s in trend_sources}
    used = columns.isin(wanted.keys()).to_numpy()
    period_kinds = cell_kinds(get["Period"])
    periods = pd.Series(pd.NaT, index=get["Period"].index, dtype="datetime64[ns]")
    dated = period_kinds == DATE
    if dated.any():
        periods[dated] = _wall_clock(pd.to_datetime(get["Period"][dated].map(lambda v: None if isinstance(v, dt.time) else v),
                                                    errors="coerce", utc=True))
    serial = period_kinds == NUMBER  # Office.js sends date cells as serial numbers
    if serial.any():
        days = get["Period"][serial].to_numpy(dtype=float)
        periods[serial] = pd.to_datetime(np.where((days >= 1) & (days < 2958466), days, np.nan), unit="D", origin="1899-12-30")
    text_period = period_kinds == TEXT
    if text_period.any():
        periods[text_period] = _wall_clock(pd.to_datetime(get["Period"][text_period].map(str.strip), errors="coerce",
                                                          format="mixed", utc=True))
    values, bad = numbers(get["Value"])
    known = ids.isin(accounts).to_numpy()
    p_j, v_j, a_j = positions["Period"], positions["Value"], positions["Account ID"]
    for i in np.flatnonzero(used & periods.isna().to_numpy()):
        issues.append(_issue(table, i, p_j, table.rows[i][p_j], "period is not a date", "skipped the history row"))
    for i in np.flatnonzero(used & (bad > 0)):
        issues.append(_issue(table, i, v_j, table.rows[i][v_j], reason(int(bad[i]), table.rows[i][v_j]), "skipped the history row"))
    for i in np.flatnonzero(used & ~known):
        issues.append(_issue(table, i, a_j, table.rows[i][a_j], f'account "{ids[i]}" is not on the Accounts sheet', "skipped the history row"))
    usable = used & known & periods.notna().to_numpy() & ~np.isnan(values.to_numpy())
    ok = usable & (periods <= pd.Timestamp(as_of)).to_numpy()
    if usable.any() and not ok.any():
        first = int(np.flatnonzero(usable)[np.argmin(periods[usable].to_numpy())])
        issues.append(_issue(table, first, p_j, table.rows[first][p_j],
                             f"every period in {c.HISTORY} is after the as-of date {as_of.isoformat()}",
                             "left the trend metrics out: they have no data yet"))
    frame = pd.DataFrame({"account": ids[ok].to_numpy(), "column": columns[ok].to_numpy(),
                          "period": periods[ok].to_numpy(), "value": values[ok].to_numpy(), "row": np.flatnonzero(ok)})
    frame = frame.drop_duplicates(["account", "column", "period"], keep="last").sort_values(["column", "account", "period"])
    frame["rank"] = frame.groupby(["column", "account"], sort=False).cumcount(ascending=False)
    counts = frame.groupby(["column", "account"], sort=False)["rank"].transform("size")
    for row in frame.loc[counts.to_numpy() == 1, "row"].to_numpy():
        issues.append(_issue(table, int(row), p_j, table.rows[row][p_j],
                             f'only one period of "{table.rows[row][positions["Column"]]}" on or before '
                             f"{as_of.isoformat()}: a trend needs two", "left the trend metric out for this account"))
    issues += layout_issues(table, "used like any other row")
    trends = {}
    for key, name in wanted.items():
        part = frame[frame["column"] == key]
        latest = part[part["rank"] == 0].set_index("account")["value"].reindex(accounts)
        previous = part[part["rank"] == 1].set_index("account")["value"].reindex(accounts)
        trends[name] = (previous, latest)
    present = set(columns[used])
    # An empty history sheet (a new workbook: nothing recorded yet) leaves the trend metrics without data; rows that
    # never name a trend source are a typo in Source, a config error.
    problems = [Problem(m.source_location, f'trend source "{m.source}" has no rows in the "Column" column of {c.HISTORY}')
                for m in trend_metrics if n and m.source.strip().casefold() not in present]
    return trends, issues, problems


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
    trends, history_issues, problems = history_trends(tables.get(c.HISTORY), config, frame.index, as_of)
    return ScoringInput(frame, as_of, trends), descriptive, issues + history_issues, problems
