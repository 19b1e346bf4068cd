"""Output a person can read (issue 13, part 4): skew per category and segment, Validation's churn tables as
numbers in a natural order, what to do without benchmarks, and cells that left a metric unscored silently."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers import metric_row, simple_tables, table

from chs_excel import contract as c
from chs_excel.analysis import distribution
from chs_excel.config import config_from_tables
from chs_excel.pipeline import prepare
from chs_excel.problems import ConfigError
from chs_excel.sheets.backtest import natural_key, naturally_sorted
from chs_excel.sheets.distribution import WARNING, distribution_sheet
from chs_excel.sheets.gap import benchmark_advice

AS_OF = dt.date(2026, 11, 15)


# --- Distribution: skew per category and per segment ---------------------------------------------------------

def test_group_skew_warning_counts_only_scored_accounts():
    # 6 of 8 scored are Amber (75%); the 2 without a score do not count
    row = {"Red": 1, "Amber": 6, "Green": 1, "No score": 2}
    assert distribution.skewed_band(row) == ("Amber", 0.75)
    assert distribution.group_skew_warning("Category", row) == \
        "Not separating: 75% of the accounts scored on this category are Amber."
    assert distribution.group_skew_warning("Segment", row) == "75% of this segment's 8 scored account(s) are Amber."


def test_exactly_half_is_not_skewed():
    assert distribution.skewed_band({"Red": 2, "Amber": 2, "Green": 0, "No score": 5}) is None
    assert distribution.group_skew_warning("Segment", {"Red": 0, "Amber": 0, "Green": 0, "No score": 3}) == ""


def test_distribution_sheet_warns_per_category_and_segment():
    # Six accounts, hand-made scores. Overall 20, 30, 50, 60, 80, 90: 2 red, 2 amber, 2 green (not skewed).
    # Category P: 10, 20, 30, 35, 80, 50 -> 4 red of 6 (67%): skewed. Category Q: 20, 50, 90, 50, 80, 95: 1/2/3 (no).
    # Segment S (accounts 1-3): overall 20, 30, 50 -> 2 red of 3 (67%): skewed. Segment T (4-6): 60, 80, 90 ->
    # 2 green of 3 (67%): skewed.
    config = config_from_tables(simple_tables(categories=[["P", 1], ["Q", 1]], metrics=[
        metric_row("p", "P", 1, "range", "N1", low=0, high=1), metric_row("q", "Q", 1, "range", "N2", low=0, high=1)]))
    index = pd.Index([f"X{k}" for k in range(1, 7)])
    overall = pd.Series([20.0, 30, 50, 60, 80, 90], index=index)
    band = pd.Series(["Red", "Red", "Amber", "Amber", "Green", "Green"], index=index, dtype=object)
    categories = pd.DataFrame({"P": [10.0, 20, 30, 35, 80, 50], "Q": [20.0, 50, 90, 50, 80, 95]}, index=index)
    labels = pd.DataFrame({"Segment": ["S", "S", "S", "T", "T", "T"]}, index=index)
    sheet, overall_warning = distribution_sheet(config, labels, overall, band, categories, AS_OF)
    assert overall_warning == ""
    warnings = dict(zip(sheet.frame["Group"], sheet.frame[WARNING]))
    assert warnings == {
        "All accounts": "",
        "P": "Not separating: 67% of the accounts scored on this category are Red.",
        "Q": "",
        "S": "67% of this segment's 3 scored account(s) are Red.",
        "T": "67% of this segment's 3 scored account(s) are Green.",
    }
    assert sheet.preamble[2] == [f"More than half of the scored accounts of 1 category and 2 segments sit in one "
                                 f"band: see the {WARNING} column."]
    assert WARNING in sheet.wrap


# --- Validation: natural order, numbers ---------------------------------------------------------------------

def test_segments_sort_by_their_first_number_then_as_text():
    labels = ["101-250", "1", "11-50", "Enterprise", "2-10", "(none)", "51-100", "251+", "agency"]
    assert sorted(labels, key=natural_key) == ["1", "2-10", "11-50", "51-100", "101-250", "251+", "agency",
                                               "Enterprise", "(none)"]
    table_ = pd.DataFrame({"Accounts": range(3)}, index=["11-50", "1", "2-10"])
    assert naturally_sorted(table_).index.tolist() == ["1", "2-10", "11-50"]


def test_validation_churn_rates_are_numbers_in_natural_order(tmp_path):
    from helpers import write_book

    from chs_excel.cli import main
    import openpyxl

    # Segments 11-50 (2 accounts, 1 churned: 50%), 2-10 (3 accounts, 1 churned: 33.3%), 1 (1, 0 churned)
    accounts = [["Account ID", "Segment", "Stage", "N"]]
    accounts += [[f"A{k}", seg, stage, v] for k, (seg, stage, v) in enumerate(
        [("11-50", "Adopt", 0.9), ("11-50", "Adopt", 0.2), ("2-10", "Onboard", 0.1), ("2-10", "Onboard", 0.8),
         ("2-10", "Adopt", 0.7), ("1", "Renew", 0.95)], start=1)]
    outcomes = [["Account ID", "Outcome"], ["A1", "renewed"], ["A2", "churned"], ["A3", "churned"], ["A4", "renewed"],
                ["A5", "renewed"], ["A6", "expanded"]]
    book = write_book(tmp_path / "b.xlsx", {
        c.CATEGORIES: [["Category", "Weight"], ["A", 1]],
        c.METRICS: [["Metric", "Category", "Weight", "Measure", "Source", "Low", "High"],
                    ["m", "A", 1, "range", "N", 0, 1]],
        c.SETTINGS: [["Setting", "Value"], ["As-of date", AS_OF]],
        c.ACCOUNTS: accounts, c.OUTCOMES: outcomes})
    assert main(["backtest", str(book)]) == 0
    ws = openpyxl.load_workbook(book)[c.VALIDATION]
    rows = [[cell for cell in row[:4]] for row in ws.iter_rows(min_row=12, max_row=22)]
    groups = [r[0].value for r in rows]
    assert groups[:4] == ["Red", "Amber", "Green", "No score"]
    assert groups[4:7] == ["Segment 1", "Segment 2-10", "Segment 11-50"]
    assert groups[7:10] == ["Stage Adopt", "Stage Onboard", "Stage Renew"]
    rates = {r[0].value: r[3] for r in rows if r[0].value}
    assert rates["Segment 2-10"].value == pytest.approx(1 / 3) and rates["Segment 2-10"].number_format == "0.0%"
    assert rates["Segment 11-50"].value == pytest.approx(0.5)
    assert rates["Stage Adopt"].value == pytest.approx(1 / 3)  # A1, A2, A5: A2 churned
    assert ws["C4"].value == "What it means" and ws.column_dimensions["C"].width >= len("What it means")


# --- No benchmark: say what to add --------------------------------------------------------------------------

def test_benchmark_advice_only_when_no_scored_account_has_one():
    assert benchmark_advice({"below": 0, "at_or_above": 0, "no_benchmark": 5, "no_score": 1}).startswith(
        "No account has a benchmark yet: add rows to the 'Benchmarks' sheet, one per segment and journey stage")
    assert benchmark_advice({"below": 1, "at_or_above": 0, "no_benchmark": 5, "no_score": 0}) == ""
    assert benchmark_advice({"below": 0, "at_or_above": 0, "no_benchmark": 0, "no_score": 3}) == ""


def test_cli_says_what_to_add_without_benchmarks(tmp_path, capsys):
    from helpers import write_book

    from chs_excel.cli import main
    book = write_book(tmp_path / "b.xlsx", {
        c.CATEGORIES: [["Category", "Weight"], ["A", 1]],
        c.METRICS: [["Metric", "Category", "Weight", "Measure", "Source", "Low", "High"],
                    ["m", "A", 1, "range", "N", 0, 1]],
        c.SETTINGS: [["Setting", "Value"], ["As-of date", AS_OF]],
        c.ACCOUNTS: [["Account ID", "Segment", "Stage", "N"], ["A1", "SMB", "Adopt", 0.5]]})
    assert main(["gap", str(book)]) == 0
    out = capsys.readouterr().out
    assert "No account has a benchmark yet: add rows to the 'Benchmarks' sheet" in out
    assert main(["refresh", str(book)]) == 0
    out = capsys.readouterr().out
    assert "No account has a benchmark yet" in out and "see the 'Benchmark Gap' sheet" not in out


def test_repeated_benchmark_segment_and_stage_stops_the_refresh():
    tables = simple_tables()
    tables[c.BENCHMARKS] = table(c.BENCHMARKS, ["Segment", "Stage", "Target"],
                                 [["SMB", "Adopt", 70], [" smb ", "ADOPT", 60]])
    with pytest.raises(ConfigError, match=r"Benchmarks!C3: this segment and stage already have a benchmark at "
                                          r"Benchmarks!C2"):
        config_from_tables(tables)


# --- Cells that left a metric unscored silently ------------------------------------------------------------------

def _prepared(metrics, account_header, account_rows, history=None):
    tables = simple_tables(metrics=metrics, categories=[["A", 1]],
                           settings=[["Minimum coverage", 0], ["As-of date", AS_OF]])
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, account_header, account_rows)
    if history is not None:
        tables[c.HISTORY] = table(c.HISTORY, list(c.HISTORY_COLUMNS), history)
    return prepare(tables)


def test_trend_from_zero_is_a_data_issue_on_the_previous_value():
    history = [["A1", dt.date(2026, 9, 1), "Users", 0], ["A1", dt.date(2026, 10, 1), "Users", 5],
               ["A2", dt.date(2026, 9, 1), "Users", 10], ["A2", dt.date(2026, 10, 1), "Users", 12]]
    prepared = _prepared([metric_row("Growth", "A", 1, "trend", "Users", low=-0.2, high=0.2)],
                         ["Account ID", "Account name"], [["A1", "a"], ["A2", "b"]], history)
    assert np.isnan(prepared.result.metric_scores.loc["A1", "Growth"])
    # A2: +20% is the top of -20%..+20%: 100
    assert prepared.result.metric_scores.loc["A2", "Growth"] == 100
    issues = [i for i in prepared.issues if i.sheet == c.HISTORY]
    assert [(i.cell, i.value, i.action) for i in issues] == [
        ("Metric History!D2", 0, "left the trend metric out for this account")]
    assert issues[0].problem == ('"Users" of account "A1" was 0 in the previous period (2026-09-01): a change from 0 '
                                 'has no rate, so "Growth" cannot be scored')


def test_goal_before_its_custom_period_starts_is_a_data_issue():
    metric = metric_row("Launch", "A", 1, "goal", "Done", target=10, goal_period="custom",
                        goal_start=dt.date(2027, 1, 1), goal_end=dt.date(2027, 3, 31))
    prepared = _prepared([metric], ["Account ID", "Done"], [["A1", 3]])
    assert np.isnan(prepared.result.metric_scores.loc["A1", "Launch"])
    issues = [i for i in prepared.issues if i.sheet == c.METRICS]
    start_col = [col.header for col in c.METRIC_COLUMNS].index("Goal start")
    from chs_excel.book.table import column_letter
    assert [(i.cell, i.value) for i in issues] == [(f"Metrics!{column_letter(start_col + 1)}2", "2027-01-01")]
    assert "starts on 2027-01-01, after the as-of date 2026-11-15" in issues[0].problem


def test_blank_or_zero_per_account_target_is_a_data_issue():
    # Quarter 2026-10-01..12-31 (92 days), as of 11-15: 46 days done, half due. A1: 25 of a 100 target, 50 due:
    # attainment 0.5 -> 1 + 99 * 0.5 = 50.5. A2: blank target; A3: target 0; A4: no value (plain missing data).
    metric = metric_row("Quota", "A", 1, "goal", "Booked", source2="Quota target", goal_period="quarter")
    prepared = _prepared([metric], ["Account ID", "Booked", "Quota target"],
                         [["A1", 25, 100], ["A2", 30, ""], ["A3", 30, 0], ["A4", "", 100]])
    scores = prepared.result.metric_scores["Quota"]
    assert scores["A1"] == 50.5 and scores[["A2", "A3", "A4"]].isna().all()
    issues = [(i.cell, i.problem) for i in prepared.issues if i.sheet == c.ACCOUNTS]
    assert issues == [
        ("Accounts!C3", 'no target for "Quota": the per-account target column "Quota target" is blank'),
        ("Accounts!C4", 'the target for "Quota" is 0: a goal needs a target above 0'),
    ]


# --- The demo's override changes something ------------------------------------------------------------------

def test_demo_band_override_turns_a_green_account_red():
    from chs_excel.demo.template import OVERRIDES
    band_rows = [row for row in OVERRIDES if row[1] == "overall" and row[4]]
    assert band_rows and all(row[4] == "Red" for row in band_rows)


# --- Documented edge cases -----------------------------------------------------------------------------------

def test_overall_overrides_below_minimum_coverage():
    # m1 (weight 1 of A's 4) alone has data: coverage 3/4 * 1/4 = 0.1875 < 0.4 -> no overall score
    from helpers import override_row

    from chs_excel.core.engine import ScoringInput, score
    from chs_excel.core.explain import shown_overall
    tables = simple_tables(overrides=[override_row("X1", "overall", score=55), override_row("X2", "overall", band="Red")])
    config = config_from_tables(tables)
    frame = pd.DataFrame({"L1": ["a", "a"], "L2": [None, None], "L3": [None, None]}, index=["X1", "X2"])
    result = score(config, ScoringInput(frame, AS_OF))
    assert result.coverage.tolist() == [0.1875, 0.1875]
    overall, band = shown_overall(config, result)
    assert overall["X1"] == 55 and band["X1"] == "Amber" and result.status["X1"] == "override"
    assert np.isnan(overall["X2"]) and band["X2"] == "Red" and result.status["X2"] == "insufficient data"


def test_drivers_explain_metric_scores_not_a_category_override():
    # m1 20 (weight 1), m2 60 (weight 3) in A (3/4); m3 100 in B (1/4). Points lost: m1 3/4*1/4*80 = 15,
    # m2 3/4*3/4*40 = 22.5, m3 0. A category override of A to 90 leaves them as they are.
    from helpers import override_row

    from chs_excel.core.engine import ScoringInput, score
    from chs_excel.core.explain import driver_text, points_lost
    config = config_from_tables(simple_tables(overrides=[override_row("X1", "category", "A", score=90)]))
    result = score(config, ScoringInput(pd.DataFrame({"L1": ["a"], "L2": ["b"], "L3": ["c"]}, index=["X1"]), AS_OF))
    assert result.category_scores.loc["X1", "A"] == 90
    assert result.overall["X1"] == pytest.approx(0.75 * 90 + 0.25 * 100)
    lost = points_lost(config, result.metric_scores)
    assert lost.loc["X1"].tolist() == pytest.approx([15, 22.5, 0])
    assert driver_text(lost).tolist() == ["m2 -23, m1 -15"]  # 22.5 rounds half up
