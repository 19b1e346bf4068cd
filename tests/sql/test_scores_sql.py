"""The scorecard in SQL (chs_excel.sql.scores) gives the pandas engine's numbers, cell for cell.

The independent route is the pandas engine itself (chs_excel.pipeline.prepare -> core.engine.score and
core.explain): the demo, the 2,000-account example and random scorecards (hypothesis) are scored by both, on the
same typed input - what ``prepare`` built from the sheets (``Prepared.data``: source columns typed, the stale
dates) and the Metric History sheet typed by the same cell conversion (chs_excel.inputs) - and every score must
agree to 1e-9 (they agree bit for bit), every text exactly. The demo also runs on Spark, transpiled by SQLGlot.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from helpers import metric_row, override_row, simple_tables, table
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chs_excel import contract as c
from chs_excel import inputs
from chs_excel.core import explain
from chs_excel.core.measures import settled as numpy_settled
from chs_excel.problems import ConfigError
from chs_excel.pipeline import Prepared, prepare
from chs_excel.problems import show_value
from chs_excel.sql.run import logs_labels
from chs_excel.sql.scores import number, scores_sql, settled, shown

AS_OF = dt.date(2026, 11, 15)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saas_churn" / "saas_churn.xlsx"
TEXTS = ("status", "band", "missing", "override", "rule")


# --- typed input and the pandas engine's answer ----------------------------------------------------------------

def typed_accounts(p: Prepared) -> pa.Table:
    """The Accounts columns the engine read, as the engine saw them: numbers, labels, and the stale dates."""
    acc = p.data.accounts
    columns = {c.ACCOUNT_ID: pa.array(acc.index.tolist(), pa.string())}
    for name in acc.columns:
        values = acc[name]
        if values.dtype.kind == "f":
            columns[name] = pa.array(values.to_numpy(), pa.float64(), from_pandas=True)  # NaN -> NULL
        else:
            columns[name] = pa.array([None if v is None or v != v else str(v) for v in values.tolist()], pa.string())
    for m in p.config.metrics:
        if m.date_column and m.name in p.data.dates:
            days = np.asarray(p.data.dates[m.name].dates, dtype="datetime64[us]")
            columns[m.date_column] = pa.array(days, pa.timestamp("us"))
    return pa.table(columns)


def typed_history(history: inputs.Table | None, labels: bool = False) -> pa.Table | None:
    """Metric History's cells typed as ``inputs.history_trends`` reads them, with each row's place on the sheet.

    ``labels``: a categorical metric reads labels from it, so Value is text, as ``chs-excel score`` reads it then:
    labels as written, numbers as the sheet shows them, unusable cells (errors, TRUE/FALSE, dates) NULL."""
    if history is None:
        return None
    cells = {h: inputs._column(history, history.find(h)) for h in c.HISTORY_COLUMNS}
    if labels:
        kinds = inputs.cell_kinds(cells["Value"])
        value = pa.array([show_value(v) if kind == inputs.NUMBER else v if kind == inputs.TEXT else None
                          for v, kind in zip(cells["Value"].tolist(), kinds.tolist())], pa.string())
    else:
        value = pa.array(inputs._numbers(cells["Value"])[0], pa.float64(), from_pandas=True)
    return pa.table({
        "Account ID": pa.array(inputs.account_ids(cells["Account ID"]), pa.string()),
        "Period": pa.array(inputs._periods(cells["Period"]), pa.timestamp("us")),
        "Column": pa.array([None if v is None else str(v) for v in cells["Column"]], pa.string()),
        "Value": value,
        "Row": pa.array(np.arange(len(value)), pa.int64()),
    })


def expected(p: Prepared) -> pd.DataFrame:
    """The pandas engine's result under the SQL column contract."""
    r = p.result
    out = {}
    for k, name in enumerate(r.metric_scores.columns):
        out[f"m_{k}"] = r.metric_scores[name].to_numpy(dtype=float)
    for g, name in enumerate(r.category_scores.columns):
        out[f"c_{g}"] = r.category_scores[name].to_numpy(dtype=float)
    _, band = explain.shown_overall(p.config, r)
    out.update(overall=r.overall.to_numpy(dtype=float), coverage=r.coverage.to_numpy(dtype=float),
               status=r.status.to_numpy(dtype=object), band=band.to_numpy(dtype=object),
               missing=r.missing.to_numpy(dtype=object), override=explain.override_notes(r).to_numpy(dtype=object),
               rule=explain.rule_notes(r).to_numpy(dtype=object))
    return pd.DataFrame(out, index=r.overall.index)


def duckdb_scores(p: Prepared, history: inputs.Table | None, **options) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("accounts", typed_accounts(p))
    typed = typed_history(history, logs_labels(p.config))
    if typed is not None:
        con.register("history", typed)
    return con.sql(scores_sql(p.config, p.as_of, history_order="Row", **options)).df()


def spark_scores(spark, folder, p: Prepared, history: inputs.Table | None) -> pd.DataFrame:
    """The query transpiled by SQLGlot (DuckDB -> Spark SQL), over the typed input written as Parquet."""
    pq.write_table(typed_accounts(p), folder / "accounts.parquet")
    spark.read.parquet(str(folder / "accounts.parquet")).createOrReplaceTempView("accounts")
    if history is not None:
        pq.write_table(typed_history(history, logs_labels(p.config)), folder / "history.parquet")
        spark.read.parquet(str(folder / "history.parquet")).createOrReplaceTempView("history")
    query = sqlglot.transpile(scores_sql(p.config, p.as_of, history_order="Row"), read="duckdb", write="spark")[0]
    return spark.sql(query).toPandas()


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Every score to 1e-9 (NULL where the engine has NaN), every text equal (NULL band where it has '')."""
    assert sorted(got["account_id"]) == sorted(want.index)
    got = got.set_index("account_id").reindex(want.index)
    numeric = [col for col in want.columns if col not in TEXTS]
    assert list(got.columns) == numeric + list(TEXTS)
    for col in numeric:
        a, b = got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float)
        same = (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-9)
        assert same.all(), (col, list(zip(want.index[~same], a[~same], b[~same]))[:5])
    for col in TEXTS:
        a = [("" if v is None or v != v else v) for v in got[col].tolist()]
        b = [("" if v is None or v != v else v) for v in want[col].tolist()]
        assert a == b, (col, [(i, x, y) for i, x, y in zip(want.index, a, b) if x != y][:5])
    assert got["band"].isna().tolist() == (want["band"] == "").tolist()  # no band: NULL, never ''


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from chs_excel.demo.template import write_template
    from chs_excel.files.reader import FileBookReader

    book = write_template(tmp_path_factory.mktemp("demo") / "demo.xlsx")
    with FileBookReader(book) as reader:
        return prepare(reader), reader.read_table(c.HISTORY)


# --- the demo and the example ---------------------------------------------------------------------------------

def test_the_demo_scores_the_same_in_duckdb(demo):
    p, history = demo
    want = expected(p)
    # what the demo exercises, so equality here means something: every measure but ratio, stale data,
    # rules that change scores, an override of each kind that is not expired, insufficient data
    assert {m.measure for m in p.config.metrics} >= {"trend", "goal", "threshold", "range", "categorical"}
    assert [m.name for m in p.config.metrics if m.logged] == ["CSM sentiment"]  # read from Metric History
    assert want["missing"].str.contains("CSM sentiment (stale)", regex=False).any()
    assert (want["missing"].str.contains("(stale)", regex=False)).any()
    assert (want["rule"] != "").sum() >= 2 and (want["override"] != "").sum() >= 2
    assert (want["status"] == "insufficient data").any()
    assert_same(duckdb_scores(p, history), want)


def test_the_example_scores_the_same_in_duckdb():
    """2,000 real accounts: nine range, threshold and categorical metrics."""
    from chs_excel.files.reader import FileBookReader

    with FileBookReader(EXAMPLE) as reader:
        p = prepare(reader)
    assert len(p.result.overall) == 2000
    assert_same(duckdb_scores(p, None), expected(p))


@pytest.mark.spark
def test_the_demo_scores_the_same_on_spark(demo, spark, tmp_path):
    """The query transpiled by SQLGlot (DuckDB -> Spark SQL) runs unchanged on a local Spark session."""
    p, history = demo
    assert_same(spark_scores(spark, tmp_path, p, history), expected(p))


def rich_tables() -> dict:
    """A scorecard with what the demo lacks: ratio, a per-account goal target, set band rules (the lowest wins),
    a text rule, a category rule by band, repeated overrides of one score and of the band, an expired one, and
    quotes and a backslash in the texts."""
    tables = simple_tables(categories=[["Use", 2], ["Voice", 1]], settings=[
        ["Minimum coverage", 0.5], ["As-of date", AS_OF], ["Red below", 35.5], ["Amber below", 70]], metrics=[
        metric_row("Seats used", "Use", 2, "ratio", "Active", source2="Seats", low=0.2, high=0.9),
        metric_row("Onboarding", "Use", 1, "goal", "Done", source2="Plan size", goal_period="custom",
                   goal_start=dt.date(2026, 10, 1), goal_end=dt.date(2026, 12, 31)),
        metric_row("Tickets", "Use", 1, "range", "Open", low=0, high=20, direction="lower", stale_after=30,
                   date_column="Checked"),
        metric_row("Growth", "Use", 1, "trend", "Users", low=-0.25, high=0.25, stale_after=40),
        metric_row("NPS", "Voice", 1, "threshold", "Score", cut_points="0, 30, 60", scores="1, 40, 70, 100"),
        metric_row("Mood", "Voice", 1, "categorical", "Mood", labels="Happy=100; Meh=50; Sad=1"),
    ], overrides=[
        override_row("A1", "metric", "NPS", score=90, reason="QBR said so", author="Ana"),
        override_row("A1", "metric", "NPS", score=80, reason="second thoughts", author="Ana"),
        override_row("A2", "category", "Voice", score=10, reason="it's bad \\ really", author="O'Neil"),
        override_row("A3", "overall", band="Red", reason="sponsor left", author="Kenji"),
        override_row("A3", "overall", band="Green", reason="new sponsor", author="Kenji"),
        override_row("A4", "overall", score=66.5, reason="credit", author="Tom"),
        override_row("A5", "overall", score=99, reason="expired", author="Tom", expires=AS_OF - dt.timedelta(days=1)),
        override_row("A6", "overall", score=70, reason="no data, still fine", author="Tom"),
    ])
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID, "Active", "Seats", "Done", "Plan size", "Open", "Checked",
                                            "Score", "Mood", "Plan"], [
        ["A1", 8, 10, 3, 10, 2, AS_OF, 75, "happy", "Pro"],
        ["A2", 1, 10, 0, 10, 19, AS_OF - dt.timedelta(days=31), -10, " Sad ", "pro "],
        ["A3", 5, 0, 9, 0, None, None, 30, "Meh", "Free"],
        ["A4", "n/a", 10, 5, 10, 5, AS_OF - dt.timedelta(days=30), 45, "meh", None],
        ["A5", 9, 10, 10, 5, 0, AS_OF, 100, "Happy", "Free"],
        ["A6", None, None, None, None, None, None, None, None, None],
        ["A7", 2, 4, 1, 3, 12, AS_OF - dt.timedelta(days=90), 59.5, "??", "PRO"],
    ])
    tables[c.HISTORY] = table(c.HISTORY, list(c.HISTORY_COLUMNS), [
        ["A1", dt.date(2026, 9, 1), "Users", 100], ["A1", dt.date(2026, 10, 1), "Users", 120],
        ["A1", dt.date(2026, 10, 1), "users ", 110],  # the later row of a period counts
        ["A2", dt.date(2026, 8, 1), "Users", 50], ["A2", dt.date(2026, 9, 1), "Users", 40],  # latest 75 days old
        ["A3", dt.date(2026, 10, 1), "Users", 0], ["A3", dt.date(2026, 11, 1), "Users", 10],  # from zero: no rate
        ["A4", dt.date(2026, 11, 1), "Users", 10], ["A4", dt.date(2026, 12, 1), "Users", 99],  # one period so far
        ["A5", dt.date(2026, 10, 1), "Users", 80], ["A5", dt.date(2026, 11, 1), "Users", 100],
        ["A7", dt.date(2026, 10, 1), "Users", 100], ["A7", dt.date(2026, 11, 1), "Users", 75],
    ])
    tables[c.RULES] = table(c.RULES, RULE_HEADER, [
        ["Pro plans are at most Amber", "Plan", "=", "pro", "set band", "Amber"],
        ["Unhappy voice is Red", "Voice", "<=", "Red", "set band", "Red"],
        ["Mood under 60 caps at 69.5", "Mood", "<", 60, "cap score", 69.5],
        ["Low overall caps at Red", c.OVERALL, "<", 45, "cap band", "Red"],
        ["Few tickets cap at 82", "Tickets", ">", 85, "cap score", 82],
    ])
    return tables


def test_a_scorecard_with_every_kind_of_rule_and_override_scores_the_same_in_duckdb():
    tables = rich_tables()
    p = prepare(dict(tables))
    want = expected(p)
    assert (want["rule"].str.contains("; ")).any() and (want["override"].str.contains("; ")).any()
    assert (want["status"] == "override").any() and want.loc["A3", "band"] == "Green"
    assert_same(duckdb_scores(p, tables[c.HISTORY]), want)


def logged_tables() -> dict:
    """Every measure but trend read from Metric History (Read from), a trend and a range over the same logged
    source, stale entries with and without a Date column, ties on one date, entries after the as-of date, unusable
    entries (the one before counts), a rule on a logged label and an override of a logged metric."""
    day = dt.date
    tables = simple_tables(categories=[["Voice", 1], ["Use", 2]], settings=[
        ["Minimum coverage", 0.3], ["As-of date", AS_OF]], metrics=[
        metric_row("Mood", "Voice", 2, "categorical", "Mood", labels="Green=100; Amber=60; Red=20",
                   read_from="Metric History", stale_after=30),
        metric_row("NPS", "Voice", 1, "threshold", "NPS", cut_points="0, 30, 60", scores="1, 40, 70, 100",
                   read_from="Metric History", stale_after=20, date_column="Checked"),
        metric_row("Users now", "Use", 1, "range", "Users", low=0, high=200, read_from="Metric History"),
        metric_row("Growth", "Use", 1, "trend", "Users", low=-0.5, high=0.5),
        metric_row("Seats used", "Use", 1, "ratio", "Active", source2="Seats", low=0.1, high=0.9,
                   read_from="Metric History"),
        metric_row("Touches", "Use", 1, "goal", "Touches", target=8, goal_period="month", read_from="Metric History",
                   stale_after=10)])
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID, "Seats", "Checked", "Mood"], [
        ["A1", 10, AS_OF, "Green"],  # an Accounts column named like the logged source: not read
        ["A2", 0, AS_OF - dt.timedelta(days=25), None],
        ["A3", "n/a", None, None],
        ["A4", 20, AS_OF, None],
        ["A5", 5, AS_OF, None]])
    tables[c.HISTORY] = table(c.HISTORY, list(c.HISTORY_COLUMNS), [
        ["A1", day(2026, 11, 9), "Mood", "Red"], ["A1", day(2026, 11, 9), " mood", "amber "],  # the later row counts
        ["A1", day(2026, 11, 20), "Mood", "Green"],  # after the as-of date
        ["A2", day(2026, 10, 1), "Mood", "Green"], ["A2", day(2026, 11, 1), "Mood", "Teal"],  # Green, 45 days: stale
        ["A3", day(2026, 11, 14), "Mood", "#N/A"], ["A3", day(2026, 11, 2), "Mood", "Red"],  # logged out of order
        ["A4", day(2026, 11, 14), "Mood", 7.0], ["A5", day(2026, 11, 10), "Mood", None],
        ["A1", day(2026, 11, 1), "NPS", 45], ["A2", day(2026, 11, 1), "NPS", 70], ["A3", day(2026, 11, 1), "NPS", " 12 "],
        ["A4", day(2026, 11, 1), "NPS", "n/a"], ["A4", day(2026, 10, 1), "NPS", -5], ["A5", "soon", "NPS", 30],
        ["A1", day(2026, 10, 1), "Users", 100], ["A1", day(2026, 11, 1), "Users", 150],
        ["A2", day(2026, 10, 1), "users", 80], ["A2", day(2026, 11, 1), "Users", 80], ["A2", day(2026, 11, 1), "Users", 60],
        ["A3", day(2026, 11, 1), "Users", 0], ["A4", day(2026, 12, 1), "Users", 10], ["ghost", day(2026, 11, 1), "Users", 9],
        ["A1", day(2026, 11, 5), "Active", 8], ["A2", day(2026, 11, 5), "Active", 3], ["A4", day(2026, 11, 5), "Active", 5],
        ["A5", day(2026, 11, 5), "Active", True],
        ["A1", day(2026, 11, 14), "Touches", 3], ["A2", day(2026, 11, 1), "Touches", 9], ["A3", day(2026, 11, 10), "Touches", 2],
        ["A3", day(2026, 11, 12), "Touches", dt.date(2026, 1, 1)]])
    tables[c.RULES] = table(c.RULES, RULE_HEADER, [["Red mood caps at 20", "Mood", "=", "Red", "cap score", 20]])
    tables[c.OVERRIDES] = table(c.OVERRIDES, [col.header for col in c.OVERRIDE_COLUMNS], [
        override_row("A2", "metric", "Mood", score=55, reason="call log is late", author="Ana")])
    return tables


def test_metrics_read_from_metric_history_score_the_same_in_duckdb():
    tables = logged_tables()
    p = prepare(dict(tables))
    want = expected(p)
    # by hand: A1 Mood is the later entry of 2026-11-09, "amber " -> 60; A3 Red (the #N/A is skipped) -> 20 and the
    # rule caps A3 at 20; A2's Green is 45 days old (stale, then overridden to 55); A4's 7 is not a label; A5's is blank
    assert want.loc["A1", "m_0"] == 60 and want.loc["A3", "m_0"] == 20 and want.loc["A2", "m_0"] == 55
    assert np.isnan(want.loc["A4", "m_0"]) and np.isnan(want.loc["A5", "m_0"])
    assert want.loc["A3", "overall"] == 20 and want.loc["A3", "rule"] == "Rule: Red mood caps at 20"
    assert "Mood set to 55 (was no score)" in want.loc["A2", "override"]
    # Users now: A1 150 -> 1 + 99 * 0.75 = 75.25, A2 the later 60 of 2026-11-01 -> 30.7; NPS of A2 dated by
    # Checked (25 days, stale after 20) is left out
    assert want.loc["A1", "m_2"] == pytest.approx(75.25) and want.loc["A2", "m_2"] == pytest.approx(30.7)
    assert "NPS (stale)" in want.loc["A2", "missing"]
    assert_same(duckdb_scores(p, tables[c.HISTORY]), want)


def test_without_overrides_the_config_overrides_are_ignored(demo):
    p, history = demo
    got = duckdb_scores(p, history, overrides=False).set_index("account_id")
    assert (got["override"] == "").all() and (got["status"] != "override").all()
    # ACC-010's CSM sentiment is 90 by override; without it none (its latest log, of 2026-09-24, is stale)
    assert np.isnan(got.loc["ACC-010", "m_6"]) and p.result.metric_scores.loc["ACC-010", "CSM sentiment"] == 90
    assert got.loc["ACC-010", "missing"] == "CSM sentiment (stale)"


# --- the SQL pieces against numpy -----------------------------------------------------------------------------

def test_literals_read_back_as_the_same_doubles():
    values = [0.1, 1 / 3, -2.5, 1e-300, 123456789.123456789, 40.0, -0.0, 2 ** 60]
    got = duckdb.sql("SELECT " + ", ".join(number(v) for v in values)).fetchall()[0]
    assert list(got) == values
    spark_sql = sqlglot.transpile("SELECT " + ", ".join(number(v) for v in values), read="duckdb", write="spark")[0]
    assert "e0" in spark_sql.lower() or "E0" in spark_sql  # still exponent literals: DOUBLE in Spark


def test_settled_and_shown_are_numpys_round_half_even_and_halves_up():
    # values whose x * 1e9 is an exact tie (k + 0.5): numpy rounds them to even, ROUND would round them up
    rng = np.random.default_rng(7)
    x = rng.uniform(1, 100, 20_000)
    ties = np.round(x, 9) + 0.5e-9
    x = np.concatenate([x, ties, [50.5, 69.5, 39.49999999999999, 0.5, 1.0000000005, 2.0000000015]])
    con = duckdb.connect()
    con.register("t", pa.table({"x": x}))
    got = con.sql(f"SELECT {settled('x')} AS s, {shown('x')} AS w FROM t").df()
    want = numpy_settled(x)
    assert np.array_equal(got["s"].to_numpy(), want)
    assert np.array_equal(got["w"].to_numpy(), explain.rounded(x))
    assert ((ties * 1e9) % 1 == 0.5).sum() > 100  # the ties are really there


def test_sqlglot_carries_every_construct_over_to_spark():
    """Transpiling raises on anything SQLGlot cannot write for Spark, and no DuckDB-only syntax is left."""
    tables = rich_tables()
    p = prepare(dict(tables))
    query = scores_sql(p.config, p.as_of, history_order="Row")
    spark_sql = sqlglot.transpile(query, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
    for duckdb_only in ("::", "LIST_", "STRUCT_PACK", "LATERAL", "QUALIFY", "ARG_MAX", '"'):
        assert duckdb_only not in spark_sql.upper()


# --- random scorecards ------------------------------------------------------------------------------------------

RULE_HEADER = [col.header for col in c.RULE_COLUMNS]
LABEL_KEYS = ["Green", "Amber", "Red"]
NUMBERS = st.one_of(st.none(), st.integers(-5, 120).map(float), st.floats(-5, 120, allow_nan=False),
                    st.sampled_from([0.0, 0.5, 10.0, 49.5, "n/a", " 12 ", True]))
LABELS = st.one_of(st.none(), st.sampled_from(["Green", " green", "AMBER", "Red ", "zzz", "", 7.0]))
DATES = st.one_of(st.none(), st.integers(-5, 90).map(lambda d: AS_OF - dt.timedelta(days=d)), st.just("soon"))


@st.composite
def metric_rows(draw, k: int, categories: list[str]):
    """One Metrics row of any measure, and the Accounts (or history) columns it reads: name -> kind.

    Any measure but trend may read its Source from Metric History (Read from; kind "logged number" or
    "logged label"), dated there by its entry (Stale after without a Date column) or by a Date column."""
    name, category = f"M{k}", draw(st.sampled_from(categories))
    weight = draw(st.sampled_from([0.5, 1, 2, 3]))
    measure = draw(st.sampled_from(["range", "threshold", "categorical", "ratio", "goal", "trend"]))
    direction = draw(st.sampled_from(["higher", "lower"]))
    low = draw(st.sampled_from([-10, 0, 0.1, 5, 20]))
    high = low + draw(st.sampled_from([0.3, 1, 7, 50, 100]))
    bands = draw(st.sampled_from([{}, {"red_below": 30, "amber_below": 80}]))
    logged = measure != "trend" and draw(st.sampled_from([False, False, True]))
    stale = draw(st.sampled_from([{}, {"stale_after": 30, "date_column": f"D{k}"}] + ([{"stale_after": 30}] if logged else [])))
    read = {"read_from": "Metric History"} if logged else {}
    columns = {}
    if stale.get("date_column"):
        columns[f"D{k}"] = "date"
    number = f"H{k}" if logged else f"N{k}"
    if measure == "range":
        row = metric_row(name, category, weight, measure, number, low=low, high=high, direction=direction, **bands,
                         **stale, **read)
        columns[number] = "logged number" if logged else "number"
    elif measure == "threshold":
        cuts = sorted(draw(st.sets(st.sampled_from([0, 10, 20, 49.5, 50, 80, 100]), min_size=1, max_size=3)))
        scores = draw(st.lists(st.sampled_from([1, 20, 33.3333333333, 50, 100]), min_size=len(cuts) + 1,
                               max_size=len(cuts) + 1))
        row = metric_row(name, category, weight, measure, number, cut_points=", ".join(map(str, cuts)),
                         scores=", ".join(map(str, scores)), **bands, **stale, **read)
        columns[number] = "logged number" if logged else "number"
    elif measure == "categorical":
        label = f"H{k}" if logged else f"L{k}"
        row = metric_row(name, category, weight, measure, label, labels="Green=100; Amber=60; Red=20", **bands,
                         **stale, **read)
        columns[label] = "logged label" if logged else "label"
    elif measure == "ratio":
        row = metric_row(name, category, weight, measure, number, source2=f"P{k}", low=0, high=1,
                         direction=direction, **stale, **read)
        columns[number] = "logged number" if logged else "number"
        columns[f"P{k}"] = "number"
    elif measure == "goal":
        period = draw(st.sampled_from(["month", "quarter", "year", "custom"]))
        custom = {"goal_start": dt.date(2026, 10, 1), "goal_end": dt.date(2027, 1, 31)} if period == "custom" else {}
        per_account = draw(st.booleans())
        row = metric_row(name, category, weight, measure, number, goal_period=period, **custom,
                         **({"source2": f"P{k}"} if per_account else {"target": draw(st.sampled_from([8, 100, 0.5]))}),
                         **stale, **read)
        columns[number] = "logged number" if logged else "number"
        if per_account:
            columns[f"P{k}"] = "number"
    else:
        stale = draw(st.sampled_from([{}, {"stale_after": 40}]))
        row = metric_row(name, category, weight, measure, f"T{k}", low=-0.5, high=0.5, direction=direction, **stale)
        columns[f"T{k}"] = "history"
    return name, row, columns


# What a logged entry's Value may hold: numbers, labels (known, unknown, spaced), blanks and unusable cells.
LOGGED_VALUES = st.one_of(st.none(), st.sampled_from([0.0, 10.0, 49.5, 80.0, 120.5, -3.0, "Green", " amber ", "RED",
                                                      "zzz", "n/a", " 12 ", "#N/A", True, 7.0, ""]))
LOGGED_DAYS = st.integers(-10, 60).map(lambda d: AS_OF - dt.timedelta(days=d))  # some after the as-of date


@st.composite
def scorecards(draw):
    """Tables of a random scorecard with accounts, history, rules and overrides."""
    categories = [f"C{g}" for g in range(draw(st.integers(1, 3)))]
    cat_rows = [[name, draw(st.sampled_from([0.5, 1, 2, 5]))] for name in categories]
    specs = [draw(metric_rows(k, categories)) for k in range(draw(st.integers(1, 6)))]
    assume(set(categories) <= {row[1] for _, row, _ in specs})  # every category holds a metric
    min_coverage = draw(st.sampled_from([0, 0.4, 0.6, 1]))
    settings_rows = [["Minimum coverage", min_coverage], ["As-of date", AS_OF],
                     ["Red below", draw(st.sampled_from([40, 35.5]))], ["Amber below", 70]]
    tables = simple_tables(metrics=[row for _, row, _ in specs], categories=cat_rows, settings=settings_rows)
    columns = {name: kind for _, _, cols in specs for name, kind in cols.items()}
    n = draw(st.integers(1, 25))
    ids = [f"A{i}" for i in range(n)]
    account_columns = [name for name, kind in columns.items() if kind in ("number", "label", "date")] + ["Days", "Plan"]
    draw_cell = {"number": NUMBERS, "label": LABELS, "date": DATES}
    rows = []
    for account in ids:
        row = [account] + [draw(draw_cell[columns[name]]) for name in account_columns[:-2]]
        rows.append(row + [draw(st.one_of(st.none(), st.integers(0, 120))),
                           draw(st.sampled_from([None, "Pro", " pro", "Free"]))])
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID] + account_columns, rows)
    trend_sources = [name for name, kind in columns.items() if kind == "history"]
    logged_sources = [name for name, kind in columns.items() if kind.startswith("logged")]
    history = []
    if trend_sources:
        periods = [dt.date(2026, m, 1) for m in (7, 8, 9, 10, 11, 12)]  # December is after the as-of date
        history += draw(st.lists(st.tuples(st.sampled_from(ids + ["ghost"]), st.sampled_from(periods),
                                           st.sampled_from(trend_sources + [" " + trend_sources[0].lower()]),
                                           st.one_of(st.none(), st.sampled_from([0, 50, 100, 120.5, 80]))),
                                 min_size=8, max_size=80))
    if logged_sources:  # entries on few days, so that several fall on one account's latest date
        history += [(draw(st.sampled_from(ids)), AS_OF, name, draw(LOGGED_VALUES)) for name in logged_sources]
        history += draw(st.lists(st.tuples(st.sampled_from(ids + ["ghost"]),
                                           st.one_of(LOGGED_DAYS, st.sampled_from([AS_OF, None, "soon"])),
                                           st.sampled_from(logged_sources + [logged_sources[0].lower() + " "]),
                                           LOGGED_VALUES), min_size=len(logged_sources), max_size=60))
        history = draw(st.permutations(history))  # the log in any order: the date decides, then the row
    if history:
        tables[c.HISTORY] = table(c.HISTORY, list(c.HISTORY_COLUMNS), [list(r) for r in history])
    names = [name for name, _, _ in specs]
    rules = []
    for j in range(draw(st.integers(0, 3))):
        when = draw(st.sampled_from([c.OVERALL, "Days", "Plan"] + names + categories))
        effect = draw(st.sampled_from(["cap score", "cap band", "set band"]))
        to = {"cap score": draw(st.sampled_from([40, 55, 69.5])), "cap band": draw(st.sampled_from(["Red", "Amber"])),
              "set band": draw(st.sampled_from(list(c.BANDS)))}[effect]
        if when == "Plan":
            compare, value = draw(st.sampled_from(["=", "<>"])), "pro"
        elif when == "Days":
            compare, value = draw(st.sampled_from(c.COMPARISONS)), draw(st.sampled_from([30, 60]))
        else:
            compare = draw(st.sampled_from(c.COMPARISONS))
            value = draw(st.sampled_from([40, 50, 70, "Red", "Amber", "Green"]))
        rules.append([f"rule {j} '{when}'", when, compare, value, effect, to])
    if rules:
        tables[c.RULES] = table(c.RULES, RULE_HEADER, rules)
    overrides = []
    for _ in range(draw(st.integers(0, 4))):
        account = draw(st.sampled_from(ids + ["ghost"]))
        level = draw(st.sampled_from(["overall", "category", "metric"]))
        target = {"overall": "", "category": draw(st.sampled_from(categories)), "metric": draw(st.sampled_from(names))}[level]
        band_only = level == "overall" and draw(st.booleans())
        overrides.append(override_row(account, level, target, score="" if band_only else draw(st.sampled_from([1, 50.5, 90])),
                                      band=draw(st.sampled_from(list(c.BANDS))) if band_only else "",
                                      reason="it's agreed", author="O'Neil",
                                      expires=draw(st.sampled_from([AS_OF, AS_OF - dt.timedelta(days=1),
                                                                    dt.date(2099, 1, 1)]))))
    if overrides:
        tables[c.OVERRIDES] = table(c.OVERRIDES, [col.header for col in c.OVERRIDE_COLUMNS], overrides)
    return tables


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scorecards())
def test_random_scorecards_score_the_same_in_duckdb(tables):
    try:
        p = prepare(dict(tables))
    except ConfigError:
        assume(False)
    assert_same(duckdb_scores(p, tables.get(c.HISTORY)), expected(p))


@pytest.mark.spark
@pytest.mark.parametrize("make_tables", [pytest.param(lambda: rich_tables(), id="every rule and override"),
                                         pytest.param(lambda: logged_tables(), id="metrics read from Metric History")])
def test_the_rich_and_the_logged_scorecards_score_the_same_on_spark(make_tables, spark, tmp_path):
    tables = make_tables()
    p = prepare(dict(tables))
    assert_same(spark_scores(spark, tmp_path, p, tables[c.HISTORY]), expected(p))
