"""Score history: one snapshot sheet per as-of date, an index of them, and which snapshots to keep.

Layout (see docs/workbook.md): every refresh writes its scores to a hidden
sheet named ``Score History 2026-11-27`` (one row per account: Overall, Band,
category and metric scores), and the visible ``Score History`` sheet lists the
snapshots kept, one row each. One row per account keeps every snapshot sheet
within Excel's 1,048,576 rows (the accounts come from one sheet), and a refresh
reads only the snapshot it compares with; old snapshot sheets are carried over
unread. Refreshing again on the same date replaces that date's snapshot.

So that a workbook stays openable, the snapshots kept hold at most
:data:`ROW_BUDGET` rows together; past that, :func:`choose_kept` drops the
least useful first (snapshots that are not the last of their month, oldest
first, then the oldest month-ends), never the new snapshot or the one before it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.cellvalues import serial_to_date
from chs_excel.config.sheets import SheetTable  # what a Table offers, without the workbook edge

DATE, ACCOUNT, OVERALL, BAND = "As-of date", "Account ID", "Overall", "Band"
FIXED = [DATE, ACCOUNT, OVERALL, BAND]
BAND_RANK = {band: rank for rank, band in enumerate(c.BANDS)}  # Red < Amber < Green

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
ROW_BUDGET = 4 * (EXCEL_MAX_ROWS - 1)  # snapshot rows kept in all: four full sheets' worth
SHEET_PREFIX = c.SCORE_HISTORY + " "

# The index sheet's columns (one row per snapshot kept)
SHEET, ACCOUNTS, AVERAGE, NO_SCORE = "Snapshot sheet", "Accounts", "Average", "No score"
INDEX_COLUMNS = [DATE, SHEET, ACCOUNTS, AVERAGE, *c.BANDS, NO_SCORE]


def sheet_name(day: dt.date) -> str:
    """The hidden sheet holding ``day``'s snapshot: ``Score History 2026-11-27`` (24 characters, under Excel's 31)."""
    return f"{SHEET_PREFIX}{day.isoformat()}"


def sheet_day(name: str) -> dt.date | None:
    """The as-of date of a snapshot sheet's name, or None for any other sheet."""
    m = c.SNAPSHOT_SHEET.match(name)
    if not m:
        return None
    try:
        return dt.date.fromisoformat(m.group(1))
    except ValueError:
        return None


def snapshot_sheets(names: list[str]) -> dict[dt.date, str]:
    """The workbook's snapshot sheets by as-of date (sheet names as the workbook spells them)."""
    found = {}
    for name in names:
        day = sheet_day(name)
        if day is not None:
            found[day] = name
    return dict(sorted(found.items()))


def metric_columns(categories: list[str], metrics: list[str]) -> dict[str, str]:
    """Each metric's column in a snapshot: its name, unless a category or fixed column already has it."""
    taken = {name.casefold() for name in [ACCOUNT, OVERALL, BAND, *categories]}
    return {name: name if name.casefold() not in taken else f"{name} (metric)" for name in metrics}


def snapshot(overall: pd.Series, band: pd.Series, categories: pd.DataFrame,
             metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """One snapshot: a row per account with Overall, Band, the category scores and (rounded to 0.1) the metric
    scores, which the backtest reads back. Columns stay within Excel's 16,384."""
    frame = pd.DataFrame({ACCOUNT: overall.index.to_numpy(), OVERALL: overall.to_numpy(), BAND: band.to_numpy()})
    for name in categories.columns:
        frame[name] = categories[name].to_numpy()
    room = EXCEL_MAX_COLUMNS - len(frame.columns)
    if metrics is not None and len(metrics.columns) <= room:
        names = metric_columns([str(col) for col in categories.columns], [str(col) for col in metrics.columns])
        for name in metrics.columns:
            frame[names[str(name)]] = np.round(metrics[name].to_numpy(dtype=float), 1)
    return frame


def _day(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    serial = serial_to_date(value)
    if serial is not None:
        return serial
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _numeric(frame: pd.DataFrame, keep_text: tuple[str, ...]) -> pd.DataFrame:
    for col in frame.columns:
        if col not in keep_text:
            frame[col] = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce")
    return frame


def _frame(table: SheetTable, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """A table's named columns: Account ID and Band as trimmed text, ``dates`` as dates, the rest as numbers."""
    columns = [h for h in table.header if h]
    frame = pd.DataFrame([row[:len(columns)] for row in table.rows], columns=columns, dtype=object)
    for col in dates:
        frame[col] = frame[col].map(_day)
    frame[ACCOUNT] = frame[ACCOUNT].map(lambda v: "" if v is None else str(v).strip())
    if BAND in frame:
        frame[BAND] = frame[BAND].map(lambda v: v.strip() if isinstance(v, str) else "")
    return _numeric(frame, (ACCOUNT, BAND, *dates))


def read_snapshot(table: SheetTable | None) -> pd.DataFrame:
    """A snapshot sheet as a frame indexed by account (rows without an account are dropped; a later row for
    the same account wins, as a second refresh on the same date would have written it)."""
    if table is None or table.find(ACCOUNT) is None:
        return pd.DataFrame(columns=[OVERALL, BAND]).rename_axis(ACCOUNT)
    frame = _frame(table)
    return frame[frame[ACCOUNT] != ""].drop_duplicates(ACCOUNT, keep="last").set_index(ACCOUNT)


def is_legacy(table: SheetTable | None) -> bool:
    """Score History in the layout of chs-excel before 0.9: every snapshot's rows on the one sheet."""
    return table is not None and table.find(ACCOUNT) is not None and table.find(DATE) is not None


def read_legacy(table: SheetTable) -> dict[dt.date, pd.DataFrame]:
    """The snapshots of a Score History sheet in the old layout, by date, each as :func:`read_snapshot` gives it."""
    frame = _frame(table, dates=(DATE,))
    if BAND not in frame:
        frame[BAND] = ""
    frame = frame[frame[DATE].notna() & (frame[ACCOUNT] != "")]
    return {day: rows.drop(columns=[DATE]).drop_duplicates(ACCOUNT, keep="last").set_index(ACCOUNT)
            for day, rows in frame.groupby(DATE, sort=True)}


def read_index(table: SheetTable | None) -> dict[dt.date, dict]:
    """The rows of the Score History index sheet by as-of date (what earlier refreshes said of their snapshots)."""
    if table is None or is_legacy(table):
        return {}
    columns = {name: table.find(name) for name in INDEX_COLUMNS}
    if columns[DATE] is None:
        return {}
    rows = {}
    for row in table.rows:  # the notes under the table have no date: skipped
        day = _day(row[columns[DATE]])
        if day is None:
            continue
        rows[day] = {name: (row[j] if j is not None and j < len(row) else None) for name, j in columns.items()}
    return rows


def summary(day: dt.date, frame: pd.DataFrame) -> dict:
    """A snapshot's row in the index sheet."""
    overall = pd.to_numeric(frame[OVERALL], errors="coerce") if OVERALL in frame else pd.Series(dtype=float)
    bands = frame[BAND] if BAND in frame else pd.Series("", index=frame.index)
    row = {DATE: day, SHEET: sheet_name(day), ACCOUNTS: len(frame),
           AVERAGE: round(float(overall.mean()), 1) if overall.notna().any() else None}
    row.update({band: int((bands == band).sum()) for band in c.BANDS})
    row[NO_SCORE] = int(overall.isna().sum())
    return row


def _month_ends(days: list[dt.date]) -> set[dt.date]:
    last: dict[tuple[int, int], dt.date] = {}
    for day in days:
        last[(day.year, day.month)] = max(day, last.get((day.year, day.month), day))
    return set(last.values())


@dataclass
class Retention:
    """Which snapshots a refresh keeps: ``kept`` oldest first, ``dropped`` the ones it leaves out this time."""

    kept: list[dt.date]
    dropped: list[dt.date]
    rows: int
    budget: int

    def note(self) -> str:
        """What the Score History sheet and the command line say when snapshots were dropped ('' otherwise)."""
        if not self.dropped:
            return ""
        days = ", ".join(d.isoformat() for d in self.dropped)
        return (f"Score History dropped the snapshot(s) of {days} to stay within {self.budget:,} rows (the "
                f"{len(self.kept)} kept hold {self.rows:,}); it keeps the latest snapshots and month-ends first.")


def choose_kept(sizes: dict[dt.date, int], as_of: dt.date, budget: int = ROW_BUDGET) -> Retention:
    """The snapshots to keep so that they hold at most ``budget`` rows together.

    Parameters
    ----------
    sizes : dict of datetime.date to int
        Every snapshot there would be (the new one included) and its number of rows.
    as_of : datetime.date
        The new snapshot's date: it and the latest one before it (what Change and Band drop compare
        with) are always kept, whatever the budget.
    budget : int
        At most this many rows in all.

    Returns
    -------
    Retention
        Dropped first: snapshots that are not the last of their calendar month, oldest first; then
        month-ends, oldest first. What is left is the newest history plus month-ends, which is what the
        backtest needs (a snapshot at least 90 days before each outcome).
    """
    days = sorted(sizes)
    earlier = [d for d in days if d < as_of]
    protected = {as_of} | ({earlier[-1]} if earlier else set())
    ends = _month_ends(days)
    order = [d for d in days if d not in ends] + [d for d in days if d in ends]
    kept, total, dropped = set(days), sum(sizes.values()), []
    for day in order:
        if total <= budget:
            break
        if day in protected:
            continue
        kept.discard(day)
        total -= sizes[day]
        dropped.append(day)
    return Retention(sorted(kept), sorted(dropped), total, budget)


def band_drops(current: pd.Series, before: pd.Series) -> pd.Series:
    """'Amber → Red' where an account's band fell since the previous snapshot, else ''."""
    now = current.map(BAND_RANK)
    then = before.reindex(current.index).map(BAND_RANK)
    dropped = (now < then).fillna(False).to_numpy(dtype=bool)
    text = before.reindex(current.index).astype(object) + " → " + current.astype(object)
    return pd.Series(np.where(dropped, text, ""), index=current.index, dtype=object)


def long_frame(snapshots: dict[dt.date, pd.DataFrame]) -> pd.DataFrame:
    """Snapshots (by date, indexed by account) as one frame with a row per account and date, oldest first."""
    if not snapshots:
        return pd.DataFrame(columns=FIXED)
    parts = [frame.reset_index().assign(**{DATE: day}) for day, frame in sorted(snapshots.items())]
    merged = pd.concat(parts, ignore_index=True)
    return merged[FIXED + [col for col in merged.columns if col not in FIXED]]


class Past:
    """What Score History holds before a refresh, read only as far as it is needed.

    Parameters
    ----------
    sheet_names : list of str
        The workbook's sheets (snapshot sheets are found by name).
    index_table : SheetTable or None
        The Score History sheet: the index of snapshots, or every snapshot's rows in the layout before 0.9.
    read_table : callable, optional
        Reads one sheet by name (a snapshot, on demand); None when no workbook is at hand.
    """

    def __init__(self, sheet_names: list[str], index_table: SheetTable | None = None,
                 read_table=None):
        self.sheets = snapshot_sheets(sheet_names)
        self.legacy = read_legacy(index_table) if is_legacy(index_table) else {}
        self.index = read_index(index_table)
        self._read_table = read_table
        self._read: dict[dt.date, pd.DataFrame] = {}

    def days(self) -> list[dt.date]:
        return sorted(set(self.sheets) | set(self.legacy))

    def get(self, day: dt.date) -> pd.DataFrame:
        """One snapshot indexed by account (its own sheet wins over the old layout's rows)."""
        if day not in self._read:
            if day in self.sheets and self._read_table is not None:
                self._read[day] = read_snapshot(self._read_table(self.sheets[day]))
            else:
                self._read[day] = self.legacy.get(day, read_snapshot(None))
        return self._read[day]

    def previous(self, as_of: dt.date) -> tuple[dt.date | None, pd.DataFrame]:
        """The latest snapshot before ``as_of`` (what Change and Band drop compare with), and its date."""
        earlier = [d for d in self.days() if d < as_of]
        return (earlier[-1], self.get(earlier[-1])) if earlier else (None, read_snapshot(None))

    def size(self, day: dt.date, default: int) -> int:
        """Rows of a snapshot, from the index sheet (so it need not be read), else ``default``."""
        if day in self.legacy:
            return len(self.legacy[day])
        count = self.index.get(day, {}).get(ACCOUNTS)
        return int(count) if isinstance(count, (int, float)) and not isinstance(count, bool) and count >= 0 \
            else default

    def all(self) -> pd.DataFrame:
        """Every snapshot as one long frame (:func:`long_frame`): what the backtest reads."""
        return long_frame({day: self.get(day) for day in self.days()})
