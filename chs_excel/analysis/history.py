"""Score history: dated snapshots of every account's scores, one refresh at a time.

A refresh appends a snapshot for its as-of date; refreshing again on the same
date replaces that date's rows, so the history never holds duplicates.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.cellvalues import serial_to_date
from chs_excel.config.sheets import SheetTable  # what a Table offers, without the workbook edge

DATE, ACCOUNT, OVERALL, BAND = "As-of date", "Account ID", "Overall", "Band"
FIXED = [DATE, ACCOUNT, OVERALL, BAND]
BAND_RANK = {band: rank for rank, band in enumerate(c.BANDS)}  # Red < Amber < Green


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


def read_history(table: SheetTable | None) -> pd.DataFrame:
    """The Score History sheet as a frame (rows without a readable date or account are dropped)."""
    if table is None or table.find(DATE) is None or table.find(ACCOUNT) is None:
        return pd.DataFrame(columns=FIXED)
    columns = [h for h in table.header if h]
    frame = pd.DataFrame([row[:len(columns)] for row in table.rows], columns=columns, dtype=object)
    frame[DATE] = frame[DATE].map(_day)
    frame[ACCOUNT] = frame[ACCOUNT].map(lambda v: "" if v is None else str(v).strip())
    frame = frame[frame[DATE].notna() & (frame[ACCOUNT] != "")]
    for col in columns:
        if col not in (DATE, ACCOUNT, BAND):
            frame[col] = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce")
    return frame.reset_index(drop=True)


def snapshot(as_of: dt.date, overall: pd.Series, band: pd.Series, categories: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({DATE: as_of, ACCOUNT: overall.index.to_numpy(), OVERALL: overall.to_numpy(),
                          BAND: band.to_numpy()})
    for name in categories.columns:
        frame[name] = categories[name].to_numpy()
    return frame


def merge(history: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """History with ``new``'s date replaced by ``new``, oldest first."""
    day = new[DATE].iloc[0] if len(new) else None
    kept = history[history[DATE] != day] if len(history) else history
    merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new.copy()
    columns = FIXED + [c for c in merged.columns if c not in FIXED]
    return merged[columns].sort_values([DATE, ACCOUNT], kind="stable").reset_index(drop=True)


def previous(history: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Each account's latest snapshot before ``as_of`` (indexed by account)."""
    if not len(history):
        return pd.DataFrame(columns=FIXED).set_index(ACCOUNT)
    earlier = history[history[DATE] < as_of]
    return earlier.sort_values(DATE, kind="stable").groupby(ACCOUNT).tail(1).set_index(ACCOUNT)


def band_drops(current: pd.Series, before: pd.Series) -> pd.Series:
    """'Amber → Red' where an account's band fell since the previous snapshot, else ''."""
    now = current.map(BAND_RANK)
    then = before.reindex(current.index).map(BAND_RANK)
    dropped = (now < then).fillna(False).to_numpy(dtype=bool)
    text = before.reindex(current.index).astype(object) + " → " + current.astype(object)
    return pd.Series(np.where(dropped, text, ""), index=current.index, dtype=object)
