"""The Distribution sheet: is the score separating accounts?

The counting and the skew warning are in :mod:`chs_excel.analysis.distribution`.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis import distribution
from chs_excel.book.form import PageSetup
from chs_excel.book.table import BarChart, OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.bands import band_codes
from chs_excel.core.distinct import text_codes
from chs_excel.sheets.common import account_labels

CHART_COLORS = ("E06666", "FFD966", "93C47D")  # red, amber, green bars
WARNING = "Warning"


def distribution_sheet(config: HealthConfig, labels: pd.DataFrame, overall: pd.Series, band: pd.Series,
                       categories: pd.DataFrame, as_of: dt.date) -> tuple[OutputSheet, str]:
    """Red/amber/green counts and shares: overall, per category, per segment; a chart; a skew warning."""
    rows = []

    def add(level: str, group: str, count: dict[str, int]) -> dict:
        share = distribution.shares(count)
        rows.append({"Level": level, "Group": group, **{b: count[b] for b in c.BANDS},
                     "No score": count["No score"], **{f"{b} %": share[b] for b in c.BANDS}})
        return count

    segments = pd.Series(account_labels(labels, overall.index)["Segment"], index=overall.index)
    # A row per segment as str() spells it; its accounts are those whose segment reads so as text.
    codes, texts = text_codes(segments, lambda s: s.astype(str))
    spelled = set(texts.tolist()) | {str(v) for v in segments.to_numpy(dtype=object)[codes < 0]}
    names = sorted(name for name in spelled if name.strip())
    position = {name: g for g, name in enumerate(names)}
    # Accounts of no listed segment (blank) go in one more group: counted in the total only.
    group = np.array([position.get(text, len(names)) for text in texts.tolist()] + [len(names)], dtype=np.intp)[codes]
    by_segment = distribution.counts_by(band, group, len(names) + 1)
    total = add("Overall", "All accounts", {key: sum(count[key] for count in by_segment) for key in by_segment[0]})
    for cat in config.categories:
        tally = np.bincount(band_codes(categories[cat.name], cat.bands.red_below, cat.bands.amber_below).ravel(),
                            minlength=len(c.BANDS) + 1)
        add("Category", cat.name, {**{b: int(tally[k]) for k, b in enumerate(c.BANDS)}, "No score": int(tally[-1])})
    for name, count in zip(names, by_segment):
        add("Segment", name, count)
    warning = distribution.skew_warning(total, overall.to_numpy())
    frame = pd.DataFrame(rows)
    # Each row says whether its own accounts sit mostly in one band: a category that puts nearly everyone in
    # Amber, or a segment that is all Red, hides behind a balanced overall split.
    frame[WARNING] = [distribution.group_skew_warning(row["Level"], {b: row[b] for b in (*c.BANDS, "No score")})
                      for row in rows]
    skewed = {level: int(((frame["Level"] == level) & (frame[WARNING] != "")).sum()) for level in ("Category", "Segment")}
    plural = {"Category": "categories", "Segment": "segments"}
    groups = " and ".join(f"{n} {level.lower() if n == 1 else plural[level]}" for level, n in skewed.items() if n)
    preamble: list[list] = [[f"Red / amber / green distribution as of {as_of.isoformat()}"],
                [warning or "No band holds more than half of the scored accounts: the score separates accounts."],
                [f"More than half of the scored accounts of {groups} sit in one band: see the {WARNING} column."
                 if groups else "No category or segment has more than half of its scored accounts in one band."],
                []]
    fmt = {f"{b} %": "0%" for b in c.BANDS}
    chart = BarChart("Share of accounts by band", "Group", c.BANDS, CHART_COLORS,
                     anchor=f"B{len(preamble) + len(frame) + 4}")  # under the table
    widths = {"Level": 10, "Group": 24, "No score": 9, WARNING: 48}
    return OutputSheet(c.DISTRIBUTION, frame, number_formats=fmt, widths=widths, freeze=f"A{len(preamble) + 2}",
                       preamble=preamble, charts=[chart], wrap=(WARNING,),
                       page=PageSetup(landscape=True, fit_width=1, fit_height=0)), warning
