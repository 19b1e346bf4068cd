"""Make ``workbook_template.xlsx``: the seed-000 scorecard with 60 sample accounts.

Deterministic (fixed random seed, fixed dates), so the committed template can
be checked against what this module makes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from chs_excel import contract as c

AS_OF = dt.date(2026, 11, 15)
FIXED_TIME = dt.datetime(2026, 11, 1, 9, 0, 0)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
TITLE_FONT = Font(bold=True, size=14)

CATEGORIES = [
    ("Product", 45, None, None, "Is the customer using what they bought?"),
    ("Engagement", 35, None, None, "Are they talking to us and showing up?"),
    ("Sentiment", 20, None, None, "What does the CSM see?"),
]

# name, category, weight, measure, source, source2, direction, low, high, cuts, scores, labels, target, period, description
METRICS = [
    ("Monthly active users", "Product", 40, "trend", "Active users", None, "higher", -0.2, 0.2, None, None, None, None, None,
     "Month-over-month change in active users: -20% scores 1, +20% scores 100"),
    ("Data ingested", "Product", 30, "trend", "Data ingested (GB)", None, "higher", -0.25, 0.25, None, None, None, None, None,
     "Month-over-month change in GB ingested"),
    ("Feature usage", "Product", 30, "ratio", "Features used", "Features available", "higher", 0.1, 0.8, None, None, None, None, None,
     "Share of available features in use: 10% scores 1, 80% or more scores 100"),
    ("Outreach", "Engagement", 30, "goal", "Outreach this month", None, "higher", None, None, None, None, None, 8, "month",
     "Emails and calls against a target of 8 a month, pro-rated to the as-of date"),
    ("Business reviews", "Engagement", 30, "threshold", "QBRs attended (12 mo)", None, "higher", None, None, "1, 2, 3, 4",
     "10, 40, 65, 85, 100", None, None, None, "Business reviews attended in the last 12 months"),
    ("Support engagement", "Engagement", 40, "range", "Open support tickets", None, "lower", 0, 8, None, None, None, None, None,
     "Open tickets: none scores 100, 8 or more scores 1"),
    ("CSM sentiment", "Sentiment", 100, "categorical", "CSM sentiment", None, None, None, None, None, None,
     "Green=100; Amber=60; Red=20", None, None, "The CSM's red/amber/green call. That's it."),
]

# Metrics whose data goes stale: name -> (Stale after (days), Date column of Accounts; None: the date of the
# Metric History entry read).
STALE = {"Feature usage": (60, "Usage updated"), "CSM sentiment": (30, None)}
# Metrics whose Source is the latest entry logged in Metric History ("Read from"), not a column of Accounts:
# seed 003's teams log CSM sentiment weekly, or whenever it changes.
LOGGED = {"CSM sentiment"}

# Rule, When, Is, Value, Effect, To, Description (the Rules sheet)
RULES = [
    ("CSM sentiment Red caps overall at Red", "CSM sentiment", "=", "Red", "cap band", "Red",
     "Whatever the usage says, an account its CSM calls Red is not healthy"),
    ("No login in 60 days caps overall at 40", "Days since last login", ">", 60, "cap score", 40,
     "Nobody has logged in for two months: at most 40, however good the rest looks"),
]

# Segment, stage, overall target, then optional targets for Product, Engagement, Sentiment (seed 000:
# "If the benchmark states that a customer should be at a 75 at the end of Onboard ...").
BENCHMARKS = [
    ("Enterprise", "Onboard", 65, 60, None, None),
    ("Enterprise", "Adopt", 70, 70, None, None),
    ("Enterprise", "Optimize", 75, 75, 70, None),
    ("Enterprise", "Renew", 80, None, 75, 70),
    ("Mid-Market", "Onboard", 60, None, None, None),
    ("Mid-Market", "Adopt", 65, 65, None, None),
    ("Mid-Market", "Optimize", 70, None, None, None),
    ("Mid-Market", "Renew", 75, None, None, 70),
    ("SMB", None, 55, None, None, None),
    (None, None, 60, None, None, None),
]

# Playbook, band, category, metric, stage, actions, owner, link
PLAYBOOKS = [
    ("Renewal rescue", "Red", None, None, "Renew", "Book an executive business review within two weeks; confirm the "
     "sponsor and decision maker; agree a written success plan before the renewal date.", "CS Director",
     "https://example.com/playbooks/renewal-rescue"),
    ("Onboarding recovery", None, None, None, "Onboard", "Re-run the kickoff with the customer's project lead; reset the "
     "go-live plan; daily check-ins until the first milestone is met.", "Onboarding lead", None),
    ("Support escalation review", None, None, "Support engagement", None, "Review every open ticket with the support "
     "lead; agree fix dates; tell the customer what will happen and when.", "Support lead",
     "mailto:support-lead@example.com"),
    ("Adoption sprint", None, "Product", None, None, "Run a 30-day adoption sprint on the unused features: training "
     "sessions, in-app guides, weekly usage review with the champion.", "CSM", "Metrics!A4"),
    ("Relationship refresh", None, "Engagement", None, None, "Move to weekly outreach; schedule the next business "
     "review; meet a second stakeholder.", "CSM", None),
    ("Sentiment check-in", None, "Sentiment", None, None, "Call the champion this week; log the CSM sentiment weekly "
     "until it is Green again.", "CSM", None),
    ("Account review", None, None, None, None, "Bring the account to the weekly CS meeting and agree the next step.",
     "CS Manager", None),
]

SEGMENTS = ["Enterprise"] * 15 + ["Mid-Market"] * 20 + ["SMB"] * 25
STAGES = ["Onboard", "Adopt", "Optimize", "Renew"]
CSMS = ["Priya Natarajan", "Tom Becker", "Ana Souza", "Kenji Watanabe", "Chloé Martin"]
FIRST = ["Acme", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Lumen",
         "Maple", "Nimbus", "Orchid", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal"]
SECOND = ["Analytics", "Logistics", "Health", "Foods"]
def _months() -> list[dt.date]:
    return [dt.date(2025 + (11 + k) // 12, (11 + k) % 12 + 1, 1) for k in range(12)]  # Dec 2025 .. Nov 2026


def sample_accounts(seed: int = 2026) -> tuple[list[list], list[list]]:
    """60 accounts and their 12 months of history, with a spread of health and a few bad cells."""
    rng = np.random.default_rng(seed)
    health = rng.beta(0.7, 0.7, 60)  # U-shaped: a spread of clearly healthy and clearly at-risk accounts
    accounts, history = [], []
    for k in range(60):
        h = health[k]
        acct = f"ACC-{k + 1:03d}"
        name = f"{FIRST[k % 20]} {SECOND[k // 20 + (k % 2)]}"
        seats = int({"Enterprise": 400, "Mid-Market": 120, "SMB": 25}[SEGMENTS[k]] * rng.uniform(0.6, 1.4))
        available = 20
        used = int(np.clip(round(available * (0.1 + 0.75 * h + rng.normal(0, 0.08))), 1, available))
        outreach = int(np.clip(round(4 * (0.3 + h) + rng.normal(0, 1)), 0, 12))
        qbrs = int(np.clip(round(4 * h + rng.normal(0, 0.7)), 0, 4))
        tickets = int(np.clip(round(9 * (1 - h) + rng.normal(0, 1.5)), 0, 15))
        sentiment = "Green" if h > 0.6 else ("Amber" if h > 0.3 else "Red")  # the CSM's latest call
        if rng.uniform() < 0.15:
            sentiment = ["Green", "Amber", "Red"][int(rng.integers(0, 3))]
        accounts.append([acct, name, SEGMENTS[k], STAGES[k % 4], CSMS[k % 5], seats, used, available, outreach, qbrs,
                         tickets, sentiment])
        users, gb = seats * (0.5 + 0.4 * h), seats * 2.0
        growth = (h - 0.5) * 0.3
        for month in _months():
            users = max(1.0, users * (1 + growth / 3 + rng.normal(0, 0.04)))
            gb = max(0.5, gb * (1 + growth / 2 + rng.normal(0, 0.05)))
            history.append([acct, month, "Active users", round(users)])
            history.append([acct, month, "Data ingested (GB)", round(gb, 1)])
    # Realistic mess, so the Data Issues sheet has something to show.
    accounts[4][9] = "n/a"            # text in a number column
    accounts[11][6] = "#N/A"          # an Excel error from a failed lookup
    accounts[17][11] = None           # sentiment not logged yet
    accounts[23][11] = "Yellow"       # a label the scorecard does not know
    accounts[29][10] = None           # ticket count missing
    for col in (6, 8, 9, 10, 11):     # a brand-new account with almost no data
        accounts[41][col] = None
    latest = [row.pop(11) for row in accounts]  # the sentiment is logged on Metric History, not kept on Accounts
    _add_login_and_usage_dates(accounts, health, seed)
    history = [row for row in history if not (row[0] == "ACC-042")]
    history.append(["ACC-007", dt.date(2026, 11, 1), "Data ingested (GB)", "pending"])
    return accounts, history + sentiment_log([row[0] for row in accounts], latest, seed)


# The CSM sentiment log's special cases (the rest is logged weekly or every few weeks, up to the as-of date):
STALE_SENTIMENT = {"ACC-010": 52, "ACC-048": 44}  # days since the last entry: past Stale after (30), left out
CORRECTED_SENTIMENT = {"ACC-030": "Amber"}  # logged twice on its latest day: this first, the call then corrected
UNKNOWN_SENTIMENT = {"ACC-024": "Amber"}  # its latest entry is "Yellow" (not a label): the entry before counts
LATE_SENTIMENT = {"ACC-057": "Amber"}  # an entry dated after the as-of date: not counted as of the as-of date
NEIGHBOUR = {"Green": "Amber", "Amber": "Green", "Red": "Amber"}  # what a CSM's call changed from


def sentiment_log(ids: list[str], latest: list[str | None], seed: int) -> list[list]:
    """Metric History rows of CSM sentiment, oldest first: 8 to 12 weeks per account, ending with ``latest``.

    From a generator of its own (the other sample values stay as they were). An account without a latest call
    has no entry. Most CSMs log weekly; some every two to four weeks; a third of the calls changed on the way.
    """
    rng = np.random.default_rng(seed + 2)
    entries = []  # (day, account position, order on the day, label)
    for k, (acct, label) in enumerate(zip(ids, latest)):
        weekly = rng.uniform() < 0.65
        weeks = int(rng.integers(8, 13))
        last = AS_OF - dt.timedelta(days=STALE_SENTIMENT.get(acct, int(rng.integers(0, 7 if weekly else 20))))
        changed_at = last - dt.timedelta(days=int(rng.integers(7, 7 * weeks))) if rng.uniform() < 0.35 else None
        if label is None:
            continue
        start = AS_OF - dt.timedelta(weeks=weeks)
        day, days = last, []
        while day >= start:
            days.append(day)
            day -= dt.timedelta(days=7 if weekly else int(rng.integers(14, 29)))
        known = UNKNOWN_SENTIMENT.get(acct, label)  # the call before an unknown label
        for day in reversed(days):
            said = NEIGHBOUR[known] if changed_at is not None and day < changed_at else known
            entries.append((day, k, 0, said))
        if acct in UNKNOWN_SENTIMENT:
            entries[-1] = (last, k, 0, "Yellow")
        if acct in CORRECTED_SENTIMENT:
            entries[-1] = (last, k, 1, label)
            entries.append((last, k, 0, CORRECTED_SENTIMENT[acct]))
        if acct in LATE_SENTIMENT:
            entries.append((AS_OF + dt.timedelta(days=4), k, 0, LATE_SENTIMENT[acct]))
    return [[ids[k], day, "CSM sentiment", said] for day, k, _, said in sorted(entries)]


# Accounts whose feature usage export stopped (stale at the as-of date) or whose date is missing (used, flagged).
STALE_USAGE = {"ACC-013": dt.date(2026, 8, 20), "ACC-027": dt.date(2026, 7, 31), "ACC-052": dt.date(2026, 9, 1)}
UNKNOWN_USAGE_DATE = ("ACC-038",)
# Accounts nobody has logged in to for a while (the login rule fires where this is over 60 days).
LONG_SINCE_LOGIN = {"ACC-021": 75, "ACC-046": 92}


def _add_login_and_usage_dates(accounts: list[list], health: np.ndarray, seed: int) -> None:
    """Append "Days since last login" and "Usage updated" to each account row.

    From a generator of their own, so the other columns keep the values they had before these were added.
    """
    rng = np.random.default_rng(seed + 1)
    for k, row in enumerate(accounts):
        acct = row[0]
        days = int(np.clip(round(40 * (1 - health[k]) ** 2 + rng.uniform(0, 6)), 0, 45))
        updated = AS_OF - dt.timedelta(days=int(rng.integers(1, 15)))
        row.append(LONG_SINCE_LOGIN.get(acct, days))
        row.append(None if acct in UNKNOWN_USAGE_DATE else STALE_USAGE.get(acct, updated))


def _header(ws, headers, notes: dict[str, str] | None = None, widths: dict[str, float] | None = None) -> None:
    ws.append(list(headers))
    for j, h in enumerate(headers, start=1):
        cell = ws.cell(1, j)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if notes and notes.get(h):
            cell.comment = Comment(notes[h], "chs-excel")
        ws.column_dimensions[get_column_letter(j)].width = (widths or {}).get(h, max(11, len(h) + 3))
    ws.freeze_panes = "B2"


def _list_validation(ws, options: list[str], area: str, prompt: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
    dv.promptTitle, dv.prompt = "chs-excel", prompt
    dv.errorTitle, dv.error = "chs-excel", f"Choose one of: {', '.join(options)}"
    ws.add_data_validation(dv)
    dv.add(area)


# (text, style): style is "title", "heading" or None.
INSTRUCTIONS = [
    ("chs-excel: customer health scores in this workbook", "title"),
    ("", None),
    ("How it works", "heading"),
    ("1. Each metric turns one column of the Accounts sheet (or of Metric History) into a score from 1 to 100.", None),
    ("2. Metric scores roll up by weight into category scores, and categories roll up by weight into the overall score.", None),
    ("3. Every score is banded: Red below 40, Amber below 70, Green from 70 (change this on Settings, or per metric/category).", None),
    ("4. A blank or unusable cell leaves that metric out for the account; the other weights are shared out again and", None),
    ("   'Coverage' on Scores shows how much of the score had data. Below the minimum coverage there is no overall score.", None),
    ("5. A CSM can override a score on the Overrides sheet, with a reason, an author and an expiry date.", None),
    ("", None),
    ("Sheets you edit", "heading"),
    ("Settings: band cut points, minimum coverage, the as-of date (blank = today).", None),
    ("Categories: one row per category with its weight.", None),
    ("Metrics: one row per metric (4 to 8 is plenty): category, weight, measure and its parameters, source column.", None),
    ("   threshold: Cut points + Scores | range: Low + High | trend: Low + High on the change (e.g. -0.2 to 0.2)", None),
    ("   goal: Target + Goal period (month/quarter/year/custom) | categorical: Labels | ratio: Source 2 (denominator), Low + High", None),
    ("Accounts: one row per account: Account ID, Account name, Segment, Stage, CSM, and one column per metric source.", None),
    ("Metric History: Account ID, Period, Column, Value (long format) for trend metrics, and for signals logged over "
     "time,", None),
    ("   e.g. CSM sentiment each week: a metric whose 'Read from' is Metric History scores the latest entry on or "
     "before the as-of date.", None),
    ("Overrides: Account ID, Level (overall/category/metric), Target, Score or Band, Reason, Author, Expires.", None),
    ("Benchmarks: Segment, Stage (blank = any), Target overall score, and optional targets in columns named after categories.", None),
    ("Playbooks: name, triggers (Band, Category, Metric, Stage; blank = any), Actions, Owner, Link. The most specific match wins.", None),
    ("Rules: Rule, When (Overall, a category, a metric or an Accounts column), Is, Value, Effect (cap score, cap band, "
     "set band), To.", None),
    ("   A rule caps or sets the overall band, e.g. 'CSM sentiment = Red: cap band Red'. Overrides win over rules.", None),
    ("Stale data: a metric with 'Stale after (days)' and a 'Date column' is left out (as missing) for accounts whose "
     "date is older than that.", None),
    ("   A trend, or a metric read from Metric History, is dated by the Period of its latest entry (no Date column "
     "needed).", None),
    ("", None),
    ("Sheets chs-excel writes (do not edit: they are replaced on every refresh)", "heading"),
    ("Scores: every account's overall, band, change since the last refresh, coverage, category and metric scores, drivers.", None),
    ("Benchmark Gap: accounts below the benchmark for their segment and stage, biggest gap first, with their playbook.", None),
    ("Distribution: red/amber/green counts and shares overall, per category and per segment, with a chart.", None),
    ("Score History: one row per refresh date; each date's scores per account are on a hidden sheet "
     "'Score History <date>' (a second refresh on the same date replaces it).", None),
    ("Data Issues: every cell chs-excel could not use, where it is, and what it did instead.", None),
    ("", None),
    ("Refresh", "heading"),
    ("From a terminal:  chs-excel refresh this-workbook.xlsx     (check only:  chs-excel validate this-workbook.xlsx)", None),
    ("Every other sheet you add is left exactly as it is.", None),
]


EXAMPLE_ONLY_COLUMNS = ("Days since last login", "Usage updated")  # read by the example's rules and stale check
ACCOUNT_HEADERS = list(c.ACCOUNT_COLUMNS) + ["Seats", "Features used", "Features available", "Outreach this month",
                                            "QBRs attended (12 mo)", "Open support tickets", *EXAMPLE_ONLY_COLUMNS]

OVERRIDES = [
    # A Green account its CSM knows is at risk: the override turns it Red (the scores cannot know about the sponsor)
    ["ACC-004", "overall", None, None, "Red", "Executive sponsor left in October; the renewal is at risk",
     "Kenji Watanabe", dt.date(2026, 12, 31)],
    ["ACC-010", "metric", "CSM sentiment", 90, None, "Renewal signed early; CSM sentiment log is stale",
     "Ana Souza", dt.date(2027, 1, 31)],
    ["ACC-015", "overall", None, 80, None, "Temporary outage credit agreed", "Tom Becker", dt.date(2026, 9, 30)],
]

ACCOUNTS_SHEET_SETTING = next(label for label, (key, _) in c.SETTINGS_ROWS.items() if key == "accounts_sheet")


def settings_rows(as_of: dt.date | None = AS_OF, accounts_sheet: str | None = None) -> list[list]:
    """Rows of the example Settings sheet (Setting, Value, Meaning); ``as_of`` None leaves the date blank (today)."""
    rows = [["Red below", 40, "Scores below this are Red"],
            ["Amber below", 70, "Scores below this (and not Red) are Amber; from here on Green"],
            ["Minimum coverage", 0.6, "Share of the score's weight that must have data for an overall score"],
            ["As-of date", as_of, "Date the scores are for (blank = today); goals are pro-rated to it"],
            ["Segment column", "Segment", "Column of Accounts that benchmarks and the Distribution sheet segment by "
                                          "(e.g. Segment, Region, Maturity)"]]
    if accounts_sheet:
        rows.append([ACCOUNTS_SHEET_SETTING, accounts_sheet, "The sheet holding the accounts (one row per account, "
                                                             "an Account ID column and the metric sources)"])
    return rows


@dataclass
class ExampleSheet:
    """One input sheet of the example scorecard, as data: what the template and ``chs-excel init`` both write."""

    name: str
    headers: list[str]
    rows: list[list]
    widths: dict[str, float]                 # every header's column width
    notes: dict[str, str] = field(default_factory=dict)           # header -> comment (the template's cell notes)
    column_formats: dict[str, str] = field(default_factory=dict)  # header -> number format of its data cells
    cell_formats: dict[str, str] = field(default_factory=dict)    # "B4" -> number format


def _widths(headers: list[str], widths: dict[str, float] | None = None) -> dict[str, float]:
    return {h: (widths or {}).get(h, max(11, len(h) + 3)) for h in headers}


def _notes(columns: tuple[c.Column, ...]) -> dict[str, str]:
    return {col.header: col.help for col in columns}


def example_sheets(as_of: dt.date | None = AS_OF, sample: bool = True,
                   accounts_sheet: str | None = None) -> list[ExampleSheet]:
    """The example scorecard's input sheets (after Instructions), in template order.

    ``sample``: the 60 sample accounts, their history and overrides (else those sheets hold a header row only).
    ``accounts_sheet``: a Settings row naming the sheet that holds the accounts.
    """
    accounts, history = sample_accounts() if sample else ([], [])
    # A sheet of the user's holding the accounts lacks the example's date and login columns: leave out what reads them.
    # It holds the sources, CSM sentiment too, and nothing is logged on Metric History yet: read them all from it.
    stale = STALE if accounts_sheet is None else {}
    logged = LOGGED if accounts_sheet is None else set()
    rules = [row for row in RULES if accounts_sheet is None or row[1] not in EXAMPLE_ONLY_COLUMNS]
    settings = settings_rows(as_of, accounts_sheet)
    settings_formats = {"B4": "0%"}
    if as_of is not None:
        settings_formats["B5"] = "yyyy-mm-dd"
    metrics = [[name, cat, weight, measure, source, source2, direction, low, high, cuts, scores, labels, target,
                period, None, None, None, None, description, *stale.get(name, (None, None)),
                c.READ_FROM["history"] if name in logged else None]
               for (name, cat, weight, measure, source, source2, direction, low, high, cuts, scores, labels, target,
                    period, description) in METRICS]
    category_names = [cat[0] for cat in CATEGORIES]
    benchmark_headers = [col.header for col in c.BENCHMARK_COLUMNS] + category_names
    benchmark_notes = _notes(c.BENCHMARK_COLUMNS)
    benchmark_notes.update({name: f"Optional: the {name} score an account should have here" for name in category_names})
    headers = {sheet: [col.header for col in columns] for sheet, columns in (
        (c.CATEGORIES, c.CATEGORY_COLUMNS), (c.METRICS, c.METRIC_COLUMNS), (c.OVERRIDES, c.OVERRIDE_COLUMNS),
        (c.PLAYBOOKS, c.PLAYBOOK_COLUMNS), (c.RULES, c.RULE_COLUMNS))}
    return [
        ExampleSheet(c.SETTINGS, ["Setting", "Value", "Meaning"], settings,
                     _widths(["Setting", "Value", "Meaning"], {"Setting": 20, "Value": 14, "Meaning": 70}),
                     cell_formats=settings_formats),
        ExampleSheet(c.CATEGORIES, headers[c.CATEGORIES], [list(row) for row in CATEGORIES],
                     _widths(headers[c.CATEGORIES], {"Description": 50}), _notes(c.CATEGORY_COLUMNS)),
        ExampleSheet(c.METRICS, headers[c.METRICS], metrics,
                     _widths(headers[c.METRICS], {"Metric": 22, "Source": 22, "Source 2": 18, "Labels": 28,
                                                  "Description": 60, "Date column": 16, "Read from": 16}),
                     _notes(c.METRIC_COLUMNS)),
        ExampleSheet(c.ACCOUNTS, ACCOUNT_HEADERS, accounts, _widths(ACCOUNT_HEADERS, {"Account name": 24, "CSM": 18}),
                     column_formats={"Usage updated": "yyyy-mm-dd"}),
        ExampleSheet(c.HISTORY, list(c.HISTORY_COLUMNS), history, _widths(list(c.HISTORY_COLUMNS), {"Column": 22}),
                     column_formats={"Period": "yyyy-mm"}),
        ExampleSheet(c.OVERRIDES, headers[c.OVERRIDES], [list(row) for row in OVERRIDES] if sample else [],
                     _widths(headers[c.OVERRIDES], {"Reason": 45, "Author": 18}), _notes(c.OVERRIDE_COLUMNS),
                     column_formats={"Expires": "yyyy-mm-dd"}),
        ExampleSheet(c.BENCHMARKS, benchmark_headers, [list(row) for row in BENCHMARKS], _widths(benchmark_headers),
                     benchmark_notes),
        ExampleSheet(c.PLAYBOOKS, headers[c.PLAYBOOKS], [list(row) for row in PLAYBOOKS],
                     _widths(headers[c.PLAYBOOKS], {"Playbook": 26, "Actions": 70, "Owner": 16, "Link": 44}),
                     _notes(c.PLAYBOOK_COLUMNS)),
        ExampleSheet(c.RULES, headers[c.RULES], [list(row) for row in rules],
                     _widths(headers[c.RULES], {"Rule": 40, "When": 22, "Is": 6, "Value": 9, "Effect": 11, "To": 7,
                                                "Description": 60}), _notes(c.RULE_COLUMNS)),
    ]


# Drop-down lists of the template (validations are not written by ``chs-excel init``).
def _validations(ws, name: str, rows: int) -> None:
    if name == c.METRICS:
        n = rows + 1
        _list_validation(ws, list(c.MEASURES), f"D2:D{n + 20}", "How the value becomes a 1-100 score")
        _list_validation(ws, ["higher", "lower"], f"G2:G{n + 20}", "Is a higher or a lower value better?")
        _list_validation(ws, ["month", "quarter", "year", "custom"], f"N2:N{n + 20}", "The goal's time frame")
        read_from = get_column_letter(next(j for j, col in enumerate(c.METRIC_COLUMNS, 1) if col.key == "read_from"))
        _list_validation(ws, list(c.READ_FROM.values()), f"{read_from}2:{read_from}{n + 20}",
                         "Blank or Accounts: a column of Accounts. Metric History: the latest entry logged there")
    elif name == c.OVERRIDES:
        _list_validation(ws, list(c.LEVELS), "B2:B200", "overall, category or metric")
        _list_validation(ws, list(c.BANDS), "E2:E200", "Red, Amber or Green")
    elif name == c.PLAYBOOKS:
        _list_validation(ws, list(c.BANDS), "B2:B200", "Trigger: the account's overall band (blank = any)")
    elif name == c.RULES:
        _list_validation(ws, list(c.COMPARISONS), "C2:C200", "How When compares with Value")
        _list_validation(ws, list(c.RULE_EFFECTS), "E2:E200", "What the rule does to the overall score")


def build_template() -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.properties.creator = "chs-excel"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    ws = wb.active
    ws.title = c.INSTRUCTIONS
    fonts = {"title": TITLE_FONT, "heading": Font(bold=True)}
    for text, style in INSTRUCTIONS:
        ws.append([text])
        if style:
            ws.cell(ws.max_row, 1).font = fonts[style]
    ws.column_dimensions["A"].width = 120

    for sheet in example_sheets():
        ws = wb.create_sheet(sheet.name)
        _header(ws, sheet.headers, sheet.notes or None, sheet.widths)
        formatted = [(j, sheet.column_formats[h]) for j, h in enumerate(sheet.headers, start=1)
                     if h in sheet.column_formats]
        for row in sheet.rows:
            ws.append(row)
            for j, fmt in formatted:
                ws.cell(ws.max_row, j).number_format = fmt
        for ref, fmt in sheet.cell_formats.items():
            ws[ref].number_format = fmt
        _validations(ws, sheet.name, len(sheet.rows))
    return wb


def write_template(path: str | Path) -> Path:
    path = Path(path)
    build_template().save(path)
    return path
