"""Rules of the Rules sheet: conditions on a score, a band or an Accounts value that cap or force the overall.

Pure and vectorised: each rule is a handful of numpy operations over every account. The engine calls
:func:`apply_rules` on the overall score after metric and category overrides and before overall overrides
(so a CSM's overall override wins over a rule), and stale data is already missing by then.

Semantics
---------
- A condition on a score (``Overall``, a category or a metric) compares the score as shown (a whole number),
  or, with a band as Value, its band (ordered Red < Amber < Green) by that score's own cut points.
  A condition on an Accounts column compares its number, or its text (ignoring case and surrounding spaces).
  A blank value (no score, an empty cell) never fires a rule, whatever the comparison.
- ``cap score``: the overall becomes at most To. ``cap band``: at most the highest whole score of that band
  (Red: one below Red below, rounded up), so the shown score and its band agree. ``set band``: the band is
  forced, the score is unchanged (like a band override).
- The rules whose condition holds are listed for an account only where, together, they change what it shows
  (its score or band): a rule capping an account that is Red already at Red is not listed.
- Several rules firing: the lowest cap applies; of several ``set band`` rules the lowest band; every rule that
  fired is listed. An account without an overall score (insufficient data) is left as it is.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.config.model import Bands, HealthConfig, Rule
from chs_excel.core.bands import band_codes

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
            "<>": operator.ne}
NO_BAND = 3  # band_codes of a missing score


@dataclass
class RulesApplied:
    """What the rules did to the overall scores.

    Attributes
    ----------
    overall : numpy.ndarray of float
        The overall scores after the caps (NaN where there was none).
    forced_band : numpy.ndarray of int8
        The band a ``set band`` rule forces, as a position in ``contract.BANDS`` (:data:`NO_BAND` where none).
    fired : list of numpy.ndarray of bool
        Per rule of the config, in order: the accounts it fired for (only accounts with an overall score).
    """

    overall: np.ndarray
    forced_band: np.ndarray
    fired: list[np.ndarray]


def band_cap(band: str, bands: Bands) -> float:
    """The highest whole score that is still in ``band`` (Red or Amber) with the overall cut points ``bands``."""
    below = bands.red_below if band == c.BANDS[0] else bands.amber_below
    return float(math.ceil(below) - 1)


def _scores_of(rule: Rule, config: HealthConfig, overall: np.ndarray, categories: dict[str, np.ndarray],
               metrics: dict[str, np.ndarray]) -> tuple[np.ndarray, Bands]:
    if rule.kind == "overall":
        return overall, config.bands
    if rule.kind == "category":
        return categories[rule.when], next(cat.bands for cat in config.categories if cat.name == rule.when)
    return metrics[rule.when], next(m.bands for m in config.metrics if m.name == rule.when)


def _column_fires(rule: Rule, column: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    if column is None:
        return np.zeros(n, dtype=bool)
    compare = _COMPARE[rule.compare]
    if isinstance(rule.value, str):  # text: = or <> (checked with the config), ignoring case and spaces
        codes, distinct = pd.factorize(pd.Series(np.asarray(column, dtype=object)), use_na_sentinel=True)
        wanted = rule.value.strip().casefold()
        folded = [str(v).strip().casefold() for v in distinct]  # once per distinct value, not per account
        hit = np.array([compare(text, wanted) and text != "" for text in folded] + [False], dtype=bool)
        return hit[codes]  # code -1 (blank) reads the trailing False
    values = np.asarray(column)
    if values.dtype.kind not in "fiu":  # as read for a text rule on the same column: numbers in it still count
        values = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    values = values.astype(float, copy=False)
    with np.errstate(invalid="ignore"):
        return compare(values, float(rule.value)) & ~np.isnan(values)


def rule_fires(rule: Rule, config: HealthConfig, overall: np.ndarray, categories: dict[str, np.ndarray],
               metrics: dict[str, np.ndarray], columns: pd.DataFrame) -> np.ndarray:
    """Where the condition of ``rule`` holds (never where its value is blank).

    Parameters
    ----------
    rule : Rule
    config : HealthConfig
    overall : numpy.ndarray of float
        The computed overall score per account (NaN: none).
    categories, metrics : dict of str to numpy.ndarray
        Category and metric scores per account by name (after their overrides; stale data missing).
    columns : pandas.DataFrame
        The Accounts columns the rules read, by the name a rule's When gives.

    Returns
    -------
    numpy.ndarray of bool
    """
    from chs_excel.core.explain import rounded  # explain imports the engine, which imports this module

    n = len(overall)
    if rule.kind == "column":
        return _column_fires(rule, columns[rule.when] if rule.when in columns else None, n)
    scores, bands = _scores_of(rule, config, overall, categories, metrics)
    shown = rounded(scores)  # what a person reads on Scores: 39.6 shows as 40, and "< 40" does not hold
    compare = _COMPARE[rule.compare]
    if rule.by_band:
        code = band_codes(shown, bands.red_below, bands.amber_below)
        return compare(code, c.BANDS.index(rule.value)) & (code != NO_BAND)
    with np.errstate(invalid="ignore"):
        return compare(shown, float(rule.value)) & ~np.isnan(shown)


def apply_rules(config: HealthConfig, overall: np.ndarray, categories: dict[str, np.ndarray],
                metrics: dict[str, np.ndarray], columns: pd.DataFrame) -> RulesApplied:
    """Fire every rule of ``config`` and cap (or force the band of) the overall scores; see the module notes.

    ``overall`` is not changed: the capped scores are a new array.
    """
    n = len(overall)
    scored = ~np.isnan(overall)
    capped = overall.copy()
    forced = np.full(n, NO_BAND, dtype=np.int8)
    fired = []
    for rule in config.rules:
        hits = rule_fires(rule, config, overall, categories, metrics, columns) & scored
        fired.append(hits)
        if not hits.any():
            continue
        if rule.effect == "set band":
            np.minimum(forced, np.int8(c.BANDS.index(rule.to)), out=forced, where=hits)  # the lowest band wins
        else:
            cap = float(rule.to) if rule.effect == "cap score" else band_cap(str(rule.to), config.bands)
            np.minimum(capped, cap, out=capped, where=hits)  # the lowest cap wins
    # The rules are listed only where, together, they change what the account shows (its score or its band):
    # "CSM sentiment Red caps overall at Red" on an account already Red is no news.
    shown, after = np.floor(overall + 0.5), np.floor(capped + 0.5)
    band_before = band_codes(shown, config.bands.red_below, config.bands.amber_below)
    band_after = np.where(forced != NO_BAND, forced, band_codes(after, config.bands.red_below, config.bands.amber_below))
    changed = (after != shown) & scored | (band_after != band_before)
    fired = [hits & changed for hits in fired]
    return RulesApplied(capped, forced, fired)


def fired_names(rules: tuple[Rule, ...], fired: list[np.ndarray], overridden: np.ndarray, n: int) -> np.ndarray:
    """For each account, the names of the rules that fired, joined by "; " ('' when none).

    Where an overall override replaced what the rules did (``overridden``), " (override wins)" follows.
    Accounts share few patterns of fired rules, so each pattern is spelled out once.
    """
    out = np.full(n, "", dtype=object)
    if not rules:
        return out
    masks = list(fired) + [overridden]
    if len(masks) > 62:  # too many for one int64 bit pattern: row by row, only where something fired
        matrix = np.column_stack(fired)
        for row in np.flatnonzero(matrix.any(axis=1)):
            text = "; ".join(rule.name for rule, hit in zip(rules, matrix[row]) if hit)
            out[row] = text + (" (override wins)" if overridden[row] else "")
        return out
    pattern = np.zeros(n, dtype=np.int64)
    for k, hits in enumerate(masks):
        np.add(pattern, 1 << k, out=pattern, where=hits)
    inverse, patterns = pd.factorize(pattern)
    last = 1 << len(rules)
    texts = []
    for p in patterns:
        text = "; ".join(rule.name for k, rule in enumerate(rules) if p >> k & 1)
        texts.append(text + (" (override wins)" if text and p & last else ""))
    return np.array(texts, dtype=object)[inverse]
