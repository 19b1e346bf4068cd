"""The Score History sheet: dated snapshots of every account's scores (kept by :mod:`chs_excel.analysis.history`)."""
from __future__ import annotations

import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.book.table import OutputSheet


def history_sheet(frame: pd.DataFrame) -> OutputSheet:
    """The snapshots kept, one row per account and as-of date."""
    return OutputSheet(c.SCORE_HISTORY, frame.reset_index(drop=True), number_formats={history.DATE: "yyyy-mm-dd"},
                       widths={history.DATE: 12, history.ACCOUNT: 12}, freeze="C2")
