"""Properties of the engine that hold for any data (hypothesis)."""
import datetime as dt

import numpy as np
import pandas as pd
from helpers import metric_row, simple_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from chs_excel.config import config_from_tables
from chs_excel.core.engine import ScoringInput, score

AS_OF = dt.date(2026, 11, 15)
maybe_value = st.one_of(st.none(), st.floats(min_value=-50, max_value=150, allow_nan=False))
label = st.sampled_from(["a", "b", "c", None, "zzz"])


def build(weights=(3, 1, 1, 3, 1), directions=("higher", "lower")):
    w_a, w_b, w1, w2, w3 = weights
    tables = simple_tables(categories=[["A", w_a], ["B", w_b]], metrics=[
        metric_row("m1", "A", w1, "range", "N1", low=0, high=100, direction=directions[0]),
        metric_row("m2", "A", w2, "range", "N2", low=10, high=60, direction=directions[1]),
        metric_row("m3", "B", w3, "categorical", "L", labels="a=20; b=60; c=100"),
    ], settings=[["Minimum coverage", 0]])
    return config_from_tables(tables)


rows = st.lists(st.tuples(maybe_value, maybe_value, label), min_size=1, max_size=25)


def frame(data):
    return pd.DataFrame({"N1": [r[0] for r in data], "N2": [r[1] for r in data], "L": [r[2] for r in data]},
                        index=[f"X{k}" for k in range(len(data))]).astype({"N1": float, "N2": float})


def run(config, df):
    return score(config, ScoringInput(df, AS_OF))


@settings(max_examples=60, deadline=None)
@given(rows)
def test_scores_are_within_1_and_100_or_empty(data):
    r = run(build(), frame(data))
    for values in (r.overall, r.category_scores.stack(), r.metric_scores.stack()):
        v = values.to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        assert ((v >= 1) & (v <= 100)).all()


@settings(max_examples=60, deadline=None)
@given(rows, st.integers(0, 24), st.floats(min_value=0, max_value=80))
def test_monotone_in_each_metrics_direction(data, which, bump):
    config = build()
    df = frame(data)
    k = which % len(df)
    up = df.copy()
    up.iloc[k, 0] = (0 if np.isnan(df.iloc[k, 0]) else df.iloc[k, 0]) + bump  # m1: higher is better
    up.iloc[k, 1] = (0 if np.isnan(df.iloc[k, 1]) else df.iloc[k, 1]) + bump  # m2: lower is better
    base = df.copy()
    base.iloc[k, 0] = 0 if np.isnan(df.iloc[k, 0]) else df.iloc[k, 0]
    base.iloc[k, 1] = up.iloc[k, 1]
    before, after = run(config, base).metric_scores.iloc[k], run(config, up).metric_scores.iloc[k]
    assert after["m1"] >= before["m1"] - 1e-9
    lower = base.copy()
    lower.iloc[k, 1] = up.iloc[k, 1] - bump
    assert run(config, up).metric_scores.iloc[k]["m2"] <= run(config, lower).metric_scores.iloc[k]["m2"] + 1e-9


@settings(max_examples=60, deadline=None)
@given(rows, st.randoms())
def test_order_of_accounts_does_not_matter(data, rnd):
    config = build()
    df = frame(data)
    shuffled = df.sample(frac=1, random_state=rnd.randint(0, 10_000))
    a, b = run(config, df), run(config, shuffled)
    pd.testing.assert_series_equal(a.overall, b.overall.reindex(a.overall.index))


@settings(max_examples=60, deadline=None)
@given(rows, st.floats(min_value=0.01, max_value=1000))
def test_scaling_all_weights_changes_nothing(data, factor):
    df = frame(data)
    base = run(build(), df)
    scaled = run(build(tuple(w * factor for w in (3, 1, 1, 3, 1))), df)
    np.testing.assert_allclose(base.overall.to_numpy(dtype=float), scaled.overall.to_numpy(dtype=float), rtol=1e-9)
    np.testing.assert_allclose(base.coverage.to_numpy(), scaled.coverage.to_numpy(), rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_renormalising_equals_dropping_the_missing_metric(data):
    df = frame(data)
    df["N2"] = np.nan  # m2 missing everywhere
    with_gap = run(build(), df)
    tables = simple_tables(categories=[["A", 3], ["B", 1]], metrics=[
        metric_row("m1", "A", 1, "range", "N1", low=0, high=100),
        metric_row("m3", "B", 1, "categorical", "L", labels="a=20; b=60; c=100"),
    ], settings=[["Minimum coverage", 0]])
    dropped = run(config_from_tables(tables), df)
    np.testing.assert_allclose(with_gap.overall.to_numpy(dtype=float), dropped.overall.to_numpy(dtype=float))


@settings(max_examples=40, deadline=None)
@given(rows, st.tuples(*[st.floats(min_value=0.05, max_value=10)] * 5))
def test_an_account_scored_alone_gets_the_same_scores_to_the_last_bit(data, weights):
    # What a worksheet function shows for one row is what a refresh writes for it among the others.
    config = build(weights)
    df = frame(data)
    together = run(config, df)
    for k in range(len(df)):
        alone = run(config, df.iloc[[k]])
        for field in ("metric_scores", "category_scores", "overall", "coverage"):
            assert np.array_equal(getattr(alone, field).to_numpy(dtype=float)[0],
                                  getattr(together, field).to_numpy(dtype=float)[k], equal_nan=True), field
        assert alone.status.iloc[0] == together.status.iloc[k] and alone.missing.iloc[0] == together.missing.iloc[k]
