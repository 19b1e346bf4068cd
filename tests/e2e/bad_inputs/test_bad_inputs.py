"""The bad-input matrix: each case is a small workbook with one thing wrong, the exact message the user
sees (naming sheet, row and column), and proof that nothing of theirs was written over or lost.

Config errors stop the refresh: the file must be byte-for-byte what it was.
Data issues do not: the refresh runs, the issue is on the Data Issues sheet, and every input sheet is unchanged.
"""
from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from helpers import write_book

from chs_excel import contract as c
from chs_excel.cli import main
from chs_excel.problems import BookError, ConfigError
from chs_excel.pipeline import refresh_file

METRIC_HEADER = [col.header for col in c.METRIC_COLUMNS]


def metric(name, category, weight, measure, source, **params):
    values = {"name": name, "category": category, "weight": weight, "measure": measure, "source": source, **params}
    return [values.get(col.key) for col in c.METRIC_COLUMNS]


def base_sheets() -> dict[str, list[list]]:
    """Three accounts, two categories, three metrics (range, trend, categorical)."""
    return {
        c.SETTINGS: [["Setting", "Value"], ["Red below", 40], ["Amber below", 70], ["Minimum coverage", 0.3],
                     ["As-of date", dt.date(2026, 11, 15)]],
        c.CATEGORIES: [["Category", "Weight"], ["Product", 60], ["Sentiment", 40]],
        c.METRICS: [METRIC_HEADER,
                    metric("Usage", "Product", 1, "range", "Seats used", low=0, high=100),
                    metric("Growth", "Product", 1, "trend", "Active users", low=-0.2, high=0.2),
                    metric("Sentiment", "Sentiment", 1, "categorical", "CSM sentiment", labels="Green=100; Amber=60; Red=20")],
        c.ACCOUNTS: [["Account ID", "Account name", "Segment", "Stage", "CSM", "Seats used", "CSM sentiment"],
                     ["A1", "Acme", "SMB", "Adopt", "Ana", 80, "Green"],
                     ["A2", "Birch", "SMB", "Renew", "Tom", 40, "Amber"],
                     ["A3", "Cobalt", "Enterprise", "Adopt", "Ana", 10, "Red"]],
        c.HISTORY: [["Account ID", "Period", "Column", "Value"],
                    ["A1", dt.date(2026, 10, 1), "Active users", 100], ["A1", dt.date(2026, 11, 1), "Active users", 110],
                    ["A2", dt.date(2026, 10, 1), "Active users", 100], ["A2", dt.date(2026, 11, 1), "Active users", 90],
                    ["A3", dt.date(2026, 10, 1), "Active users", 100], ["A3", dt.date(2026, 11, 1), "Active users", 100]],
        c.OVERRIDES: [[col.header for col in c.OVERRIDE_COLUMNS]],
        "My Notes": [["Note", "Formula"], ["keep me", "=1+1"]],
    }


def build(path: Path, change=None, after=None) -> Path:
    sheets = base_sheets()
    if change:
        change(sheets)
    return write_book(path, sheets, after)


def cell(sheet, ref, value):
    """A change that sets one cell of a sheet (by Excel reference) in the rows lists."""
    col = ord(ref[0]) - 65
    row = int(ref[1:]) - 1

    def change(sheets):
        rows = sheets[sheet]
        while len(rows) <= row:
            rows.append([])
        rows[row] = list(rows[row]) + [None] * (col + 1 - len(rows[row]))
        rows[row][col] = value
    return change


def user_state(path: Path) -> dict:
    """Values, formulas and number formats of every sheet chs-excel does not own."""
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[(v.value, v.number_format) for v in row] for row in ws.iter_rows()]
            for ws in wb.worksheets if not c.owned_sheet(ws.title)}


def issues_of(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)[c.DATA_ISSUES]
    return [(r[0], r[1], r[5], r[6]) for r in ws.iter_rows(min_row=2, values_only=True)]


# ---------------------------------------------------------------- config errors: nothing is written

CONFIG_CASES = {
    "weight is text": (cell(c.METRICS, "C2", "heavy"),
                       'Metrics!C2: weight must be a number of 0 or more, got "heavy"'),
    "weight is negative": (cell(c.METRICS, "C3", -2), "Metrics!C3: weight must be a number of 0 or more, got -2"),
    "category weights all zero": (lambda s: s[c.CATEGORIES].__setitem__(slice(1, 3), [["Product", 0], ["Sentiment", 0]]),
                                  "Categories!B2: category weights add up to 0; give at least one category a weight above 0"),
    "bands out of order": (cell(c.SETTINGS, "B2", 80),
                           "Settings!B2: Red below (80) must be lower than Amber below (70): the bands overlap"),
    "band outside 1-100": (cell(c.SETTINGS, "B3", 150), "Settings!B3: Amber below must be a number from 1 to 100, got 150"),
    "unknown category": (cell(c.METRICS, "B2", "Prodcut"),
                         'Metrics!B2: category "Prodcut" is not on the Categories sheet (known: Product, Sentiment)'),
    "unknown measure": (cell(c.METRICS, "D2", "linear"),
                        'Metrics!D2: measure must be one of threshold, range, trend, goal, categorical, ratio, got "linear"'),
    "source column missing": (cell(c.METRICS, "E2", "Seats"),
                              'Metrics!E2: source column "Seats" is not a column of the Accounts sheet (its header row 1 '
                              "has: Account ID, Account name, Segment, Stage, CSM, Seats used, CSM sentiment)"),
    "source column twice": (cell(c.ACCOUNTS, "H1", "seats used"),
                            'Metrics!E2: source column "Seats used" appears more than once on the Accounts sheet '
                            "(Accounts!F1 and Accounts!H1); rename one so it is clear which to use"),
    "missing Metrics sheet": (lambda s: s.pop(c.METRICS),
                              'Metrics: the workbook has no "Metrics" sheet; it is required (run `chs-excel template` '
                              "for a workbook with every sheet)"),
    "missing Accounts sheet": (lambda s: s.pop(c.ACCOUNTS), 'Accounts: the workbook has no "Accounts" sheet; it is required'),
    "renamed header": (cell(c.METRICS, "C1", "Wieght"),
                       'Metrics!1:1: column "Weight" is missing from the header row (found: Metric, Category, Wieght, '
                       "Measure, Source, Source 2, Direction, Low, High, Cut points, Scores, Labels, Target, Goal period, "
                       "Goal start, Goal end, Red below, Amber below, Description, Stale after (days), Date column, "
                       "Read from)"),
    "goal ends before it starts": (lambda s: s[c.METRICS].append(
        metric("Outreach", "Product", 1, "goal", "Seats used", target=5, goal_period="custom",
               goal_start=dt.date(2026, 12, 1), goal_end=dt.date(2026, 11, 1))),
        "Metrics!P5: goal end 2026-11-01 is before goal start 2026-12-01"),
    "trend without history sheet": (lambda s: s.pop(c.HISTORY),
                                    'Metrics!E3: trend metric "Growth" reads "Active users" from the "Metric History" '
                                    "sheet, and the workbook has none"),
    "override with unknown level": (lambda s: s[c.OVERRIDES].append(["A1", "account", None, 50, None, "why", "me",
                                                                     dt.date(2027, 1, 1)]),
                                    'Overrides!B2: level must be overall, category or metric, got "account"'),
    "override score above 100": (lambda s: s[c.OVERRIDES].append(["A1", "overall", None, 150, None, "why", "me",
                                                                  dt.date(2027, 1, 1)]),
                                 "Overrides!D2: override score must be a number from 1 to 100, got 150"),
    "override without reason": (lambda s: s[c.OVERRIDES].append(["A1", "overall", None, 50, None, None, "me",
                                                                 dt.date(2027, 1, 1)]),
                                "Overrides!F2: Reason must be filled in (an override needs an account, level, reason, "
                                "author and expiry date)"),
    "playbook link to a script": (lambda s: s.__setitem__(c.PLAYBOOKS, [[col.header for col in c.PLAYBOOK_COLUMNS],
                                                                      ["Call", None, None, None, None, "call them", None,
                                                                       "javascript:alert(1)"]]),
                                  'Playbooks!H2: link must start with https://, http:// or mailto:, or be a place in this '
                                  'workbook such as Playbooks!A2, got "javascript:alert(1)"'),
    "segment column that does not exist": (lambda s: s[c.SETTINGS].append(["Segment column", "Region"]),
                                           'Settings!B6: Segment column "Region" is not a column of the Accounts sheet '
                                           "(its header row 1 has: Account ID, Account name, Segment, Stage, CSM, "
                                           "Seats used, CSM sentiment)"),
    "text where a date belongs": (cell(c.SETTINGS, "B5", "next Monday"),
                                  'Settings!B5: the as-of date must be a date (e.g. 2026-12-31), got "next Monday"'),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_config_errors_name_the_cell_and_write_nothing(case, tmp_path, capsys):
    change, message = CONFIG_CASES[case]
    book = build(tmp_path / "book.xlsx", change)
    before = book.read_bytes()
    with pytest.raises(ConfigError) as caught:
        refresh_file(book)
    assert message in [str(p) for p in caught.value.problems]
    assert main(["refresh", str(book), "-q"]) == 1
    assert f"  {message}" in capsys.readouterr().err.splitlines()
    assert book.read_bytes() == before


# ---------------------------------------------------------------- data issues: scored, reported, nothing lost

DATA_CASES = {
    "text in a number column": (cell(c.ACCOUNTS, "F2", "lots"), None,
                                ("Accounts", "F2", "text in a number column", "left the metric out for this account")),
    "#N/A in a number column": (cell(c.ACCOUNTS, "F3", "#N/A"), None,
                                ("Accounts", "F3", "an Excel error (#N/A) instead of a number", "left the metric out for this account")),
    "#DIV/0! in a number column": (cell(c.ACCOUNTS, "F3", "#DIV/0!"), None,
                                   ("Accounts", "F3", "an Excel error (#DIV/0!) instead of a number", "left the metric out for this account")),
    "boolean in a number column": (cell(c.ACCOUNTS, "F2", True), None,
                                   ("Accounts", "F2", "TRUE/FALSE in a number column", "left the metric out for this account")),
    "date in a number column": (cell(c.ACCOUNTS, "F2", dt.datetime(2026, 1, 5)), None,
                                ("Accounts", "F2", "a date or time in a number column", "left the metric out for this account")),
    "blank account ID": (cell(c.ACCOUNTS, "A3", None), None, ("Accounts", "A3", "blank Account ID", "skipped the row")),
    "whitespace account ID": (cell(c.ACCOUNTS, "A3", "   "), None, ("Accounts", "A3", "blank Account ID", "skipped the row")),
    "duplicate account ID": (cell(c.ACCOUNTS, "A3", "A1"), None,
                             ("Accounts", "A3", 'Account ID "A1" already appears in row 2',
                              "skipped this row; the first row for the account is scored")),
    "unknown label": (cell(c.ACCOUNTS, "G2", "Purple"), None,
                      ("Accounts", "G2", "label not in the Sentiment labels (Green, Amber, Red)", "left the metric out for this account")),
    "override for an unknown account": (lambda s: s[c.OVERRIDES].append(["ZZ", "overall", None, 50, None, "why", "me",
                                                                         dt.date(2027, 1, 1)]), None,
                                        ("Overrides", "A2", 'account "ZZ" is not on the Accounts sheet', "ignored the override")),
    "override expired": (lambda s: s[c.OVERRIDES].append(["A1", "overall", None, 50, None, "why", "me",
                                                          dt.date(2026, 1, 31)]), None,
                         ("Overrides", "A2", "override expired on 2026-01-31 (as-of date 2026-11-15)",
                          "ignored the override; the computed score is used")),
    "history for an unknown account": (lambda s: s[c.HISTORY].append(["ZZ", dt.date(2026, 11, 1), "Active users", 5]), None,
                                       ("Metric History", "A8", 'account "ZZ" is not on the Accounts sheet', "skipped the history row")),
    "trend with one period": (lambda s: s[c.HISTORY].pop(5), None,
                              ("Metric History", "B6", 'only one period of "Active users" on or before 2026-11-15: a trend '
                               "needs two", "left the trend metric out for this account")),
    "as-of date before the history": (cell(c.SETTINGS, "B5", dt.date(2020, 1, 1)), None,
                                      ("Metric History", "B2", "every period in Metric History is after the as-of date "
                                       "2020-01-01", "left the trend metrics out: they have no data yet")),
    "formula without a saved value": (cell(c.ACCOUNTS, "F2", "=40*2"), None,
                                      ("Accounts", "F2", "a formula with no saved value", "left the metric out for this account")),
    "merged cells in input": (None, lambda wb: wb[c.ACCOUNTS].merge_cells("G3:G4"),
                              ("Accounts", "G3", "merged cells G3:G4: only G3 holds a value", "read the other cells as blank")),
    "hidden row in input": (None, lambda wb: setattr(wb[c.ACCOUNTS].row_dimensions[3], "hidden", True),
                            ("Accounts", "A3", "the row is hidden",
                             "scored like any other row (delete the row to leave the account out)")),
    "benchmark segment no account has": (lambda s: s.__setitem__(c.BENCHMARKS, [["Segment", "Stage", "Target"],
                                                                               ["Enterprse", None, 70]]), None,
                                         ("Benchmarks", "A2", 'no account has segment "Enterprse" (accounts have: '
                                          "Enterprise, SMB)", "the benchmark applies to no account")),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_data_issues_are_reported_and_nothing_is_lost(case, tmp_path):
    change, after, expected = DATA_CASES[case]
    book = build(tmp_path / "book.xlsx", change, after)
    before = user_state(book)
    refresh_file(book)
    assert expected in issues_of(book)
    assert user_state(book) == before
    assert openpyxl.load_workbook(book)["My Notes"]["B2"].value == "=1+1"


def test_non_ascii_names_survive_as_they_are(tmp_path):
    name = "Société Générale — 東京 ☕ Ünïcødé"
    book = build(tmp_path / "book.xlsx", cell(c.ACCOUNTS, "B2", name))
    refresh_file(book)
    scores = openpyxl.load_workbook(book)[c.SCORES]
    assert name in [row[1] for row in scores.iter_rows(min_row=2, values_only=True)]
    assert issues_of(book) == [(None, None, "No data issues: every cell was used.", None)]


def test_a_name_at_excels_cell_limit_is_written_back_whole(tmp_path):
    name = "Ω" + "x" * 32_766  # 32,767 characters: the most a cell holds
    book = build(tmp_path / "book.xlsx", cell(c.ACCOUNTS, "B2", name))
    refresh_file(book)
    scores = openpyxl.load_workbook(book)[c.SCORES]
    assert name in [row[1] for row in scores.iter_rows(min_row=2, values_only=True)]


def test_formula_like_names_are_text(tmp_path):
    book = build(tmp_path / "book.xlsx", cell(c.ACCOUNTS, "B2", "@SUM(1)"))
    openpyxl.load_workbook(book)  # sanity
    refresh_file(book)
    scores = openpyxl.load_workbook(book)[c.SCORES]
    cells = [r[1] for r in scores.iter_rows(min_row=2)]
    assert [(x.value, x.data_type) for x in cells if x.value == "@SUM(1)"] == [("@SUM(1)", "s")]


# ---------------------------------------------------------------- files that cannot be used


def test_corrupt_file(tmp_path):
    bad = tmp_path / "book.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(BookError, match="cannot be read as an Excel workbook"):
        refresh_file(bad)
    assert bad.read_bytes() == b"PK\x03\x04 this is not really a zip"


def test_locked_file(tmp_path):
    book = build(tmp_path / "book.xlsx")
    (tmp_path / "~$book.xlsx").write_bytes(b"")
    before = book.read_bytes()
    with pytest.raises(BookError, match=r"book.xlsx is open in Excel \(lock file ~\$book.xlsx exists\)"):
        refresh_file(book)
    assert book.read_bytes() == before


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    bomb = tmp_path / "book.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * 50_000_000)  # 50 MB of zeros packs to ~50 kB
    with pytest.raises(BookError, match="unpacks to an implausible size"):
        refresh_file(bomb)


def test_a_workbook_at_excels_row_limit_is_scored(tmp_path):
    """1,048,575 accounts (Excel's 1,048,576 rows less the header), through the same table path a workbook takes."""
    import numpy as np

    from chs_excel.book.table import Table
    from chs_excel.config import config_from_tables
    from chs_excel.core.engine import score
    from chs_excel.inputs import scoring_input
    from helpers import tables_from_rows

    n = 1_048_575
    sheets = base_sheets()
    rng = np.random.default_rng(7)
    seats = rng.integers(0, 101, n).astype(float)
    labels = np.array(["Green", "Amber", "Red"], dtype=object)[rng.integers(0, 3, n)]
    sheets[c.ACCOUNTS] = [sheets[c.ACCOUNTS][0]] + [[f"A{k}", None, "SMB", "Adopt", None, seats[k], labels[k]] for k in range(n)]
    sheets[c.METRICS] = [m for m in sheets[c.METRICS] if m[3] != "trend"]
    tables = tables_from_rows(sheets)
    config = config_from_tables(tables)
    data, _, issues, problems = scoring_input(tables, config, dt.date(2026, 11, 15))
    result = score(config, data)
    assert problems == [] and issues == [] and len(result.overall) == n
    # account 0: Usage = 1 + 0.99 x seats, Sentiment by label; Product 60, Sentiment 40
    label_score = {"Green": 100, "Amber": 60, "Red": 20}[labels[0]]
    assert result.overall.iloc[0] == pytest.approx(0.6 * (1 + 0.99 * seats[0]) + 0.4 * label_score)
    assert isinstance(tables[c.ACCOUNTS], Table)
