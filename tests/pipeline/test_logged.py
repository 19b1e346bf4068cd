"""Signals logged over time (seed 003): a metric whose Read from is Metric History scores the latest entry logged
there for the account, on or before the as-of date, dated by that entry for Stale after.

Every expected value is worked out by hand in the comments from the small tables here, or (the large case) by an
independent route: pandas sort and groupby over the same rows.
"""
from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import pandas as pd
import pytest
from helpers import metric_row, simple_tables, table

from chs_excel import contract as c
from chs_excel.config import config_from_json, config_from_tables
from chs_excel.config.build import config_to_dict
from chs_excel.inputs import history_latest, scoring_input
from chs_excel.pipeline import prepare
from chs_excel.problems import ConfigError

AS_OF = dt.date(2026, 11, 15)
D = dt.date
SKIPPED = "skipped the entry (the account's latest usable entry before it counts)"
MOOD = metric_row("Mood", "A", 1, "categorical", "Mood", labels="Green=100; Amber=60; Red=20",
                  read_from="Metric History", stale_after=30)
NPS = metric_row("NPS", "A", 1, "range", "NPS", low=0, high=10, read_from="history")


def history(rows: list[list]):
    return table(c.HISTORY, list(c.HISTORY_COLUMNS), rows)


def mood_and_nps() -> dict:
    tables = simple_tables(categories=[["A", 1]], metrics=[MOOD, NPS],
                           settings=[["Minimum coverage", 0], ["As-of date", AS_OF]])
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID, "Segment"], [["A1", "x"], ["A2", "x"], ["A3", "x"], ["A4", "x"]])
    tables[c.HISTORY] = history([                          # sheet row
        ["A1", D(2026, 11, 1), "Mood", "Green"],            # 2
        ["A1", D(2026, 11, 8), " mood ", "Amber"],          # 3  A1's latest on or before the as-of date: Amber
        ["A1", D(2026, 11, 20), "Mood", "Red"],             # 4  after the as-of date: not counted
        ["A2", D(2026, 9, 1), "Mood", "Red"],               # 5  A2's latest usable: 75 days old, stale after 30
        ["A2", D(2026, 11, 1), "Mood", "Yellow"],           # 6  not a label: skipped
        ["A3", D(2026, 11, 9), "Mood", "Green"],            # 7
        ["A3", D(2026, 11, 9), "MOOD", "Red"],              # 8  same day, later row: Red counts
        ["A4", D(2026, 11, 10), "Mood", "#N/A"],            # 9  an error: skipped, A4 has no other entry
        ["A1", D(2026, 11, 9), "NPS", 7],                   # 10 A1: 7
        ["A2", D(2026, 10, 9), "NPS", 3],                   # 11 A2: 3 (the entry after it is unusable)
        ["A2", D(2026, 11, 9), "NPS", "n/a"],               # 12 text: skipped
        ["A3", D(2026, 11, 9), "NPS", None],                # 13 blank: skipped, A3 has no other entry
        ["A9", D(2026, 10, 9), "NPS", 3],                   # 14 not an account
        ["A4", "soon", "NPS", 8],                           # 15 not a date: skipped
        ["A4", D(2026, 10, 1), "NPS", 9.5],                 # 16 A4: 9.5
        ["A1", D(2026, 11, 1), "Active users", 100],        # 17 no metric reads it: ignored
    ])
    return tables


def test_the_latest_usable_entry_on_or_before_the_as_of_date_is_scored():
    p = prepare(mood_and_nps())
    scores = p.result.metric_scores
    # Mood: A1 Amber 60; A2 Red but 75 days old (stale); A3 Red 20 (the later row of 2026-11-09); A4 nothing usable.
    assert scores["Mood"].tolist()[0] == 60 and scores.loc["A3", "Mood"] == 20
    assert np.isnan(scores.loc["A2", "Mood"]) and np.isnan(scores.loc["A4", "Mood"])
    # NPS on 0..10 -> 1 + 99 * v / 10: A1 7 -> 70.3, A2 3 -> 30.7, A3 none, A4 9.5 -> 95.05
    assert scores["NPS"].tolist()[:2] == pytest.approx([70.3, 30.7]) and scores.loc["A4", "NPS"] == pytest.approx(95.05)
    assert np.isnan(scores.loc["A3", "NPS"])
    assert p.result.missing.to_dict() == {"A1": "", "A2": "Mood (stale)", "A3": "NPS", "A4": "Mood"}
    # the values read, labels as text and numbers as numbers
    assert p.data.logged["Mood"].tolist()[:3] == ["Amber", "Red", "Red"] and p.data.logged["Mood"].isna().tolist()[3]
    assert p.data.logged["NPS"].tolist()[:2] == [7.0, 3.0] and p.data.logged["NPS"]["A4"] == 9.5


def test_every_unusable_entry_is_a_data_issue_naming_its_metric_history_cell():
    p = prepare(mood_and_nps())
    found = {(i.cell, i.problem, i.action) for i in p.issues if i.sheet == c.HISTORY}
    assert found == {
        ("Metric History!D6", "label not in the Mood labels (Green, Amber, Red)", SKIPPED),
        ("Metric History!D9", "an Excel error (#N/A) instead of a label", SKIPPED),
        ("Metric History!D12", "text in a number column", SKIPPED),
        ("Metric History!D13", "the value is blank", SKIPPED),
        ("Metric History!A14", 'account "A9" is not on the Accounts sheet', "skipped the entry"),
        ("Metric History!B15", "period is not a date", SKIPPED),
        # the stale entry, where its date is
        ("Metric History!B5", '"Mood" data is 75 days old (updated 2026-09-01; stale after 30 days)',
         "scored without it (treated as missing)"),
    }


def test_the_entry_used_dates_the_metric_for_stale_after():
    data, _, _, problems = scoring_input(mood_and_nps(), config_from_tables(mood_and_nps()), AS_OF)
    assert not problems
    dates = data.dates["Mood"]
    # A1's entry of 2026-11-08 (row 3), A2's of 2026-09-01 (row 5), A3's of 2026-11-09 (row 8), A4 none
    assert np.datetime_as_string(dates.dates[:3], "D").tolist() == ["2026-11-08", "2026-09-01", "2026-11-09"]
    assert np.isnat(dates.dates[3])
    assert [dates.cell(k) for k in range(3)] == ["Metric History!B3", "Metric History!B5", "Metric History!B8"]
    assert (dates.sheet, dates.column) == (c.HISTORY, "Period")
    assert "NPS" not in data.dates  # no Stale after: never stale


def test_entries_after_the_as_of_date_only_say_so_once():
    tables = mood_and_nps()
    tables[c.HISTORY] = history([["A1", D(2026, 12, 1), "Mood", "Green"], ["A2", D(2026, 11, 16), "Mood", "Red"],
                                 ["A1", D(2026, 11, 1), "NPS", 5]])
    p = prepare(tables)
    assert p.result.metric_scores["Mood"].isna().all()
    said = [(i.cell, i.problem, i.action) for i in p.issues if i.sheet == c.HISTORY]
    # said once, at the earliest entry (A2's of 2026-11-16, row 3)
    assert said == [("Metric History!B3", 'every "Mood" entry in Metric History is after the as-of date 2026-11-15',
                     'left "Mood" out: nothing was logged by then')]


def test_any_measure_but_trend_reads_the_latest_entry_and_source_2_stays_on_accounts():
    tables = simple_tables(categories=[["A", 1]], settings=[["Minimum coverage", 0], ["As-of date", AS_OF]], metrics=[
        metric_row("Seats used", "A", 1, "ratio", "Active seats", source2="Seats", low=0, high=1,
                   read_from="Metric History"),
        metric_row("Outreach", "A", 1, "goal", "Touches", target=8, goal_period="custom", goal_start=D(2026, 11, 1),
                   goal_end=D(2026, 11, 30), read_from="Metric History"),
        metric_row("Tickets", "A", 1, "threshold", "Open tickets", cut_points="1, 3", scores="100, 60, 20",
                   read_from="Metric History")])
    # no "Active seats", "Touches" or "Open tickets" column on Accounts: they are logged
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID, "Seats"], [["A1", 10], ["A2", 0]])
    tables[c.HISTORY] = history([
        ["A1", D(2026, 11, 10), "Active seats", 8], ["A2", D(2026, 11, 10), "Active seats", 5],
        ["A1", D(2026, 11, 12), "Touches", 2], ["A2", D(2026, 11, 1), "Touches", 4], ["A2", D(2026, 11, 14), "Touches", 6],
        ["A1", D(2026, 11, 14), "Open tickets", 0], ["A2", D(2026, 11, 14), "Open tickets", 3]])
    scores = prepare(tables).result.metric_scores
    # ratio: A1 8/10 = 0.8 -> 1 + 99 * 0.8 = 80.2; A2 5/0 has no score
    assert scores.loc["A1", "Seats used"] == pytest.approx(80.2) and np.isnan(scores.loc["A2", "Seats used"])
    # goal: 15 of 30 days elapsed, so 4 of 8 due: A1 2/4 = 50% -> 50.5; A2's latest 6/4 = 150% -> 100
    assert scores["Outreach"].tolist() == pytest.approx([50.5, 100.0])
    # threshold: 0 is below the first cut point -> 100; 3 is at the second -> 20
    assert scores["Tickets"].tolist() == [100.0, 20.0]


def test_a_large_history_gives_what_pandas_sort_and_groupby_give():
    """An independent route: sort the usable rows by date and row, keep each account's last."""
    rng = np.random.default_rng(3)
    n, accounts = 60_000, [f"C{i}" for i in range(2_000)]
    ids = rng.choice(accounts + ["ghost"], n)
    days = pd.to_datetime("2026-08-01") + pd.to_timedelta(rng.integers(0, 140, n), unit="D")  # some after as-of
    labels = rng.choice(["Green", "Amber", "Red", "Teal", None], n)
    source = rng.choice(["Mood", "mood ", "Other"], n)
    tables = simple_tables(categories=[["A", 1]], settings=[["Minimum coverage", 0], ["As-of date", AS_OF]],
                           metrics=[MOOD])
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID], [[a] for a in accounts])
    tables[c.HISTORY] = history([[i, d.date(), s, v] for i, d, s, v in zip(ids, days, source, labels)])
    p = prepare(tables)
    frame = pd.DataFrame({"id": ids, "day": days, "source": source, "label": labels, "row": np.arange(n)})
    usable = frame[(frame["source"].str.strip().str.lower() == "mood") & frame["label"].isin(["Green", "Amber", "Red"])
                   & (frame["day"] <= pd.Timestamp(AS_OF)) & (frame["id"] != "ghost")]
    last = usable.sort_values(["day", "row"]).groupby("id").last()
    want = last["label"].map({"Green": 100.0, "Amber": 60.0, "Red": 20.0})
    want[last["day"] < pd.Timestamp(AS_OF - dt.timedelta(days=30))] = np.nan  # stale after 30 days
    got = p.result.metric_scores["Mood"]
    assert got.reindex(want.index).tolist() == pytest.approx(want.tolist(), nan_ok=True)
    assert got.drop(want.index).isna().all()  # accounts with no usable entry
    assert want.notna().sum() > 1_000 and want.isna().sum() > 10  # both cases are really there


def test_one_million_history_rows_are_read_in_seconds():
    """The selection is a sort, not a loop over accounts: a million rows of 100,000 accounts."""
    rng = np.random.default_rng(5)
    n = 1_000_000
    accounts = [f"C{i}" for i in range(100_000)]
    tables = simple_tables(categories=[["A", 1]], settings=[["Minimum coverage", 0], ["As-of date", AS_OF]],
                           metrics=[MOOD, NPS])
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID], [[a] for a in accounts])
    days = [D(2026, 9, 1) + dt.timedelta(days=int(d)) for d in range(80)]
    ids, day, kind = rng.integers(0, len(accounts), n), rng.integers(0, 80, n), rng.integers(0, 2, n)
    labels = np.array(["Green", "Amber", "Red"], dtype=object)[rng.integers(0, 3, n)]
    rows = [[accounts[i], days[d], "Mood", lab] if k else [accounts[i], days[d], "NPS", float(d % 11)]
            for i, d, k, lab in zip(ids.tolist(), day.tolist(), kind.tolist(), labels.tolist())]
    tables[c.HISTORY] = history(rows)
    config = config_from_tables(tables)
    start = time.perf_counter()
    logged, issues, problems = history_latest(tables[c.HISTORY], config, pd.Index(accounts), AS_OF)
    seconds = time.perf_counter() - start
    assert not problems and not issues and logged["Mood"].notna().sum() > 99_000
    assert seconds < 20, seconds


# --- the config ---------------------------------------------------------------------------------------------------

READ_FROM = "V"  # the 22nd Metrics column, after Date column
assert [col.key for col in c.METRIC_COLUMNS].index("read_from") == ord(READ_FROM) - ord("A")


def problems_of(tables) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        prepare(tables)
    return [str(p) for p in caught.value.problems]


def test_an_unknown_read_from_names_its_cell():
    tables = mood_and_nps()
    tables[c.METRICS] = table(c.METRICS, [col.header for col in c.METRIC_COLUMNS], [
        metric_row("Mood", "A", 1, "categorical", "Mood", labels="Green=100", read_from="Histroy"), NPS])
    assert problems_of(tables) == [f'Metrics!{READ_FROM}2: Read from must be Accounts (or blank) or Metric History '
                                   f'(the latest entry logged there), got "Histroy"']


@pytest.mark.parametrize("written, logged", [("Metric History", True), (" metric  HISTORY ", True), ("history", True),
                                             ("Accounts", False), ("", False)])
def test_read_from_words(written, logged):
    tables = simple_tables(metrics=[metric_row("m", "A", 1, "range", "x", low=0, high=1, read_from=written)],
                           categories=[["A", 1]])
    assert config_from_tables(tables).metrics[0].logged is logged


def test_a_trend_read_from_accounts_is_refused():
    tables = simple_tables(categories=[["A", 1]], metrics=[
        metric_row("Growth", "A", 1, "trend", "Users", low=-1, high=1, read_from="Accounts")])
    with pytest.raises(ConfigError) as caught:
        config_from_tables(tables)
    assert [str(p) for p in caught.value.problems] == [
        f'Metrics!{READ_FROM}2: a trend metric compares two periods of Metric History, so Read from must be blank or '
        f'Metric History, got "Accounts"']


def test_stale_after_without_a_date_column_is_fine_for_a_logged_metric_only():
    logged = metric_row("m", "A", 1, "range", "x", low=0, high=1, read_from="Metric History", stale_after=30)
    assert config_from_tables(simple_tables(metrics=[logged], categories=[["A", 1]])).metrics[0].stale_after == 30
    on_accounts = metric_row("m", "A", 1, "range", "x", low=0, high=1, stale_after=30)
    with pytest.raises(ConfigError, match="Stale after \\(days\\) needs a Date column"):
        config_from_tables(simple_tables(metrics=[on_accounts], categories=[["A", 1]]))


def test_a_source_no_entry_names_is_a_config_problem_at_the_source_cell():
    tables = mood_and_nps()
    tables[c.HISTORY] = history([["A1", D(2026, 11, 1), "Mood", "Green"], ["A1", D(2026, 11, 1), "Active users", 3]])
    assert problems_of(tables) == [
        'Metrics!E3: "NPS" reads the latest entry of "NPS" from Metric History, and no row of its "Column" column '
        "names it (it names: Mood, Active users); check the spelling, or log a first entry"]


def test_no_metric_history_sheet_or_column_is_a_config_problem_but_an_empty_sheet_is_not():
    tables = mood_and_nps()
    del tables[c.HISTORY]
    assert problems_of(tables) == [
        'Metrics!E2: metric "Mood" reads "Mood" from the "Metric History" sheet, and the workbook has none',
        'Metrics!E3: metric "NPS" reads "NPS" from the "Metric History" sheet, and the workbook has none']
    tables[c.HISTORY] = table(c.HISTORY, ["Account ID", "Period", "Column"], [["A1", D(2026, 11, 1), "Mood"]])
    assert problems_of(tables) == ['Metric History!1:1: column "Value" is missing from the header row '
                                   '(found: Account ID, Period, Column)']
    tables[c.HISTORY] = history([])  # nothing logged yet: the metrics have no data
    p = prepare(tables)
    assert p.result.metric_scores.isna().all().all() and set(p.result.missing) == {"Mood, NPS"}


def test_json_config_keeps_read_from(tmp_path):
    config = config_from_tables(mood_and_nps())
    data = config_to_dict(config)
    assert [m.get("read_from") for m in data["metrics"]] == ["history", "history"]
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    again = config_from_json(path)
    assert [m.logged for m in again.metrics] == [True, True]
    assert prepare(mood_and_nps(), config=again).result.metric_scores.loc["A1", "Mood"] == 60
    data["metrics"][0]["read_from"] = "Metric History"  # JSON takes the word the schema lists
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scorecard.json: metrics\[0\].read_from: Read from must be"):
        config_from_json(path)
