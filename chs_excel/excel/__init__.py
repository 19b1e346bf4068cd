"""chs-excel inside Excel (xlwings): worksheet functions, Refresh scripts, the live book, the add-in and Lite.

This package is what xlwings is pointed at (UDF Modules: ``chs_excel.excel``), so it exposes the functions and
scripts of :mod:`chs_excel.excel.udfs` under its own name.
"""
from chs_excel.excel.udfs import (category_score, health_band, health_drivers, health_gap, health_score,
                                  metric_score, optimise_scorecard, refresh_scores, refresh_workbook, run_backtest,
                                  validate_config)

__all__ = ["category_score", "health_band", "health_drivers", "health_gap", "health_score", "metric_score",
           "optimise_scorecard", "refresh_scores", "refresh_workbook", "run_backtest", "validate_config"]
