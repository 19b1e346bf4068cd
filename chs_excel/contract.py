"""The workbook contract: which sheets chs-excel reads and writes, and their columns.

Each column maps a header a person reads to the key of the config object
validated by ``schemas/health_config.schema.json``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False
    help: str = ""


def column_header(columns: tuple[Column, ...], key: str) -> str:
    """The header a person reads for the column with config key ``key`` (e.g. "expires" -> "Expires").

    Raises
    ------
    KeyError
        When no column of ``columns`` has that key: a typo in chs-excel, not in the workbook.
    """
    for column in columns:
        if column.key == key:
            return column.header
    raise KeyError(key)


METRICS = "Metrics"
CATEGORIES = "Categories"
SETTINGS = "Settings"
ACCOUNTS = "Accounts"
HISTORY = "Metric History"
OVERRIDES = "Overrides"
BENCHMARKS = "Benchmarks"
PLAYBOOKS = "Playbooks"
OUTCOMES = "Outcomes"
VALIDATION = "Validation"
PROPOSAL = "Scorecard Proposal"  # chs-excel optimise: weights and cut points proposed, never applied
INSTRUCTIONS = "Instructions"
SCORES = "Scores"
GAP = "Benchmark Gap"
DISTRIBUTION = "Distribution"
SCORE_HISTORY = "Score History"
DATA_ISSUES = "Data Issues"
ACCOUNT_REVIEW = "Account Review"  # one printable page about the account chosen on it
RULES = "Rules"  # optional: no sheet means no rules

INPUT_SHEETS = (SETTINGS, CATEGORIES, METRICS, ACCOUNTS, HISTORY, OVERRIDES, BENCHMARKS, PLAYBOOKS, OUTCOMES, SCORE_HISTORY,
                RULES)
OUTPUT_SHEETS = (SCORES, GAP, DISTRIBUTION, SCORE_HISTORY, DATA_ISSUES, ACCOUNT_REVIEW)  # written by every refresh
OWNED_SHEETS = OUTPUT_SHEETS + (VALIDATION, PROPOSAL)  # every sheet chs-excel writes (the last two on request)
# one hidden sheet per Score History snapshot, "Score History 2026-11-27" (the group: its as-of date)
SNAPSHOT_SHEET = re.compile(rf"^\s*{re.escape(SCORE_HISTORY)} (\d{{4}}-\d{{2}}-\d{{2}})\s*$", re.I)


def owned_sheet(name: str) -> bool:
    """Does chs-excel write this sheet: one of :data:`OWNED_SHEETS` or a Score History snapshot?"""
    return name.strip().casefold() in {s.casefold() for s in OWNED_SHEETS} or bool(SNAPSHOT_SHEET.match(name))

METRIC_COLUMNS = (
    Column("Metric", "name", True, "Name shown in Scores, e.g. 'Monthly active users'"),
    Column("Category", "category", True, "A name from the Categories sheet"),
    Column("Weight", "weight", True, "0 or more; weights within a category are shared out proportionally"),
    Column("Measure", "measure", True, "threshold, range, trend, goal, categorical or ratio"),
    Column("Source", "source", True, "Column of Accounts (or of Metric History for trend) holding the value"),
    Column("Source 2", "source2", False, "ratio: the denominator column; goal: optional per-account target column"),
    Column("Direction", "direction", False, "higher (default) or lower: which way is better"),
    Column("Low", "low", False, "range/trend/ratio/goal: value that scores 1 (100 if lower is better)"),
    Column("High", "high", False, "range/trend/ratio/goal: value that scores 100 (1 if lower is better)"),
    Column("Cut points", "cut_points", False, "threshold: increasing values, e.g. 1, 2, 4"),
    Column("Scores", "scores", False, "threshold: one more score than cut points, e.g. 10, 40, 70, 100"),
    Column("Labels", "labels", False, "categorical: label=score pairs, e.g. Green=100; Amber=60; Red=20"),
    Column("Target", "target", False, "goal: the target for the whole goal period"),
    Column("Goal period", "goal_period", False, "goal: month, quarter, year, or custom (then Goal start/end)"),
    Column("Goal start", "goal_start", False, "goal with a custom period: first day"),
    Column("Goal end", "goal_end", False, "goal with a custom period: last day"),
    Column("Red below", "red_below", False, "optional own band: scores below this are Red"),
    Column("Amber below", "amber_below", False, "optional own band: scores below this (and not Red) are Amber"),
    Column("Description", "description", False, "Free text for your team"),
    # after Description, so ranges written before they existed (Metrics!A1:S8) still read every other column
    Column("Stale after (days)", "stale_after", False, "optional: data older than this many days (before the as-of "
                                                       "date) counts as missing"),
    Column("Date column", "date_column", False, "with Stale after: the Accounts column holding the date the source was "
                                                "last updated (blank for a trend: its latest Metric History period)"),
    # after Date column, so ranges written before it existed (Metrics!A1:U8) still read every other column
    Column("Read from", "read_from", False, "Accounts (blank) or Metric History: the latest entry logged there for the "
                                            "account under this Source, on or before the as-of date (dated by its Period)"),
)
# Where a metric reads its Source ("Read from" on Metrics): the config word -> the sheet. A trend always reads
# two periods of Metric History; any other measure reads Accounts unless it says Metric History.
READ_FROM = {"accounts": ACCOUNTS, "history": HISTORY}

CATEGORY_COLUMNS = (
    Column("Category", "name", True, "Name shown in Scores, e.g. 'Product'"),
    Column("Weight", "weight", True, "0 or more; shared out proportionally across categories"),
    Column("Red below", "red_below", False, "optional own band"),
    Column("Amber below", "amber_below", False, "optional own band"),
    Column("Description", "description", False, "Free text for your team"),
)

SETTING_COLUMNS = (
    Column("Setting", "setting", True),
    Column("Value", "value", True),
)

# Rows of the Settings sheet: label -> key, with the value used when the row is absent.
SETTINGS_ROWS = {
    "Red below": ("red_below", 40),
    "Amber below": ("amber_below", 70),
    "Minimum coverage": ("min_coverage", 0.6),
    "As-of date": ("as_of", None),
    "Segment column": ("segment_column", "Segment"),
    "Accounts sheet": ("accounts_sheet", ACCOUNTS),  # a sheet of the user's that holds the accounts (chs-excel init --accounts)
    "Churn risk column": ("churn_risk_column", False),  # yes: Scores shows each band's observed churn rate (Outcomes)
}

OVERRIDE_COLUMNS = (
    Column("Account ID", "account", True, "An Account ID from Accounts"),
    Column("Level", "level", True, "overall, category or metric"),
    Column("Target", "target", False, "category or metric name (blank for overall)"),
    Column("Score", "score", False, "1-100: replaces the computed score"),
    Column("Band", "band", False, "Red, Amber or Green (overall level only, when no score is given)"),
    Column("Reason", "reason", True, "Why the CSM overrides the score"),
    Column("Author", "author", True, "Who set it"),
    Column("Expires", "expires", True, "Last day the override applies"),
)

BENCHMARK_COLUMNS = (
    Column("Segment", "segment", False, "A segment value (blank = any segment)"),
    Column("Stage", "stage", False, "A journey stage (blank = any stage)"),
    Column("Target", "target", True, "Overall score an account should have here, 1-100"),
)
# Further Benchmarks columns named after a category ("Product", ...) give that category's target.

PLAYBOOK_COLUMNS = (
    Column("Playbook", "name", True, "Name shown in the Benchmark Gap sheet"),
    Column("Band", "band", False, "Trigger: the account's overall band (Red/Amber/Green); blank = any"),
    Column("Category", "category", False, "Trigger: the category costing the account the most points; blank = any"),
    Column("Metric", "metric", False, "Trigger: the metric costing the account the most points; blank = any"),
    Column("Stage", "stage", False, "Trigger: the account's journey stage; blank = any"),
    Column("Actions", "actions", True, "What the CSM does, in words"),
    Column("Owner", "owner", False, "Who runs the play"),
    Column("Link", "link", False, "https://..., mailto:... or a place in this workbook such as Playbooks!A2"),
)

OUTCOME_COLUMNS = (
    Column("Account ID", "account", True, "An Account ID from Accounts"),
    Column("Outcome", "outcome", True, "churned, renewed or expanded"),
    Column("Outcome date", "date", False, "When it happened (the backtest then uses a score from before it)"),
)

RULE_COLUMNS = (
    Column("Rule", "name", True, "Name shown on Scores when the rule fires, e.g. 'CSM sentiment Red caps overall at Red'"),
    Column("When", "when", True, "Overall, a category, a metric, or a column of Accounts"),
    Column("Is", "compare", True, "<, <=, >, >=, = or <>"),
    Column("Value", "value", True, "A number, or a band (Red, Amber, Green) for a score; a number or text for a column"),
    Column("Effect", "effect", True, "cap score, cap band or set band (of the overall score)"),
    Column("To", "to", True, "cap score: a score 1-100; cap band: Red or Amber; set band: Red, Amber or Green"),
    Column("Description", "description", False, "Free text for your team"),
)
COMPARISONS = ("<", "<=", ">", ">=", "=", "<>")
RULE_EFFECTS = ("cap score", "cap band", "set band")
OVERALL = "Overall"  # the word a rule's When uses for the overall score

ACCOUNT_ID = "Account ID"
ACCOUNT_COLUMNS = ("Account ID", "Account name", "Segment", "Stage", "CSM")

HISTORY_COLUMNS = ("Account ID", "Period", "Column", "Value")

MEASURES = ("threshold", "range", "trend", "goal", "categorical", "ratio")
LEVELS = ("overall", "category", "metric")
BANDS = ("Red", "Amber", "Green")
