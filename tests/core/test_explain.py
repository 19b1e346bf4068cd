"""Scores worded for people: override notes, driver text, whole numbers and the shown band, worked by hand.

The scorecard (from helpers.simple_tables): category A (weight 3) holds m1 (weight 1)
and m2 (weight 3); category B (weight 1) holds m3 (weight 1). Labels map a=20, b=60, c=100;
bands are Red below 40, Amber below 70.
"""
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from helpers import override_row, simple_tables

from chs_excel.config import config_from_tables
from chs_excel.core.engine import AppliedOverride, ScoringInput, score
from chs_excel.core.explain import driver_text, override_note, override_notes, points_lost, rounded, shown_overall

AS_OF = dt.date(2026, 11, 15)
UNTIL = dt.date(2099, 1, 1)
ACCOUNTS = pd.DataFrame({"L1": ["a", "a", None], "L2": ["b", None, None], "L3": ["c", "c", "b"]}, index=["X", "Y", "Z"])


def run(overrides=None):
    config = config_from_tables(simple_tables(overrides=overrides))
    return config, score(config, ScoringInput(ACCOUNTS, AS_OF))


def test_a_score_override_names_its_target_the_new_and_the_old_score():
    note = override_note(AppliedOverride("X", "metric", "m2", 100.0, None, 60.0, "Stale data", "Ana", UNTIL))
    assert note == "m2 set to 100 (was 60): Stale data (Ana, until 2099-01-01)"


def test_a_score_override_shows_a_fraction_as_given_and_the_old_score_as_a_whole_number():
    note = override_note(AppliedOverride("X", "category", "A", 72.5, None, 59.6, "Pilot", "Li", UNTIL))
    assert note == "A set to 72.5 (was 60): Pilot (Li, until 2099-01-01)"


def test_an_overall_override_of_an_account_without_a_score():
    note = override_note(AppliedOverride("Z", "overall", None, 75.0, None, float("nan"), "New logo", "Tom", UNTIL))
    assert note == "Overall set to 75 (was no score): New logo (Tom, until 2099-01-01)"


def test_a_band_override_names_the_band_it_replaced():
    assert override_note(AppliedOverride("X", "overall", None, None, "Red", "Amber", "Champion left", "Priya", UNTIL)) \
        == "Band set to Red (was Amber): Champion left (Priya, until 2099-01-01)"
    assert override_note(AppliedOverride("Z", "overall", None, None, "Green", "", "Renewed", "Priya", UNTIL)) \
        == "Band set to Green (was no band): Renewed (Priya, until 2099-01-01)"


def test_the_engine_records_overrides_and_the_notes_join_them_in_the_order_applied():
    # X: m2 100 -> A = (20 + 300) / 4 = 80, overall = (80*3 + 100) / 4 = 85 (Green), then the band is set to Red.
    # Z: overall has no score (coverage 0.25 < 0.4) and is set to 75.
    _, result = run([override_row("X", "overall", band="Red", reason="Champion left", author="Priya"),
                     override_row("X", "metric", "m2", 100, reason="Stale data", author="Ana"),
                     override_row("Z", "overall", score=75, reason="New logo", author="Tom")])
    assert [(o.account, o.level, o.target) for o in result.overrides] == \
        [("X", "metric", "m2"), ("Z", "overall", None), ("X", "overall", None)]
    assert result.overrides[0].was == 60 and np.isnan(result.overrides[1].was) and result.overrides[2].was == "Green"
    notes = override_notes(result)
    assert notes.to_dict() == {
        "X": "m2 set to 100 (was 60): Stale data (Ana, until 2099-01-01); "
             "Band set to Red (was Green): Champion left (Priya, until 2099-01-01)",
        "Y": "",
        "Z": "Overall set to 75 (was no score): New logo (Tom, until 2099-01-01)"}


def test_whole_numbers_round_halves_up():
    assert rounded([69.5, 0.5, 39.49, 62.5]).tolist() == [70, 1, 39, 63]
    assert np.isnan(rounded([np.nan])[0])


def test_the_shown_band_is_the_band_of_the_shown_score_unless_a_csm_set_it():
    # X 62.5 shows as 63 (Amber) but its band is set to Red; Y 40 is Amber; Z has no score and no band.
    config, result = run([override_row("X", "overall", band="Red")])
    overall, band = shown_overall(config, result)
    assert overall.tolist()[:2] == [63, 40] and np.isnan(overall["Z"])
    assert band.tolist() == ["Red", "Amber", ""]


def test_a_reason_that_reads_like_a_band_override_does_not_set_the_band():
    config, result = run([override_row("Y", "metric", "m1", 100, reason="Band set to Green last week")])
    # Y: m1 100 -> A = 100, overall = (100*3 + 100) / 4 = 100
    assert shown_overall(config, result)[1]["Y"] == "Green"
    assert result.overrides[0].band is None


def test_driver_text_lists_the_costliest_metrics_in_whole_points():
    lost = pd.DataFrame({"a": [18.4, 0.4, 0.0], "b": [9.5, 30.0, 0.0], "c": [0.0, 2.5, 0.0], "d": [3.0, 0.0, 0.49]},
                        index=["X", "Y", "Z"])
    # X: a 18.4 -> 18, b 9.5 -> 10 (halves up), d 3; c costs nothing. Y: a 0.4 is under half a point.
    assert driver_text(lost).to_dict() == {"X": "a -18, b -10, d -3", "Y": "b -30, c -3", "Z": ""}
    assert driver_text(lost, top=1).tolist() == ["a -18", "b -30", ""]


def test_points_lost_by_hand_and_as_drivers():
    config, result = run()
    lost = points_lost(config, result.metric_scores)
    # X: effective weights m1 3/16, m2 9/16, m3 1/4 -> 80*3/16 = 15, 40*9/16 = 22.5, 0
    # Y (no m2): m1 carries all of A -> 80*3/4 = 60; Z (only m3 = 60): 40 * 1 = 40
    assert lost.loc["X"].tolist() == [15, 22.5, 0]
    assert lost.loc["Y"].tolist() == [60, 0, 0]
    assert lost.loc["Z"].tolist() == [0, 0, 40]
    assert driver_text(lost).tolist() == ["m2 -23, m1 -15", "m1 -60", "m3 -40"]


def drivers_by_hand(lost: pd.DataFrame, top: int = 3, at_least: float = 0.5) -> list[str]:
    """Row by row with Python's sort: largest loss first, NaN last, ties in column order."""
    texts = []
    for row in lost.itertuples(index=False):
        ranked = sorted(range(len(row)), key=lambda k: (math.isnan(row[k]), 0 if math.isnan(row[k]) else -row[k]))
        texts.append(", ".join(f"{lost.columns[k]} -{math.floor(row[k] + 0.5)}" for k in ranked[:top]
                               if row[k] >= at_least))
    return texts


@pytest.mark.parametrize("width", [1, 4, 8, 20])
def test_driver_text_of_many_accounts_matches_working_each_row_by_hand(width):
    rng = np.random.default_rng(width)
    # Whole and half points (ties, halves to round up), nothing lost, under half a point, and NaN.
    values = rng.choice(np.array([0.0, 0.4, 0.5, 1.5, 2.5, 3.0, 3.0, 7.25, 12.0, 40.0, np.nan]), (3000, width))
    lost = pd.DataFrame(values, columns=[f"metric {k}" for k in range(width)])
    for top in (3, 1, 5):
        assert driver_text(lost, top=top).tolist() == drivers_by_hand(lost, top=top)
    assert driver_text(lost, at_least=3).tolist() == drivers_by_hand(lost, at_least=3)
    assert driver_text(lost.iloc[:0]).tolist() == []
