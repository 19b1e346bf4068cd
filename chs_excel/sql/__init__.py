"""The scorecard compiled to SQL: scores for accounts that outgrow a sheet, in DuckDB (embedded) or Spark.

- :mod:`chs_excel.sql.scores`: ``scores_sql`` - one query giving each account's metric, category and overall
  scores, coverage, status, band, missing data and notes, as the pandas engine (:mod:`chs_excel.core`) does.
- :mod:`chs_excel.sql.explain`: ``report_sql`` - points lost, drivers, benchmarks, playbooks, the Benchmark Gap
  list and the Distribution counts, over that query's result.
- :mod:`chs_excel.sql.run`: the engines (:class:`~chs_excel.sql.run.DuckDBEngine`,
  :class:`~chs_excel.sql.run.SparkEngine`), reading Accounts and Metric History from Parquet, CSV or a DuckDB
  table, and writing the results as Parquet (``chs-excel score``).

The queries are written in DuckDB's dialect; Spark runs them transpiled by SQLGlot. Nothing here reads or writes
Excel except :func:`chs_excel.sql.run.write_into_book` (``--into-book``), through the existing lossless writer.
"""
