"""The Score History sheets: a visible index of the snapshots kept, and one hidden sheet per snapshot.

What is kept and why is decided by :mod:`chs_excel.analysis.history`; this module only lays the sheets out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.book.form import PageSetup
from chs_excel.book.table import OutputSheet
from chs_excel.config.model import HealthConfig


@dataclass
class HistorySheets:
    """The sheets a refresh writes for Score History, and the snapshot sheets it deletes."""

    sheets: list[OutputSheet]
    remove: list[str] = field(default_factory=list)
    note: str = ""


def snapshot_sheet(day: dt.date, frame: pd.DataFrame) -> OutputSheet:
    """One snapshot's hidden sheet: a row per account."""
    return OutputSheet(history.sheet_name(day), frame.reset_index(drop=True), widths={history.ACCOUNT: 12},
                       freeze="B2", hidden=True)


def index_sheet(config: HealthConfig, rows: list[dict], note: str) -> OutputSheet:
    """The visible Score History sheet: one row per snapshot kept, newest first."""
    frame = pd.DataFrame(rows, columns=history.INDEX_COLUMNS)
    frame = frame.sort_values(history.DATE, ascending=False, kind="stable").reset_index(drop=True)
    # short lines: a note runs over the empty cells to its right, and the page ends after the table's last column
    notes = [["Each snapshot's scores, account by account, are on its own hidden sheet:"],
             ["right-click a sheet tab > Unhide."],
             ["A second refresh on the same date replaces that date's snapshot."]]
    if note:
        notes.append([note])
    # the header stays on row 1 (notes below the table) so that the next refresh reads this sheet as a table
    return OutputSheet(c.SCORE_HISTORY, frame, bands={history.AVERAGE: (config.bands.red_below, config.bands.amber_below)},
                       number_formats={history.DATE: "yyyy-mm-dd"},
                       widths={history.DATE: 12, history.SHEET: 26, history.ACCOUNTS: 10, history.AVERAGE: 10},
                       freeze="B2", postscript=notes, page=PageSetup(landscape=True, fit_width=1, fit_height=0,
                                                                     repeat_rows="1:1"))


def history_sheets(config: HealthConfig, past: history.Past, as_of: dt.date, new: pd.DataFrame,
                   budget: int | None = None) -> HistorySheets:
    """The index, the new snapshot's sheet, the old layout's snapshots moved to their own sheets, and the
    snapshot sheets no longer kept (see :func:`chs_excel.analysis.history.choose_kept`)."""
    sizes = {day: past.size(day, len(new)) for day in past.days() if day != as_of}
    sizes[as_of] = len(new)
    kept = history.choose_kept(sizes, as_of, history.ROW_BUDGET if budget is None else budget)
    sheets = [snapshot_sheet(as_of, new)]
    rows = [history.summary(as_of, new)]
    for day in kept.kept:
        if day == as_of:
            continue
        if day in past.legacy and day not in past.sheets:  # moved out of the old one-sheet layout, once
            sheets.append(snapshot_sheet(day, past.legacy[day].reset_index()))
            rows.append(history.summary(day, past.legacy[day]))
        else:
            known = past.index.get(day, {})
            rows.append({**{name: known.get(name) for name in history.INDEX_COLUMNS},
                         history.DATE: day, history.SHEET: history.sheet_name(day)})
    remove = [past.sheets[day] for day in kept.dropped if day in past.sheets]
    note = kept.note()
    return HistorySheets([index_sheet(config, rows, note)] + sheets, remove, note)
