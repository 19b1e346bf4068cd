"""Unusable cells in Accounts and Metric History become data issues naming sheet and cell; the rest is scored."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers import metric_row, simple_tables, table

from chs_excel import contract as c
from chs_excel.cellvalues import CellError
from chs_excel.config import config_from_tables
from chs_excel.inputs import scoring_input

AS_OF = dt.date(2026, 11, 15)
NUMBER_METRICS = [metric_row("n", "A", 1, "range", "Num", low=0, high=10),
                  metric_row("lab", "B", 1, "categorical", "Label", labels="Green=100; Red=20")]
HEADER = ["Account ID", "Account name", "Segment", "Stage", "CSM", "Num", "Label"]


def read(rows, metrics=NUMBER_METRICS, history=None):
    tables = simple_tables(metrics=metrics)
    config = config_from_tables(tables)
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, HEADER, rows)
    if history is not None:
        tables[c.HISTORY] = table(c.HISTORY, list(c.HISTORY_COLUMNS), history)
    return scoring_input(tables, config, AS_OF)


def test_bad_number_cells_are_reported_and_left_out():
    rows = [["A1", "", "", "", "", 5, "Green"],
            ["A2", "", "", "", "", "abc", "Green"],
            ["A3", "", "", "", "", CellError("#N/A"), "Green"],
            ["A4", "", "", "", "", True, "Green"],
            ["A5", "", "", "", "", dt.date(2026, 1, 1), "Green"],
            ["A6", "", "", "", "", " 7 ", "Green"],
            ["A7", "", "", "", "", "", "Green"]]
    data, labels, issues, problems = read(rows)
    assert problems == []
    assert data.accounts["Num"].tolist()[:1] + data.accounts["Num"].tolist()[5:6] == [5, 7]
    assert np.isnan(data.accounts["Num"].tolist()[1:5] + data.accounts["Num"].tolist()[6:]).all()
    assert [(i.cell, i.value, i.problem) for i in issues] == [
        ("Accounts!F3", "abc", "text in a number column"),
        ("Accounts!F4", "#N/A", "an Excel error (#N/A) instead of a number"),
        ("Accounts!F5", True, "TRUE/FALSE in a number column"),
        ("Accounts!F6", dt.date(2026, 1, 1), "a date or time in a number column"),
    ]
    assert {i.action for i in issues} == {"left the metric out for this account"}


def test_blank_and_duplicate_ids():
    rows = [["A1", "First", "", "", "", 1, "Green"],
            ["  ", "", "", "", "", 2, "Green"],
            [" A1 ", "Second", "", "", "", 3, "Green"],
            [1001.0, "Numeric id", "", "", "", 4, "Green"]]
    data, labels, issues, _ = read(rows)
    assert data.accounts.index.tolist() == ["A1", "1001"]
    assert labels.loc["A1", "Account name"] == "First"
    assert [(i.cell, i.problem) for i in issues] == [
        ("Accounts!A3", "blank Account ID"),
        ("Accounts!A4", 'Account ID "A1" already appears in row 2'),
    ]


def test_unknown_labels_and_non_text_labels():
    rows = [["A1", "", "", "", "", 1, " green "], ["A2", "", "", "", "", 1, "Purple"], ["A3", "", "", "", "", 1, True]]
    data, _, issues, _ = read(rows)
    assert [(i.cell, i.problem) for i in issues] == [
        ("Accounts!G4", "not a label"),
        ("Accounts!G3", "label not in the lab labels (Green, Red)"),
    ]


def test_missing_and_duplicated_source_columns_stop_the_refresh():
    _, _, _, problems = read([["A1", "", "", "", "", 1]], metrics=[metric_row("n", "A", 1, "range", "Nmu", low=0, high=1),
                                                                   metric_row("b", "B", 1, "range", "Num", low=0, high=1)])
    assert [str(p) for p in problems] == [
        'Metrics!E2: source column "Nmu" is not a column of the Accounts sheet '
        "(its header row 1 has: Account ID, Account name, Segment, Stage, CSM, Num, Label)"]
    tables = simple_tables(metrics=NUMBER_METRICS)
    config = config_from_tables(tables)
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, HEADER + ["num"], [["A1", "", "", "", "", 1, "Green", 2]])
    problems = scoring_input(tables, config, AS_OF)[3]
    assert [str(p) for p in problems] == [
        'Metrics!E2: source column "Num" appears more than once on the Accounts sheet (Accounts!F1 and Accounts!H1); '
        "rename one so it is clear which to use"]


def test_missing_accounts_sheet():
    tables = simple_tables(metrics=NUMBER_METRICS)
    problems = scoring_input(tables, config_from_tables(tables), AS_OF)[3]
    assert [str(p) for p in problems] == ['Accounts: the workbook has no "Accounts" sheet; it is required']


TREND = [metric_row("t", "A", 1, "trend", "Users", low=-0.2, high=0.2),
         metric_row("lab", "B", 1, "categorical", "Label", labels="Green=100; Red=20")]


def test_history_gives_latest_and_previous_period_up_to_the_as_of_date():
    history = [["A1", dt.date(2026, 9, 1), "Users", 80],
               ["A1", dt.date(2026, 10, 1), "users ", 100],
               ["A1", dt.date(2026, 11, 1), "Users", 110],
               ["A1", dt.date(2026, 12, 1), "Users", 999],      # after the as-of date: not used
               ["A2", dt.date(2026, 11, 1), "Users", 50],       # one period only: no trend
               ["ZZ", dt.date(2026, 11, 1), "Users", 50],       # unknown account
               ["A1", "not a date", "Users", 1],
               ["A1", dt.date(2026, 8, 1), "Users", "lots"]]
    data, _, issues, problems = read([["A1", "", "", "", "", 1, "Green"], ["A2", "", "", "", "", 1, "Green"]],
                                     metrics=TREND, history=history)
    assert problems == []
    previous, latest = data.trends["Users"]
    assert previous.to_dict() == pytest.approx({"A1": 100.0, "A2": np.nan}, nan_ok=True)
    assert latest.to_dict() == {"A1": 110.0, "A2": 50.0}
    assert [(i.cell, i.problem) for i in issues] == [
        ("Metric History!B8", "period is not a date"),
        ("Metric History!D9", "text in a number column"),
        ("Metric History!A7", 'account "ZZ" is not on the Accounts sheet'),
        ("Metric History!B6", 'only one period of "Users" on or before 2026-11-15: a trend needs two'),
    ]


def test_trend_without_history_sheet_or_rows():
    problems = read([["A1", "", "", "", "", 1, "Green"]], metrics=TREND)[3]
    assert [str(p) for p in problems] == [
        'Metrics!E2: trend metric "t" reads "Users" from the "Metric History" sheet, and the workbook has none']
    problems = read([["A1", "", "", "", "", 1, "Green"]], metrics=TREND, history=[["A1", dt.date(2026, 1, 1), "Other", 1]])[3]
    assert [str(p) for p in problems] == ['Metrics!E2: trend source "Users" has no rows in the "Column" column of Metric History']


def test_history_repeated_periods_order_of_issues_and_far_dates():
    """Per account and source the last row of a period counts; one-period issues come by source, then account ID as
    text (so "A10" before "A9"), then period; a date outside pandas' nanosecond range (a typo) is still a date."""
    history = [["A9", dt.date(2026, 10, 1), "Users", 1],
               ["A9", dt.date(2026, 11, 1), "Users", 2],
               ["A9", dt.date(2026, 11, 1), "Users", 3],        # the same period again: this row counts
               ["A10", dt.date(2026, 11, 1), "Users", 4],       # one period only
               ["A2", dt.date(1500, 1, 1), "Users", 5],         # a typo for 2015, but a date: the previous period
               ["A2", dt.date(2026, 9, 1), "Users", 6],
               ["A3", dt.date(3026, 1, 1), "Users", 7],         # after the as-of date: not used
               ["A3", dt.datetime(2026, 2, 1, 12, 30), "Users", 8],
               ["A1", 46296.0, "Users", 9]]                     # a serial number (2026-10-01): one period only
    rows = [[a, "", "", "", "", 1, "Green"] for a in ("A1", "A2", "A3", "A9", "A10")]
    data, _, issues, problems = read(rows, metrics=TREND, history=history)
    assert problems == []
    previous, latest = data.trends["Users"]
    assert previous.to_dict() == pytest.approx({"A1": np.nan, "A2": 5.0, "A3": np.nan, "A9": 1.0, "A10": np.nan}, nan_ok=True)
    assert latest.to_dict() == pytest.approx({"A1": 9.0, "A2": 6.0, "A3": 8.0, "A9": 3.0, "A10": 4.0})
    assert list(previous.index) == list(latest.index) == ["A1", "A2", "A3", "A9", "A10"]
    assert [(i.cell, i.problem) for i in issues] == [
        ("Metric History!B10", 'only one period of "Users" on or before 2026-11-15: a trend needs two'),
        ("Metric History!B5", 'only one period of "Users" on or before 2026-11-15: a trend needs two'),
        ("Metric History!B9", 'only one period of "Users" on or before 2026-11-15: a trend needs two'),
    ]


def test_cells_of_every_kind_in_large_columns():
    """The column-at-a-time checks give each bad cell's message at its row, wherever it sits in many rows."""
    n = 5000
    rows = [[f"A{i}", f" Name {i} ", "SMB", "Adopt", "CSM", float(i % 10), "Green"] for i in range(n)]
    rows[10][5], rows[4000][5], rows[4999][5] = "n/a", CellError("#DIV/0!"), " 12 "
    rows[20][0], rows[30][0], rows[40][0] = 1001.0, " A5 ", ""
    rows[50][6], rows[60][6] = 3.0, dt.date(2026, 1, 1)
    data, labels, issues, problems = read(rows)
    assert problems == []
    assert [(i.cell, i.problem) for i in issues] == [
        ("Accounts!A42", "blank Account ID"),
        ("Accounts!A32", 'Account ID "A5" already appears in row 7'),
        ("Accounts!F12", "text in a number column"),
        ("Accounts!F4002", "an Excel error (#DIV/0!) instead of a number"),
        ("Accounts!G62", "not a label"),
        ("Accounts!G52", "label not in the lab labels (Green, Red)"),
    ]
    assert len(data.accounts) == n - 2 and data.accounts.index[20] == "1001"
    assert data.accounts.loc["A4999", "Num"] == 12.0 and np.isnan(data.accounts.loc["A10", "Num"])
    assert data.accounts.loc["A50", "Label"] == "3" and pd.isna(data.accounts.loc["A60", "Label"])
    assert labels.loc["A7", "Account name"] == "Name 7"


def test_short_rows_read_as_blank():
    tables = simple_tables(metrics=NUMBER_METRICS)
    config = config_from_tables(tables)
    from chs_excel.book.table import Table
    tables[c.ACCOUNTS] = Table(c.ACCOUNTS, list(HEADER), [["A1", "x", "", "", "", 1, "Green"], ["A2", "y"]])
    data, labels, issues, problems = scoring_input(tables, config, AS_OF)
    assert problems == [] and issues == []
    assert data.accounts["Num"].tolist()[0] == 1 and np.isnan(data.accounts["Num"].tolist()[1])
    assert labels["Account name"].tolist() == ["x", "y"]
