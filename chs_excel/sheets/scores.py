"""The Scores sheet: one row per account, lowest overall score first."""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.form import PageSetup
from chs_excel.book.table import OutputSheet, column_letter
from chs_excel.config.model import HealthConfig
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import override_notes, rounded, rule_notes
from chs_excel.sheets.common import account_labels

CHANGE_FORMAT = '"▲ "0;"▼ "0;"▶ "0'
CHURN_RISK = "Churn risk"  # optional (Settings: Churn risk column): the observed churn rate of the account's band
# The columns of sentences: wrapped within their width (top-aligned) rather than running under the next column
WRAPPED = ("Drivers", "Missing data", "Override", "Rule")


def scores_sheet(config: HealthConfig, result: ScoreResult, labels: pd.DataFrame, overall: pd.Series, band: pd.Series,
                 categories: pd.DataFrame, change: pd.Series, drops: pd.Series, drivers: pd.Series,
                 benchmark: pd.Series, churn_risk: pd.Series | None = None, churn_note: str = "") -> OutputSheet:
    """One row per account: who it is, overall score, band and benchmark, change, coverage, category scores,
    why (drivers, missing data, override, rule), then the metric scores.

    ``churn_risk``: each account's Churn risk (see :func:`chs_excel.sheets.backtest.churn_risk`), shown after Band
    drop with ``churn_note`` (where it comes from) on a line above the table; None (the default): neither."""
    index = overall.index
    columns = {c.ACCOUNT_ID: index.to_numpy(), **account_labels(labels, index)}
    columns["Overall"] = overall.to_numpy()
    columns["Band"] = band.to_numpy()
    columns["Benchmark"] = benchmark.reindex(index).to_numpy()  # for its segment and stage (blank: none)
    columns["Change"] = change.reindex(index).to_numpy()
    columns["Band drop"] = drops.reindex(index).to_numpy()
    if churn_risk is not None:  # beside the band it is the churn rate of, before the data-quality columns
        columns[CHURN_RISK] = churn_risk.reindex(index).to_numpy(dtype=float)
    columns["Coverage"] = np.round(result.coverage.to_numpy(), 4)
    columns["Status"] = result.status.to_numpy()
    bands: dict[str, tuple[float, float]] = {"Overall": (config.bands.red_below, config.bands.amber_below)}
    for cat in config.categories:
        columns[cat.name] = categories[cat.name].to_numpy()
        bands[cat.name] = (cat.bands.red_below, cat.bands.amber_below)
    columns["Drivers"] = drivers.reindex(index).to_numpy()
    columns["Missing data"] = result.missing.to_numpy()
    columns["Override"] = override_notes(result).to_numpy()
    columns["Rule"] = rule_notes(result).to_numpy()
    printed = len(columns)  # the metric detail after these is left off the printed pages
    for m in config.metrics:
        columns[m.name] = rounded(result.metric_scores[m.name])
        bands[m.name] = (m.bands.red_below, m.bands.amber_below)
    # Lowest overall first, then by ID: each column is put in that order once, before it goes into the frame.
    order = score_order(np.asarray(columns["Overall"], dtype=float), columns[c.ACCOUNT_ID])
    frame = pd.DataFrame({name: np.asarray(values)[order] for name, values in columns.items()})
    widths = {c.ACCOUNT_ID: 12, "Account name": 28, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9, "Band": 8,
              "Benchmark": 11, "Change": 8, "Band drop": 14, CHURN_RISK: 10, "Coverage": 10, "Status": 16}
    widths.update({name: 13 for name in list(bands)[1:]})
    widths.update({"Drivers": 42, "Missing data": 30, "Override": 50, "Rule": 40})
    # Printed two pages across (~70%, about 8 pt), each repeating the header row and the account's ID and name;
    # the metric scores (one column each) stay on screen: one page wide with them would print at ~4 pt.
    # The Churn risk note is the one line above the table: the header row (1 without it) moves down to 2
    preamble = [[churn_note]] if churn_risk is not None else []
    head = len(preamble) + 1
    page = PageSetup(landscape=True, fit_width=2, fit_height=0, repeat_rows=f"{head}:{head}", repeat_columns="A:B",
                     print_area=f"A1:{column_letter(printed)}{len(frame) + head}")
    return OutputSheet(c.SCORES, frame, bands=bands, band_label_columns=("Band",),
                       number_formats={"Coverage": "0%", "Change": CHANGE_FORMAT, CHURN_RISK: "0.0%"}, widths=widths,
                       freeze=f"C{head + 1}", wrap=WRAPPED, page=page, preamble=preamble, row_styles={1: ""} if preamble
                       else {})


def score_order(score: np.ndarray, ids) -> np.ndarray:
    """The order of the rows by ``score`` (lowest first, blanks last), then by account ID.

    What ``sort_values([score, ID], na_position="last", kind="stable")`` gives, without sorting the IDs
    as text when they are already in order (as accounts usually are listed).

    Parameters
    ----------
    score : numpy.ndarray of float
    ids : array-like
        The account IDs, one per row.

    Returns
    -------
    numpy.ndarray of intp
        Row positions, first row first.
    """
    ids = pd.Index(ids)
    if ids.is_monotonic_increasing:
        rank = np.arange(len(ids))
    else:  # the order sort_values gives text: that of its sorted distinct values
        rank = pd.factorize(ids, sort=True)[0]
        rank[rank < 0] = len(ids)  # a blank ID goes last
    return np.lexsort((rank, score))
