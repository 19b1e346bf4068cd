"""What the scores mean, in SQL: points lost, Drivers, benchmark, gap, playbook, Benchmark Gap and Distribution.

The SQL twin of :mod:`chs_excel.core.explain` (points lost, Drivers),
:mod:`chs_excel.analysis.targets` (benchmark and playbook of each account),
:mod:`chs_excel.sheets.gap` (the Benchmark Gap list) and
:mod:`chs_excel.sheets.distribution` (the counts per band), over the ``scores``
table of the column contract (``account_id``, ``m_k``, ``c_g``, ``overall``,
``band``: see ``chs_excel/sql/scores.py``) and the ``accounts`` table for the
labels (Account name, Segment, Stage, CSM).

Each query is standalone (``WITH ... SELECT``) in DuckDB's dialect, written with
functions Spark also has (CASE, CONCAT, CONCAT_WS, FLOOR, ROUND, LOWER, TRIM,
REPLACE, CAST), so ``sqlglot.transpile(sql, read="duckdb", write="spark")`` runs
it on Spark. The config (weights, names, benchmarks, playbooks, cut points) is
written into the SQL as literals. The account-by-metric work is spelled out
column by column (a metric is a column, not a row), so no query needs a list
function, an ordered string aggregate or a lateral join.

Equal to the pandas code bit for bit: the arithmetic is written in the order
numpy does it (sums left to right; a row's total over categories pairwise as
numpy's ``sum(axis=1)``), so ties between metrics break the same way.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from chs_excel import contract as c
from chs_excel.config.model import HealthConfig

LABELS = ("Account name", "Segment", "Stage", "CSM")  # the Accounts columns after the ID that the output shows
GAP_COLUMNS = (c.ACCOUNT_ID, *LABELS, "Overall", "Benchmark", "Gap", "Costing most points",
               "Categories below target", "Playbook", "Actions", "Owner", "Playbook link")
DISTRIBUTION_COLUMNS = ("Level", "Group", *c.BANDS, "No score", *(f"{b} %" for b in c.BANDS))
AT_LEAST = 0.5  # points a metric must cost to be named among the Drivers (explain.driver_text's ``at_least``)
_PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE: past it, its pairwise sum splits in halves


def report_sql(config: HealthConfig, as_of: dt.date, *, scores: str = "scores", accounts: str = "accounts",
               columns: Sequence[str] | None = None, top: int = 3) -> dict[str, str]:
    """The queries explaining the scores: points lost, Drivers, benchmark, gap, playbook, Benchmark Gap, Distribution.

    Parameters
    ----------
    config : HealthConfig
    as_of : datetime.date
        The date scored (the ``scores`` table already reflects it; kept so every SQL builder takes the same).
    scores : str
        The table (or view) of scores, one row per account, in the column contract.
    accounts : str
        The table of accounts: ``"Account ID"`` and the label columns (Account name, ``config.segment_column``,
        Stage, CSM) holding the labels as text.
    columns : sequence of str, optional
        The column names of ``accounts`` when some label columns may be absent (they read ''). None: all present.
    top : int
        How many metrics the Drivers text names at most.

    Returns
    -------
    dict of str to str
        ``points``: account_id, p_0..p_{K-1} (points each metric costs, as :func:`chs_excel.core.explain.points_lost`).
        ``drivers``: account_id, drivers (:func:`chs_excel.core.explain.driver_text`).
        ``explain``: one row per account: account_id, overall (shown, whole), band, drivers, top_category,
        top_metric, benchmark (target; NULL: none), gap, playbook, actions, owner, playbook_link (NULL: no playbook).
        ``benchmark_gap``: the Benchmark Gap sheet's rows (:data:`GAP_COLUMNS`), biggest gap first, then by ID.
        ``gap_summary``: one row: below, at_or_above, no_benchmark, no_score.
        ``distribution``: the Distribution sheet's table (:data:`DISTRIBUTION_COLUMNS`) in its order.
    """
    chain = _Chain(config, scores, accounts, columns, top)
    explained = chain.explained()
    return {
        "points": f"{explained}\nSELECT account_id, {', '.join(chain.points)} FROM x_points",
        "drivers": f"{explained}\nSELECT account_id, drivers FROM x_out",
        "explain": (f"{explained}\nSELECT account_id, overall, band, drivers, top_category, top_metric, benchmark, "
                    f"gap, playbook, actions, owner, playbook_link FROM x_out"),
        "benchmark_gap": chain.gap_list(explained),
        "gap_summary": (f"{explained}\nSELECT "
                        f"COALESCE(SUM(CASE WHEN gap < 0 THEN 1 ELSE 0 END), 0) AS below, "
                        f"COALESCE(SUM(CASE WHEN gap >= 0 THEN 1 ELSE 0 END), 0) AS at_or_above, "
                        f"COALESCE(SUM(CASE WHEN chosen < 0 AND overall IS NOT NULL THEN 1 ELSE 0 END), 0) "
                        f"AS no_benchmark, "
                        f"COALESCE(SUM(CASE WHEN overall IS NULL THEN 1 ELSE 0 END), 0) AS no_score FROM x_out"),
        "distribution": chain.distribution(),
    }


# ---------------------------------------------------------------- literals


def text(value: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def name(identifier: str) -> str:
    """A quoted SQL identifier (a column named as on the sheet, spaces and all)."""
    return '"' + str(identifier).replace('"', '""') + '"'


def number(value: float) -> str:
    """A DOUBLE literal equal to ``float(value)``: a bare 0.3 would be a DECIMAL in DuckDB and Spark."""
    return f"CAST({float(value)!r} AS DOUBLE)"


def _casefold(value: str | None) -> str:
    """A label as the pandas code matches it (targets._norm): spaces trimmed, case folded."""
    return (value or "").strip().casefold()


def _matched(expr: str) -> str:
    """``expr`` as matched in SQL: '' when blank, trimmed, lower case, and ß as ss (what casefold does more
    than lower for German); other letters casefold changes beyond lower case (ligatures, final sigma) differ."""
    return f"REPLACE(LOWER(TRIM(COALESCE({expr}, ''))), 'ß', 'ss')"


def _shown(expr: str) -> str:
    """explain.rounded in SQL: settled to 9 decimals, then halves up."""
    return f"FLOOR(ROUND({expr}, 9) + 0.5)"


def _whole_text(expr: str) -> str:
    """A whole number as text (72, not 72.0)."""
    return f"CAST(CAST({expr} AS BIGINT) AS VARCHAR)"


def sequential_sum(terms: list[str]) -> str:
    """``terms`` added left to right (as numpy adds a frame's columns one by one); 0 when there are none."""
    if not terms:
        return number(0)
    out = terms[0]
    for term in terms[1:]:
        out = f"({out} + {term})"
    return out


def pairwise_sum(terms: list[str]) -> str:
    """``terms`` added in the order of numpy's pairwise sum of a contiguous row (``a.sum(axis=1)``).

    Left to right under 8 terms; from 8, eight running sums, a tree of them, then the rest left to right.
    """
    n = len(terms)
    if n < 8:
        return sequential_sum(terms)
    if n > _PAIRWISE_BLOCK:
        half = n // 2
        half -= half % 8
        return f"({pairwise_sum(terms[:half])} + {pairwise_sum(terms[half:])})"
    runs = list(terms[:8])
    i = 8
    while i < n - n % 8:
        runs = [f"({runs[j]} + {terms[i + j]})" for j in range(8)]
        i += 8
    out = (f"((({runs[0]} + {runs[1]}) + ({runs[2]} + {runs[3]})) + "
           f"(({runs[4]} + {runs[5]}) + ({runs[6]} + {runs[7]})))")
    for term in terms[i:]:
        out = f"({out} + {term})"
    return out


def _first_match(conditions: list[tuple[int, str]]) -> str:
    """The position of the first rule whose condition holds (-1: none); ``conditions`` in the order tried."""
    if not conditions:
        return "-1"
    whens = " ".join(f"WHEN {cond} THEN {k}" for k, cond in conditions)
    return f"CASE {whens} ELSE -1 END"


def _pick(chosen: str, values: list[str], none: str) -> str:
    """The literal of the chosen position (``none`` for -1 or no rule)."""
    if not values:
        return none
    whens = " ".join(f"WHEN {k} THEN {v}" for k, v in enumerate(values))
    return f"CASE {chosen} {whens} ELSE {none} END"


# ---------------------------------------------------------------- the chain of CTEs


class _Chain:
    """The CTEs shared by the queries, built once from the config."""

    def __init__(self, config: HealthConfig, scores: str, accounts: str, columns: Sequence[str] | None, top: int):
        self.config, self.scores, self.accounts, self.top = config, scores, accounts, top
        self.metrics = list(config.metrics)
        self.cats = [cat.name for cat in config.categories]
        self.member = [self.cats.index(m.category) for m in self.metrics]
        self.points = [f"p_{k}" for k in range(len(self.metrics))]
        present = None if columns is None else set(columns)
        sources = {"Account name": "Account name", "Segment": config.segment_column, "Stage": "Stage", "CSM": "CSM"}
        self.labels = {}
        for label, column in sources.items():
            if present is None or column in present:
                self.labels[label] = f"COALESCE(TRIM(CAST(a.{name(column)} AS VARCHAR)), '')"
            else:
                self.labels[label] = "''"

    def inputs(self) -> str:
        """x_in: the scores with each account's labels; x_points: points lost per metric."""
        k_count, cats = len(self.metrics), self.cats
        metric_cols = [f"s.m_{k}" for k in range(k_count)]
        cat_cols = [f"s.c_{g}" for g in range(len(cats))]
        label_cols = [f"{expr} AS {col}" for expr, col in zip(self.labels.values(), ("acct_name", "segment", "stage",
                                                                                     "csm"))]
        x_in = (f"x_in AS (SELECT s.account_id, {', '.join(metric_cols + cat_cols)}"
                f"{', ' if metric_cols or cat_cols else ''}s.overall, s.band, {', '.join(label_cols)} "
                f"FROM {self.scores} s LEFT JOIN {self.accounts} a ON a.{name(c.ACCOUNT_ID)} = s.account_id)")
        # Per category, the weight of its metrics that have a score, summed in metric order (points_lost's
        # cat_weight_present); a category counts with its weight where that is above 0.
        present_weight = []
        for g in range(len(cats)):
            terms = [f"(CASE WHEN m_{k} IS NULL THEN {number(0)} ELSE {number(m.weight)} END)"
                     for k, m in enumerate(self.metrics) if self.member[k] == g]
            present_weight.append(f"{sequential_sum([number(0)] + terms)} AS cw_{g}")
        x_weight = f"x_weight AS (SELECT *{''.join(', ' + e for e in present_weight)} FROM x_in)"
        on = [f"(CASE WHEN cw_{g} > 0 THEN {number(cat.weight)} ELSE {number(0)} END)"
              for g, cat in enumerate(self.config.categories)]
        x_total = (f"x_total AS (SELECT *{''.join(f', {e} AS on_{g}' for g, e in enumerate(on))}, "
                   f"{pairwise_sum(on)} AS total_weight FROM x_weight)")
        # effective weight x room, in numpy's order: cat_share * weight / cat_weight_present * (100 - score)
        lost = [f"CASE WHEN m_{k} IS NULL THEN {number(0)} ELSE "
                f"on_{g} / total_weight * {number(m.weight)} / cw_{g} * ({number(100)} - m_{k}) END AS p_{k}"
                for k, (m, g) in enumerate(zip(self.metrics, self.member))]
        keep = ["account_id", *(f"m_{k}" for k in range(k_count)), *(f"c_{g}" for g in range(len(cats))),
                "overall", "band", "acct_name", "segment", "stage", "csm"]
        x_points = f"x_points AS (SELECT {', '.join(keep + lost)} FROM x_total)"
        return ",\n".join([x_in, x_weight, x_total, x_points])

    def explained(self) -> str:
        """The CTEs up to x_out: one row per account with everything explained."""
        config, metrics, cats, p = self.config, self.metrics, self.cats, self.points
        width = len(metrics)
        # Each metric's place among the account's points lost, largest first, ties in metric order
        # (the stable sort of driver_text).
        places = []
        for k in range(width):
            before = [f"(CASE WHEN {p[j]} {'>=' if j < k else '>'} {p[k]} THEN 1 ELSE 0 END)"
                      for j in range(width) if j != k]
            places.append(f"{' + '.join(before) if before else '0'} AS place_{k}")
        category_points = [f"{sequential_sum([p[k] for k in range(width) if self.member[k] == g])} AS cp_{g}"
                           for g in range(len(cats))]
        shown_cats = [f"{_shown(f'c_{g}')} AS cs_{g}" for g in range(len(cats))]
        x_rank = (f"x_rank AS (SELECT *, {_shown('overall')} AS shown"
                  f"{''.join(', ' + e for e in places + category_points + shown_cats)} FROM x_points)")

        # Drivers: the metric at each place, worded when it costs at least AT_LEAST points.
        pieces = []
        for place in range(min(self.top, width)):
            whens = " ".join(
                f"WHEN place_{k} = {place} AND {p[k]} >= {number(AT_LEAST)} THEN "
                f"CONCAT({text(m.name + ' -')}, {_whole_text(f'FLOOR({p[k]} + 0.5)')})"
                for k, m in enumerate(metrics))
            pieces.append(f"CASE {whens} ELSE NULL END")
        drivers = f"CONCAT_WS(', ', {', '.join(pieces)})" if pieces else "''"
        top_metric = _first_largest(p)
        top_category = _first_largest([f"cp_{g}" for g in range(len(cats))])
        benchmarks = list(config.benchmarks)
        order = sorted(range(len(benchmarks)), key=lambda k: -benchmarks[k].specificity)
        chosen = _first_match([(k, _all([self._equals("segment", benchmarks[k].segment),
                                          self._equals("stage", benchmarks[k].stage)])) for k in order])
        x_match = (f"x_match AS (SELECT *, {drivers} AS drivers, {top_metric} AS top_m, {top_category} AS top_c, "
                   f"{chosen} AS chosen FROM x_rank)")

        target = _pick("chosen", [number(b.target) for b in benchmarks], "CAST(NULL AS DOUBLE)")
        books = list(config.playbooks)
        order = sorted(range(len(books)), key=lambda k: -books[k].specificity)
        playbook = _first_match([(k, _all([self._equals("band", books[k].band), self._equals("stage", books[k].stage),
                                           _named(books[k].category, "top_c", cats),
                                           _named(books[k].metric, "top_m", [m.name for m in metrics])]))
                                 for k in order])
        x_pick = f"x_pick AS (SELECT *, {target} AS benchmark, {playbook} AS pick FROM x_match)"

        empty = "''"
        x_explained = (
            f"x_explained AS (SELECT *, shown - benchmark AS gap, "
            f"{_pick('top_c', [text(n) for n in cats], empty)} AS top_category, "
            f"{_pick('top_m', [text(m.name) for m in metrics], empty)} AS top_metric, "
            f"{_pick('pick', [text(b.name) for b in books], empty)} AS playbook, "
            f"{_pick('pick', [text(b.actions) for b in books], empty)} AS actions, "
            f"{_pick('pick', [text(b.owner) for b in books], empty)} AS owner, "
            f"{_pick('pick', [text(b.link or b.location) for b in books], 'CAST(NULL AS VARCHAR)')} AS playbook_link, "
            f"{self._categories_below()} AS categories_below "
            f"FROM x_pick)")
        return self._finish(",\n".join([self.inputs(), x_rank, x_match, x_pick, x_explained]))

    def _finish(self, ctes: str) -> str:
        """The chain closed by x_out, where ``overall`` is the shown score (the contract's is unrounded): renamed
        in one last CTE, since Spark has no ``SELECT * EXCLUDE``."""
        cols = ["account_id", "shown AS overall", "band", "acct_name", "segment", "stage", "csm", "drivers",
                "top_category", "top_metric", "chosen", "benchmark", "gap", "playbook", "actions", "owner",
                "playbook_link", "categories_below", *self.points,
                *(f"cs_{g}" for g in range(len(self.cats)))]
        return f"WITH {ctes},\nx_out AS (SELECT {', '.join(cols)} FROM x_explained)"

    def _equals(self, column: str, wanted: str | None) -> str:
        """targets._equals: any value when ``wanted`` is None, else the same text once trimmed and case folded."""
        if wanted is None:
            return "TRUE"
        return f"{_matched(column)} = {text(_casefold(wanted))}"

    def _categories_below(self) -> str:
        """gap._categories_below: each category under its benchmark's category target, "Product 40 < 60, ..."."""
        cases = []
        for k, bench in enumerate(self.config.benchmarks):
            parts = []
            for cat, goal in bench.category_targets.items():
                if cat not in self.cats:
                    continue
                g = self.cats.index(cat)
                parts.append(f"CASE WHEN cs_{g} < {number(goal)} THEN CONCAT({text(cat + ' ')}, "
                             f"{_whole_text(f'cs_{g}')}, {text(f' < {goal:g}')}) ELSE NULL END")
            if parts:
                cases.append(f"WHEN {k} THEN CONCAT_WS(', ', {', '.join(parts)})")
        return f"CASE chosen {' '.join(cases)} ELSE '' END" if cases else "''"

    def gap_list(self, explained: str) -> str:
        """The Benchmark Gap sheet's rows: accounts below their benchmark, biggest gap first, then by ID."""
        cols = [f"account_id AS {name(c.ACCOUNT_ID)}", f"acct_name AS {name('Account name')}",
                f"segment AS {name('Segment')}", f"stage AS {name('Stage')}", f"csm AS {name('CSM')}",
                f"overall AS {name('Overall')}", f"benchmark AS {name('Benchmark')}", f"gap AS {name('Gap')}",
                f"drivers AS {name('Costing most points')}", f"categories_below AS {name('Categories below target')}",
                f"playbook AS {name('Playbook')}", f"actions AS {name('Actions')}", f"owner AS {name('Owner')}",
                f"playbook_link AS {name('Playbook link')}"]
        return (f"{explained}\nSELECT {', '.join(cols)} FROM x_out WHERE gap < 0 "
                f"ORDER BY {name('Gap')}, {name(c.ACCOUNT_ID)}")

    def distribution(self) -> str:
        """The Distribution sheet's table: accounts per band overall, per category, per segment."""
        def counts(band_of: str) -> str:
            tallies = [f"COALESCE(SUM(CASE WHEN {band_of} = {text(b)} THEN 1 ELSE 0 END), 0) AS {name(b)}"
                       for b in c.BANDS]
            none = " AND ".join(f"{band_of} <> {text(b)}" for b in c.BANDS)
            tallies.append(f"COALESCE(SUM(CASE WHEN {band_of} IS NULL OR ({none}) THEN 1 ELSE 0 END), 0) "
                           f"AS {name('No score')}")
            return ", ".join(tallies)

        rows = [f"SELECT 0 AS lvl, 0 AS pos, 'Overall' AS {name('Level')}, 'All accounts' AS {name('Group')}, "
                f"{counts('band')} FROM x_points"]
        for g, cat in enumerate(self.config.categories):
            shown = _shown(f"c_{g}")
            cut = (f"CASE WHEN {shown} < {number(cat.bands.red_below)} THEN 'Red' "
                   f"WHEN {shown} < {number(cat.bands.amber_below)} THEN 'Amber' "
                   f"WHEN {shown} >= {number(cat.bands.amber_below)} THEN 'Green' ELSE NULL END")
            rows.append(f"SELECT 1 AS lvl, {g} AS pos, 'Category' AS {name('Level')}, {text(cat.name)} AS "
                        f"{name('Group')}, {counts(cut)} FROM x_points")
        rows.append(f"SELECT 2 AS lvl, 0 AS pos, 'Segment' AS {name('Level')}, segment AS {name('Group')}, "
                    f"{counts('band')} FROM x_points WHERE TRIM(segment) <> '' GROUP BY segment")
        scored = " + ".join(name(b) for b in c.BANDS)
        shares = [f"CAST({name(b)} AS DOUBLE) / NULLIF({scored}, 0) AS {name(b + ' %')}" for b in c.BANDS]
        table = " UNION ALL ".join(f"({row})" for row in rows)
        cols = [name(col) for col in ("Level", "Group", *c.BANDS, "No score")]
        return (f"WITH {self.inputs()},\nx_counts AS ({table})\n"
                f"SELECT {', '.join(cols + shares)} FROM x_counts ORDER BY lvl, pos, {name('Group')}")


def _all(conditions: list[str]) -> str:
    kept = [cond for cond in conditions if cond != "TRUE"]
    return " AND ".join(f"({cond})" for cond in kept) if kept else "TRUE"


def _named(wanted: str | None, column: str, names: list[str]) -> str:
    """A playbook trigger on the top category or metric: its position (-1 for none, read as '') among ``names``
    whose matched form is that of ``wanted``. Worked out here, since the names are the config's."""
    if wanted is None:
        return "TRUE"
    hits = [k for k, n in enumerate(names) if _casefold(n) == _casefold(wanted)]
    if _casefold(wanted) == "":
        hits.append(-1)
    if not hits:
        return "FALSE"
    return f"{column} IN ({', '.join(map(str, hits))})"


def _first_largest(columns: list[str]) -> str:
    """targets.top_names as a position: the first column holding the row's largest value, -1 where that is not
    above 0 (nothing lost). The values are never NULL (points lost are 0 where a metric has no score)."""
    if not columns:
        return "-1"
    whens = []
    for k, col in enumerate(columns):
        conds = [f"{col} > 0"] + [f"{col} {'>' if j < k else '>='} {other}"
                                   for j, other in enumerate(columns) if j != k]
        whens.append(f"WHEN {' AND '.join(conds)} THEN {k}")
    return f"CASE {' '.join(whens)} ELSE -1 END"
