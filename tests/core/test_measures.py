"""Each measure type against values worked out by hand (score = 1 + 99 * share of the way from low to high)."""
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from chs_excel.core import measures


def listed(series):
    return [None if math.isnan(v) else round(v, 6) for v in series]


def test_linear_maps_low_to_1_and_high_to_100_and_clamps():
    # 5 is halfway: 1 + 99 * 0.5 = 50.5; 20 is past high: clamped to 100; -5 clamped to 1
    assert listed(measures.linear(pd.Series([0, 5, 10, 20, -5]), 0, 10)) == [1, 50.5, 100, 100, 1]


def test_linear_lower_is_better_reverses():
    # 2.5 is a quarter of the way: 1 + 99 * 0.75 = 75.25
    assert listed(measures.linear(pd.Series([0, 2.5, 10]), 0, 10, higher_is_better=False)) == [100, 75.25, 1]


def test_linear_keeps_missing_missing():
    assert listed(measures.linear(pd.Series([np.nan, 1.0]), 0, 1)) == [None, 100]


def test_threshold_bands_include_their_lower_cut_point():
    values = pd.Series([0, 5, 9.9, 10, 50, np.nan])
    assert listed(measures.threshold(values, [5, 10], [10, 50, 100])) == [10, 50, 50, 100, 100, None]


def test_threshold_rejects_bad_parameters():
    with pytest.raises(ValueError):
        measures.threshold(pd.Series([1.0]), [5, 10], [10, 50])
    with pytest.raises(ValueError):
        measures.threshold(pd.Series([1.0]), [10, 5], [1, 2, 3])


def test_even_scores_spread_1_to_100():
    assert measures.even_scores(3) == [1, 50.5, 100]
    assert measures.even_scores(3, higher_is_better=False) == [100, 50.5, 1]


def test_ratio_divides_and_skips_zero_denominators():
    # 5/10 = 0.5 of the 0..1 range: 50.5; 3/0 and 3/blank have no score
    num, den = pd.Series([5.0, 3.0, 3.0]), pd.Series([10.0, 0.0, np.nan])
    assert listed(measures.ratio(num, den)) == [50.5, None, None]


def test_trend_scores_period_over_period_change():
    previous = pd.Series([100.0, 100.0, 0.0, np.nan, -50.0])
    latest = pd.Series([110.0, 80.0, 5.0, 10.0, -40.0])
    # +10%: (0.1 + 0.2) / 0.4 = 0.75 -> 75.25; -20% -> 1; from 0 or blank: no score;
    # -50 -> -40 is an improvement of 20% of |previous| -> 100
    assert listed(measures.trend(previous, latest, -0.2, 0.2)) == [75.25, 1, None, None, 100]


def test_elapsed_share_counts_whole_days():
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    assert measures.elapsed_share(dt.date(2026, 11, 15), start, end) == 0.5
    assert measures.elapsed_share(dt.date(2026, 11, 1), start, end) == pytest.approx(1 / 30)
    assert measures.elapsed_share(dt.date(2026, 10, 31), start, end) == 0
    assert measures.elapsed_share(dt.date(2027, 1, 1), start, end) == 1
    with pytest.raises(ValueError):
        measures.elapsed_share(dt.date(2026, 11, 15), end, start)


def test_goal_is_pro_rated_by_time_elapsed():
    # Target 8 for the month, half the month gone: 4 are due. 4 -> 100% -> 100; 2 -> 50% -> 50.5; 8 -> 200% -> 100
    values = pd.Series([4.0, 2.0, 8.0, np.nan])
    assert listed(measures.goal(values, 8, 0.5)) == [100, 50.5, 100, None]
    # 80% of goal scoring 100 (seed 004): high = 0.8; 2 of 4 due = 50% -> 1 + 99 * 0.5/0.8
    assert listed(measures.goal(pd.Series([2.0]), 8, 0.5, 0, 0.8)) == [round(1 + 99 * 0.625, 6)]


def test_goal_before_the_period_starts_has_no_score():
    assert listed(measures.goal(pd.Series([3.0]), 8, 0.0)) == [None]


def test_goal_with_per_account_target():
    assert listed(measures.goal(pd.Series([5.0, 5.0]), pd.Series([10.0, 0.0]), 1.0)) == [50.5, None]


def test_categorical_ignores_case_and_spaces():
    labels = pd.Series([" green", "AMBER", "Purple", None, ""])
    mapping = {"Green": 100, "Amber": 60}
    assert listed(measures.categorical(labels, mapping)) == [100, 60, None, None, None]
    assert measures.unknown_labels(labels, mapping).tolist() == [False, False, True, False, False]


def test_categorical_of_many_labels_of_every_kind_label_by_label():
    # More labels than the one-by-one path takes, mixing texts, blanks of every kind and non-text cells
    # (1, 1.0 and True are one value to a hash table but read "1", "1.0" and "True").
    kinds = [" green", "AMBER", "Purple", None, "", np.nan, pd.NA, 1, 1.0, True, "1", "true", pd.NaT]
    labels = [kinds[i] for i in np.random.default_rng(0).integers(0, len(kinds), 400)]
    mapping = {"Green": 100, "Amber": 60, "1": 5, "True": 7}
    folded = {"green": 100, "amber": 60, "1": 5, "true": 7}  # True reads "True"; NaT reads "NaT", no label
    blank = [v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) for v in labels]
    expected = [None if b else folded.get(str(v).strip().casefold()) for v, b in zip(labels, blank)]
    assert listed(measures.categorical(pd.Series(labels, dtype=object), mapping)) == expected
    unknown = [not b and str(v).strip() != "" and str(v).strip().casefold() not in folded
               for v, b in zip(labels, blank)]
    assert measures.unknown_labels(np.array(labels, dtype=object), mapping).tolist() == unknown
