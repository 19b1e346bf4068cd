"""Shared by the SQL tests: one Spark session for the whole run, and workbooks' data sheets as Parquet and CSV.

``spark``: PySpark local mode, started once (a session takes seconds to start); skipped where PySpark is not
installed (CI installs the ``spark`` extra, so it runs there).
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chs_excel import contract as c

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "saas_churn" / "saas_churn.xlsx"


@pytest.fixture(scope="session")
def spark():
    """A local Spark session (2 threads, few shuffle partitions: the test data are small)."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("chs-excel-tests")
               .config("spark.sql.shuffle.partitions", "4").config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def sheet_frame(table) -> pd.DataFrame:
    """A sheet's table as a typed frame, as a data team would export it: a column of numbers (and blanks) as
    float, of dates (and blanks) as date, anything else as text (numbers in it written exactly, blanks None).

    So a column with a stray word ("n/a") or an Excel error ("#N/A") in it becomes a text column, and scoring
    must read the numbers out of it as the pandas engine reads the sheet.
    """
    columns = {}
    for j, name in enumerate(table.header):
        if not name:
            continue
        cells = [row[j] if j < len(row) else None for row in table.rows]
        blank = [v is None or (isinstance(v, str) and not v.strip()) for v in cells]
        kinds = {type(v) for v, b in zip(cells, blank) if not b}
        if kinds <= {float, int}:
            columns[name] = pd.Series([np.nan if b else float(v) for v, b in zip(cells, blank)], dtype=float)
        elif kinds <= {dt.date, dt.datetime}:
            columns[name] = pd.Series([None if b else (v.date() if isinstance(v, dt.datetime) else v)
                                       for v, b in zip(cells, blank)], dtype=object)
        else:
            columns[name] = pd.Series([None if b else repr(v) if isinstance(v, float) else
                                       v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)
                                       for v, b in zip(cells, blank)], dtype=object)
    return pd.DataFrame(columns)


def export_book(book: Path, folder: Path) -> dict[str, Path]:
    """A workbook's Accounts and Metric History as Parquet and CSV files in ``folder``, and the snapshot before
    its as-of date (Score History) as Parquet, for ``--previous``. Returns the paths by name
    (accounts.parquet, accounts.csv, history.parquet, history.csv, previous.parquet; those it has)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chs_excel.files.reader import FileBookReader
    from chs_excel.pipeline import prepare, read_tables

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    with FileBookReader(book) as reader:
        tables = read_tables(reader)
        prepared = prepare(reader)
        _, before = prepared.history.previous(prepared.as_of)
    for name, stem in ((c.ACCOUNTS, "accounts"), (c.HISTORY, "history")):
        if name not in tables:
            continue
        frame = sheet_frame(tables[name])
        paths[f"{stem}.parquet"] = folder / f"{stem}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), paths[f"{stem}.parquet"])
        paths[f"{stem}.csv"] = folder / f"{stem}.csv"
        frame.to_csv(paths[f"{stem}.csv"], index=False)
    if len(before):
        from chs_excel.analysis.history import ACCOUNT, BAND, OVERALL
        previous = before.reset_index() if ACCOUNT not in before else before
        previous = pd.DataFrame({ACCOUNT: previous[ACCOUNT].astype(str),
                                 OVERALL: pd.to_numeric(previous[OVERALL], errors="coerce"),
                                 BAND: previous[BAND].astype(object).where(previous[BAND].notna(), None)})
        paths["previous.parquet"] = folder / "previous.parquet"
        pq.write_table(pa.Table.from_pandas(previous, preserve_index=False), paths["previous.parquet"])
    return paths


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory):
    """The demo workbook (write_template) and its data sheets as files."""
    from chs_excel.demo.template import write_template

    folder = tmp_path_factory.mktemp("demo")
    book = folder / "demo.xlsx"
    write_template(book)
    return {"book": book, **export_book(book, folder / "data")}


@pytest.fixture(scope="session")
def example_files(tmp_path_factory):
    """The example workbook (2,000 accounts) and its Accounts sheet as files."""
    folder = tmp_path_factory.mktemp("example")
    book = folder / "saas_churn.xlsx"
    shutil.copyfile(EXAMPLE, book)
    return {"book": book, **export_book(book, folder / "data")}
