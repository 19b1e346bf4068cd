"""The scorecard compiled to one SQL query: the pandas engine's numbers, where the data lives (DuckDB, Spark).

:func:`scores_sql` writes a chain of CTEs in DuckDB's dialect, kept to what SQLGlot carries over to Spark SQL
unchanged (no macros, lateral joins or list functions): every measure, stale data, the roll-up with
renormalisation over missing metrics, coverage, overrides, rules and bands, giving exactly what
:func:`chs_excel.core.engine.score` and :mod:`chs_excel.core.explain` give, cell for cell.

Exactness: every number is computed by the same IEEE operations, in the same order, as the numpy code
(``(value - low) / (high - low)``, clipped, ``1 + 99 * share``; sums column by column from 0). Rounding to
nine decimals (``measures.settled``, numpy's round half to even of ``x * 1e9``) and the whole numbers
shown (``explain.rounded``) are written out with FLOOR, so both engines agree bit for bit. Config constants
are inlined as literals (double literals in exponent form, which DuckDB and Spark both read as DOUBLE).

Input: table ``accounts`` (one row per account, columns named as on the Accounts sheet, already typed:
numbers DOUBLE, labels VARCHAR, dates DATE or TIMESTAMP; NULL, NaN or infinity is missing) and, for trend
metrics and metrics read from Metric History (``Read from``), table ``history`` (``"Account ID"``, ``"Period"``,
``"Column"``, ``"Value"``: Metric History's long format; ``Value`` DOUBLE, or VARCHAR when a categorical metric
reads labels from it: numbers are then read from the text). Output: one row per account, see :func:`scores_sql`.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from chs_excel import contract as c
from chs_excel.config.model import Bands, HealthConfig, Metric, Override, Rule
from chs_excel.core import measures
from chs_excel.core.engine import INSUFFICIENT, goal_period
from chs_excel.core.explain import rounded
from chs_excel.core.rules import band_cap
from chs_excel.problems import show_value

# What Python's str.strip() removes from labels, as far as SQL's TRIM can be told (ASCII whitespace).
_SPACES = " \t\n\r\x0b\x0c"


def ident(name: str) -> str:
    """A quoted identifier (``"Account ID"``), double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def text(value: str) -> str:
    """A string literal, single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def number(value: float) -> str:
    """A DOUBLE literal that reads back as exactly ``value`` (exponent form: DOUBLE in DuckDB and Spark)."""
    shown = repr(float(value))
    if not np.isfinite(float(value)):
        raise ValueError(f"not a finite number: {value}")
    literal = shown if "e" in shown else shown + "e0"
    return f"({literal})" if literal.startswith("-") else literal  # never "- -1e0" turning into a "--" comment


def settled(column: str) -> str:
    """``measures.settled`` of a column: numpy's ``rint(x * 1e9) / 1e9`` (ties to even), written with FLOOR.

    ``y - FLOOR(y)`` is exact for any double, so the tie test is exact too (``ROUND`` rounds ties away from
    zero in DuckDB, and SQLGlot knows no portable round-half-even).
    """
    y = f"({column} * 1e9)"
    down = f"FLOOR({y})"
    return (f"(({down} + CASE WHEN {y} - {down} > 0.5e0 THEN 1 WHEN {y} - {down} < 0.5e0 THEN 0 "
            f"WHEN {down} % 2 = 0 THEN 0 ELSE 1 END) / 1e9)")


def shown(column: str) -> str:
    """``explain.rounded``: the whole number a person reads (settled, then halves up)."""
    return f"FLOOR({settled(column)} + 0.5e0)"


def folded(expression: str) -> str:
    """Text ignoring case and surrounding spaces, as ``str(v).strip().casefold()`` (ASCII case and spaces)."""
    return f"LOWER(TRIM(BOTH {text(_SPACES)} FROM CAST({expression} AS VARCHAR)))"


def band_code(expression: str, bands: Bands) -> str:
    """``bands.band_codes``: 0 Red, 1 Amber, 2 Green, 3 where there is no score."""
    return (f"CASE WHEN {expression} < {number(bands.red_below)} THEN 0 "
            f"WHEN {expression} < {number(bands.amber_below)} THEN 1 "
            f"WHEN {expression} >= {number(bands.amber_below)} THEN 2 ELSE 3 END")


def band_label(code: str) -> str:
    """The band of a :func:`band_code` as text (NULL for 3: no band)."""
    red, amber, green = (text(band) for band in c.BANDS)
    return f"CASE {code} WHEN 0 THEN {red} WHEN 1 THEN {amber} WHEN 2 THEN {green} END"


def finite(expression: str) -> str:
    """A number column as DOUBLE, NULL where it is NULL, not a number, NaN or infinite (``x - x`` is 0 only for
    finite x). TRY_CAST: text in a number column is missing, as on the sheet."""
    value = f"TRY_CAST({expression} AS DOUBLE)"
    return f"CASE WHEN {value} - {value} = 0 THEN {value} END"


def _sum(terms: list[str]) -> str:
    """Left to right from 0, as numpy adds column by column (SQL's + associates to the left)."""
    return " + ".join(["0e0"] + terms)


def _mean(scores: list[str], weights: list[float]) -> tuple[str, str]:
    """Numerator and denominator of the weighted mean over the scores present (``engine._weighted_means``)."""
    numerator = _sum([f"COALESCE({s} * {number(w)}, 0e0)" for s, w in zip(scores, weights)])
    denominator = _sum([f"CASE WHEN {s} IS NOT NULL THEN {number(w)} ELSE 0e0 END" for s, w in zip(scores, weights)])
    return numerator, denominator


def _was(expression: str) -> str:
    """How an override note shows the score it replaced: the whole number, or "no score"."""
    return f"CASE WHEN {expression} IS NULL THEN 'no score' ELSE CAST(CAST({shown(expression)} AS BIGINT) AS VARCHAR) END"


def _note(what: str, value: str, was: str, override: Override) -> str:
    """``explain.override_note`` as SQL: ``was`` is an SQL expression, the rest is known now."""
    head = f"{what} set to {value} (was "
    tail = f"): {override.reason} ({override.author}, until {override.expires.isoformat()})"
    return f"{text(head)} || {was} || {text(tail)}"


class _Overrides:
    """The active score overrides of one level and target, by account, and their notes (``engine.score``'s apply)."""

    def __init__(self, overrides: list[Override]):
        self.by_account: dict[str, list[Override]] = {}
        for o in overrides:
            if o.score is not None:
                self.by_account.setdefault(o.account, []).append(o)

    def applied(self, before: str) -> str:
        """The score after the overrides: the last one listed for an account wins."""
        if not self.by_account:
            return before
        whens = " ".join(f"WHEN account_id = {text(account)} THEN {number(listed[-1].score)}"
                         for account, listed in self.by_account.items())
        return f"CASE {whens} ELSE {before} END"

    def notes(self, what: str, before: str) -> dict[str, list[str]]:
        """Per account, the note of each override in the order applied (the first replaced ``before``)."""
        out = {}
        for account, listed in self.by_account.items():
            was = [_was(before)] + [text(f"{float(rounded(o.score)):.0f}") for o in listed[:-1]]
            out[account] = [_note(what, show_value(float(o.score)), w, o) for o, w in zip(listed, was)]
        return out


def _linear_value(metric: Metric, as_of: dt.date, sources: dict[str, str], trends: dict[str, int],
                  value: str | None = None) -> str:
    """What a linear measure maps onto 1..100 (the value, the ratio, the change or the attainment).

    ``value``: the column holding the metric's Source when it is not an Accounts column (a logged metric's).
    """
    value = value or (sources[metric.source] if metric.measure != "trend" else None)
    if metric.measure == "range":
        return value
    if metric.measure == "ratio":
        numerator, denominator = value, sources[metric.source2]
        return f"CASE WHEN {denominator} <> 0 THEN {numerator} / {denominator} END"
    if metric.measure == "trend":
        t = trends[metric.source.strip().casefold()]
        previous, latest = f"prev_{t}", f"latest_{t}"
        return f"CASE WHEN {previous} <> 0 THEN ({latest} - {previous}) / ABS({previous}) END"
    if metric.measure == "goal":
        start, end = goal_period(metric, as_of)
        share = measures.elapsed_share(as_of, start, end)
        target = sources[metric.source2] if metric.source2 else number(metric.target)
        due = f"({target} * {number(share)})"
        return f"CASE WHEN {due} > 0 THEN {value} / {due} END"
    raise ValueError(f"not a linear measure: {metric.measure!r}")


def _linear_score(value: str, metric: Metric) -> str:
    """``measures.linear`` before settling: ``1 + 99 * share``, the share clipped to 0..1 (NULL stays NULL)."""
    low, high = float(metric.low), float(metric.high)
    if high == low:
        raise ValueError("low and high must differ")
    z = f"(({value} - {number(low)}) / {number(high - low)})"
    share = f"CASE WHEN {z} < 0e0 THEN 0e0 WHEN {z} > 1e0 THEN 1e0 ELSE {z} END"
    higher = metric.higher_is_better or metric.measure == "goal"
    if not higher:
        share = f"(1e0 - ({share}))"
    return f"{number(measures.MIN_SCORE)} + {number(measures.MAX_SCORE - measures.MIN_SCORE)} * ({share})"


def _threshold_score(value: str, metric: Metric) -> str:
    """``measures.threshold``: the score of the band the value falls in (at or above a cut point: the next band)."""
    scores = measures.settled(list(metric.scores)).tolist()
    whens = " ".join(f"WHEN {value} >= {number(cut)} THEN {number(score)}"
                     for cut, score in reversed(list(zip(metric.cut_points, scores[1:]))))
    return f"CASE WHEN {value} IS NULL THEN NULL {whens} ELSE {number(scores[0])} END"


def _categorical_score(label: str, metric: Metric) -> str:
    """``measures.categorical``: the label's score, ignoring case and surrounding spaces; NULL for others."""
    keyed = {str(k).strip().casefold(): float(measures.settled(v)) for k, v in metric.labels.items()}
    if not keyed:
        return "CAST(NULL AS DOUBLE)"
    whens = " ".join(f"WHEN {text(key)} THEN {number(score)}" for key, score in keyed.items())
    return f"CASE {folded(label)} {whens} END"


def _rule_condition(rule: Rule, j: int, config: HealthConfig, metric_at: dict[str, int],
                    category_at: dict[str, int]) -> str:
    """``rules.rule_fires`` as a boolean expression (never true where the value is blank)."""
    compare = rule.compare
    if rule.kind == "column":
        if isinstance(rule.value, str):
            folded_value = f"rule_{j}"
            return (f"({folded_value} {compare} {text(rule.value.strip().casefold())} "
                    f"AND {folded_value} <> '')")
        return f"(rule_{j} {compare} {number(rule.value)})"
    if rule.kind == "overall":
        column, bands = "o0", config.bands
    elif rule.kind == "category":
        column = f"c_{category_at[rule.when]}"
        bands = next(cat.bands for cat in config.categories if cat.name == rule.when)
    else:
        column = f"m_{metric_at[rule.when]}"
        bands = next(m.bands for m in config.metrics if m.name == rule.when)
    if rule.by_band:
        code = band_code(shown(column), bands)
        return f"(({code}) {compare} {c.BANDS.index(rule.value)} AND ({code}) <> 3)"
    return f"({shown(column)} {compare} {number(rule.value)})"


def scores_sql(config: HealthConfig, as_of: dt.date, *, accounts: str = "accounts", history: str = "history",
               overrides: bool = True, history_order: str | None = None) -> str:
    """One SQL query (DuckDB dialect, portable to Spark through SQLGlot) scoring every account like the engine.

    Parameters
    ----------
    config : HealthConfig
        The scorecard; its constants are inlined into the query.
    as_of : datetime.date
        The date the scores are for (goal periods, stale data, which overrides have expired, history periods).
    accounts, history : str
        The tables (or views) to read, inserted as written (a name, or a qualified name); ``history`` is read
        only when a metric is a trend or reads Metric History (then it must exist, empty if there is no history).
    overrides : bool
        Apply the config's overrides (those not expired at ``as_of``).
    history_order : str, optional
        A column of ``history`` giving its rows' order: of several rows for one account, column and period the
        last counts, as on the sheet. Without it the highest value counts (a table has no row order; for labels
        the last in text order).

    Returns
    -------
    str
        A query giving one row per row of ``accounts`` (one per account: IDs must be unique): ``account_id``;
        ``m_0 .. m_{K-1}`` metric scores (config order, after metric overrides); ``c_0 .. c_{G-1}`` category
        scores (after category overrides); ``overall`` (after rules and overall overrides); ``coverage`` (0-1);
        ``status`` ('', 'insufficient data', 'override'); ``band`` (of the shown overall, rule and override
        bands applied; NULL: none); ``missing`` (the Missing data text); ``override`` and ``rule`` (the notes
        of ``explain.override_notes`` and ``explain.rule_notes``, '' when none).
    """
    query = _Query(config, as_of, [o for o in config.overrides if o.expires >= as_of] if overrides else [])
    query.read_accounts(accounts)
    query.read_history(history, history_order)
    query.score_metrics()
    query.roll_up()
    query.apply_rules()
    return query.finish()


class _Query:
    """The CTEs of :func:`scores_sql`, stage by stage (each stage selects ``*`` of the last and adds columns).

    Column names: ``src_i`` Accounts columns read, ``rule_j`` the columns rules compare, ``updated_k`` / the
    trend's ``period_t`` / ``logged_period_k`` when metric k's data was updated; ``latest_t``/``prev_t`` trend
    values; ``logged_k`` the latest entry logged for metric k (Read from: Metric History); ``v_k`` the value a
    linear measure maps, ``x_k`` the score before settling, ``s_k`` settled, ``stale_k``, ``mb_k`` before and
    ``m_k`` after overrides; ``cb_g``/``c_g`` categories; ``o0`` the computed overall (NULL where coverage is short),
    ``capped`` after the rules' caps, ``overall`` the final one.
    """

    def __init__(self, config: HealthConfig, as_of: dt.date, active: list[Override]):
        self.config, self.as_of = config, as_of
        self.metrics, self.cats = list(config.metrics), list(config.categories)
        self.metric_at = {m.name: k for k, m in enumerate(self.metrics)}
        self.category_at = {cat.name: g for g, cat in enumerate(self.cats)}
        self.active = active
        self.listed: dict[tuple[str, str | None], list[Override]] = {}  # as engine.score: by level and target
        for o in active:
            self.listed.setdefault((o.level, o.target), []).append(o)
        self.ctes: list[str] = []
        self.last = ""
        self.sources: dict[str, str] = {}  # Accounts column -> its alias
        self.dated: dict[int, str] = {}  # metric position -> the column of the date its data was updated
        self.trend_keys: dict[str, int] = {}  # trend source, folded -> its number
        self.history_keys: dict[str, int] = {}  # every source read from Metric History, folded -> its number
        self.logged: dict[int, str] = {}  # metric position -> the column of its latest logged entry
        self.notes: dict[str, list[str]] = {}  # per account, the override notes in the order the engine applies them

    def add(self, name: str, columns: list[str], source: str | None = None) -> None:
        """A CTE ``name`` selecting everything of the last one (or ``source``) plus ``columns``."""
        extra = "".join(", " + col for col in columns)
        self.ctes.append(f"{name} AS (SELECT *{extra} FROM {source or self.last})")
        self.last = name

    def read_accounts(self, accounts: str) -> None:
        """The Accounts columns read (numbers cleaned, labels as text, dates), under short names."""
        select = [f"CAST({ident(c.ACCOUNT_ID)} AS VARCHAR) AS account_id"]
        for m in self.metrics:
            if m.measure == "trend":
                continue
            read = [] if m.logged else [(m.source, m.measure == "categorical")]  # a logged Source is on Metric History
            for name, is_label in read + ([(m.source2, False)] if m.source2 else []):
                if name not in self.sources:
                    self.sources[name] = f"src_{len(self.sources)}"
                    value = f"CAST({ident(name)} AS VARCHAR)" if is_label else finite(ident(name))
                    select.append(f"{value} AS {self.sources[name]}")
        for k, m in enumerate(self.metrics):
            if m.stale_after is not None and m.date_column:
                select.append(f"CAST({ident(m.date_column)} AS DATE) AS updated_{k}")
                self.dated[k] = f"updated_{k}"
        for j, rule in enumerate(self.config.rules):
            if rule.kind == "column":  # compared as text or as a number, as the rule's Value is
                value = folded(ident(rule.when)) if isinstance(rule.value, str) else finite(ident(rule.when))
                select.append(f"{value} AS rule_{j}")
        self.ctes.append(f"acc AS (SELECT {', '.join(select)} FROM {accounts})")
        self.last = "acc"

    def read_history(self, history: str, order_column: str | None) -> None:
        """Per trend source and account, the latest and the previous period's value (``inputs.history_trends``);
        per logged metric and account, its latest usable entry (``inputs.history_latest``).

        Rows of another column, an unusable period or value, or after the as-of date are left out; of several rows
        for one period the last counts; the latest period dates the data for Stale after.
        """
        for m in self.metrics:
            if m.from_history:
                self.history_keys.setdefault(m.source.strip().casefold(), len(self.history_keys))
            if m.measure == "trend":
                self.trend_keys.setdefault(m.source.strip().casefold(), self.history_keys[m.source.strip().casefold()])
        if not self.history_keys:
            return
        # The source as a small number (CASE over the folded text) keeps the rows the window sorts narrow.
        key_code = " ".join(f"WHEN {text(key)} THEN {t}" for key, t in self.history_keys.items())
        labels = any(m.logged and m.measure == "categorical" for m in self.metrics)
        self.ctes.append(
            f"hist AS (SELECT TRIM(CAST({ident(c.ACCOUNT_ID)} AS VARCHAR)) AS account_id, "
            f"CASE {folded(ident('Column'))} {key_code} END AS col_key, {ident('Period')} AS period, "
            f"{finite(ident('Value'))} AS value" + (f", CAST({ident('Value')} AS VARCHAR) AS label" if labels else "")
            + (f", {ident(order_column)}" if order_column else "") + f" FROM {history})")
        joins, carried = [], []
        if self.trend_keys:
            joins.append("LEFT JOIN trends ON acc.account_id = trends.account_id")
            carried += [f"trends.{col}_{t}" for t in self.trend_keys.values() for col in ("latest", "prev", "period")]
            self._read_trends(order_column)
        for k, m in enumerate(self.metrics):
            if m.logged:
                joins.append(f"LEFT JOIN logged_{k} ON acc.account_id = logged_{k}.account_id")
                carried += [f"logged_{k}.logged_{k}", f"logged_{k}.logged_period_{k}"]
                self._read_logged(k, m, order_column)
        self.ctes.append(f"src AS (SELECT acc.*, {', '.join(carried)} FROM acc {' '.join(joins)})")
        self.last = "src"
        for k, m in enumerate(self.metrics):
            if m.from_history and m.stale_after is not None and not m.date_column:
                self.dated[k] = (f"logged_period_{k}" if m.logged else
                                 f"period_{self.trend_keys[m.source.strip().casefold()]}")

    def _read_trends(self, order_column: str | None) -> None:
        """The ``trends`` CTE: per account, each trend source's latest and previous period's value and latest period."""
        order = f"{ident(order_column)} DESC" if order_column else "value DESC"
        codes = ", ".join(str(t) for t in self.trend_keys.values())
        # One window, newest first (of one period, the last row first): the first row is the latest value, and the
        # first row of the period before the latest is the previous value.
        window = f"OVER (PARTITION BY col_key, account_id ORDER BY period DESC, {order})"
        self.ctes.append(
            f"hist_ordered AS (SELECT account_id, col_key, period, value, ROW_NUMBER() {window} AS nth, "
            f"LAG(period) {window} AS newer_period, FIRST_VALUE(period) {window} AS latest_period "
            f"FROM hist WHERE col_key IN ({codes}) AND period IS NOT NULL AND value IS NOT NULL "
            f"AND period <= DATE {text(self.as_of.isoformat())})")
        self.ctes.append(
            "hist_ranked AS (SELECT account_id, col_key, period, value, CASE WHEN nth = 1 THEN 1 ELSE 2 END AS recency "
            "FROM hist_ordered WHERE nth = 1 OR (newer_period = latest_period AND period < newer_period))")
        pivot = []
        for t in self.trend_keys.values():
            latest = f"col_key = {t} AND recency = 1"
            pivot += [f"MAX(CASE WHEN {latest} THEN value END) AS latest_{t}",
                      f"MAX(CASE WHEN col_key = {t} AND recency = 2 THEN value END) AS prev_{t}",
                      f"MAX(CASE WHEN {latest} THEN CAST(period AS DATE) END) AS period_{t}"]
        self.ctes.append(f"trends AS (SELECT account_id, {', '.join(pivot)} FROM hist_ranked GROUP BY account_id)")

    def _read_logged(self, k: int, metric: Metric, order_column: str | None) -> None:
        """The ``logged_k`` CTE: per account, metric k's latest usable entry on or before the as-of date and its
        date. Usable: a number (a label the metric knows, for a categorical metric), as ``inputs.history_latest``."""
        if metric.measure == "categorical":
            value = "label"
            known = sorted({str(label).strip().casefold() for label in metric.labels})
            usable = f"{folded('label')} IN ({', '.join(text(key) for key in known)})" if known else "FALSE"
        else:
            value, usable = "value", "value IS NOT NULL"
        order = f"{ident(order_column)} DESC" if order_column else f"{value} DESC"
        code = self.history_keys[metric.source.strip().casefold()]
        self.ctes.append(
            f"logged_{k}_ordered AS (SELECT account_id, {value}, period, ROW_NUMBER() OVER (PARTITION BY account_id "
            f"ORDER BY period DESC, {order}) AS nth FROM hist WHERE col_key = {code} AND period IS NOT NULL "
            f"AND period <= DATE {text(self.as_of.isoformat())} AND {usable})")
        self.ctes.append(f"logged_{k} AS (SELECT account_id, {value} AS logged_{k}, CAST(period AS DATE) AS "
                         f"logged_period_{k} FROM logged_{k}_ordered WHERE nth = 1)")
        self.logged[k] = f"logged_{k}"

    def score_metrics(self) -> None:
        """Metric scores: the measure, settled, stale data left out, then the metric overrides."""
        values, scores = [], []
        for k, m in enumerate(self.metrics):
            source = self.logged.get(k) or (self.sources[m.source] if m.measure != "trend" else None)
            if m.measure in LINEAR:
                values.append(f"{_linear_value(m, self.as_of, self.sources, self.trend_keys, source)} AS v_{k}")
                scores.append(f"{_linear_score(f'v_{k}', m)} AS x_{k}")
            elif m.measure == "threshold":
                scores.append(f"{_threshold_score(source, m)} AS x_{k}")
            elif m.measure == "categorical":
                scores.append(f"{_categorical_score(source, m)} AS x_{k}")
            else:
                raise ValueError(f"unknown measure {m.measure!r}")
        self.add("mapped", values)
        self.add("unsettled", scores)
        fresh = []
        for k, m in enumerate(self.metrics):
            score = settled(f"x_{k}") if m.measure in LINEAR else f"x_{k}"  # the others map to settled constants
            fresh.append(f"{score} AS s_{k}")
        self.add("scored", fresh)
        stale = []
        for k, m in enumerate(self.metrics):
            if k in self.dated:  # dated before as-of minus Stale after days; never where the date is unknown
                oldest_fresh = (self.as_of - dt.timedelta(days=m.stale_after)).isoformat()
                stale.append(f"COALESCE(s_{k} IS NOT NULL AND {self.dated[k]} < DATE {text(oldest_fresh)}, FALSE) "
                             f"AS stale_{k}")
            else:
                stale.append(f"FALSE AS stale_{k}")
        self.add("stale", stale)
        self.add("before_overrides", [f"CASE WHEN stale_{k} THEN NULL ELSE s_{k} END AS mb_{k}"
                                      for k in range(len(self.metrics))])
        self.add("metric_scores", [self.overridden("metric", m.name, f"mb_{k}", f"m_{k}")
                                   for k, m in enumerate(self.metrics)])

    def overridden(self, level: str, target: str | None, before: str, alias: str) -> str:
        """The column ``before`` with the score overrides of ``level`` and ``target``, and their notes noted."""
        chosen = _Overrides(self.listed.get((level, target), []))
        for account, texts in chosen.notes(target or "Overall", before).items():
            self.notes.setdefault(account, []).extend(texts)
        return f"{chosen.applied(before)} AS {alias}"

    def roll_up(self) -> None:
        """Category means over the metrics with a score (then category overrides), coverage and the overall."""
        members: list[list[int]] = [[] for _ in self.cats]
        for k, m in enumerate(self.metrics):
            members[self.category_at[m.category]].append(k)
        sums = []
        for g, group in enumerate(members):
            numerator, denominator = _mean([f"m_{k}" for k in group], [self.metrics[k].weight for k in group])
            sums += [f"{numerator} AS cn_{g}", f"{denominator} AS cd_{g}"]
        self.add("category_sums", sums)
        self.add("category_means", [f"CASE WHEN cd_{g} > 0 THEN cn_{g} / cd_{g} END AS cb_{g}"
                                    for g in range(len(self.cats))])
        self.add("category_scores", [self.overridden("category", cat.name, f"cb_{g}", f"c_{g}")
                                     for g, cat in enumerate(self.cats)])
        # Coverage: the share of the overall weight carried by the metrics with a score; the effective weights
        # are worked out by the engine's own numpy code, so they are the same doubles.
        cat_w = np.array([cat.weight for cat in self.cats], dtype=float)
        metric_w = np.array([m.weight for m in self.metrics], dtype=float)
        cat_share = cat_w / cat_w.sum()
        cat_of = np.array([self.category_at[m.category] for m in self.metrics], dtype=int)
        within = metric_w / np.maximum(np.array([metric_w[members[g]].sum() for g in cat_of]), 1e-300)
        effective = within * cat_share[cat_of]
        coverage = _sum([f"CASE WHEN m_{k} IS NOT NULL THEN {number(e)} ELSE 0e0 END" for k, e in enumerate(effective)])
        numerator, denominator = _mean([f"c_{g}" for g in range(len(self.cats))], cat_w.tolist())
        self.add("overall_sums", [f"{numerator} AS on_", f"{denominator} AS od", f"{coverage} AS coverage"])
        self.add("overall_computed", [f"coverage < {number(self.config.min_coverage - 1e-12)} AS short",
                                      "CASE WHEN od > 0 THEN on_ / od END AS computed"])
        self.add("overall_masked", ["CASE WHEN short THEN NULL ELSE computed END AS o0"])

    def apply_rules(self) -> None:
        """``rules.apply_rules``: which rules hold, the lowest cap, the lowest forced band, and whether together
        they change what the account shows (only then are they listed)."""
        hits, caps, forces = [], [], []
        for j, rule in enumerate(self.config.rules):
            condition = _rule_condition(rule, j, self.config, self.metric_at, self.category_at)
            hits.append(f"COALESCE({condition} AND o0 IS NOT NULL, FALSE) AS hit_{j}")
            if rule.effect == "set band":
                forces.append(f"CASE WHEN hit_{j} THEN {c.BANDS.index(rule.to)} END")
            else:
                cap = float(rule.to) if rule.effect == "cap score" else band_cap(str(rule.to), self.config.bands)
                caps.append(f"CASE WHEN hit_{j} THEN {number(cap)} END")
        self.add("rule_hits", hits)
        self.add("rule_effects", [f"{_least(caps, 'DOUBLE')} AS lowest_cap", f"{_least(forces, 'INT')} AS forced"])
        self.add("rule_capped", ["CASE WHEN lowest_cap < o0 THEN lowest_cap ELSE o0 END AS capped"])
        bands = self.config.bands
        before, after = "FLOOR(o0 + 0.5e0)", "FLOOR(capped + 0.5e0)"  # as apply_rules: not settled first
        changed = (f"COALESCE({after} <> {before}, FALSE) OR "
                   f"COALESCE(forced, {band_code(after, bands)}) <> ({band_code(before, bands)})")
        self.add("rule_changed", [f"{changed} AS changed"])

    def finish(self) -> str:
        """Overall overrides (which also keep the rules off the score), band, status and the texts."""
        bands = self.config.bands
        overall_listed = self.listed.get(("overall", None), [])
        accounts = sorted({o.account for o in overall_listed})  # any overall override, a band one too
        overridden = f"account_id IN ({', '.join(text(a) for a in accounts)})" if accounts else "FALSE"
        self.add("overridden", [f"{overridden} AS overridden"])
        self.add("overall_final", [self.overridden("overall", None, "CASE WHEN overridden THEN o0 ELSE capped END",
                                                   "overall")])
        band_overrides: dict[str, list[Override]] = {}
        for o in self.active:
            if o.level == "overall" and o.score is None and o.band:
                band_overrides.setdefault(o.account, []).append(o)
        computed_band = band_label(band_code("overall", bands))  # engine.overall_band: of the unrounded overall
        for account, listed in band_overrides.items():
            was = [f"COALESCE({computed_band}, 'no band')"] + [text(o.band) for o in listed[:-1]]
            # notes of overall overrides use o0 before the rules: for these accounts overall is o0 (no score override)
            self.notes.setdefault(account, []).extend(_note("Band", o.band, w, o) for o, w in zip(listed, was))
        band = ("CASE " + "".join(f"WHEN account_id = {text(a)} THEN {text(listed[-1].band)} "
                                  for a, listed in band_overrides.items())
                + f"WHEN forced IS NOT NULL AND NOT overridden THEN {band_label('forced')} "
                + f"ELSE {band_label(band_code(shown('overall'), bands))} END")
        status = (f"CASE WHEN short AND overall IS NOT NULL THEN 'override' WHEN short THEN {text(INSUFFICIENT)} "
                  f"ELSE '' END")
        missing = []  # engine._missing_names: "Logins" (no data) or "Logins (stale)", in metric order
        for k, m in enumerate(self.metrics):
            stale = f"(stale_{k} AND m_{k} IS NULL)"  # a metric override gives a stale metric its score back
            missing.append(f"CASE WHEN m_{k} IS NULL AND NOT {stale} THEN {text(m.name)} END")
            if k in self.dated:
                missing.append(f"CASE WHEN {stale} THEN {text(m.name + ' (stale)')} END")
        joined = " || '; ' || "
        override = ("CASE " + "".join(f"WHEN account_id = {text(a)} THEN {joined.join(parts)} "
                                      for a, parts in self.notes.items()) + "ELSE '' END") if self.notes else "''"
        if self.config.rules:
            fired = ", ".join(f"CASE WHEN hit_{j} AND changed THEN {text(rule.name)} END"
                              for j, rule in enumerate(self.config.rules))
            self.add("rule_names", [f"CONCAT_WS('; ', {fired}) AS fired"])
            rule = ("CASE WHEN fired = '' THEN '' ELSE 'Rule: ' || fired || "
                    "CASE WHEN overridden THEN ' (override wins)' ELSE '' END END")
        else:
            rule = "''"
        columns = (["account_id"] + [f"m_{k}" for k in range(len(self.metrics))]
                   + [f"c_{g}" for g in range(len(self.cats))]
                   + ["overall", "coverage", f"{status} AS status", f"{band} AS band",
                      f"CONCAT_WS(', ', {', '.join(missing)}) AS missing" if missing else "'' AS missing",
                      f"{override} AS override", f"{rule} AS rule"])
        return "WITH " + ",\n".join(self.ctes) + f"\nSELECT {', '.join(columns)} FROM {self.last}"


LINEAR = ("range", "ratio", "trend", "goal")  # measures mapped linearly onto 1..100, then settled


def _least(values: list[str], kind: str) -> str:
    """The least of ``values`` skipping NULLs (LEAST does in DuckDB and Spark), NULL when all are."""
    if not values:
        return f"CAST(NULL AS {kind})"
    return values[0] if len(values) == 1 else f"LEAST({', '.join(values)})"
