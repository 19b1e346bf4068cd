"""Scores worded for people: whole numbers, the shown band, what costs points, override notes.

The engine computes; this module is the only place that turns its results into
what a person reads, so every sheet and worksheet function shows the same
numbers and the same sentences. Pure: numpy and pandas only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from chs_excel.config.model import HealthConfig
from chs_excel.core.bands import band_of
from chs_excel.core.engine import AppliedOverride, ScoreResult
from chs_excel.problems import show_value


def rounded(values) -> np.ndarray:
    """Whole-number scores, halves rounded up (what a person expects: 69.5 -> 70)."""
    return np.floor(np.asarray(values, dtype=float) + 0.5)


def shown_overall(config: HealthConfig, result: ScoreResult) -> tuple[pd.Series, pd.Series]:
    """The overall score as shown (whole number) and its band.

    The band is that of the shown score, so 69.5 shows as 70 and Green; a CSM's
    band override wins over it.
    """
    overall = pd.Series(rounded(result.overall), index=result.overall.index)
    band = pd.Series(band_of(overall, config.bands), index=overall.index, dtype=object)
    band_set = overall.index.isin({o.account for o in result.overrides if o.band is not None})
    band[band_set] = result.overall_band[band_set]
    return overall, band


def points_lost(config: HealthConfig, metric_scores: pd.DataFrame) -> pd.DataFrame:
    """Points each metric costs each account's overall score: its effective weight x (100 - score).

    Effective weights are renormalised over the metrics (and categories) that
    have a score, exactly as in the roll-up, so an account's points lost add
    up to ``100 - overall`` (before overrides). Metrics without a score cost nothing.
    """
    scores = metric_scores[[m.name for m in config.metrics]].to_numpy(dtype=float)
    present = ~np.isnan(scores)
    cats = [cat.name for cat in config.categories]
    member = np.array([cats.index(m.category) for m in config.metrics])
    metric_w = np.array([m.weight for m in config.metrics], dtype=float)
    onehot = np.zeros((len(config.metrics), len(cats)))
    onehot[np.arange(len(config.metrics)), member] = 1.0
    cat_weight_present = (present * metric_w) @ onehot                       # N x C
    cat_w = np.array([cat.weight for cat in config.categories], dtype=float)
    cat_on = (cat_weight_present > 0) * cat_w
    with np.errstate(invalid="ignore", divide="ignore"):
        cat_share = cat_on / cat_on.sum(axis=1, keepdims=True)
        effective = cat_share[:, member] * metric_w * present / cat_weight_present[:, member]
    lost = np.where(present, np.nan_to_num(effective) * (100.0 - np.nan_to_num(scores)), 0.0)
    return pd.DataFrame(lost, index=metric_scores.index, columns=[m.name for m in config.metrics])


def driver_text(lost: pd.DataFrame, top: int = 3, at_least: float = 0.5) -> pd.Series:
    """The metrics that cost the most points, as readable text: "Support engagement -18, Outreach -9"."""
    values = lost.to_numpy()
    names = np.asarray(lost.columns, dtype=object)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    texts = []
    for row, picks in zip(values, order):
        texts.append(", ".join(f"{names[k]} -{int(np.floor(row[k] + 0.5))}" for k in picks if row[k] >= at_least))
    return pd.Series(texts, index=lost.index, dtype=object)


def override_note(override: AppliedOverride) -> str:
    """One override in words: "m2 set to 100 (was 60): Stale data (Ana, until 2099-01-01)".

    A band override reads "Band set to Red (was Amber): ..."; an overall score
    override names "Overall"; a score that replaced nothing reads "(was no score)".
    """
    if override.band is not None:
        what, value, was = "Band", override.band, override.was or "no band"
    else:
        what, value = override.target or "Overall", show_value(float(override.score))
        was = "no score" if np.isnan(override.was) else f"{override.was:.0f}"
    until = override.expires.isoformat()
    return f"{what} set to {value} (was {was}): {override.reason} ({override.author}, until {until})"


def override_notes(result: ScoreResult) -> pd.Series:
    """For each account, its overrides in words, in the order applied and joined by "; " ('' when none)."""
    parts: dict[str, list[str]] = {}
    for override in result.overrides:
        parts.setdefault(override.account, []).append(override_note(override))
    notes = pd.Series("", index=result.overall.index, dtype=object)
    for account, texts in parts.items():
        notes.loc[account] = "; ".join(texts)
    return notes
