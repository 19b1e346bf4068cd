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
from chs_excel.core.distinct import group_rows
from chs_excel.core.engine import AppliedOverride, ScoreResult
from chs_excel.core.measures import SCORE_DECIMALS
from chs_excel.problems import show_value


def rounded(values) -> np.ndarray:
    """Whole-number scores, halves rounded up (what a person expects: 69.5 -> 70).

    A category or overall score is a weighted mean, so floating point can put an exact half a crumb below it
    (50.49999999999999): it is first settled to ``measures.SCORE_DECIMALS`` decimals, as metric scores are, so
    the same half always shows as the same whole number.
    """
    return np.floor(np.round(np.asarray(values, dtype=float), SCORE_DECIMALS) + 0.5)


def shown_overall(config: HealthConfig, result: ScoreResult) -> tuple[pd.Series, pd.Series]:
    """The overall score as shown (whole number) and its band.

    The band is that of the shown score, so 69.5 shows as 70 and Green; a CSM's
    band override wins over it.
    """
    overall = pd.Series(rounded(result.overall), index=result.overall.index)
    band = pd.Series(band_of(overall, config.bands), index=overall.index, dtype=object)
    band_set = overall.index.isin({o.account for o in result.overrides if o.band is not None})
    if result.rule_band is not None:  # a "set band" rule forces the band, as a band override does
        band_set |= (result.rule_band != "").to_numpy()
    band[band_set] = result.overall_band[band_set]
    return overall, band


def points_lost(config: HealthConfig, metric_scores: pd.DataFrame) -> pd.DataFrame:
    """Points each metric costs each account's overall score: its effective weight x (100 - score).

    Effective weights are renormalised over the metrics (and categories) that
    have a score, exactly as in the roll-up, so an account's points lost add
    up to ``100 - overall`` (before overrides). Metrics without a score cost nothing.
    """
    names = [m.name for m in config.metrics]
    n, width = len(metric_scores), len(names)
    # Column by column (each metric's scores are one contiguous array in the frame), the arithmetic of the
    # roll-up, without N x K temporaries or a transposing copy into the frame.
    scores = [metric_scores[name].to_numpy(dtype=float) for name in names]
    present = [~np.isnan(col) for col in scores]
    cats = [cat.name for cat in config.categories]
    member = np.array([cats.index(m.category) for m in config.metrics], dtype=int)
    metric_w = np.array([m.weight for m in config.metrics], dtype=float)
    cat_weight_present = np.zeros((n, len(cats)))                       # N x C, summed in metric order
    for k, g in enumerate(member):
        np.add(cat_weight_present[:, g], metric_w[k], out=cat_weight_present[:, g], where=present[k])
    cat_w = np.array([cat.weight for cat in config.categories], dtype=float)
    cat_on = (cat_weight_present > 0) * cat_w
    lost = np.zeros((n, width), order="F")
    with np.errstate(invalid="ignore", divide="ignore"):
        cat_share = cat_on / cat_on.sum(axis=1, keepdims=True)
        for k, g in enumerate(member):
            # Written only where the metric has a score: there, x present (1) changes nothing, and
            # nan_to_num(100 - score) is 100 - nan_to_num(score).
            effective = np.nan_to_num(cat_share[:, g] * metric_w[k] / cat_weight_present[:, g], copy=False)
            room = np.nan_to_num(100.0 - scores[k], copy=False)
            np.multiply(effective, room, out=lost[:, k], where=present[k])
    return pd.DataFrame(lost, index=metric_scores.index, columns=names, copy=False)


def driver_text(lost: pd.DataFrame, top: int = 3, at_least: float = 0.5) -> pd.Series:
    """The metrics that cost the most points, as readable text: "Support engagement -18, Outreach -9"."""
    values = lost.to_numpy(dtype=float)
    names = np.asarray(lost.columns, dtype=object)
    n = len(values)
    # Each row's top metrics, largest loss first (the order of a stable sort of each row), as pieces of text
    # ("Outreach -9"): each distinct piece is written once, and each distinct run of pieces joined once.
    places = np.empty((len(range(values.shape[1])[:top]), n), dtype=np.intp)  # as many places as [:top] keeps
    for p, column in enumerate(_ranked(values, len(places))):
        places[p] = column
    lost_there = values[np.arange(n), places]
    shown = lost_there >= at_least
    points, wholes = pd.factorize(np.floor(lost_there[shown] + 0.5))
    piece, keys = pd.factorize(places[shown] * len(wholes) + points)
    pieces = np.array([f"{names[key // len(wholes)]} -{int(wholes[key % len(wholes)])}" for key in keys] + [""],
                      dtype=object)
    codes = np.full(places.shape, -1, dtype=np.intp)
    codes[shown] = piece
    group, example = group_rows(n, list(codes))
    runs = zip(*(pieces[codes[p, example]].tolist() for p in range(len(codes))))  # code -1 reads ""
    texts = np.array([", ".join(part for part in run if part) for run in runs] if len(codes) else [""] * len(example),
                     dtype=object)
    return pd.Series(texts[group], index=lost.index, dtype=object)


def _ranked(values: np.ndarray, count: int) -> list[np.ndarray]:
    """For each of the first ``count`` places, the column each row puts there, largest value first.

    The places of ``np.argsort(-values, axis=1, kind="stable")``: NaN last, ties in column order.
    """
    n, width = values.shape
    if count <= 0:
        return []
    if width > 16:  # comparing every pair of columns would cost more than sorting each row
        order = np.argsort(-values, axis=1, kind="stable")
        return [order[:, p] for p in range(count)]
    cols = [values[:, k] for k in range(width)]
    nan = [np.isnan(col) for col in cols]
    before = [np.zeros(n, dtype=np.int8) for _ in cols]  # how many columns come before each
    for k in range(width):
        for j in range(k):
            first = (cols[j] >= cols[k]) | nan[k]  # the earlier column j goes first unless it is smaller or NaN
            before[k] += first
            before[j] += ~first
    places = []
    for p in range(count):
        column = np.zeros(n, dtype=np.intp)
        for k in range(1, width):
            column[before[k] == p] = k
        places.append(column)
    return places


def override_note(override: AppliedOverride) -> str:
    """One override in words: "m2 set to 100 (was 60): Stale data (Ana, until 2099-01-01)".

    A band override reads "Band set to Red (was Amber): ..."; an overall score
    override names "Overall"; a score that replaced nothing reads "(was no score)".
    """
    if override.band is not None:
        what, value, was = "Band", override.band, override.was or "no band"
    else:
        what, value = override.target or "Overall", show_value(float(override.score))
        # as the score was shown (halves up): format's ".0f" would round 50.5 to the even 50
        was = "no score" if np.isnan(override.was) else f"{rounded(override.was):.0f}"
    until = override.expires.isoformat()
    return f"{what} set to {value} (was {was}): {override.reason} ({override.author}, until {until})"


def rule_notes(result: ScoreResult) -> pd.Series:
    """For each account, the rules that fired: "Rule: CSM sentiment Red caps overall at Red" ('' when none).

    Several are joined by "; "; "(override wins)" follows when an overall override replaced their effect.
    """
    if result.rules is None:
        return pd.Series("", index=result.overall.index, dtype=object)
    names = result.rules.to_numpy(dtype=object)
    notes = np.full(len(names), "", dtype=object)
    fired = names != ""
    notes[fired] = "Rule: " + names[fired]
    return pd.Series(notes, index=result.overall.index, dtype=object)


def override_notes(result: ScoreResult) -> pd.Series:
    """For each account, its overrides in words, in the order applied and joined by "; " ('' when none)."""
    parts: dict[str, list[str]] = {}
    for override in result.overrides:
        parts.setdefault(override.account, []).append(override_note(override))
    notes = pd.Series("", index=result.overall.index, dtype=object)
    for account, texts in parts.items():
        notes.loc[account] = "; ".join(texts)
    return notes
