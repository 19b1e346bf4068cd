"""The Distribution sheet: is the score separating accounts?

The counting and the skew warning are in :mod:`chs_excel.analysis.distribution`.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import distribution
from chs_excel.book.table import BarChart, OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.bands import band_of
from chs_excel.sheets.common import account_labels

CHART_COLORS = ("E06666", "FFD966", "93C47D")  # red, amber, green bars


def distribution_sheet(config: HealthConfig, labels: pd.DataFrame, overall: pd.Series, band: pd.Series,
                       categories: pd.DataFrame, as_of: dt.date) -> tuple[OutputSheet, str]:
    """Red/amber/green counts and shares: overall, per category, per segment; a chart; a skew warning."""
    rows = []

    def add(level: str, group: str, bands: pd.Series) -> dict:
        count = distribution.counts(bands)
        share = distribution.shares(count)
        rows.append({"Level": level, "Group": group, **{b: count[b] for b in c.BANDS},
                     "No score": count["No score"], **{f"{b} %": share[b] for b in c.BANDS}})
        return count

    total = add("Overall", "All accounts", band)
    for cat in config.categories:
        add("Category", cat.name, pd.Series(band_of(categories[cat.name], cat.bands), index=categories.index))
    segments = pd.Series(account_labels(labels, overall.index)["Segment"], index=overall.index)
    for name in sorted({str(s) for s in segments if str(s).strip()}):
        add("Segment", name, band[segments.astype(str) == name])
    warning = distribution.skew_warning(total, overall.to_numpy())
    frame = pd.DataFrame(rows)
    preamble: list[list] = [[f"Red / amber / green distribution as of {as_of.isoformat()}"],
                [warning or "No band holds more than half of the scored accounts: the score separates accounts."],
                []]
    fmt = {f"{b} %": "0%" for b in c.BANDS}
    chart = BarChart("Share of accounts by band", "Group", c.BANDS, CHART_COLORS,
                     anchor=f"B{len(preamble) + len(frame) + 4}")  # under the table
    widths = {"Level": 10, "Group": 24, "No score": 9}
    return OutputSheet(c.DISTRIBUTION, frame, number_formats=fmt, widths=widths, freeze="A5", preamble=preamble,
                       charts=[chart]), warning
