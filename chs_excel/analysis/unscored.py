"""Cells that leave a metric without a score although they hold nothing unusable: said on Data Issues.

A blank cell is missing data and says so in "Missing data". But three cases used to leave a metric unscored
with every cell readable, so nobody learnt why:

* a **trend** whose previous period's value is 0: a change from nothing has no rate;
* a **goal** whose custom period starts after the as-of date: nothing is due yet, so no attainment;
* a **goal** with a per-account target column whose cell is blank, 0 or negative while the value is there.

Each becomes a :class:`DataIssue` naming the cell. Vectorised: the accounts concerned are found with numpy,
and only they (usually few) are spelled out one by one, as the other data issues are.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.cellvalues import serial_to_date
from chs_excel.config.model import HealthConfig
from chs_excel.core.engine import ScoringInput, goal_period, source_values
from chs_excel.problems import DataIssue

LEFT_OUT = "left the metric out for this account"


def unscored_issues(config: HealthConfig, data: ScoringInput, tables: dict, rows) -> list[DataIssue]:
    """The data issues of the three silent cases (see the module), in metric order.

    Parameters
    ----------
    config : HealthConfig
    data : ScoringInput
        What the engine scores (accounts in the order of the Accounts sheet's scored rows).
    tables : dict of str to chs_excel.book.table.Table
        The input sheets, Accounts and Metric History included.
    rows : chs_excel.inputs.AccountRows or None
        Which Accounts rows are scored (None: no Account ID column, nothing scored).

    Returns
    -------
    list of DataIssue
    """
    issues: list[DataIssue] = []
    accounts = tables.get(c.ACCOUNTS)
    for m in config.metrics:
        if m.measure == "goal":
            issues += _goal_issues(m, data, tables.get(c.METRICS), accounts, rows)
        elif m.measure == "trend" and m.source in data.trends:
            issues += _trend_from_zero(m, data, tables.get(c.HISTORY))
    return issues


def _goal_issues(metric, data: ScoringInput, metrics, accounts, rows) -> list[DataIssue]:
    start, _ = goal_period(metric, data.as_of)
    if data.as_of < start:  # only a custom period can start after the as-of date
        where = _metric_cell(metrics, metric, "Goal start")
        return [DataIssue(c.METRICS, where, "Goal start", start.isoformat(),
                          f'the goal period of "{metric.name}" starts on {start.isoformat()}, after the as-of date '
                          f"{data.as_of.isoformat()}: nothing is due yet, so there is no attainment to score",
                          "left the metric out for every account until the period starts")]
    if not metric.source2 or accounts is None or rows is None or metric.source2 not in data.accounts:
        return []
    value = pd.to_numeric(source_values(metric, data), errors="coerce").to_numpy(dtype=float)
    target = pd.to_numeric(data.accounts[metric.source2], errors="coerce").to_numpy(dtype=float)
    blank = ~np.isnan(value) & np.isnan(target)
    not_positive = ~np.isnan(value) & (target <= 0)
    sheet_rows = np.flatnonzero(rows.scored)  # the table row of each scored account, in the frame's order
    j = accounts.find(metric.source2)
    out = []
    for k in np.flatnonzero(blank | not_positive):
        i = int(sheet_rows[k])
        cell = accounts.rows[i][j] if j < len(accounts.rows[i]) else None
        # an unreadable cell (text, an error) is reported where it is read; only a readable one is said here
        if blank[k] and cell not in (None, "") and not (isinstance(cell, str) and not cell.strip()):
            continue
        problem = (f'no target for "{metric.name}": the per-account target column "{metric.source2}" is blank'
                   if blank[k] else f'the target for "{metric.name}" is {target[k]:g}: a goal needs a target above 0')
        out.append(DataIssue(accounts.sheet, accounts.cell(i, j), accounts.header[j], "" if cell is None else cell,
                             problem, LEFT_OUT))
    return out


def _trend_from_zero(metric, data: ScoringInput, history) -> list[DataIssue]:
    previous, latest = data.trends[metric.source]
    flagged = (previous.to_numpy(dtype=float) == 0) & ~np.isnan(latest.to_numpy(dtype=float))
    if not flagged.any() or history is None:
        return []
    accounts = [str(a) for a in previous.index[flagged]]
    places = {h: history.find(h) for h in c.HISTORY_COLUMNS}
    if any(j is None for j in places.values()):
        return []
    # Read as the inputs read them (IDs trimmed, whole numbers without ".0"; dates or serial numbers), here only
    # for the rare workbook with a trend from 0
    cells = {h: [row[j] if j < len(row) else None for row in history.rows] for h, j in places.items()}
    ids = np.array([_id_text(v) for v in cells["Account ID"]], dtype=object)
    column = np.array([str(v).strip().casefold() for v in cells["Column"]], dtype=object)
    periods = pd.to_datetime(pd.Series([_day(v) for v in cells["Period"]], dtype=object), errors="coerce").to_numpy()
    values = pd.to_numeric(pd.Series(cells["Value"], dtype=object), errors="coerce").to_numpy(dtype=float)
    candidate = (np.isin(ids, accounts) & (column == metric.source.strip().casefold()) & ~np.isnat(periods)
                 & (periods <= np.datetime64(data.as_of)) & ~np.isnan(values))
    at = np.flatnonzero(candidate)
    frame = pd.DataFrame({"account": ids[at], "period": periods[at], "row": at})
    out = []
    for account, group in frame.groupby("account", sort=False):
        days = np.sort(group["period"].unique())
        if len(days) < 2:
            continue
        row = int(group.loc[group["period"] == days[-2], "row"].max())  # the row the previous value was read from
        out.append(DataIssue(history.sheet, history.cell(row, places["Value"]), history.header[places["Value"]],
                             history.rows[row][places["Value"]],
                             f'"{metric.source}" of account "{account}" was 0 in the previous period '
                             f"({pd.Timestamp(days[-2]).date().isoformat()}): a change from 0 has no rate, so "
                             f'"{metric.name}" cannot be scored', "left the trend metric out for this account"))
    return out


def _metric_cell(metrics, metric, header: str) -> str:
    """The cell of the Metrics sheet holding ``header`` for ``metric`` (its row's first cell when not found)."""
    row = "".join(ch for ch in metric.location.split("!")[-1] if ch.isdigit())
    j = metrics.find(header) if metrics is not None else None
    if j is None or not row:
        return metric.location
    letters = "".join(ch for ch in metrics.header_cell(j).split("!")[-1] if ch.isalpha())
    return f"{c.METRICS}!{letters}{row}"


def _id_text(value) -> str:
    """An Account ID cell as text, as the Accounts sheet's IDs are read: trimmed, 1001.0 -> "1001"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _day(value):
    """A Period cell as a date: a date stays one, a number is an Excel serial number (Office.js sends those)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return serial_to_date(value)
    return value
