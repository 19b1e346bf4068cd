"""Roll-up, renormalisation, coverage, bands and overrides, against hand-worked numbers.

The scorecard (from helpers.simple_tables): category A (weight 3) holds m1 (weight 1)
and m2 (weight 3); category B (weight 1) holds m3 (weight 1). Labels map a=20, b=60, c=100.
"""
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers import metric_row, override_row, simple_tables

from chs_excel.config import Bands, Metric, config_from_tables
from chs_excel.core.bands import band_of
from chs_excel.core.engine import INSUFFICIENT, ScoringInput, goal_period, score
from chs_excel.core.explain import override_notes

AS_OF = dt.date(2026, 11, 15)


def run(accounts: dict[str, list], overrides=None, settings=None):
    config = config_from_tables(simple_tables(overrides=overrides, settings=settings))
    frame = pd.DataFrame(accounts, index=pd.Index(["X", "Y", "Z"][: len(next(iter(accounts.values())))]))
    return score(config, ScoringInput(frame, AS_OF))


BASE = {"L1": ["a", "a", None], "L2": ["b", None, None], "L3": ["c", "c", "b"]}


def test_roll_up_by_weight():
    r = run(BASE)
    # X: A = (20*1 + 60*3) / 4 = 50; B = 100; overall = (50*3 + 100*1) / 4 = 62.5
    assert r.category_scores.loc["X"].tolist() == [50, 100]
    assert r.overall["X"] == 62.5
    assert r.coverage["X"] == 1


def test_missing_metric_renormalises_and_counts_in_coverage():
    r = run(BASE)
    # Y lacks m2: A = 20 (m1 alone); overall = (20*3 + 100) / 4 = 40
    # coverage = m1's share 3/4 * 1/4 + m3's share 1/4 = 0.1875 + 0.25 = 0.4375
    assert r.category_scores.loc["Y", "A"] == 20
    assert r.overall["Y"] == 40
    assert r.coverage["Y"] == pytest.approx(0.4375)
    assert r.missing["Y"] == "m2"
    # Z has only m3: A has no score, overall = B = 60, coverage 0.25 < 0.4 -> no overall
    assert np.isnan(r.category_scores.loc["Z", "A"])
    assert r.coverage["Z"] == pytest.approx(0.25)
    assert np.isnan(r.overall["Z"]) and r.status["Z"] == INSUFFICIENT
    assert r.missing["Z"] == "m1, m2"


def test_renormalising_equals_dropping_the_missing_metric():
    with_gap = run(BASE)
    tables = simple_tables(metrics=[
        metric_row("m1", "A", 1, "categorical", "L1", labels="a=20; b=60; c=100"),
        metric_row("m3", "B", 1, "categorical", "L3", labels="a=20; b=60; c=100"),
    ])
    dropped = score(config_from_tables(tables), ScoringInput(pd.DataFrame(BASE, index=["X", "Y", "Z"]), AS_OF))
    assert with_gap.overall["Y"] == dropped.overall["Y"]


def test_minimum_coverage_leaves_overall_empty():
    r = run(BASE, settings=[["Minimum coverage", 0.5]])
    assert np.isnan(r.overall["Y"]) and r.status["Y"] == INSUFFICIENT  # 0.4375 < 0.5
    assert r.overall["X"] == 62.5 and r.status["X"] == ""


def test_metric_override_flows_into_the_roll_up():
    r = run(BASE, overrides=[override_row("X", "metric", "m2", 100, reason="Stale data", author="Ana")])
    # A = (20 + 100*3) / 4 = 80; overall = (80*3 + 100) / 4 = 85
    assert r.metric_scores.loc["X", "m2"] == 100
    assert r.overall["X"] == 85
    assert override_notes(r)["X"] == "m2 set to 100 (was 60): Stale data (Ana, until 2099-01-01)"


def test_category_and_overall_overrides_replace_their_level():
    r = run(BASE, overrides=[override_row("X", "category", "B", 20), override_row("Y", "overall", score=15)])
    assert r.overall["X"] == (50 * 3 + 20) / 4
    assert r.overall["Y"] == 15
    assert r.overall_band["Y"] == "Red"


def test_overall_override_scores_an_account_without_enough_data():
    r = run(BASE, overrides=[override_row("Z", "overall", score=75)])
    assert r.overall["Z"] == 75 and r.status["Z"] == "override"


def test_band_override_keeps_the_score_and_sets_the_band():
    r = run(BASE, overrides=[override_row("X", "overall", band="Red", reason="Champion left", author="Priya")])
    assert r.overall["X"] == 62.5
    assert r.overall_band["X"] == "Red"
    assert "Band set to Red (was Amber): Champion left (Priya" in override_notes(r)["X"]


def test_expired_and_unknown_account_overrides_are_ignored_with_an_issue():
    r = run(BASE, overrides=[override_row("X", "overall", score=5, expires=dt.date(2026, 11, 14)),
                             override_row("Q", "overall", score=5)])
    assert r.overall["X"] == 62.5
    assert [i.problem for i in r.issues] == ["override expired on 2026-11-14 (as-of date 2026-11-15)",
                                             'account "Q" is not on the Accounts sheet']
    assert [i.cell for i in r.issues] == ["Overrides!A2", "Overrides!A3"]


def test_override_expiring_on_the_as_of_date_still_applies():
    r = run(BASE, overrides=[override_row("X", "overall", score=5, expires=AS_OF)])
    assert r.overall["X"] == 5


def test_bands_at_their_edges():
    assert band_of([39.9, 40, 69.9, 70, np.nan], Bands(40, 70)).tolist() == ["Red", "Amber", "Amber", "Green", ""]


@pytest.mark.parametrize("period, day, expected", [
    ("month", dt.date(2026, 11, 15), (dt.date(2026, 11, 1), dt.date(2026, 11, 30))),
    ("month", dt.date(2026, 12, 31), (dt.date(2026, 12, 1), dt.date(2026, 12, 31))),
    ("month", dt.date(2028, 2, 10), (dt.date(2028, 2, 1), dt.date(2028, 2, 29))),
    ("quarter", dt.date(2026, 11, 15), (dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
    ("quarter", dt.date(2026, 1, 1), (dt.date(2026, 1, 1), dt.date(2026, 3, 31))),
    ("year", dt.date(2026, 11, 15), (dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
])
def test_goal_periods(period, day, expected):
    metric = Metric("g", "A", 1, "goal", "x", target=1, goal_period=period)
    assert goal_period(metric, day) == expected


def test_every_measure_through_the_engine():
    tables = simple_tables(categories=[["A", 1]], metrics=[
        metric_row("thr", "A", 1, "threshold", "n", cut_points="5, 10", scores="10, 50, 100"),
        metric_row("rng", "A", 1, "range", "n", low=0, high=10, direction="lower"),
        metric_row("rat", "A", 1, "ratio", "n", source2="d"),
        metric_row("goal", "A", 1, "goal", "n", target=8, goal_period="month"),
        metric_row("cat", "A", 1, "categorical", "lab", labels="Green=100; Red=20"),
        metric_row("trd", "A", 1, "trend", "hist", low=-0.2, high=0.2),
    ])
    config = config_from_tables(tables)
    frame = pd.DataFrame({"n": [5.0], "d": [10.0], "lab": ["red"]}, index=["X"])
    trends = {"hist": (pd.Series([100.0], index=["X"]), pd.Series([110.0], index=["X"]))}
    r = score(config, ScoringInput(frame, AS_OF, trends))
    # thr: 5 -> 50; rng: 5 of 0..10 lower-better -> 50.5; rat: 0.5 -> 50.5;
    # goal: 5 of 4 due (8 * 15/30) = 125% -> 100; cat: red -> 20; trend +10% -> 75.25
    expected = {"thr": 50, "rng": 50.5, "rat": 50.5, "goal": 100, "cat": 20, "trd": 75.25}
    assert r.metric_scores.loc["X"].to_dict() == pytest.approx(expected)
    assert r.overall["X"] == pytest.approx(sum(expected.values()) / 6)


def test_points_lost_add_up_to_what_the_overall_score_misses():
    from chs_excel.core.explain import driver_text, points_lost
    config = config_from_tables(simple_tables())
    r = run(BASE)
    lost = points_lost(config, r.metric_scores)
    # X: A has weight 3/4, m1 is 1/4 of A -> 3/16 x (100 - 20) = 15; m2: 9/16 x 40 = 22.5; m3: 1/4 x 0 = 0
    assert lost.loc["X"].tolist() == pytest.approx([15, 22.5, 0])
    assert lost.loc["X"].sum() == pytest.approx(100 - r.overall["X"])
    # Y lacks m2: m1 carries all of A: 3/4 x 80 = 60; m3 0; total 60 = 100 - 40
    assert lost.loc["Y"].tolist() == pytest.approx([60, 0, 0])
    assert driver_text(lost).tolist() == ["m2 -23, m1 -15", "m1 -60", "m3 -40"]  # Z has only m3 = 60
