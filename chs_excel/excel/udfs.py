"""chs-excel inside Excel: worksheet functions and Refresh scripts for every xlwings runtime.

The same module serves classic xlwings (Windows/Mac add-in: "Import Functions",
RunPython), xlwings Lite (Excel on Windows, Mac and the web) and xlwings Server.
It only converts: the logic lives in :mod:`chs_excel.excel.functions` and
:mod:`chs_excel.pipeline`.

Every function takes the account rows (with their header row, or pass the header
separately as the last argument) and the config ranges, and returns one value per
row, so ``=HEALTH_SCORE(Accounts!A1:M61, Metrics!A1:V8, Categories!A1:E4)`` spills
a score for every account.
"""
from __future__ import annotations

import functools

from xlwings import Book, arg, func, script

from chs_excel.excel import functions as sf
from chs_excel.excel.live import XlwingsBookReader, XlwingsBookWriter
from chs_excel.problems import BookError, ConfigError
from chs_excel.pipeline import RefreshSummary, backtest, optimise, refresh

ACCOUNTS = ("Account rows: a range of the Accounts sheet with its header row (e.g. Accounts!A1:M61), "
            "or data rows with the header passed as the last argument")
METRICS = "The Metrics sheet's table, with its header row (e.g. Metrics!A1:V8)"
CATEGORIES = "The Categories sheet's table, with its header row"
SETTINGS = "Optional: the Settings table (band cut points, minimum coverage, as-of date)"
HISTORY = "Optional: the Metric History table, needed by trend metrics"
OVERRIDES = "Optional: the Overrides table"
RULES = "Optional: the Rules table (rules that cap or set the overall score or band)"
HEADER = "Optional: the Accounts header row, when the first argument holds data rows only (e.g. one row)"


def _excel_safe(fn):
    """Turn any failure into a short message in the cell, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            return [[f"Config error: {exc.problems[0]}{more}"]]
        except Exception as exc:  # a cell shows text, never a Python traceback
            return [[f"chs-excel error: {exc}"]]
    return wrapper


def _common_args(fn):
    """The range arguments, taken raw: xlwings' per-cell conversion costs seconds on a large table, and
    :func:`chs_excel.book.cells.clean_grid` turns every client's shapes into clean cells in one pass."""
    for name, doc in (("accounts", ACCOUNTS), ("metrics", METRICS), ("categories", CATEGORIES),
                      ("settings", SETTINGS), ("history", HISTORY), ("overrides", OVERRIDES), ("header", HEADER),
                      ("rules", RULES)):
        fn = arg(name, "raw", doc=doc)(fn)
    return fn


@func
@_common_args
@_excel_safe
def health_score(accounts, metrics, categories, settings=None, history=None, overrides=None, header=None, rules=None):
    """Overall health score (1-100) of each account row; blank where there is not enough data."""
    return sf.health_score(accounts, metrics, categories, settings, history, overrides, header, rules=rules)


@func
@_common_args
@_excel_safe
def health_band(accounts, metrics, categories, settings=None, history=None, overrides=None, header=None, rules=None):
    """Red, Amber or Green for each account row (CSM band overrides included)."""
    return sf.health_band(accounts, metrics, categories, settings, history, overrides, header, rules=rules)


@func
@_common_args
@arg("category", doc="Category name, e.g. \"Product\"")
@_excel_safe
def category_score(accounts, category, metrics, categories, settings=None, history=None, overrides=None, header=None,
                   rules=None):
    """Score (1-100) of one category for each account row."""
    return sf.category_score(accounts, category, metrics, categories, settings, history, overrides, header, rules=rules)


@func
@_common_args
@arg("metric", doc="Metric name, e.g. \"CSM sentiment\"")
@_excel_safe
def metric_score(accounts, metric, metrics, categories, settings=None, history=None, overrides=None, header=None,
                 rules=None):
    """Score (1-100) of one metric for each account row; blank where its value is missing or unusable."""
    return sf.metric_score(accounts, metric, metrics, categories, settings, history, overrides, header, rules=rules)


@func
@_common_args
@arg("benchmark", "raw", doc="The benchmark score: one number, or one per account row")
@_excel_safe
def health_gap(accounts, benchmark, metrics, categories, settings=None, history=None, overrides=None, header=None,
               rules=None):
    """Overall score minus the benchmark for each account row: negative means below benchmark."""
    return sf.health_gap(accounts, benchmark, metrics, categories, settings, history, overrides, header, rules=rules)


@func
@_common_args
@arg("top", doc="Optional: how many metrics to name (default 3)")
@_excel_safe
def health_drivers(accounts, metrics, categories, settings=None, history=None, overrides=None, header=None, top=3,
                   rules=None):
    """The metrics that cost each account the most points, e.g. "Support engagement -18, Outreach -9"."""
    return sf.health_drivers(accounts, metrics, categories, settings, history, overrides, header, top=top or 3,
                             rules=rules)


# ------------------------------------------------------------------ scripts (buttons)


def _alert(book, text: str, title: str = "chs-excel") -> None:
    try:
        book.app.alert(text, title=title)
    except Exception:  # no UI to show it in (e.g. tests): the text is also returned
        pass


def refresh_workbook(book, show_alerts: bool = True) -> RefreshSummary | None:
    """The same refresh as ``chs-excel refresh``, on an open workbook."""
    try:
        summary = refresh(XlwingsBookReader(book), XlwingsBookWriter(book))
    except ConfigError as exc:
        lines = [str(p) for p in exc.problems[:15]]
        if len(exc.problems) > 15:
            lines.append(f"... and {len(exc.problems) - 15} more")
        if show_alerts:
            _alert(book, "Nothing was changed. Please fix:\n" + "\n".join(lines), "chs-excel: configuration problems")
        return None
    except BookError as exc:
        if show_alerts:
            _alert(book, str(exc))
        return None
    return summary


@script
def refresh_scores(book: Book):
    """Refresh: validate the scorecard and rewrite the Scores and Data Issues sheets."""
    refresh_workbook(book)


@script
def validate_config(book: Book):
    """Check the scorecard and data without changing the workbook; the result is shown in a message."""
    try:
        summary = refresh(XlwingsBookReader(book), None)
    except (ConfigError, BookError) as exc:
        problems = getattr(exc, "problems", [exc])
        _alert(book, "\n".join(str(p) for p in problems[:15]), "chs-excel: configuration problems")
        return
    issues = "\n".join(f"{i.cell}: {i.problem}" for i in summary.issues[:15])
    _alert(book, f"The scorecard is valid; {summary.accounts} accounts can be scored.\n"
                 f"{len(summary.issues)} data issue(s)." + (f"\n{issues}" if issues else ""), "chs-excel: validate")


@script
def run_backtest(book: Book):
    """Backtest: compare the scores with the Outcomes sheet and rewrite the Validation sheet."""
    try:
        result = backtest(XlwingsBookReader(book), XlwingsBookWriter(book))
    except (ConfigError, BookError) as exc:
        problems = getattr(exc, "problems", [exc])
        _alert(book, "\n".join(str(p) for p in problems[:15]), "chs-excel: backtest")
        return
    _alert(book, "\n".join(result.lines()), "chs-excel: backtest")


@script
def optimise_scorecard(book: Book):
    """Optimise: propose weights and cut points fitted to the Outcomes sheet, with cross-validated proof, on the
    Scorecard Proposal sheet. Nothing else changes: the proposal names the cells to edit to adopt it."""
    from chs_excel.sheets.proposal import BadOptions

    try:
        proposal = optimise(XlwingsBookReader(book), XlwingsBookWriter(book))
    except (ConfigError, BookError, BadOptions) as exc:
        problems = getattr(exc, "problems", [exc])
        _alert(book, "\n".join(str(p) for p in problems[:15]), "chs-excel: optimise")
        return
    _alert(book, "\n".join(proposal.lines()), "chs-excel: optimise")
