"""Score History's layout and which snapshots it keeps, against hand-worked cases."""
import datetime as dt

import pandas as pd
import pytest
from helpers import table

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.analysis.history import Past, choose_kept

SUNDAYS = [dt.date(2026, 1, 4) + dt.timedelta(weeks=k) for k in range(13)]  # Jan 4 .. Mar 29


def test_within_the_budget_every_snapshot_is_kept():
    kept = choose_kept({day: 10 for day in SUNDAYS}, SUNDAYS[-1], budget=130)
    assert kept.kept == SUNDAYS and kept.dropped == [] and kept.rows == 130 and kept.note() == ""


def test_over_the_budget_snapshots_that_are_not_month_ends_go_first_oldest_first():
    # 13 weekly snapshots of 10 rows, budget 50: 8 must go. Month-ends: Jan 25, Feb 22, Mar 29.
    # The others, oldest first: Jan 4, 11, 18, Feb 1, 8, 15, Mar 1, 8 (Mar 15 and 22 survive: 50 rows reached).
    kept = choose_kept({day: 10 for day in SUNDAYS}, SUNDAYS[-1], budget=50)
    d = dt.date
    assert kept.dropped == [d(2026, 1, 4), d(2026, 1, 11), d(2026, 1, 18), d(2026, 2, 1), d(2026, 2, 8),
                            d(2026, 2, 15), d(2026, 3, 1), d(2026, 3, 8)]
    assert kept.kept == [d(2026, 1, 25), d(2026, 2, 22), d(2026, 3, 15), d(2026, 3, 22), d(2026, 3, 29)]
    assert kept.rows == 50
    assert kept.note().startswith("Score History dropped the snapshot(s) of 2026-01-04, 2026-01-11")


def test_then_the_oldest_month_ends_go_but_never_the_new_snapshot_or_the_one_before():
    kept = choose_kept({day: 10 for day in SUNDAYS}, SUNDAYS[-1], budget=25)
    assert kept.kept == [dt.date(2026, 3, 22), dt.date(2026, 3, 29)]  # 20 rows: Feb 22 would make 30
    tiny = choose_kept({day: 10 for day in SUNDAYS}, SUNDAYS[-1], budget=0)
    assert tiny.kept == [dt.date(2026, 3, 22), dt.date(2026, 3, 29)] and tiny.rows == 20


def test_a_backdated_refresh_keeps_itself_and_the_snapshot_before_it():
    as_of = dt.date(2026, 2, 10)  # between Feb 8 and Feb 15
    kept = choose_kept({**{day: 10 for day in SUNDAYS}, as_of: 10}, as_of, budget=20)
    assert kept.kept == [dt.date(2026, 2, 8), as_of]


def test_a_million_accounts_refreshed_weekly_for_two_years_stays_within_excel_and_the_budget():
    accounts, sizes, as_of = 1_048_575, {}, dt.date(2025, 1, 5)
    for week in range(104):
        as_of = dt.date(2025, 1, 5) + dt.timedelta(weeks=week)
        sizes[as_of] = accounts
        kept = choose_kept(sizes, as_of)
        sizes = {day: sizes[day] for day in kept.kept}
        assert kept.rows <= max(history.ROW_BUDGET, 2 * accounts)
        assert all(sizes[day] + 1 <= history.EXCEL_MAX_ROWS for day in sizes)  # header + one row per account
        assert as_of in sizes and (week == 0 or as_of - dt.timedelta(weeks=1) in sizes)
    assert len(sizes) == 4 and kept.rows == 4 * accounts


def test_snapshot_sheet_names_fit_excel_and_read_back():
    name = history.sheet_name(dt.date(2026, 11, 27))
    assert name == "Score History 2026-11-27" and len(name) <= 31
    assert history.sheet_day(" score history 2026-11-27 ") == dt.date(2026, 11, 27)
    assert history.sheet_day("Score History 2026-02-30") is None and history.sheet_day("Score History") is None
    assert history.snapshot_sheets(["Scores", "Score History 2026-02-01", "Score History 2026-01-01"]) == {
        dt.date(2026, 1, 1): "Score History 2026-01-01", dt.date(2026, 2, 1): "Score History 2026-02-01"}


def test_a_snapshot_keeps_metric_scores_under_their_own_names_unless_a_category_has_the_name():
    index = pd.Index(["X", "Y"])
    frame = history.snapshot(pd.Series([70.0, None], index=index), pd.Series(["Green", ""], index=index),
                             pd.DataFrame({"Sentiment": [80.0, None]}, index=index),
                             pd.DataFrame({"Sentiment": [79.96, None], "Usage": [12.34, 50.0]}, index=index))
    assert list(frame.columns) == ["Account ID", "Overall", "Band", "Sentiment", "Sentiment (metric)", "Usage"]
    assert frame["Sentiment (metric)"].tolist()[0] == 80.0 and frame["Usage"].tolist() == [12.3, 50.0]


def test_past_reads_only_the_snapshot_asked_for():
    read = []

    def read_table(name):
        read.append(name)
        return table(name, ["Account ID", "Overall", "Band"], [["X", 60, "Amber"], ["Y", "", ""], ["X", 61, "Amber"]])

    names = ["Scores", "Score History 2026-01-04", "Score History 2026-02-01", "Score History 2026-03-01"]
    index = table(c.SCORE_HISTORY, history.INDEX_COLUMNS,
                  [[dt.datetime(2026, 2, 1), "Score History 2026-02-01", 2, 60, 0, 1, 0, 1],
                   ["A note under the table"]])
    past = Past(names, index, read_table)
    day, before = past.previous(dt.date(2026, 2, 15))
    assert day == dt.date(2026, 2, 1) and read == ["Score History 2026-02-01"]
    assert before["Overall"].to_dict() == {"X": 61, "Y": pytest.approx(float("nan"), nan_ok=True)}
    assert past.size(dt.date(2026, 2, 1), 99) == 2 and past.size(dt.date(2026, 1, 4), 99) == 99
    assert past.previous(dt.date(2026, 1, 4))[0] is None and read == ["Score History 2026-02-01"]


def test_the_layout_before_0_9_is_read_as_snapshots():
    old = table(c.SCORE_HISTORY, ["As-of date", "Account ID", "Overall", "Band", "Product"],
                [[dt.datetime(2026, 1, 4), "X", 50, "Amber", 40], [dt.datetime(2026, 1, 4), "Y", 30, "Red", ""],
                 [dt.datetime(2026, 2, 1), "X", 70, "Green", 75], ["not a date", "Z", 1, "Red", 1]])
    past = Past([c.SCORE_HISTORY], old, None)
    assert past.days() == [dt.date(2026, 1, 4), dt.date(2026, 2, 1)] and past.index == {}
    assert past.get(dt.date(2026, 1, 4))["Overall"].to_dict() == {"X": 50, "Y": 30}
    assert past.size(dt.date(2026, 1, 4), 99) == 2
    long = past.all()
    assert list(long.columns[:4]) == history.FIXED and len(long) == 3
