"""chs_excel.sql.run: the engines, reading Parquet/CSV/DuckDB inputs, the Parquet outputs, ``chs-excel score``.

The plumbing tests run toy queries written here (they check reading, typing, ordering, rounding for show and
writing, not scoring). The end-to-end tests run the compiled scorecard (chs_excel.sql.scores and .explain) from
files and compare every cell of what ``chs-excel score`` writes with the pandas engine's sheets for the same
workbook: the demo and the example on DuckDB, the demo on Spark.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from chs_excel import contract as c
from chs_excel.cli import main
from chs_excel.config.model import Bands, Category, HealthConfig, Metric, Rule
from chs_excel.problems import ConfigError
from chs_excel.sql.run import (DuckDBEngine, SparkEngine, Source, accounts_sql, history_sql, load_inputs,
                               score_loaded, spark_sql)

AS_OF = dt.date(2026, 11, 15)


def toy_config() -> HealthConfig:
    """Two metrics in one category and a rule column: enough columns for the plumbing."""
    metrics = (Metric("Usage", "Product", 50.0, "threshold", "Seats used", cut_points=(10.0,), scores=(20.0, 80.0)),
               Metric("Mood", "Product", 50.0, "categorical", "Sentiment", labels={"green": 100.0, "red": 0.0}))
    rule = Rule("Logins", "Days idle", "column", ">", 60.0, "cap score", 40.0)
    return HealthConfig(categories=(Category("Product", 100.0),), metrics=metrics, rules=(rule,), bands=Bands())


def toy_queries():
    """NOT the scorecard: a query shaped like scores_sql's result (the column contract), whose overall is the
    "Seats used" column as typed, so that the tests know every output value by hand."""
    scores = ('SELECT "Account ID" AS account_id, "Seats used" AS m_0, CAST(NULL AS DOUBLE) AS m_1, '
              '"Seats used" AS c_0, "Seats used" AS overall, 1.0 AS coverage, \'\' AS status, '
              "CASE WHEN \"Seats used\" IS NULL THEN NULL WHEN FLOOR(ROUND(\"Seats used\", 9) + 0.5) < 40 THEN 'Red' "
              "WHEN FLOOR(ROUND(\"Seats used\", 9) + 0.5) < 70 THEN 'Amber' ELSE 'Green' END AS band, "
              "'' AS missing, '' AS override, '' AS rule FROM accounts")
    return scores, {}


def write_toy_csv(path):
    # IDs with spaces around, a blank ID, text in a number column, a number in a text column, a stray word
    path.write_text("Account ID,Account name,Segment,Seats used,Sentiment,Days idle,Extra\n"
                    " A2 ,Two,SMB,69.5,green,3,x\n"
                    "A1,One,SMB,50.49999999999999,red,90,y\n"
                    ",Nobody,SMB,12,red,1,z\n"
                    "A3,Three,,n/a,7,5,w\n"
                    "A4,Four,MM,39.4,,,v\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------------- sources


@pytest.mark.parametrize("text, kind, path, table", [
    ("accounts.parquet", "parquet", "accounts.parquet", None),
    ("data/accounts/*.parquet", "parquet", "data/accounts/*.parquet", None),
    ("data/accounts", "parquet", "data/accounts", None),
    ("Accounts.CSV", "csv", "Accounts.CSV", None),
    ("crm.duckdb:accounts", "duckdb", "crm.duckdb", "accounts"),
    (r"C:\data\crm.duckdb:main.accounts", "duckdb", r"C:\data\crm.duckdb", "main.accounts"),
    (r"C:\data\accounts.parquet", "parquet", r"C:\data\accounts.parquet", None),
])
def test_source_parse(text, kind, path, table):
    assert Source.parse(text) == Source(kind, path, table)


def test_a_database_without_a_table_is_refused():
    with pytest.raises(ValueError, match="crm.duckdb:TABLE"):
        Source.parse("crm.duckdb")


# ---------------------------------------------------------------------------------------------------- SQL


def test_spark_sql_quotes_and_renames_functions():
    sql = spark_sql('SELECT ROUND_EVEN("Seats used", 1) AS "a b", TRY_CAST(x AS DOUBLE), CAST(y AS VARCHAR) FROM t')
    assert sql == "SELECT BROUND(`Seats used`, 1) AS `a b`, TRY_CAST(x AS DOUBLE), CAST(y AS STRING) FROM t"


def test_accounts_are_typed_by_the_scorecard(tmp_path):
    write_toy_csv(tmp_path / "a.csv")
    engine = DuckDBEngine()
    try:
        load_inputs(engine, toy_config(), Source.parse(tmp_path / "a.csv"))
        rows = engine.arrow('SELECT * FROM accounts ORDER BY "Account ID"').to_pylist()
        types = dict(engine.con.execute("SELECT column_name, column_type FROM (DESCRIBE accounts)").fetchall())
        empty_history = engine.arrow("SELECT COUNT(*) AS n FROM history").to_pylist()[0]["n"]
    finally:
        engine.close()
    assert [r["Account ID"] for r in rows] == ["A1", "A2", "A3", "A4"]  # trimmed; the blank ID left out
    assert [r["Seats used"] for r in rows] == [50.49999999999999, 69.5, None, 39.4]  # "n/a" is missing
    assert [r["Sentiment"] for r in rows] == ["red", "green", "7", None]
    assert [r["Days idle"] for r in rows] == [90.0, 3.0, 5.0, None]
    assert [r["Stage"] for r in rows] == [None] * 4  # a label column the file lacks reads blank
    assert [r["Extra"] for r in rows] == ["y", "x", "w", "v"]  # other columns pass through
    assert types["Seats used"] == "DOUBLE" and types["Sentiment"] == "VARCHAR" and types["Days idle"] == "DOUBLE"
    assert empty_history == 0


def test_a_missing_column_and_duplicate_ids_are_config_errors(tmp_path):
    (tmp_path / "a.csv").write_text("Account ID,Seats used,Days idle\nA1,1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match='"Sentiment" is not a column'):
        accounts_sql(toy_config(), ["Account ID", "Seats used", "Days idle"], "accounts_source")
    (tmp_path / "b.csv").write_text("Account ID,Seats used,Sentiment,Days idle\nA1,1,red,2\nA1,3,red,4\n"
                                    "A2,1,red,1\n", encoding="utf-8")
    engine = DuckDBEngine()
    try:
        with pytest.raises(ConfigError, match=r'"A1" \(2 rows\)'):
            load_inputs(engine, toy_config(), Source.parse(tmp_path / "b.csv"))
    finally:
        engine.close()


def test_history_is_typed_and_must_have_its_columns():
    sql = history_sql(["account id", "Period", "Column", "Value"], "h")
    assert 'TRIM(CAST("account id" AS VARCHAR)) AS "Account ID"' in sql and 'TRY_CAST("Value" AS DOUBLE)' in sql
    with pytest.raises(ConfigError, match="Value"):
        history_sql(["Account ID", "Period", "Column"], "h")


def test_history_value_stays_text_when_labels_are_logged_and_numbers_read_back_exactly(tmp_path):
    """A categorical metric reading Metric History needs Value as text; numbers stored as DOUBLE go through the
    text and come back as the same doubles."""
    from chs_excel.core.measures import linear
    from chs_excel.sql.run import logs_labels
    from chs_excel.sql.scores import scores_sql

    assert 'CAST("Value" AS VARCHAR) AS "Value"' in history_sql(["Account ID", "Period", "Column", "Value"], "h",
                                                                labels=True)
    metrics = (Metric("Level", "P", 1.0, "range", "Level", low=0.0, high=0.7, read_from="history"),
               Metric("Mood", "P", 1.0, "categorical", "Mood", labels={"Green": 100.0}, read_from="history"))
    config = HealthConfig(categories=(Category("P", 1.0),), metrics=metrics, bands=Bands())
    assert logs_labels(config)
    (tmp_path / "a.csv").write_text("Account ID\nA1\nA2\n", encoding="utf-8")
    level = 0.1 + 0.2  # 0.30000000000000004: its shortest text must give it back
    pd.DataFrame({"Account ID": ["A1", "A1", "A2"], "Period": pd.to_datetime(["2026-10-01", "2026-11-01", "2026-11-01"]),
                  "Column": ["Level", "level ", "Level"], "Value": [0.9, level, 1 / 3]}).to_parquet(tmp_path / "h.parquet")
    engine = DuckDBEngine()
    try:
        load_inputs(engine, config, Source.parse(tmp_path / "a.csv"), Source.parse(tmp_path / "h.parquet"))
        types = dict(engine.con.execute("SELECT column_name, column_type FROM (DESCRIBE history)").fetchall())
        got = engine.arrow(scores_sql(config, AS_OF) + " ORDER BY account_id").to_pylist()
    finally:
        engine.close()
    assert types["Value"] == "VARCHAR"
    assert [row["m_0"] for row in got] == linear([level, 1 / 3], 0.0, 0.7).tolist()  # the latest entries
    assert [row["m_1"] for row in got] == [None, None]  # no Mood entry


# ---------------------------------------------------------------------------------------------------- plumbing


def _toy_run(engine, tmp_path, source):
    load_inputs(engine, toy_config(), source)
    return score_loaded(engine, toy_config(), AS_OF, tmp_path / "out", queries=toy_queries())


def _check_toy_scores(frame: pd.DataFrame):
    # lowest overall first (blanks last), then by ID; shown halves up after settling to 9 decimals:
    # 39.4 -> 39, 50.49999999999999 -> 50.5 -> 51, 69.5 -> 70
    assert frame[c.ACCOUNT_ID].tolist() == ["A4", "A1", "A2", "A3"]
    assert frame["Overall"].tolist()[:3] == [39.0, 51.0, 70.0] and math.isnan(frame["Overall"].iloc[3])
    assert frame["Band"].tolist()[:3] == ["Red", "Amber", "Green"]
    assert frame["Segment"].tolist() == ["MM", "SMB", "SMB", ""] and frame["Stage"].tolist() == [""] * 4
    assert list(frame.columns) == [c.ACCOUNT_ID, "Account name", "Segment", "Stage", "CSM", "Overall", "Band",
                                   "Benchmark", "Change", "Band drop", "Coverage", "Status", "Product", "Drivers",
                                   "Missing data", "Override", "Rule", "Usage", "Mood"]


def test_duckdb_reads_csv_parquet_and_a_database_table_and_writes_parquet(tmp_path):
    write_toy_csv(tmp_path / "a.csv")
    con = duckdb.connect(str(tmp_path / "crm.duckdb"))
    con.execute(f"CREATE TABLE accts AS SELECT * FROM read_csv('{tmp_path / 'a.csv'}', all_varchar = true)")
    con.execute(f"COPY accts TO '{tmp_path / 'a.parquet'}' (FORMAT parquet)")
    con.close()
    for source in ("a.csv", "a.parquet", "crm.duckdb:accts"):
        engine = DuckDBEngine(memory_limit="500MB")
        try:
            run = _toy_run(engine, tmp_path, Source.parse(f"{tmp_path}/{source}"))
        finally:
            engine.close()
        assert (run.accounts, run.bands, run.no_score) == (4, {"Red": 1, "Amber": 1, "Green": 1}, 1)
        _check_toy_scores(pq.read_table(run.files["scores"]).to_pandas())
        snap = pq.read_table(run.files["snapshot"]).to_pandas().sort_values(c.ACCOUNT_ID)
        assert snap[c.ACCOUNT_ID].tolist() == ["A1", "A2", "A3", "A4"]
        assert snap["Usage"].tolist()[:2] == [50.5, 69.5] and snap["As-of date"].tolist()[0] == AS_OF


def test_previous_snapshot_gives_change_and_band_drop(tmp_path):
    write_toy_csv(tmp_path / "a.csv")
    pd.DataFrame({c.ACCOUNT_ID: ["A1", "A2", "A4"], "Overall": [80.0, 60.0, 39.0],
                  "Band": ["Green", "Amber", "Red"]}).to_parquet(tmp_path / "prev.parquet")
    engine = DuckDBEngine()
    try:
        load_inputs(engine, toy_config(), Source.parse(tmp_path / "a.csv"))
        run = score_loaded(engine, toy_config(), AS_OF, tmp_path / "out", queries=toy_queries(),
                           previous=Source.parse(tmp_path / "prev.parquet"))
    finally:
        engine.close()
    frame = pq.read_table(run.files["scores"]).to_pandas().set_index(c.ACCOUNT_ID)
    assert frame.loc[["A1", "A2", "A4"], "Change"].tolist() == [51.0 - 80.0, 70.0 - 60.0, 0.0]
    assert math.isnan(frame.loc["A3", "Change"])
    assert frame["Band drop"].to_dict() == {"A4": "", "A1": "Green → Amber", "A2": "", "A3": ""}


@pytest.mark.spark
def test_spark_runs_the_same_plumbing(tmp_path, spark):
    write_toy_csv(tmp_path / "a.csv")
    pd.read_csv(tmp_path / "a.csv", dtype=str).to_parquet(tmp_path / "a.parquet")
    engine = SparkEngine(spark=spark)
    for source in ("a.csv", "a.parquet"):
        run = _toy_run(engine, tmp_path / source.replace(".", "_"), Source.parse(f"{tmp_path}/{source}"))
        assert (run.accounts, run.bands, run.no_score) == (4, {"Red": 1, "Amber": 1, "Green": 1}, 1)
        _check_toy_scores(pq.read_table(run.files["scores"]).to_pandas())


# ---------------------------------------------------------------------------------------------------- end to end


def _pandas_sheets(book):
    """The sheets a refresh of ``book`` writes (the pandas engine), by name, and its as-of date."""
    from chs_excel.files.reader import FileBookReader
    from chs_excel.pipeline import refresh

    with FileBookReader(book) as reader:
        summary = refresh(reader, None)
    return {sheet.name: sheet.frame for sheet in summary.report.sheets if hasattr(sheet, "frame")}, summary.as_of


def _read(path) -> pd.DataFrame:
    import pyarrow.dataset as ds
    return ds.dataset(str(path), format="parquet").to_table().to_pandas()  # a file, or Spark's folder of parts


def _blank(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def assert_same_cells(expected: pd.DataFrame, got: pd.DataFrame, what: str):
    """Same columns in the same order, same rows in the same order, numbers within 1e-9, texts equal."""
    assert list(got.columns) == list(expected.columns), what
    assert len(got) == len(expected), what
    wrong = []
    for col in expected.columns:
        for i, (want, have) in enumerate(zip(expected[col].tolist(), got[col].tolist())):
            if _blank(want) and _blank(have):
                continue
            numbers = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in (want, have))
            if numbers and not _blank(want) and not _blank(have) and abs(float(want) - float(have)) <= 1e-9:
                continue
            if not numbers and want == have:
                continue
            wrong.append(f"{what} row {i} ({expected.iloc[i, 0]}) {col!r}: pandas {want!r}, SQL {have!r}")
    assert not wrong, "\n".join(wrong[:30])


def assert_like_the_workbook(book, out: Path):
    """Every Parquet file ``chs-excel score`` wrote holds what the pandas engine's sheets show, cell for cell."""
    from chs_excel.analysis.history import sheet_name

    sheets, as_of = _pandas_sheets(book)
    assert_same_cells(sheets[c.SCORES].reset_index(drop=True), _read(out / "scores.parquet"), "Scores")
    gap = _read(out / "benchmark_gap.parquet")
    assert "Playbook link" in gap
    assert_same_cells(sheets[c.GAP].reset_index(drop=True), gap.drop(columns=["Playbook link"]), "Benchmark Gap")
    distribution = _read(out / "distribution.parquet")
    assert all(distribution[band].dtype == np.int64 for band in (*c.BANDS, "No score"))  # whole numbers
    assert_same_cells(sheets[c.DISTRIBUTION].reset_index(drop=True), distribution, "Distribution")
    snapshot = _read(out / "snapshot.parquet").sort_values(c.ACCOUNT_ID).reset_index(drop=True)  # in no order
    assert set(snapshot.pop("As-of date")) == {as_of}
    expected = sheets[sheet_name(as_of)].sort_values(c.ACCOUNT_ID).reset_index(drop=True)
    assert_same_cells(expected, snapshot, "snapshot")


@pytest.mark.parametrize("form", ["parquet", "csv"])
def test_score_command_on_the_demo_gives_the_workbooks_cells(demo_files, tmp_path, form, capsys):
    out = tmp_path / "out"
    code = main(["score", str(demo_files["book"]), "--accounts", str(demo_files[f"accounts.{form}"]),
                 "--history", str(demo_files[f"history.{form}"]), "--out", str(out)])
    assert code == 0
    said = capsys.readouterr().out
    sheets, _ = _pandas_sheets(demo_files["book"])
    bands = sheets[c.SCORES]["Band"].value_counts()
    assert f"Scored {len(sheets[c.SCORES])} accounts as of 2026-11-15 with duckdb: {bands['Red']} red" in said
    assert_like_the_workbook(demo_files["book"], out)


def test_score_command_on_the_example_gives_the_workbooks_cells(example_files, tmp_path):
    out = tmp_path / "out"
    assert main(["score", str(example_files["book"]), "--accounts", str(example_files["accounts.parquet"]),
                 "--out", str(out)]) == 0
    assert_like_the_workbook(example_files["book"], out)
    assert len(_read(out / "scores.parquet")) == 2000


def test_score_command_reads_a_duckdb_table_and_a_json_config(demo_files, tmp_path):
    import json

    from chs_excel.config.build import config_to_dict
    from chs_excel.sql.run import book_config

    database = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(database))
    con.execute(f"CREATE TABLE accts AS SELECT * FROM read_parquet('{demo_files['accounts.parquet']}')")
    con.execute(f"CREATE TABLE hist AS SELECT * FROM read_parquet('{demo_files['history.parquet']}')")
    con.close()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_to_dict(book_config(demo_files["book"])), default=str), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["score", "--config", str(config), "--accounts", f"{database}:accts", "--history", f"{database}:hist",
                 "--out", str(out), "--as-of", "2026-11-15"]) == 0
    assert_like_the_workbook(demo_files["book"], out)


def test_into_book_writes_the_summary_sheets_and_keeps_the_rest(demo_files, tmp_path):
    import shutil

    import openpyxl

    book = tmp_path / "book.xlsx"
    shutil.copyfile(demo_files["book"], book)
    before = openpyxl.load_workbook(book, read_only=True)
    metrics_before = [list(row) for row in before["Metrics"].iter_rows(values_only=True)]
    before.close()
    assert main(["score", str(book), "--accounts", str(demo_files["accounts.parquet"]), "--history",
                 str(demo_files["history.parquet"]), "--out", str(tmp_path / "out"), "--into-book", "--top", "5"]) == 0
    after = openpyxl.load_workbook(book, read_only=True)
    assert [list(row) for row in after["Metrics"].iter_rows(values_only=True)] == metrics_before
    gap = [row for row in after[c.GAP].iter_rows(values_only=True)]
    distribution = [row for row in after[c.DISTRIBUTION].iter_rows(values_only=True)]
    scores = [row for row in after[c.SCORES].iter_rows(values_only=True)]
    after.close()
    sheets, _ = _pandas_sheets(demo_files["book"])
    header = 2  # after the title and a blank row
    assert gap[header][0] == c.ACCOUNT_ID and "Playbook link" not in gap[header]  # the link is on the name
    listed = [row[0] for row in gap[header + 1:] if row[0]]
    assert listed == sheets[c.GAP][c.ACCOUNT_ID].head(5).tolist()
    assert [row[0] for row in scores[1:]] == sheets[c.SCORES][c.ACCOUNT_ID].tolist()
    overall = sheets[c.DISTRIBUTION].iloc[0]
    assert distribution[2][:6] == ("Level", "Group", *c.BANDS, "No score")
    assert distribution[3][:6] == ("Overall", "All accounts", *(int(overall[k]) for k in (*c.BANDS, "No score")))


@pytest.mark.spark
def test_score_command_on_spark_gives_the_workbooks_cells(demo_files, tmp_path, spark, monkeypatch):
    import chs_excel.sql.run as run

    monkeypatch.setattr(run, "SparkEngine", lambda master=None, **kw: SparkEngine(spark=spark))  # the shared session
    out = tmp_path / "out"
    assert main(["score", str(demo_files["book"]), "--accounts", str(demo_files["accounts.parquet"]),
                 "--history", str(demo_files["history.parquet"]), "--out", str(out), "--engine", "spark"]) == 0
    assert_like_the_workbook(demo_files["book"], out)


def test_score_command_says_what_it_cannot_read(demo_files, tmp_path, capsys):
    assert main(["score", str(demo_files["book"]), "--accounts", str(tmp_path / "nothere.parquet"),
                 "--out", str(tmp_path / "out")]) == 1
    assert "duckdb could not score the accounts" in capsys.readouterr().err
    (tmp_path / "few.csv").write_text("Account ID,Seats\nA1,3\n", encoding="utf-8")
    assert main(["score", str(demo_files["book"]), "--accounts", str(tmp_path / "few.csv"),
                 "--out", str(tmp_path / "out")]) == 1
    said = capsys.readouterr().err
    assert 'column "Features used" is not a column of the accounts (they have: Account ID, Seats)' in said
    assert not (tmp_path / "out" / "scores.parquet").exists()
