"""The Benchmark Gap sheet: the to-do list of accounts below the benchmark for their segment and stage."""
from __future__ import annotations

import datetime as dt
import textwrap

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis.targets import benchmark_targets, category_points, match_benchmarks, select_playbooks, top_names
from chs_excel.book.form import PageSetup
from chs_excel.book.table import OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.distinct import group_rows
from chs_excel.core.explain import driver_text
from chs_excel.sheets.common import account_labels
from chs_excel.sheets.scores import score_order


def gap_sheet(config: HealthConfig, labels: pd.DataFrame, overall: pd.Series, band: pd.Series, categories: pd.DataFrame,
              lost: pd.DataFrame, as_of: dt.date, *, chosen: pd.Series | None = None
              ) -> tuple[pd.DataFrame, OutputSheet, dict[str, int]]:
    """Accounts below the benchmark for their segment and stage, biggest gap first, with the playbook to run.

    ``chosen``: each account's benchmark (:func:`~chs_excel.analysis.targets.match_benchmarks`), when already
    matched (the refresh shows it on Scores too); None: matched here."""
    index = overall.index
    info = account_labels(labels, index)
    segment, stage = pd.Series(info["Segment"], index=index), pd.Series(info["Stage"], index=index)
    chosen = match_benchmarks(config, segment, stage) if chosen is None else chosen
    target = benchmark_targets(config, chosen)
    gap = overall - target
    playbook = select_playbooks(config, band, stage, top_names(category_points(config, lost)), top_names(lost))
    below = gap < 0
    rows_below = below.to_numpy()
    order = score_order(gap.to_numpy(dtype=float)[rows_below], index[rows_below])  # biggest gap first
    listed = np.flatnonzero(rows_below)[order]  # the accounts listed, in the sheet's order
    drivers = driver_text(lost.loc[below], top=3).to_numpy()[order]
    aligned = categories if categories.index.equals(index) else categories.reindex(index)
    cat_text = _categories_below(config, chosen.to_numpy()[rows_below], aligned[rows_below])[order]
    rows = pd.DataFrame({c.ACCOUNT_ID: index.to_numpy()[listed], **{k: v[listed] for k, v in info.items()},
                         "Overall": overall.to_numpy()[listed], "Benchmark": target.to_numpy()[listed],
                         "Gap": gap.to_numpy()[listed], "Costing most points": drivers,
                         "Categories below target": cat_text})
    picks = playbook.to_numpy()[listed]
    books = config.playbooks

    def per_pick(values: list, none) -> list:  # one lookup per account instead of one attribute read
        return np.array(values + [none], dtype=object)[picks].tolist()  # pick -1 takes ``none``
    rows["Playbook"] = per_pick([b.name for b in books], "")
    rows["Actions"] = per_pick([b.actions for b in books], "")
    rows["Owner"] = per_pick([b.owner for b in books], "")
    rows["_link"] = per_pick([b.link or b.location for b in books], None)
    links = rows.pop("_link").tolist()
    summary = {"below": int(below.sum()), "at_or_above": int((gap >= 0).sum()),
               "no_benchmark": int(((chosen < 0) & overall.notna()).sum()), "no_score": int(overall.isna().sum())}
    preamble = [[f"Benchmark gap as of {as_of.isoformat()}: accounts below the benchmark for their segment and stage"],
                [summary["below"], "accounts below their benchmark (listed below, biggest gap first)"],
                [summary["at_or_above"], "at or above their benchmark"],
                [summary["no_benchmark"], "with no benchmark for their segment and stage"],
                [summary["no_score"], "without an overall score (not enough data)"]]
    # in lines about as wide as the table's first columns: one long line would shrink the printed page to fit it
    preamble += [[line] for line in textwrap.wrap(benchmark_advice(summary), 110)]
    preamble.append([])
    # Sentences wrap within these widths (see ``wrap``), so they can be narrower than the longest one
    widths = {c.ACCOUNT_ID: 12, "Account name": 26, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9,
              "Benchmark": 11, "Gap": 7, "Costing most points": 36, "Categories below target": 26, "Playbook": 24,
              "Actions": 46, "Owner": 16}
    out = OutputSheet(c.GAP, rows, bands={"Overall": (config.bands.red_below, config.bands.amber_below)},
                      widths=widths, freeze=f"C{len(preamble) + 2}", preamble=preamble, links={"Playbook": links},
                      wrap=("Costing most points", "Categories below target", "Playbook", "Actions"),
                      page=PageSetup(landscape=True, fit_width=1, fit_height=0,
                                     repeat_rows=f"{len(preamble) + 1}:{len(preamble) + 1}"))
    return rows, out, summary


def benchmark_advice(counts: dict[str, int]) -> str:
    """What to add when no scored account has a benchmark ('' when some have, or none is scored).

    Parameters
    ----------
    counts : dict of str to int
        The Benchmark Gap summary: "below", "at_or_above", "no_benchmark", "no_score".

    Returns
    -------
    str
    """
    if counts.get("below", 0) or counts.get("at_or_above", 0) or not counts.get("no_benchmark", 0):
        return ""
    return (f"No account has a benchmark yet: add rows to the '{c.BENCHMARKS}' sheet, one per segment and journey "
            f"stage (columns Segment, Stage and Target, the overall score an account should have there, 1-100; a "
            f"blank Segment or Stage matches any), e.g. Segment 11-50, Stage Onboard, Target 75. Rows that match no "
            f"account are listed on '{c.DATA_ISSUES}'. See docs/workbook.md, Benchmarks.")


def _categories_below(config: HealthConfig, chosen: np.ndarray, categories: pd.DataFrame) -> np.ndarray:
    """For each account, its categories below its benchmark's category targets: "Product 40 < 60, ...".

    ``chosen``: each account's benchmark. Each distinct score of a category is worded once per benchmark,
    and each distinct run of them joined once.
    """
    texts = np.full(len(chosen), "", dtype=object)
    for k in np.unique(chosen):
        rows = np.flatnonzero(chosen == k)
        parts = []
        for name, goal in config.benchmarks[k].category_targets.items():
            score = categories[name].to_numpy(dtype=float)[rows]
            below = score < goal
            # Distinct by their bits, not their values: 0.0 and -0.0 are equal but print differently.
            codes, distinct = pd.factorize(score[below].view(np.int64))
            words = np.array([f"{name} {v:.0f} < {goal:g}" for v in distinct.view(np.float64)] + [""], dtype=object)
            picks = np.full(len(rows), -1)
            picks[below] = codes
            parts.append((words, picks))  # -1 picks ""
        # Accounts with the same categories below, at the same scores, read the same: join each such run once.
        group, example = group_rows(len(rows), [picks for _, picks in parts])
        runs = zip(*(words[picks[example]].tolist() for words, picks in parts))
        joined = [", ".join([part for part in run if part]) for run in runs] if parts else [""] * len(example)
        texts[rows] = np.array(joined, dtype=object)[group]
    return texts
