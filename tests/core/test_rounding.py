"""Equal inputs give equal scores: a point k/198 of the way along any measure's scale scores 1 + k/2 exactly.

Worked out by hand: a share ``k / 198`` of the way maps to ``1 + 99 * k / 198 = 1 + k / 2``, an exact half
for odd ``k``; shown halves up, that is ``1 + ceil(k / 2)`` (``100 - floor(k / 2)`` when lower is better).
Floating point reaches the share by different routes (a range, a ratio, a goal's attainment, a trend's change)
and lands a crumb either side of the half; the shown whole number must not depend on the route.
"""
import datetime as dt

import numpy as np
import pandas as pd
from helpers import metric_row, simple_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from chs_excel.config import config_from_tables
from chs_excel.core import measures
from chs_excel.core.engine import ScoringInput, goal_period, score
from chs_excel.core.explain import override_note, rounded, shown_overall

steps = st.integers(0, 198)
whole = st.integers(-10_000, 10_000)


def shown_at(k: int, higher_is_better: bool = True) -> int:
    """The whole number shown for a point k/198 of the way, in integers only."""
    return 1 + (k + 1) // 2 if higher_is_better else 100 - k // 2


@settings(max_examples=300, deadline=None)
@given(steps, whole, st.integers(1, 20_000), st.booleans())
def test_range_point_shows_the_same_whole_number(k, low, span, higher):
    high = low + span
    value = low + k * (high - low) / 198
    assert rounded(measures.linear([value], low, high, higher))[0] == shown_at(k, higher)


@settings(max_examples=300, deadline=None)
@given(steps, st.integers(1, 10_000))
def test_ratio_point_shows_the_same_whole_number(k, denominator):
    numerator = k * denominator / 198
    assert rounded(measures.ratio([numerator], [denominator]))[0] == shown_at(k)


@settings(max_examples=300, deadline=None)
@given(steps, st.integers(1, 100_000), st.integers(1, 366), st.data())
def test_goal_point_shows_the_same_whole_number(k, target, days, data):
    done = data.draw(st.integers(1, days))
    start = dt.date(2026, 1, 1)
    share = measures.elapsed_share(start + dt.timedelta(days=done - 1), start, start + dt.timedelta(days=days - 1))
    value = k / 198 * target * done / days  # k/198 of what is due after ``done`` of ``days`` days
    assert rounded(measures.goal([value], [target], share))[0] == shown_at(k)


@settings(max_examples=300, deadline=None)
@given(steps, st.integers(1, 10_000), st.booleans())
def test_trend_point_shows_the_same_whole_number(k, previous, negative):
    previous = -previous if negative else previous
    change = -0.2 + 0.4 * k / 198
    latest = previous + change * abs(previous)
    assert rounded(measures.trend([previous], [latest], -0.2, 0.2))[0] == shown_at(k)


def test_half_of_a_goal_and_the_middle_of_a_range_show_the_same():
    # 50% attainment: 1 + 99 * 0.5 = 50.5, shown 51 (halves up). 0.3 on 0.1..0.5 is the middle too, but
    # (0.3 - 0.1) / 0.4 is 0.49999999999999994 in floating point: unrounded it would show 50.
    start, end = dt.date(2026, 1, 1), dt.date(2026, 1, 30)
    half_goal = measures.goal([7.5], [30.0], measures.elapsed_share(dt.date(2026, 1, 15), start, end))
    middle = measures.linear([0.3], 0.1, 0.5)
    assert half_goal[0] == middle[0] == 50.5
    assert rounded(half_goal)[0] == rounded(middle)[0] == 51


@settings(max_examples=100, deadline=None)
@given(steps, st.lists(st.integers(1, 97), min_size=1, max_size=4), st.integers(1, 97))
def test_roll_up_of_equal_scores_shows_the_metric_score_and_its_band(k, weights_a, weight_b):
    """Every metric at the same point: each category and the overall show the metric's whole number and band."""
    metrics = [metric_row(f"a{j}", "A", w, "range", f"N{j}", low=0.1, high=0.5) for j, w in enumerate(weights_a)]
    metrics.append(metric_row("b", "B", 1, "ratio", "U", source2="P"))
    tables = simple_tables(metrics=metrics, categories=[["A", 7], ["B", weight_b]],
                           settings=[["Red below", min(shown_at(k), 99)], ["Amber below", min(shown_at(k), 99) + 1],
                                     ["Minimum coverage", 0]])
    config = config_from_tables(tables)
    value = 0.1 + k * 0.4 / 198
    accounts = pd.DataFrame({**{f"N{j}": [value] for j in range(len(weights_a))}, "U": [k * 37 / 198], "P": [37.0]},
                            index=["X1"])
    result = score(config, ScoringInput(accounts, dt.date(2026, 11, 15)))
    expected = shown_at(k)
    for shown in (rounded(result.metric_scores.iloc[0]), rounded(result.category_scores.iloc[0])):
        assert set(shown.tolist()) == {expected}
    overall, band = shown_overall(config, result)
    assert overall.iloc[0] == expected
    # Red below the shown number, Amber below the next: the shown number is Amber, whatever crumb it had
    # (at 100 the cut points stop at 99 and 100, and 100 is Green)
    assert band.iloc[0] == ("Amber" if expected < 100 else "Green")


def test_override_note_shows_the_replaced_score_halves_up():
    # 50.5 replaced by an override reads "(was 51)", as the Scores sheet showed it (not Python's even 50)
    tables = simple_tables(metrics=[metric_row("m", "A", 1, "range", "N", low=0, high=1)], categories=[["A", 1]],
                           settings=[["Minimum coverage", 0]],
                           overrides=[["X1", "metric", "m", 90, "", "checked by hand", "Ana", dt.date(2099, 1, 1)]])
    config = config_from_tables(tables)
    result = score(config, ScoringInput(pd.DataFrame({"N": [0.5]}, index=["X1"]), dt.date(2026, 11, 15)))
    assert override_note(result.overrides[0]).startswith("m set to 90 (was 51)")


def test_goal_period_months_end_on_their_last_day():
    metric = config_from_tables(simple_tables(
        metrics=[metric_row("g", "A", 1, "goal", "N", target=10, goal_period="quarter")],
        categories=[["A", 1]])).metrics[0]
    assert goal_period(metric, dt.date(2026, 11, 15)) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert np.isclose(measures.elapsed_share(dt.date(2026, 10, 1), dt.date(2026, 10, 1), dt.date(2026, 12, 31)), 1 / 92)
