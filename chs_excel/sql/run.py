"""Run the compiled scorecard where the data is: DuckDB in-process (the default) or Spark, from Parquet or CSV.

``chs-excel score`` (:func:`score_files`) reads the scorecard from a workbook (or a JSON config), reads Accounts
and Metric History from Parquet, CSV or a DuckDB database table, runs the SQL of :mod:`chs_excel.sql.scores` and
:mod:`chs_excel.sql.explain` on an engine, and writes a folder of Parquet files:

- ``scores.parquet``: the Scores sheet's columns, one row per account, lowest overall first (then by ID);
- ``benchmark_gap.parquet``: the Benchmark Gap list, biggest gap first;
- ``distribution.parquet``: the Distribution sheet's rows (overall, per category, per segment);
- ``snapshot.parquet``: the Score History snapshot (As-of date, Account ID, Overall, Band, categories, metrics
  to 0.1), which ``--previous`` reads back next time for the Change and Band drop columns.

The engines share one small interface (register a source, make a view or a table, fetch a small result as
Arrow, write a query to Parquet), so the orchestration is written once. DuckDB runs the queries as written
(DuckDB dialect); Spark runs them transpiled by SQLGlot (``read="duckdb", write="spark"``), unchanged otherwise.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from chs_excel import contract as c
from chs_excel.config.model import HealthConfig
from chs_excel.problems import ConfigError, Problem

# What the accounts and history views are called in the queries (the defaults of scores_sql / report_sql).
ACCOUNTS, HISTORY, SCORES = "accounts", "history", "scores"
EXCEL_ROWS = 1_048_576  # a sheet's rows: Scores goes into a workbook only when every account fits under its header
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


def quote(name: str) -> str:
    """An SQL identifier, double-quoted (DuckDB's dialect; SQLGlot turns it into Spark's backticks)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """An SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


@dataclass(frozen=True)
class Source:
    """Where a table is read from.

    Attributes
    ----------
    kind : str
        "parquet" (a file, a folder of files, or a glob), "csv" (a file with a header row) or "duckdb" (a table
        of a DuckDB database file).
    path : str
    table : str or None
        The table of a DuckDB database.
    """

    kind: str
    path: str
    table: str | None = None

    @classmethod
    def parse(cls, text: str | os.PathLike) -> Source:
        """``data/accounts.parquet``, ``data/accounts/*.parquet``, ``accounts.csv``, or ``crm.duckdb:accounts``.

        A ``:table`` suffix after a ``.duckdb``/``.db`` file names a table of that database (a Windows drive
        letter's colon is not one).
        """
        text = str(text)
        head, colon, table = text.rpartition(":")
        if colon and head.lower().endswith(DUCKDB_SUFFIXES) and table and not table.startswith(("/", "\\")):
            return cls("duckdb", head, table)
        if text.lower().endswith(DUCKDB_SUFFIXES):
            raise ValueError(f"{text}: name the table of the DuckDB database too, as {text}:TABLE")
        if text.lower().endswith(CSV_SUFFIXES):
            return cls("csv", text)
        return cls("parquet", text)

    def __str__(self) -> str:
        return f"{self.path}:{self.table}" if self.table else self.path


# ---------------------------------------------------------------------------------------------------- engines


class DuckDBEngine:
    """DuckDB in this process: no server. Larger than memory works: past ``memory_limit`` DuckDB spills to
    ``temp_directory``.

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB's ``memory_limit`` ("3GB"); default DuckDB's own (80% of the machine's memory).
    temp_directory : str or Path, optional
        Where DuckDB spills; default a new folder under the system's temporary folder, removed on close.
    threads : int, optional
    max_spill : str, optional
        DuckDB's ``max_temp_directory_size`` ("50GB"): how much it may spill.
    """

    name = "duckdb"

    def __init__(self, *, memory_limit: str | None = None, temp_directory: str | os.PathLike | None = None,
                 threads: int | None = None, max_spill: str | None = None):
        import duckdb

        self._own_temp = None if temp_directory else tempfile.TemporaryDirectory(prefix="chs-excel-duckdb-")
        if temp_directory:
            Path(temp_directory).mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET temp_directory = {literal(str(temp_directory or self._own_temp.name))}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {literal(memory_limit)}")
        if max_spill:  # DuckDB's default, 90% of the free disk space, can read as none on some file systems
            self.con.execute(f"SET max_temp_directory_size = {literal(max_spill)}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        # Results that need an order say so (ORDER BY); the rest may come in any order, which lets big
        # queries stream and spill with less memory.
        self.con.execute("SET preserve_insertion_order = false")
        self._attached: dict[str, str] = {}

    def translate(self, sql: str) -> str:
        return sql  # the queries are written in DuckDB's dialect

    def register(self, name: str, source: Source) -> None:
        """A view ``name`` over a source, its columns as stored (CSV: every column as text, as a sheet's cells
        are typed by the scorecard, not guessed)."""
        if source.kind == "parquet":
            path = source.path
            if Path(path).is_dir():
                path = str(Path(path) / "**" / "*.parquet")
            frm = f"read_parquet({literal(path)})"
        elif source.kind == "csv":
            frm = f"read_csv({literal(source.path)}, header = true, all_varchar = true)"
        else:
            alias = self._attached.get(source.path)
            if alias is None:
                alias = self._attached[source.path] = f"source_db_{len(self._attached)}"
                self.con.execute(f"ATTACH {literal(source.path)} AS {alias} (READ_ONLY)")
            frm = f"{alias}.{quote(source.table)}"
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT * FROM {frm}")

    def register_arrow(self, name: str, table) -> None:
        """A table ``name`` holding a pyarrow Table or pandas DataFrame (tests, small inputs)."""
        self.con.register(f"{name}__arrow", table)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT * FROM {quote(name + '__arrow')}")
        self.con.unregister(f"{name}__arrow")

    def columns(self, name: str) -> list[str]:
        return [row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {quote(name)}").fetchall()]

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS {sql}")

    def table(self, name: str, sql: str) -> None:
        """Work the query out once and keep it (on disk past the memory limit): later queries read it."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS {sql}")

    def arrow(self, sql: str):
        """A (small) result as a pyarrow Table."""
        result = self.con.sql(sql)
        return result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()  # < 1.4

    def write_parquet(self, sql: str, path: str | os.PathLike) -> None:
        """The query's rows into one Parquet file, in the query's order."""
        self.con.execute(f"COPY ({sql}) TO {literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")

    def close(self) -> None:
        self.con.close()
        if self._own_temp is not None:
            self._own_temp.cleanup()


class SparkEngine:
    """Spark through PySpark: local mode (``local[*]``) or a cluster (``master="spark://host:7077"``, ``yarn``).

    The queries are transpiled by SQLGlot from DuckDB's dialect to Spark SQL; they need no Spark setting (they
    cast with TRY_CAST and guard their divisions, so Spark's ANSI mode, on by default since Spark 4, finds
    nothing to stop). Parquet is read and written by Spark itself, so on a cluster the paths are the
    cluster's (``s3://...``, ``hdfs://...``); a result is a folder of part files.

    Parameters
    ----------
    master : str, optional
        Spark's master URL; default ``local[*]`` unless a session is given.
    spark : pyspark.sql.SparkSession, optional
        A session to use (tests share one per module); it is not stopped on :meth:`close`.
    conf : dict, optional
        More Spark settings for a new session.
    """

    name = "spark"

    def __init__(self, master: str | None = None, *, spark=None, conf: dict[str, str] | None = None):
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # an optional extra
            raise RuntimeError("the Spark engine needs PySpark: pip install 'chs-excel[spark]' (and Java 17+)") from exc
        self._own = spark is None
        if spark is None:
            builder = SparkSession.builder.appName("chs-excel").master(master or "local[*]")
            for key, value in {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false",
                               **(conf or {})}.items():
                builder = builder.config(key, value)
            spark = builder.getOrCreate()
            spark.sparkContext.setLogLevel("ERROR")  # Spark's warnings (plan sizes, codegen fallbacks) are not news
        self.spark = spark

    def translate(self, sql: str) -> str:
        """DuckDB SQL as Spark SQL."""
        return spark_sql(sql)

    def sql(self, sql: str):
        return self.spark.sql(self.translate(sql))

    def register(self, name: str, source: Source) -> None:
        if source.kind == "parquet":
            frame = self.spark.read.parquet(source.path)
        elif source.kind == "csv":  # every column as text (no schema inference), as DuckDB reads it
            frame = self.spark.read.option("header", "true").option("inferSchema", "false").csv(source.path)
        else:  # a DuckDB table, through Arrow: for data of a size one machine reads anyway
            import duckdb
            with duckdb.connect(source.path, read_only=True) as con:
                result = con.sql(f"SELECT * FROM {quote(source.table)}")
                data = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
            frame = self.spark.createDataFrame(data.to_pandas())
        frame.createOrReplaceTempView(name)

    def register_arrow(self, name: str, table) -> None:
        import pandas as pd
        frame = table if isinstance(table, pd.DataFrame) else table.to_pandas()
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def columns(self, name: str) -> list[str]:
        return list(self.spark.table(name).columns)

    def view(self, name: str, sql: str) -> None:
        self.sql(sql).createOrReplaceTempView(name)

    def table(self, name: str, sql: str) -> None:
        frame = self.sql(sql).persist()
        frame.createOrReplaceTempView(name)

    def arrow(self, sql: str):
        frame = self.sql(sql)
        if hasattr(frame, "toArrow"):  # Spark 4
            return frame.toArrow()
        import pyarrow as pa
        return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)

    def write_parquet(self, sql: str, path: str | os.PathLike) -> None:
        """The query's rows as a Parquet folder (one part file per partition, in the query's order)."""
        self.sql(sql).write.mode("overwrite").parquet(str(path))

    def close(self) -> None:
        if self._own:
            self.spark.stop()


def spark_sql(sql: str) -> str:
    """DuckDB SQL transpiled to Spark SQL by SQLGlot (one statement)."""
    import sqlglot

    from sqlglot import exp

    statements = sqlglot.parse(sql, read="duckdb")
    if len(statements) != 1:
        raise ValueError(f"expected one SQL statement, got {len(statements)}")

    def spark_names(node):  # DuckDB functions SQLGlot passes through by name, under Spark's name
        if isinstance(node, exp.Anonymous) and node.name.upper() in SPARK_FUNCTIONS:
            return exp.Anonymous(this=SPARK_FUNCTIONS[node.name.upper()], expressions=node.expressions)
        return node
    return statements[0].transform(spark_names).sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


# DuckDB function -> its Spark twin, for those SQLGlot does not translate (round_even: half to even, as numpy)
SPARK_FUNCTIONS = {"ROUND_EVEN": "BROUND"}


def make_engine(name: str = "duckdb", *, master: str | None = None, memory_limit: str | None = None,
                temp_directory: str | None = None, threads: int | None = None):
    """The engine called ``name`` ("duckdb" or "spark")."""
    if name == "duckdb":
        return DuckDBEngine(memory_limit=memory_limit, temp_directory=temp_directory, threads=threads)
    if name == "spark":
        return SparkEngine(master)
    raise ValueError(f"unknown engine {name!r} (duckdb or spark)")


# ---------------------------------------------------------------------------------------------------- inputs


def _find(columns: list[str], wanted: str) -> str | None:
    """The source's spelling of column ``wanted`` (spaces around and case ignored, as on the Accounts sheet)."""
    key = wanted.strip().casefold()
    return next((col for col in columns if col.strip().casefold() == key), None)


def account_column_types(config: HealthConfig) -> dict[str, str]:
    """Each Accounts column the scorecard reads, with the SQL type it is read as.

    Numbers (metric sources, the second source of a ratio, rule columns compared with a number) DOUBLE;
    labels (categorical sources, rule columns compared with text) VARCHAR; metrics' Date columns DATE.
    The Source of a trend or of a metric read from Metric History is not an Accounts column.
    """
    types: dict[str, str] = {}
    for m in config.metrics:
        if m.measure == "trend":
            continue  # read from Metric History
        if not m.logged:
            types[m.source] = "VARCHAR" if m.measure == "categorical" else "DOUBLE"
        if m.source2:
            types[m.source2] = "DOUBLE"
        if m.date_column and m.stale_after is not None:
            types[m.date_column] = "DATE"
    for rule in config.rules:
        if rule.kind == "column" and rule.when not in types:
            types[rule.when] = "VARCHAR" if isinstance(rule.value, str) else "DOUBLE"
    return types


def _typed(expr: str, sql_type: str) -> str:
    if sql_type == "VARCHAR":
        return f"CAST({expr} AS VARCHAR)"
    if sql_type == "DATE":  # a timestamp keeps its day; text reads as an ISO date; anything else is missing
        return f"TRY_CAST({expr} AS DATE)"
    return f"TRY_CAST({expr} AS DOUBLE)"  # text that is not a number is missing, as on the sheet


def accounts_sql(config: HealthConfig, columns: list[str], source: str, label: str | None = None) -> str:
    """The typed ``accounts`` view over a source with ``columns``: the scorecard's columns cast to what it reads
    them as (see :func:`account_column_types`), the label columns as text, rows without an Account ID left out.

    ``label``: how problems name the source (its path); default ``source``.

    Raises
    ------
    ConfigError
        When a column the scorecard reads is not in the source.
    """
    problems = []
    wanted = {c.ACCOUNT_ID: "VARCHAR", **{name: "VARCHAR" for name in c.ACCOUNT_COLUMNS[1:]},
              config.segment_column: "VARCHAR", **account_column_types(config)}
    optional = set(c.ACCOUNT_COLUMNS[1:]) | {config.segment_column}
    select, taken = [], set()
    for name, sql_type in wanted.items():
        found = _find(columns, name)
        if name.casefold() in taken:
            continue
        taken.add(name.casefold())
        if found is None:
            if name in optional:  # a label column the accounts lack reads blank, as on the sheet
                select.append(f"CAST(NULL AS VARCHAR) AS {quote(name)}")
            else:
                problems.append(Problem(label or source, f'column "{name}" is not a column of the accounts '
                                                         f"(they have: {', '.join(columns)})"))
            continue
        expr = quote(found)
        if name == c.ACCOUNT_ID:
            expr = f"TRIM(CAST({expr} AS VARCHAR))"
            select.append(f"{expr} AS {quote(name)}")
        else:
            select.append(f"{_typed(expr, sql_type)} AS {quote(name)}")
    if problems:
        raise ConfigError(problems)
    rest = [quote(col) for col in columns if col.strip().casefold() not in taken]
    id_expr = f"TRIM(CAST({quote(_find(columns, c.ACCOUNT_ID))} AS VARCHAR))"
    return (f"SELECT {', '.join(select + rest)} FROM {quote(source)} "
            f"WHERE {id_expr} IS NOT NULL AND {id_expr} <> ''")


def history_sql(columns: list[str] | None, source: str | None, label: str | None = None,
                labels: bool = False) -> str:
    """The typed ``history`` view (Account ID, Period, Column, Value); an empty one when there is no source.

    ``labels``: a categorical metric reads labels from Metric History (:func:`logs_labels`), so Value stays text
    (the queries read numbers out of it); else Value is a number.
    """
    names = c.HISTORY_COLUMNS
    types = dict(zip(names, ("VARCHAR", "DATE", "VARCHAR", "VARCHAR" if labels else "DOUBLE")))
    if source is None:
        cols = ", ".join(f"CAST(NULL AS {types[n]}) AS {quote(n)}" for n in names)
        return f"SELECT {cols} WHERE 1 = 0"
    found = {n: _find(columns, n) for n in names}
    missing = [n for n, f in found.items() if f is None]
    if missing:
        raise ConfigError([Problem(label or source, f"the metric history lacks the column(s) {', '.join(missing)} "
                                           f"(it has: {', '.join(columns)}); it needs {', '.join(names)}")])
    cols = [f"TRIM(CAST({quote(found[n])} AS VARCHAR)) AS {quote(n)}" if n == c.ACCOUNT_ID else
            f"{_typed(quote(found[n]), types[n])} AS {quote(n)}" for n in names]
    return f"SELECT {', '.join(cols)} FROM {quote(source)}"


def logs_labels(config: HealthConfig) -> bool:
    """Does a categorical metric read its labels from Metric History (Read from)?"""
    return any(m.logged and m.measure == "categorical" for m in config.metrics)


def duplicate_ids(engine, limit: int = 5) -> list[tuple[str, int]]:
    """Account IDs listed more than once in the accounts (up to ``limit``), with how often."""
    rows = engine.arrow(f"SELECT {quote(c.ACCOUNT_ID)} AS id, COUNT(*) AS n FROM {ACCOUNTS} "
                        f"GROUP BY {quote(c.ACCOUNT_ID)} HAVING COUNT(*) > 1 ORDER BY id LIMIT {limit}").to_pylist()
    return [(row["id"], row["n"]) for row in rows]


# ---------------------------------------------------------------------------------------------------- outputs


def shown(expr: str) -> str:
    """A score as shown: whole, halves up, after settling to 9 decimals (chs_excel.core.explain.rounded)."""
    return f"CAST(FLOOR(ROUND({expr}, 9) + 0.5) AS DOUBLE)"  # Spark's FLOOR gives a BIGINT


def numpy_round(expr: str, decimals: int) -> str:
    """``numpy.round(x, decimals)`` in SQL: scaled in floating point, then halves to even, then scaled back.

    Not ``ROUND_EVEN(x, d)``: 48.85 is stored a crumb below, so an exact decimal rounding gives 48.8 where
    numpy's 488.5 (48.85 x 10 in floating point) rounds to 488; the pandas engine's sheets use numpy's.
    """
    scale = f"1{'0' * decimals}.0"
    return f"ROUND_EVEN({expr} * {scale}, 0) / {scale}"


def scores_parquet_sql(config: HealthConfig, extra: dict[str, str], previous: bool) -> str:
    """The Scores sheet's columns over the ``scores`` table, lowest overall first, then by Account ID.

    ``extra``: per-account columns from the explain queries, by what they hold ("drivers", "benchmark"), each a
    ``(table, column)`` joined on ``account_id``. ``previous``: join the ``previous_snapshot`` view for Change
    and Band drop.
    """
    a = "a"
    cols = [f"s.account_id AS {quote(c.ACCOUNT_ID)}"]
    for name in c.ACCOUNT_COLUMNS[1:]:
        source = config.segment_column if name == "Segment" else name
        cols.append(f"COALESCE({a}.{quote(source)}, '') AS {quote(name)}")
    cols += [f"{shown('s.overall')} AS {quote('Overall')}", f"COALESCE(s.band, '') AS {quote('Band')}",
             f"{extra.get('benchmark', 'CAST(NULL AS DOUBLE)')} AS {quote('Benchmark')}"]
    if previous:
        rank = "CASE {} WHEN 'Red' THEN 0 WHEN 'Amber' THEN 1 WHEN 'Green' THEN 2 END"
        cols += [f"{shown('s.overall')} - p.{quote('Overall')} AS {quote('Change')}",
                 f"CASE WHEN {rank.format('s.band')} < {rank.format('p.' + quote('Band'))} "
                 f"THEN p.{quote('Band')} || ' → ' || s.band ELSE '' END AS {quote('Band drop')}"]
    else:
        cols += [f"CAST(NULL AS DOUBLE) AS {quote('Change')}", f"'' AS {quote('Band drop')}"]
    cols += [f"{numpy_round('s.coverage', 4)} AS {quote('Coverage')}", f"s.status AS {quote('Status')}"]
    cols += [f"{shown(f's.c_{g}')} AS {quote(cat.name)}" for g, cat in enumerate(config.categories)]
    cols += [f"{extra.get('drivers', literal(''))} AS {quote('Drivers')}", f"s.missing AS {quote('Missing data')}",
             f"{extra.get('override', 's.override')} AS {quote('Override')}",
             f"{extra.get('rule', 's.rule')} AS {quote('Rule')}"]
    cols += [f"{shown(f's.m_{k}')} AS {quote(m.name)}" for k, m in enumerate(config.metrics)]
    joins = [f"JOIN {ACCOUNTS} {a} ON {a}.{quote(c.ACCOUNT_ID)} = s.account_id"]
    joins += [f"LEFT JOIN {table} ON {table}.account_id = s.account_id" for table in extra.get("_tables", [])]
    if previous:
        joins.append(f"LEFT JOIN previous_snapshot p ON p.{quote(c.ACCOUNT_ID)} = s.account_id")
    return (f"SELECT {', '.join(cols)} FROM {SCORES} s {' '.join(joins)} "
            f"ORDER BY {quote('Overall')} ASC NULLS LAST, {quote(c.ACCOUNT_ID)} ASC")


def snapshot_sql(config: HealthConfig, as_of: dt.date) -> str:
    """Score History's snapshot: As-of date, Account ID, Overall, Band, categories (shown), metrics to 0.1.

    Column names as :func:`chs_excel.analysis.history.snapshot` gives them (a metric named like a category or
    a fixed column gets " (metric)").
    """
    from chs_excel.analysis.history import metric_columns

    names = metric_columns([cat.name for cat in config.categories], [m.name for m in config.metrics])
    cols = [f"DATE {literal(as_of.isoformat())} AS {quote('As-of date')}", f"account_id AS {quote(c.ACCOUNT_ID)}",
            f"{shown('overall')} AS {quote('Overall')}", f"COALESCE(band, '') AS {quote('Band')}"]
    cols += [f"{shown(f'c_{g}')} AS {quote(cat.name)}" for g, cat in enumerate(config.categories)]
    cols += [f"{numpy_round(f'm_{k}', 1)} AS {quote(names[m.name])}" for k, m in enumerate(config.metrics)]
    # in no particular order (rows are found by Account ID): sorting 10 million rows costs more than writing them
    return f"SELECT {', '.join(cols)} FROM {SCORES}"


@dataclass
class ScoreRun:
    """What :func:`score_sources` did: counts for the summary line, where it wrote, and how long each step took."""

    engine: str
    as_of: dt.date
    accounts: int
    bands: dict[str, int]
    no_score: int
    below_benchmark: int | None
    out: Path | str | None  # str: a cluster's storage (s3://...)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        counts = ", ".join(f"{n:,} {band.lower()}" for band, n in self.bands.items())
        out = [f"Scored {self.accounts:,} accounts as of {self.as_of.isoformat()} with {self.engine}: {counts}"
               + (f", {self.no_score:,} without a score (insufficient data)" if self.no_score else "") + "."]
        if self.below_benchmark is not None:
            out.append(f"{self.below_benchmark:,} account(s) below their benchmark: see benchmark_gap.parquet.")
        if self.out is not None:
            out.append(f"Wrote {', '.join(os.path.basename(str(p)) for p in self.files.values())} in {self.out}"
                       f" ({sum(self.seconds.values()):.1f} s).")
        return out


def _queries(config: HealthConfig, as_of: dt.date):
    """The compiled scorecard: (scores query, dict of report queries)."""
    from chs_excel.sql.explain import report_sql
    from chs_excel.sql.scores import scores_sql

    return scores_sql(config, as_of, accounts=ACCOUNTS, history=HISTORY), \
        report_sql(config, as_of, scores=SCORES, accounts=ACCOUNTS)


def load_inputs(engine, config: HealthConfig, accounts: Source, history: Source | None = None) -> None:
    """Register the sources and the typed ``accounts`` and ``history`` views the queries read.

    Raises
    ------
    ConfigError
        A column the scorecard reads is missing, or an Account ID is listed more than once.
    """
    # The queries read the accounts three times (scores, explain, the Scores file): Parquet is read again each
    # time (columns and row groups as needed); CSV is parsed once and kept.
    engine.register("accounts_source", accounts)
    keep = engine.table if accounts.kind == "csv" else engine.view
    keep(ACCOUNTS, accounts_sql(config, engine.columns("accounts_source"), "accounts_source", str(accounts)))
    if history is not None:
        engine.register("history_source", history)
        keep = engine.table if history.kind == "csv" else engine.view
        keep(HISTORY, history_sql(engine.columns("history_source"), "history_source", str(history),
                                  logs_labels(config)))
    else:
        engine.view(HISTORY, history_sql(None, None, labels=logs_labels(config)))
    twice = duplicate_ids(engine)
    if twice:
        listed = ", ".join(f'"{ident}" ({n} rows)' for ident, n in twice)
        raise ConfigError([Problem(str(accounts), f"each account must be listed once; these Account IDs are not: "
                                                  f"{listed}{' ...' if len(twice) == 5 else ''}")])


def score_loaded(engine, config: HealthConfig, as_of: dt.date, out: str | os.PathLike,
                 previous: Source | None = None, queries=None) -> ScoreRun:
    """Score the ``accounts``/``history`` views already on ``engine`` and write the Parquet files into ``out``.

    ``queries``: (scores SQL, report SQL dict) to run instead of the compiled scorecard's (tests of the
    plumbing only).
    """
    seconds = {}
    start = time.perf_counter()
    scores_query, report = queries if queries is not None else _queries(config, as_of)
    engine.table(SCORES, scores_query)
    seconds["score"] = time.perf_counter() - start
    start = time.perf_counter()
    extra = _report_tables(engine, report)
    seconds["explain"] = time.perf_counter() - start

    def timed(step: str, sql: str, path) -> None:
        begin = time.perf_counter()
        engine.write_parquet(sql, path)
        seconds[step] = time.perf_counter() - begin
    if previous is not None:
        engine.register("previous_snapshot", previous)
    remote = "://" in str(out)  # a cluster's storage (s3://, hdfs://): Spark writes there, not this machine
    out = str(out).rstrip("/") if remote else Path(out)
    if not remote:
        out.mkdir(parents=True, exist_ok=True)

    def file(name: str):
        return f"{out}/{name}" if remote else out / name
    files = {"scores": file("scores.parquet"), "snapshot": file("snapshot.parquet")}
    timed("scores file", scores_parquet_sql(config, extra, previous is not None), files["scores"])
    timed("snapshot file", snapshot_sql(config, as_of), files["snapshot"])
    if "benchmark_gap" in report:
        files["benchmark_gap"] = file("benchmark_gap.parquet")
        timed("gap file", report["benchmark_gap"], files["benchmark_gap"])
    if "distribution" in report:  # a few dozen rows, with the Warning column worded here
        start = time.perf_counter()
        files["distribution"] = file("distribution.parquet")
        table = distribution_table(engine, report["distribution"])
        engine.register_arrow("report_distribution", table)
        shown_columns = ", ".join(quote(name) for name in table.column_names if name != "_row")
        engine.write_parquet(f'SELECT {shown_columns} FROM report_distribution ORDER BY "_row"', files["distribution"])
        seconds["distribution file"] = time.perf_counter() - start
    counts = engine.arrow("SELECT COUNT(*) AS n, " + ", ".join(
        f"SUM(CASE WHEN band = {literal(b)} THEN 1 ELSE 0 END) AS {quote(b)}" for b in c.BANDS)
        + f", SUM(CASE WHEN overall IS NULL THEN 1 ELSE 0 END) AS no_score FROM {SCORES}").to_pylist()[0]
    below = None
    if "benchmark_gap" in files:  # counted in the file written (its footer), not by matching benchmarks again
        engine.register("written_gap", Source("parquet", str(files["benchmark_gap"])))
        below = int(engine.arrow("SELECT COUNT(*) AS n FROM written_gap").to_pylist()[0]["n"])
    return ScoreRun(engine.name, as_of, int(counts["n"]), {b: int(counts[b] or 0) for b in c.BANDS},
                    int(counts["no_score"] or 0), below, out, files, seconds)


def _report_tables(engine, report: dict[str, str]) -> dict:
    """Materialise the explain query each account's Scores row joins (Drivers, Benchmark), and say which columns
    to take from it."""
    if "explain" not in report:
        return {"_tables": []}
    engine.table("report_explain", report["explain"])
    return {"_tables": ["report_explain"], "drivers": "report_explain.drivers",
            "benchmark": "report_explain.benchmark"}


def distribution_table(engine, query: str):
    """The Distribution rows (a few dozen) with the Warning column, as
    :func:`chs_excel.sheets.distribution.distribution_sheet` words it per row."""
    import pyarrow as pa

    from chs_excel.analysis.distribution import group_skew_warning

    table = engine.arrow(query)
    for k, column in enumerate(table.schema):  # counts: DuckDB's SUM gives HUGEINT (DECIMAL(38,0) in Arrow)
        if pa.types.is_decimal(column.type) and column.type.scale == 0 or pa.types.is_integer(column.type):
            table = table.set_column(k, column.name, table.column(k).cast(pa.int64()))
    rows = table.to_pylist()
    warnings = [group_skew_warning(row["Level"], {b: int(row[b] or 0) for b in (*c.BANDS, "No score")})
                for row in rows]
    table = table.append_column("Warning", pa.array(warnings, type=pa.string()))
    # the rows' order, for the engine to write them in: a table read back has none
    return table.append_column("_row", pa.array(range(len(rows)), type=pa.int64()))


def score_sources(config: HealthConfig, as_of: dt.date, accounts: Source, history: Source | None, out,
                  *, engine=None, previous: Source | None = None) -> ScoreRun:
    """Read the sources, score every account and write the Parquet files (see the module's docstring).

    Parameters
    ----------
    config : HealthConfig
    as_of : datetime.date
    accounts, history : Source
        Where Accounts and Metric History are (history optional: trend metrics then score nothing).
    out : str or Path
        The folder written.
    engine : DuckDBEngine or SparkEngine, optional
        Default a new :class:`DuckDBEngine`, closed at the end.
    previous : Source, optional
        An earlier run's snapshot.parquet: Change and Band drop are worked out against it.
    """
    own = engine is None
    engine = engine or DuckDBEngine()
    try:
        start = time.perf_counter()
        load_inputs(engine, config, accounts, history)
        read = time.perf_counter() - start
        run = score_loaded(engine, config, as_of, out, previous)
        run.seconds = {"read": read, **run.seconds}
        return run
    finally:
        if own:
            engine.close()


# ---------------------------------------------------------------------------------------------------- the book


def write_into_book(book: str | os.PathLike, run: ScoreRun, config: HealthConfig, top: int = 100) -> list[str]:
    """Distribution, the top ``top`` of Benchmark Gap and (when every account fits in a sheet) Scores, written
    into ``book`` by the lossless writer: every other part of the file is carried over byte for byte.

    Returns the names of the sheets written.
    """
    from chs_excel.book.table import OutputSheet
    from chs_excel.files.writer import PackageBookWriter
    from chs_excel.sheets.scores import CHANGE_FORMAT, WRAPPED

    sheets = []
    overall_bands = {"Overall": (config.bands.red_below, config.bands.amber_below)}
    heading = f"as of {run.as_of.isoformat()}, scored with {run.engine} from {run.accounts:,} accounts"
    if "distribution" in run.files:
        frame = _read_parquet(run.files["distribution"])
        sheets.append(OutputSheet(c.DISTRIBUTION, frame, preamble=[[f"Red / amber / green distribution {heading}"], []],
                                  number_formats={f"{b} %": "0%" for b in c.BANDS},
                                  widths={"Level": 10, "Group": 24, "No score": 9, "Warning": 48}, freeze="A4"))
    if "benchmark_gap" in run.files:
        frame = _read_parquet(run.files["benchmark_gap"], top)
        # the playbook's link (https, mailto or a place in the workbook) on its name, as a refresh writes it
        links = {"Playbook": frame.pop("Playbook link").tolist()} if "Playbook link" in frame else {}
        widths = {c.ACCOUNT_ID: 12, "Account name": 26, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9,
                  "Benchmark": 11, "Gap": 7, "Costing most points": 36, "Categories below target": 26,
                  "Playbook": 24, "Actions": 46, "Owner": 16}
        sheets.append(OutputSheet(c.GAP, frame, bands=overall_bands, freeze="C4", links=links, widths=widths,
                                  preamble=[[f"Benchmark gap {heading}: the {len(frame):,} biggest gaps of "
                                             f"{run.below_benchmark or 0:,} (all of them: benchmark_gap.parquet)"], []],
                                  wrap=tuple(col for col in ("Costing most points", "Categories below target",
                                                             "Playbook", "Actions") if col in frame)))
    if run.accounts < EXCEL_ROWS:
        frame = _read_parquet(run.files["scores"])
        bands = {**overall_bands, **{cat.name: (cat.bands.red_below, cat.bands.amber_below) for cat in config.categories},
                 **{m.name: (m.bands.red_below, m.bands.amber_below) for m in config.metrics}}
        sheets.append(OutputSheet(c.SCORES, frame, bands=bands, band_label_columns=("Band",),
                                  number_formats={"Coverage": "0%", "Change": CHANGE_FORMAT}, freeze="C2",
                                  wrap=WRAPPED))
    PackageBookWriter(book, book).write(sheets)
    return [sheet.name for sheet in sheets]


def _read_parquet(path, rows: int | None = None):
    import pyarrow.dataset as ds

    table = ds.dataset(str(path), format="parquet")
    return (table.head(rows) if rows is not None else table.to_table()).to_pandas()


# ---------------------------------------------------------------------------------------------------- the command


def book_config(book: str | os.PathLike, config: HealthConfig | None = None) -> HealthConfig:
    """The scorecard of a workbook's config sheets (Metrics, Categories, Settings, Benchmarks, Playbooks,
    Overrides, Rules), or ``config`` when given (``--config`` JSON)."""
    if config is not None:
        return config
    from chs_excel.config import config_from_tables
    from chs_excel.files.reader import FileBookReader
    from chs_excel.pipeline import read_tables

    with FileBookReader(Path(book)) as reader:
        tables = read_tables(reader)
    tables.pop(c.ACCOUNTS, None)  # the accounts come from --accounts
    return config_from_tables(tables)


def score_command(args) -> int:
    """``chs-excel score BOOK --accounts PATH [--history PATH] --out PATH [--engine duckdb|spark] ...``."""
    import sys

    from chs_excel.config import config_from_json
    from chs_excel.pipeline import resolve_as_of

    try:
        accounts = Source.parse(args.accounts)
        history = Source.parse(args.history) if args.history else None
        previous = Source.parse(args.previous) if args.previous else None
    except ValueError as exc:
        print(f"chs-excel: {exc}", file=sys.stderr)
        return 2
    if args.into_book and args.book is None:
        print("chs-excel: --into-book needs the workbook BOOK", file=sys.stderr)
        return 2
    if args.book is None and args.config is None:
        print("chs-excel: give the workbook BOOK (its config sheets) or --config JSON", file=sys.stderr)
        return 2
    config = book_config(args.book, config_from_json(args.config) if args.config else None)
    as_of = resolve_as_of(config, args.as_of)
    try:
        engine = make_engine(args.engine, master=args.master, memory_limit=args.memory_limit)
    except RuntimeError as exc:  # no PySpark
        print(f"chs-excel: {exc}", file=sys.stderr)
        return 1
    try:
        run = score_sources(config, as_of, accounts, history, args.out, engine=engine, previous=previous)
    except Exception as exc:
        if type(exc).__module__.split(".")[0].lstrip("_") not in ("duckdb", "pyspark", "py4j"):
            raise
        # a file that is not there or not Parquet/CSV, a column of the wrong type, a full disk: the engine's words
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"chs-excel: {engine.name} could not score the accounts: {first}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    print("\n".join(run.lines()))
    if args.into_book:
        written = write_into_book(args.book, run, config, args.top)
        print(f"Wrote the {', '.join(repr(name) for name in written)} sheet(s) of {args.book}"
              + ("" if c.SCORES in written else f" (Scores: {run.accounts:,} accounts do not fit in a sheet; "
                                                 f"they are in scores.parquet)"))
    return 0


def add_parser(sub, date_type=dt.date.fromisoformat) -> None:
    """The ``score`` subcommand's arguments (on the ``chs-excel`` parser's subparsers); ``date_type`` reads
    ``--as-of``."""
    s = sub.add_parser("score", help="score accounts from Parquet or CSV (DuckDB, or Spark) into Parquet files; "
                       "the scorecard comes from BOOK's config sheets")
    s.add_argument("book", type=Path, nargs="?", help="the workbook whose config sheets hold the scorecard "
                   "(optional with --config)")
    s.add_argument("--accounts", required=True, metavar="PATH", help="the accounts: a Parquet file or folder (or "
                   "glob), a CSV file with a header row, or DB.duckdb:TABLE; columns named as on the Accounts sheet")
    s.add_argument("--history", metavar="PATH", help="the metric history (Account ID, Period, Column, Value), "
                   "in the same forms")
    s.add_argument("--out", required=True, metavar="FOLDER", help="the folder to write scores.parquet, "
                   "benchmark_gap.parquet, distribution.parquet and snapshot.parquet into")
    s.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="duckdb (default: in this process) or spark (pip install 'chs-excel[spark]')")
    s.add_argument("--master", metavar="URL", help="Spark's master URL (default local[*])")
    s.add_argument("--memory-limit", metavar="SIZE", help="DuckDB's memory limit, e.g. 3GB: past it DuckDB "
                   "spills to disk (default: 80%% of the memory)")
    s.add_argument("--previous", metavar="PATH", help="an earlier run's snapshot.parquet: fills Change and Band drop")
    s.add_argument("--config", type=Path, help="a JSON config file to use instead of the config sheets")
    s.add_argument("--as-of", type=date_type, help="score as of this date (YYYY-MM-DD); default: "
                   "Settings, else today")
    s.add_argument("--into-book", action="store_true", help="also write Distribution, the top of Benchmark Gap "
                   "and (when it fits) Scores into BOOK")
    s.add_argument("--top", type=int, default=100, help="with --into-book: how many Benchmark Gap rows (default 100)")
