"""Stale data (Stale after + Date column, or a trend's latest period) and the Rules sheet, against hand-worked numbers.

The scorecard (helpers.simple_tables): category A (weight 3) holds m1 (weight 1) and m2 (weight 3); category B
(weight 1) holds m3 (weight 1); labels a=20, b=60, c=100; minimum coverage 40%; as of 2026-11-15.
Each test reads its sheets through :func:`chs_excel.pipeline.prepare`, as a refresh does.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import metric_row, override_row, simple_tables, table

from chs_excel import contract as c
from chs_excel.core.explain import rule_notes, shown_overall
from chs_excel.pipeline import prepare

AS_OF = dt.date(2026, 11, 15)
LABELS = "a=20; b=60; c=100"
RULE_HEADER = [col.header for col in c.RULE_COLUMNS]


def accounts(header: list[str], rows: list[list]):
    return table(c.ACCOUNTS, [c.ACCOUNT_ID] + header, rows)


# --- stale data -------------------------------------------------------------------------------------------------

STALE_METRICS = [
    metric_row("m1", "A", 1, "range", "N1", low=0, high=10),
    metric_row("m2", "A", 3, "categorical", "L2", labels=LABELS, stale_after=30, date_column="Updated"),
    metric_row("m3", "B", 1, "categorical", "L3", labels=LABELS),
]


def stale_prepared():
    tables = simple_tables(metrics=STALE_METRICS)
    tables[c.ACCOUNTS] = accounts(["N1", "L2", "Updated", "L3"], [
        ["X", 10, "b", AS_OF - dt.timedelta(days=31), "c"],   # 31 days old: stale
        ["Y", 10, "b", AS_OF - dt.timedelta(days=30), "c"],   # exactly 30 days: still fresh
        ["Z", 0, "a", None, "a"],                             # no date: used, flagged
        ["W", 10, None, dt.date(2020, 1, 1), "c"],            # no value: missing, not stale
        ["V", 10, "c", "2026-06-30", "c"],                    # date as text, 138 days old: stale
    ])
    return prepare(tables)


def test_stale_data_is_left_out_and_the_weights_renormalise():
    p = stale_prepared()
    r = p.result
    # X: m2 stale -> A = m1 = 100; overall = (100*3 + 100*1)/4 = 100
    assert np.isnan(r.metric_scores.loc["X", "m2"])
    assert r.category_scores.loc["X", "A"] == 100
    assert r.overall["X"] == 100
    # coverage without m2: its effective weight is 3/4 (in A) * 3/4 (A's share) = 0.5625
    assert r.coverage["X"] == pytest.approx(1 - 0.5625)
    # Y: fresh -> A = (100*1 + 60*3)/4 = 70; overall = (70*3 + 100)/4 = 77.5
    assert r.overall["Y"] == 77.5 and r.coverage["Y"] == 1
    # Z: date unknown, value used -> A = (1 + 20*3)/4 = 15.25; overall = (15.25*3 + 20)/4 = 16.4375
    assert r.overall["Z"] == pytest.approx(16.4375) and r.coverage["Z"] == 1
    assert r.missing.to_dict() == {"X": "m2 (stale)", "Y": "", "Z": "", "W": "m2", "V": "m2 (stale)"}
    assert r.stale["m2"].to_dict() == {"X": True, "Y": False, "Z": False, "W": False, "V": True}


def test_stale_data_and_unknown_dates_are_data_issues_at_the_date_cell():
    p = stale_prepared()
    stale = {i.cell: i for i in p.issues if "days old" in i.problem}
    assert set(stale) == {"Accounts!D2", "Accounts!D6"}  # Updated is column D; X is row 2, V row 6
    x = stale["Accounts!D2"]
    assert x.problem == '"m2" data is 31 days old (updated 2026-10-15; stale after 30 days)'
    assert x.action == "scored without it (treated as missing)" and x.column == "Updated"
    assert stale["Accounts!D6"].problem.startswith('"m2" data is 138 days old (updated 2026-06-30;')
    unknown = [i for i in p.issues if "date unknown" in i.action]
    assert [(i.cell, i.problem) for i in unknown] == [("Accounts!D4", '"m2" has stale after 30 days, but the date is blank')]


def test_a_trend_without_date_column_is_dated_by_its_latest_history_period():
    metrics = [metric_row("m1", "A", 1, "categorical", "L1", labels=LABELS),
               metric_row("t", "B", 1, "trend", "Users", low=-0.2, high=0.2, stale_after=40)]
    tables = simple_tables(metrics=metrics, categories=[["A", 1], ["B", 1]])
    tables[c.ACCOUNTS] = accounts(["L1"], [["X", "c"], ["Y", "c"]])
    tables[c.HISTORY] = table(c.HISTORY, list(c.HISTORY_COLUMNS), [
        ["X", dt.date(2026, 8, 1), "Users", 100], ["X", dt.date(2026, 9, 1), "Users", 110],   # latest 75 days old
        ["Y", dt.date(2026, 10, 1), "Users", 100], ["Y", dt.date(2026, 11, 1), "Users", 100],  # 14 days old
    ])
    r = prepare(tables).result
    assert np.isnan(r.metric_scores.loc["X", "t"]) and r.missing["X"] == "t (stale)"
    assert r.overall["X"] == 100 and r.coverage["X"] == 0.5
    # Y: no change -> the middle of -0.2..0.2 -> 1 + 99 * 0.5 = 50.5; overall = (100 + 50.5)/2
    assert r.metric_scores.loc["Y", "t"] == pytest.approx(50.5) and r.overall["Y"] == pytest.approx(75.25)
    issue = next(i for i in r.issues if "days old" in i.problem)
    assert (issue.cell, issue.column) == ("Metric History!B3", "Period")  # X's 2026-09-01 row
    assert issue.problem == '"t" data is 75 days old (updated 2026-09-01; stale after 40 days)'


def test_a_metric_override_gives_a_stale_metric_its_score_back():
    tables = simple_tables(metrics=STALE_METRICS, overrides=[override_row("X", "metric", "m2", score=80)])
    tables[c.ACCOUNTS] = accounts(["N1", "L2", "Updated", "L3"], [["X", 10, "b", dt.date(2026, 1, 1), "c"]])
    r = prepare(tables).result
    assert r.metric_scores.loc["X", "m2"] == 80 and r.missing["X"] == "" and not r.stale.loc["X", "m2"]


# --- rules ------------------------------------------------------------------------------------------------------

def rules_prepared(rules: list[list], overrides=None, min_coverage=0.4):
    tables = simple_tables(overrides=overrides, settings=[["Minimum coverage", min_coverage], ["As-of date", AS_OF]])
    tables[c.ACCOUNTS] = accounts(["L1", "L2", "L3", "Days", "Plan"], [
        ["P", "c", "c", "c", 61, "Pro"],     # overall 100
        ["Q", "a", "a", "a", 10, "Free"],    # overall 20
        ["R", "c", "c", "a", 90, "pro"],     # A 100, B 20: overall (300 + 20)/4 = 80
        ["S", None, None, "a", 99, "Pro"],   # only m3: coverage 25% < 40%: no overall score
        ["T", "b", "b", "c", None, None],    # A 60, B 100: overall (180 + 100)/4 = 70
    ])
    tables[c.RULES] = table(c.RULES, RULE_HEADER, rules)
    return prepare(tables)


M3_RED = ["m3 Red caps at Red", "m3", "=", "Red", "cap band", "Red"]
NO_LOGIN = ["No login caps at 50", "Days", ">", 60, "cap score", 50]


def test_cap_band_caps_at_the_highest_score_of_the_band():
    r = rules_prepared([M3_RED]).result
    assert r.overall["R"] == 39  # Red below 40: the highest whole Red score
    assert r.overall["Q"] == 20  # already Red: unchanged, and the rule is not listed (it changed nothing)
    assert r.overall_band["R"] == "Red"
    assert r.rules.to_dict() == {"P": "", "Q": "", "R": "m3 Red caps at Red", "S": "", "T": ""}
    assert rule_notes(r)["R"] == "Rule: m3 Red caps at Red"


def test_cap_score_on_an_accounts_column_and_the_strictest_cap_wins():
    r = rules_prepared([NO_LOGIN, M3_RED]).result
    assert r.overall["P"] == 50       # 61 days > 60
    assert r.overall["R"] == 39       # both fire: min(50, 39)
    assert r.overall["T"] == 70       # a blank Days never fires
    assert r.rules["R"] == "No login caps at 50; m3 Red caps at Red"
    assert np.isnan(r.overall["S"]) and r.rules["S"] == ""  # no overall score: left as it is


def test_set_band_forces_the_band_and_keeps_the_score():
    config_rules = [["Free plan shows Amber", "Plan", "=", "free", "set band", "Amber"],
                    ["Exactly 70 is Red", "Overall", "=", 70, "set band", "Red"]]
    p = rules_prepared(config_rules)
    r = p.result
    assert r.overall["Q"] == 20 and r.overall_band["Q"] == "Amber"  # text compared ignoring case; may raise a band
    assert r.overall["T"] == 70 and r.overall_band["T"] == "Red"
    assert r.overall_band["P"] == "Green"
    shown, band = shown_overall(p.config, r)
    assert band["Q"] == "Amber" and band["T"] == "Red" and band["P"] == "Green"
    both = rules_prepared([config_rules[0], ["20 or less is Red", "Overall", "<=", 20, "set band", "Red"]]).result
    assert both.overall_band["Q"] == "Red"  # several set band rules: the lowest band


def test_band_comparisons_follow_red_amber_green():
    r = rules_prepared([["Below Green caps at 60", "Overall", "<", "Green", "cap score", 60]]).result
    # Q 20 (Red) and T 70 (Green at Amber below 70) -> only Q's condition holds, and it is below 60 already:
    # the rule changes nothing, so it is not listed
    assert r.rules.to_dict() == {"P": "", "Q": "", "R": "", "S": "", "T": ""}
    r = rules_prepared([["A Amber or worse caps at 45", "A", "<=", "Amber", "cap score", 45]]).result
    assert r.overall["T"] == 45 and r.overall["R"] == 80  # T's A is 60 (Amber); R's A is 100


def test_overrides_win_over_rules():
    overrides = [override_row("R", "overall", score=65), override_row("P", "overall", band="Green")]
    r = rules_prepared([NO_LOGIN, M3_RED], overrides=overrides).result
    assert r.overall["R"] == 65 and r.overall_band["R"] == "Amber"
    assert r.overall["P"] == 100 and r.overall_band["P"] == "Green"
    assert r.rules["R"] == "No login caps at 50; m3 Red caps at Red (override wins)"
    assert r.rules["P"] == "No login caps at 50 (override wins)"
    assert r.overall["Q"] == 20 and r.rules["Q"] == ""  # Red already: the rule changes nothing, is not listed


def test_rules_see_metric_overrides_and_drivers_explain_the_computed_score():
    from chs_excel.core.explain import points_lost
    p = rules_prepared([M3_RED], overrides=[override_row("R", "metric", "m3", score=100)])
    assert p.result.overall["R"] == 100 and p.result.rules["R"] == ""
    p = rules_prepared([M3_RED])
    lost = points_lost(p.config, p.result.metric_scores)
    # R's drivers still explain the computed 80: m3 costs 1/4 * (100 - 20) = 20 points
    assert lost.loc["R"].sum() == pytest.approx(20)


def test_no_rules_sheet_means_no_rules():
    tables = simple_tables()
    tables[c.ACCOUNTS] = accounts(["L1", "L2", "L3"], [["P", "c", "c", "a"]])
    r = prepare(tables).result
    assert r.rules.tolist() == [""] and r.overall["P"] == 80
