"""The Benchmark Gap sheet: the to-do list of accounts below the benchmark for their segment and stage."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.analysis.targets import benchmark_targets, category_points, match_benchmarks, select_playbooks, top_names
from chs_excel.book.table import OutputSheet
from chs_excel.config.model import HealthConfig
from chs_excel.core.explain import driver_text
from chs_excel.sheets.common import account_labels


def gap_sheet(config: HealthConfig, labels: pd.DataFrame, overall: pd.Series, band: pd.Series, categories: pd.DataFrame,
              lost: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, OutputSheet, dict[str, int]]:
    """Accounts below the benchmark for their segment and stage, biggest gap first, with the playbook to run."""
    index = overall.index
    info = account_labels(labels, index)
    segment, stage = pd.Series(info["Segment"], index=index), pd.Series(info["Stage"], index=index)
    chosen = match_benchmarks(config, segment, stage)
    target = benchmark_targets(config, chosen)
    gap = overall - target
    playbook = select_playbooks(config, band, stage, top_names(category_points(config, lost)), top_names(lost))
    below = gap < 0
    drivers = driver_text(lost.loc[below], top=3)
    cat_text = []
    for account in index[below]:
        k = chosen[account]
        parts = [f"{name} {categories.at[account, name]:.0f} < {goal:g}"
                 for name, goal in config.benchmarks[k].category_targets.items()
                 if categories.at[account, name] < goal]
        cat_text.append(", ".join(parts))
    rows = pd.DataFrame({c.ACCOUNT_ID: index[below].to_numpy(),
                         **{k: v[below.to_numpy()] for k, v in info.items()},
                         "Overall": overall[below].to_numpy(), "Benchmark": target[below].to_numpy(),
                         "Gap": gap[below].to_numpy(), "Costing most points": drivers.to_numpy(),
                         "Categories below target": np.array(cat_text, dtype=object)})
    picks = playbook[below].to_numpy()
    books = config.playbooks
    rows["Playbook"] = [books[k].name if k >= 0 else "" for k in picks]
    rows["Actions"] = [books[k].actions if k >= 0 else "" for k in picks]
    rows["Owner"] = [books[k].owner if k >= 0 else "" for k in picks]
    rows["_link"] = [(books[k].link or books[k].location) if k >= 0 else None for k in picks]
    rows = rows.sort_values(["Gap", c.ACCOUNT_ID], kind="stable").reset_index(drop=True)
    links = rows.pop("_link").tolist()
    summary = {"below": int(below.sum()), "at_or_above": int((gap >= 0).sum()),
               "no_benchmark": int(((chosen < 0) & overall.notna()).sum()), "no_score": int(overall.isna().sum())}
    preamble = [[f"Benchmark gap as of {as_of.isoformat()}: accounts below the benchmark for their segment and stage"],
                [summary["below"], "accounts below their benchmark (listed below, biggest gap first)"],
                [summary["at_or_above"], "at or above their benchmark"],
                [summary["no_benchmark"], "with no benchmark for their segment and stage"],
                [summary["no_score"], "without an overall score (not enough data)"],
                []]
    widths = {c.ACCOUNT_ID: 12, "Account name": 26, "Segment": 13, "Stage": 10, "CSM": 16, "Overall": 9,
              "Benchmark": 11, "Gap": 7, "Costing most points": 44, "Categories below target": 30, "Playbook": 26,
              "Actions": 60, "Owner": 16}
    out = OutputSheet(c.GAP, rows, bands={"Overall": (config.bands.red_below, config.bands.amber_below)},
                      widths=widths, freeze=f"C{len(preamble) + 2}", preamble=preamble, links={"Playbook": links})
    return rows, out, summary
