"""The explaining queries (chs_excel.sql.explain) give what the pandas code gives, cell for cell.

The ``scores`` table is built from the pandas engine's own result (the column contract of
chs_excel/sql/scores.py), so these tests check the explaining SQL alone: points lost, Drivers,
benchmark, gap, playbook, the Benchmark Gap list and the Distribution counts, against
chs_excel.core.explain, chs_excel.analysis.targets, chs_excel.sheets.gap and chs_excel.sheets.distribution.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chs_excel import contract as c
from chs_excel.analysis.targets import (benchmark_targets, category_points, match_benchmarks, select_playbooks,
                                        top_names)
from chs_excel.config.model import Benchmark, Playbook
from chs_excel.core.explain import driver_text, points_lost, rounded, shown_overall
from chs_excel.sheets.distribution import distribution_sheet
from chs_excel.sheets.gap import gap_sheet
from chs_excel.sql.explain import pairwise_sum, report_sql, sequential_sum

duckdb = pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "saas_churn" / "saas_churn.xlsx"


def prepared_book(path: Path):
    from chs_excel.files.reader import FileBookReader
    from chs_excel.pipeline import prepare
    with FileBookReader(path) as reader:
        return prepare(reader)


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory) -> Path:
    from chs_excel.demo.template import write_template
    return write_template(tmp_path_factory.mktemp("demo") / "demo.xlsx")


@pytest.fixture(scope="module")
def demo(demo_book):
    return prepared_book(demo_book)


@pytest.fixture(scope="module")
def example():
    return prepared_book(EXAMPLE)


def tables(config, result, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``scores`` table of the column contract, from the pandas result, and the ``accounts`` labels."""
    _, band = shown_overall(config, result)
    scores = pd.DataFrame({"account_id": result.overall.index.astype(str)})
    for k, m in enumerate(config.metrics):
        scores[f"m_{k}"] = result.metric_scores[m.name].to_numpy(dtype=float)
    for g, cat in enumerate(config.categories):
        scores[f"c_{g}"] = result.category_scores[cat.name].to_numpy(dtype=float)
    scores["overall"] = result.overall.to_numpy(dtype=float)
    scores["band"] = band.replace("", None).to_numpy(dtype=object)
    accounts = pd.DataFrame({c.ACCOUNT_ID: result.overall.index.astype(str)})
    for col in c.ACCOUNT_COLUMNS[1:]:
        accounts[config.segment_column if col == "Segment" else col] = \
            labels[col].reindex(result.overall.index).to_numpy(dtype=object) if col in labels else ""
    return scores, accounts


def run(config, scores: pd.DataFrame, accounts: pd.DataFrame, spark=None) -> dict[str, pd.DataFrame]:
    """Every query of report_sql on DuckDB (or on ``spark``, transpiled) over these tables."""
    if spark is not None:
        return run_spark(config, scores, accounts, spark)
    con = duckdb.connect()
    con.register("scores_frame", scores)
    con.register("accounts_frame", accounts)
    # Typed as the contract says (a pandas object column of None would register as INTEGER)
    casts = ", ".join(f'CAST("{col}" AS {"VARCHAR" if col in ("account_id", "band") else "DOUBLE"}) AS "{col}"'
                      for col in scores.columns)
    con.execute(f"CREATE TABLE scores AS SELECT {casts} FROM scores_frame")
    labels = ", ".join(f'CAST("{col}" AS VARCHAR) AS "{col}"' for col in accounts.columns)
    con.execute(f"CREATE TABLE accounts AS SELECT {labels} FROM accounts_frame")
    out = {key: con.execute(sql).df() for key, sql in report_sql(config, dt.date(2026, 1, 1)).items()}
    con.close()
    return out


def run_spark(config, scores: pd.DataFrame, accounts: pd.DataFrame, spark) -> dict[str, pd.DataFrame]:
    from pyspark.sql import types as T
    try:
        from chs_excel.sql.run import spark_sql
    except ImportError:  # the runner not there yet: SQLGlot as it is
        import sqlglot

        def spark_sql(sql):
            return sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    text_columns = {"account_id", "band", *accounts.columns}
    for view, frame in (("scores", scores), ("accounts", accounts)):
        schema = T.StructType([T.StructField(col, T.StringType() if col in text_columns else T.DoubleType())
                               for col in frame.columns])
        rows = [[None if v is None or (isinstance(v, float) and np.isnan(v)) else  # NaN: NULL, not Spark's NaN
                 (float(v) if col not in text_columns else str(v)) for col, v in zip(frame.columns, row)]
                for row in frame.itertuples(index=False)]
        spark.createDataFrame(rows, schema).createOrReplaceTempView(view)
    return {key: spark.sql(spark_sql(sql)).toPandas() for key, sql in report_sql(config, dt.date(2026, 1, 1)).items()}


def expected(config, result, labels) -> dict:
    """What the pandas code gives (as chs_excel.sheets.report.build_report calls it)."""
    overall, band = shown_overall(config, result)
    categories = pd.DataFrame({cat.name: rounded(result.category_scores[cat.name]) for cat in config.categories},
                              index=overall.index)
    lost = points_lost(config, result.metric_scores)
    info = {col: (labels[col].reindex(overall.index) if col in labels else pd.Series("", index=overall.index))
            for col in ("Segment", "Stage")}
    chosen = match_benchmarks(config, info["Segment"], info["Stage"])
    playbook = select_playbooks(config, band, info["Stage"], top_names(category_points(config, lost)),
                                top_names(lost))
    gap_rows, _, summary = gap_sheet(config, labels, overall, band, categories, lost, dt.date(2026, 1, 1))
    dist, _ = distribution_sheet(config, labels, overall, band, categories, dt.date(2026, 1, 1))
    return dict(overall=overall, band=band, lost=lost, drivers=driver_text(lost), chosen=chosen,
                target=benchmark_targets(config, chosen), playbook=playbook, gap=gap_rows, summary=summary,
                dist=dist.frame)


def same_numbers(got, want, exact: bool = False):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    if exact:
        assert np.array_equal(got[~np.isnan(got)], want[~np.isnan(want)])
    else:
        np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=0, atol=1e-9)


def texts(values) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def check(config, result, labels, spark=None):
    """Every query against the pandas code."""
    scores, accounts = tables(config, result, labels)
    got = run(config, scores, accounts, spark)
    want = expected(config, result, labels)
    ids = result.overall.index.astype(str)

    points = got["points"].set_index("account_id").reindex(ids)
    for k, m in enumerate(config.metrics):  # the same arithmetic in the same order: equal to the bit
        same_numbers(points[f"p_{k}"], want["lost"][m.name], exact=True)

    drivers = got["drivers"].set_index("account_id").reindex(ids)
    assert texts(drivers["drivers"]) == want["drivers"].tolist()

    explain = got["explain"].set_index("account_id").reindex(ids)
    same_numbers(explain["overall"], want["overall"])
    assert texts(explain["band"]) == texts(want["band"].replace("", None))
    assert texts(explain["drivers"]) == want["drivers"].tolist()
    same_numbers(explain["benchmark"], want["target"])
    same_numbers(explain["gap"], want["overall"] - want["target"])
    books = config.playbooks
    picks = want["playbook"].to_numpy()
    assert texts(explain["playbook"]) == [books[k].name if k >= 0 else "" for k in picks]
    assert texts(explain["actions"]) == [books[k].actions if k >= 0 else "" for k in picks]
    assert texts(explain["owner"]) == [books[k].owner if k >= 0 else "" for k in picks]
    assert [None if pd.isna(v) else v for v in explain["playbook_link"]] == [(books[k].link or books[k].location) if k >= 0 else None
                                                 for k in picks]

    gap, rows = got["benchmark_gap"], want["gap"]
    assert len(gap) == len(rows)
    for col in rows.columns:
        if col in ("Overall", "Benchmark", "Gap"):
            same_numbers(gap[col], rows[col])
        else:
            assert texts(gap[col]) == texts(rows[col]), col
    summary = got["gap_summary"].iloc[0].to_dict()
    assert {k: int(v) for k, v in summary.items()} == want["summary"]

    dist, frame = got["distribution"], want["dist"]
    assert list(dist.columns) == [col for col in frame.columns if col != "Warning"]
    for col in dist.columns:
        if col.endswith("%"):
            same_numbers(dist[col], frame[col])
        elif col in ("Level", "Group"):
            assert texts(dist[col]) == texts(frame[col]), col
        else:
            assert dist[col].astype(int).tolist() == frame[col].astype(int).tolist(), col
    return got, want


def test_demo(demo):
    got, want = check(demo.config, demo.result, demo.labels)
    assert len(got["benchmark_gap"]) > 0 and (want["playbook"] >= 0).any()  # the demo exercises both


def test_example_2000_accounts(example):
    got, want = check(example.config, example.result, example.labels)
    assert len(got["points"]) == 2000 and got["drivers"]["drivers"].str.len().gt(0).sum() > 1000


def test_example_with_benchmarks_and_playbooks(example):
    """The example has neither: give it some, spelled as people do (case, spaces), over its segments and stages."""
    config = example.config
    cats = [cat.name for cat in config.categories]
    metric = config.metrics[2].name
    benchmarks = (Benchmark(None, None, 55.0, location="Benchmarks!A2"),
                  Benchmark("11-50", None, 70.0, {cats[0]: 65.0}, location="Benchmarks!A3"),
                  Benchmark(" 51-100", "adopt ", 75.5, {cats[0]: 80.0, cats[-1]: 70.0}, location="Benchmarks!A4"),
                  Benchmark(None, "Optimize", 66.0, {cats[1]: 72.5}, location="Benchmarks!A5"),
                  Benchmark("101-250", "OPTIMIZE", 64.0, location="Benchmarks!A6"))
    playbooks = (Playbook("Rescue", "Call the sponsor", band="red", owner="CSM lead", location="Playbooks!A2"),
                 Playbook("Adoption push", "Run a training", band="Amber", category=cats[0].upper(),
                          link="https://example.com/adoption", location="Playbooks!A3"),
                 Playbook(f"Fix {metric}", "Look at it", metric=f" {metric.lower()}", location="Playbooks!A4"),
                 Playbook("Optimize it", "Review the plan", stage="optimize", band="Amber", location="Playbooks!A5"))
    config = dataclasses.replace(config, benchmarks=benchmarks, playbooks=playbooks)
    got, want = check(config, example.result, example.labels)
    picked = set(want["playbook"].tolist())
    assert {0, 1, 2, 3} <= picked and len(got["benchmark_gap"]) > 100
    assert got["benchmark_gap"]["Categories below target"].str.len().gt(0).sum() > 10


@pytest.mark.parametrize("book", ["demo", "example"])
def test_over_the_sql_scores(book, demo, demo_book, example):
    """End to end in DuckDB: chs_excel.sql.scores' query makes ``scores``, these queries explain it."""
    try:
        from test_scores_sql import typed_accounts, typed_history

        from chs_excel.sql.scores import scores_sql
    except ImportError as exc:  # the scores query (another part of the work) not there
        pytest.skip(f"no scores query: {exc}")
    import pyarrow as pa

    p = {"demo": demo, "example": example}[book]
    accounts = typed_accounts(p)
    for col in ("Account name", "Segment", "Stage", "CSM"):
        column = p.config.segment_column if col == "Segment" else col
        if column not in accounts.column_names:
            accounts = accounts.append_column(column, pa.array(p.labels[col].tolist(), pa.string()))
    con = duckdb.connect()
    con.register("accounts", accounts)
    history = None
    if book == "demo":
        from chs_excel.files.reader import FileBookReader
        with FileBookReader(demo_book) as reader:
            from chs_excel.sql.run import logs_labels  # CSM sentiment is logged there: Value is text
            history = typed_history(reader.read_table(c.HISTORY), logs_labels(p.config))
        con.register("history", history)
    con.execute(f"CREATE TABLE scores AS {scores_sql(p.config, p.as_of, history_order='Row')}")
    got = {key: con.execute(sql).df() for key, sql in report_sql(p.config, p.as_of).items()}
    want = expected(p.config, p.result, p.labels)
    drivers = got["drivers"].set_index("account_id")["drivers"].reindex(p.result.overall.index)
    assert texts(drivers) == want["drivers"].tolist()
    gap = got["benchmark_gap"]
    for col in want["gap"].columns:
        if col in ("Overall", "Benchmark", "Gap"):
            same_numbers(gap[col], want["gap"][col])
        else:
            assert texts(gap[col]) == texts(want["gap"][col]), col
    for col in ("Red", "Amber", "Green", "No score"):
        assert got["distribution"][col].tolist() == want["dist"][col].tolist()


def test_absent_label_columns_read_blank(demo):
    """An accounts table without Segment and CSM: they read '' (as account_labels gives them), so only the
    benchmarks for any segment apply and Distribution has no segment rows."""
    config, result = demo.config, demo.result
    scores, accounts = tables(config, result, demo.labels)
    accounts = accounts.drop(columns=[config.segment_column, "CSM"])
    con = duckdb.connect()
    con.register("scores", scores)
    con.register("accounts", accounts)
    queries = report_sql(config, demo.as_of, columns=list(accounts.columns))
    gap = con.execute(queries["benchmark_gap"]).df()
    dist = con.execute(queries["distribution"]).df()
    labels = demo.labels.drop(columns=["Segment", "CSM"])
    want = expected(config, result, labels)
    assert texts(gap[c.ACCOUNT_ID]) == texts(want["gap"][c.ACCOUNT_ID])
    assert set(gap["Segment"]) <= {""} and set(gap["CSM"]) <= {""}
    assert "Segment" not in set(dist["Level"]) and dist["Red"].tolist() == want["dist"]["Red"].tolist()


def test_hand_computed_drivers_and_points():
    """Two metrics in one category, one in another: worked out by hand."""
    from helpers import metric_row, simple_tables

    from chs_excel.config import config_from_tables
    from chs_excel.core.engine import ScoringInput, score
    config = config_from_tables(simple_tables(categories=[["A", 3], ["B", 1]], metrics=[
        metric_row("Alpha", "A", 1, "range", "N1", low=0, high=100),
        metric_row("Beta", "A", 1, "range", "N2", low=0, high=100),
        metric_row("Gamma", "B", 1, "range", "N3", low=0, high=100),
    ], settings=[["Minimum coverage", 0]]))
    frame = pd.DataFrame({"N1": [50.0, np.nan], "N2": [50.0, 20.0], "N3": [100.0, 99.0]}, index=["X1", "X2"])
    result = score(config, ScoringInput(frame, dt.date(2026, 1, 1)))
    scores, accounts = tables(config, result, pd.DataFrame(index=result.overall.index))
    got = run(config, scores, accounts)
    points = got["points"].set_index("account_id")
    m = result.metric_scores  # the linear map of 0..100 onto 1..100: 50 -> 50.5
    # X1: category A holds 3/4 of the weight, each of its metrics half of that: 3/8 x (100 - 50.5)
    assert points.loc["X1", "p_0"] == pytest.approx(3 / 8 * (100 - m.loc["X1", "Alpha"]), abs=1e-12)
    assert points.loc["X1", "p_2"] == pytest.approx(1 / 4 * (100 - m.loc["X1", "Gamma"]), abs=1e-12)
    # X2: Alpha has no score, so Beta carries all of A's 3/4
    assert points.loc["X2", "p_0"] == 0
    assert points.loc["X2", "p_1"] == pytest.approx(3 / 4 * (100 - m.loc["X2", "Beta"]), abs=1e-12)
    drivers = got["drivers"].set_index("account_id")["drivers"]
    beta = 3 / 4 * (100 - m.loc["X2", "Beta"])
    gamma = 1 / 4 * (100 - m.loc["X2", "Gamma"])  # under 0.5: not named
    assert gamma < 0.5
    assert drivers["X2"] == f"Beta -{int(np.floor(beta + 0.5))}"
    # Alpha and Beta tie in X1: the first listed comes first
    assert drivers["X1"].startswith("Alpha -19, Beta -19")


def test_many_metrics_with_ties():
    """18 metrics (driver_text sorts each row past 16) scoring a few values, so many points lost tie."""
    from helpers import metric_row, simple_tables

    from chs_excel.config import config_from_tables
    from chs_excel.core.engine import ScoringInput, score
    config = config_from_tables(simple_tables(categories=[["A", 2], ["B", 1], ["C", 1]], metrics=[
        metric_row(f"M{k}", "ABC"[k % 3], 1 + k % 2, "range", f"N{k}", low=0, high=100) for k in range(18)
    ], settings=[["Minimum coverage", 0]]))
    rng = np.random.default_rng(3)
    values = rng.choice([np.nan, 0.0, 10.0, 50.0, 100.0], size=(300, 18))
    frame = pd.DataFrame(values, columns=[f"N{k}" for k in range(18)], index=[f"X{i:03d}" for i in range(300)])
    result = score(config, ScoringInput(frame, dt.date(2026, 1, 1)))
    labels = pd.DataFrame({"Segment": ["S"] * 300, "Stage": [""] * 300}, index=frame.index)
    config = dataclasses.replace(config, benchmarks=(Benchmark(None, None, 60.0, {"B": 50.0}),),
                                 playbooks=(Playbook("P", "x", metric="M5"), Playbook("Q", "y", category="b")))
    got, want = check(config, result, labels)
    assert (want["playbook"] >= 0).sum() > 10


def test_sums_in_numpys_order():
    rng = np.random.default_rng(7)
    for width in (1, 2, 3, 7, 8, 9, 16, 17, 40, 130, 300):
        values = rng.random((200, width)) * rng.integers(1, 9, width)
        con = duckdb.connect()
        con.register("v", pd.DataFrame(values, columns=[f"x{k}" for k in range(width)]))
        names = [f"x{k}" for k in range(width)]
        pair = con.execute(f"SELECT {pairwise_sum(names)} FROM v").fetchnumpy()
        seq = con.execute(f"SELECT {sequential_sum(names)} FROM v").fetchnumpy()
        assert np.array_equal(next(iter(pair.values())), values.sum(axis=1))
        assert np.array_equal(next(iter(seq.values())), pd.DataFrame(values).sum(axis=1).to_numpy())
        con.close()


def test_spark_transpiles(demo):
    """Every query transpiles to Spark's dialect without a function SQLGlot cannot carry over."""
    sqlglot = pytest.importorskip("sqlglot")
    for key, sql in report_sql(demo.config, demo.as_of).items():
        spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
        assert len(spark) == 1, key


@pytest.mark.spark
def test_demo_on_spark(demo, spark):
    """The demo on Spark (the queries transpiled), with a playbook whose texts need escaping in Spark's dialect."""
    check(demo.config, demo.result, demo.labels, spark)
    odd = Playbook("Back\\slash 'quoted' \"double\"", "Line one\nline two; 100% \\n", band="Red",
                   location="Playbooks!A9")
    config = dataclasses.replace(demo.config, playbooks=(odd, *demo.config.playbooks))
    got, want = check(config, demo.result, demo.labels, spark)
    assert (want["playbook"] == 0).any()


# ---------------------------------------------------------------- random scorecards


NAMES = st.sampled_from(["Seg A", "seg a ", "Enterprise", "SMB", "", None, "Straße", "STRASSE"])
STAGES = st.sampled_from(["Onboard", "onboard", "Adopt", "Renew", "", None])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_scorecards(data):
    """Random scores (with ties and gaps), labels, benchmarks and playbooks: SQL equals pandas."""
    from helpers import metric_row, simple_tables

    from chs_excel.config import config_from_tables
    from chs_excel.core.engine import ScoringInput, score
    n_cats = data.draw(st.integers(1, 3))
    n_metrics = data.draw(st.integers(n_cats, 6))  # each category needs a metric
    cats = [[f"C{g}", data.draw(st.sampled_from([1, 2, 3, 0.3, 0.7]))] for g in range(n_cats)]
    metrics = [metric_row(f"M{k}", f"C{k % n_cats}", data.draw(st.sampled_from([1, 2, 0.1, 0.2, 5])), "range",
                          f"N{k}", low=0, high=data.draw(st.sampled_from([10, 100, 3]))) for k in range(n_metrics)]
    config = config_from_tables(simple_tables(categories=cats, metrics=metrics, settings=[["Minimum coverage", 0]]))
    n = data.draw(st.integers(1, 30))
    value = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, 5.0, 50.0, 100.0]), st.floats(0, 100))
    frame = pd.DataFrame({f"N{k}": [data.draw(value) for _ in range(n)] for k in range(n_metrics)},
                         index=[f"A{i:03d}" for i in range(n)], dtype=float)
    result = score(config, ScoringInput(frame, dt.date(2026, 1, 1)))
    labels = pd.DataFrame({"Account name": [f"Name {i}" for i in range(n)],
                           "Segment": [(data.draw(NAMES) or "").strip() for _ in range(n)],
                           "Stage": [(data.draw(STAGES) or "").strip() for _ in range(n)],
                           "CSM": ["Ana"] * n}, index=frame.index)
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    benchmarks = tuple(Benchmark(data.draw(maybe(NAMES.filter(bool))), data.draw(maybe(STAGES.filter(bool))),
                                 data.draw(st.sampled_from([40.0, 60.0, 72.3, 101.0])),
                                 {f"C{g}": 70.0 for g in range(n_cats) if data.draw(st.booleans())},
                                 location=f"Benchmarks!A{k + 2}")
                       for k in range(data.draw(st.integers(0, 4))))
    playbooks = tuple(Playbook(f"Play {k}", f"Do 'this' {k}", band=data.draw(maybe(st.sampled_from(["Red", "amber",
                                                                                                      " Green"]))),
                               category=data.draw(maybe(st.sampled_from([f"c{g}" for g in range(n_cats)]))),
                               metric=data.draw(maybe(st.sampled_from([f"M{k}" for k in range(n_metrics)]))),
                               stage=data.draw(maybe(STAGES.filter(bool))), owner=data.draw(st.sampled_from(["", "Bo"])),
                               link=data.draw(st.sampled_from(["", "https://x.example/p"])),
                               location=f"Playbooks!A{k + 2}")
                      for k in range(data.draw(st.integers(0, 4))))
    config = dataclasses.replace(config, benchmarks=benchmarks, playbooks=playbooks)
    check(config, result, labels)
