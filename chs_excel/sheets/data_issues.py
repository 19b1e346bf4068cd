"""The Data Issues sheet: every cell chs-excel could not use, and what it did instead."""
from __future__ import annotations

import re

import pandas as pd

from chs_excel import contract as c
from chs_excel.book.form import PageSetup
from chs_excel.book.table import OutputSheet
from chs_excel.problems import DataIssue

ISSUE_COLUMNS = ["Sheet", "Cell", "Row", "Column", "Value", "Problem", "What chs-excel did"]
MAX_ISSUES_PER_KIND = 1_000
_DETAILS = re.compile(r'"[^"]*"|\d+')


def _kind(issue: DataIssue) -> tuple[str, str, str, str]:
    """Issues of one kind: same sheet, column, action and problem once quoted names and numbers are set aside."""
    return issue.sheet, issue.column, _DETAILS.sub("#", issue.problem), issue.action


def issues_sheet(issues: list[DataIssue]) -> OutputSheet:
    """One row per issue, at most MAX_ISSUES_PER_KIND of each kind, then one row saying how many more and where."""
    rows = []
    extra: dict[tuple, list] = {}
    shown: dict[tuple, int] = {}
    for i in issues:
        kind = _kind(i)
        if shown.get(kind, 0) < MAX_ISSUES_PER_KIND:
            shown[kind] = shown.get(kind, 0) + 1
            rows.append([i.sheet, i.cell.split("!")[-1], i.row, i.column, "" if i.value is None else i.value, i.problem,
                         i.action])
            continue
        more = extra.setdefault(kind, [0, None, None, i.problem])
        more[0] += 1
        if isinstance(i.row, int):
            more[1] = i.row if more[1] is None else min(more[1], i.row)
            more[2] = i.row if more[2] is None else max(more[2], i.row)
    for (sheet, column, _, action), (count, first, last, problem) in extra.items():
        where = f" (rows {first} to {last})" if first is not None and first != last else (f" (row {first})" if first else "")
        rows.append([sheet, "", None, column, "", f'... and {count:,} more rows like "{problem}"{where}',
                     f"not listed one by one; {action}"])
    if not rows:
        rows = [["", "", None, "", "", "No data issues: every cell was used.", ""]]
    frame = pd.DataFrame(rows, columns=ISSUE_COLUMNS)
    frame["Value"] = frame["Value"].map(lambda v: v if isinstance(v, str) else ("" if v is None else str(v)))
    widths = {"Sheet": 15, "Cell": 8, "Row": 7, "Column": 22, "Value": 22, "Problem": 55, "What chs-excel did": 45}
    return OutputSheet(c.DATA_ISSUES, frame, widths=widths, freeze="A2",
                       wrap=("Value", "Problem", "What chs-excel did"),
                       page=PageSetup(landscape=True, fit_width=1, fit_height=0, repeat_rows="1:1"))
