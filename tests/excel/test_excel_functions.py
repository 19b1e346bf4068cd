"""The worksheet functions, called the way Excel calls them: through xlwings' own dispatch
(the JSON body Office.js sends) and with what classic COM hands over."""
import asyncio
import datetime as dt

from helpers import CATEGORY_HEADER, METRIC_HEADER, metric_row
from client_shapes import function_call, sheet_values
from xlwings import server

from chs_excel import excel
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template

# The scorecard of test_engine: A (weight 3) = m1 (1) + m2 (3); B (weight 1) = m3. Labels a=20, b=60, c=100.
METRICS = [METRIC_HEADER] + [
    metric_row("m1", "A", 1, "categorical", "L1", labels="a=20; b=60; c=100"),
    metric_row("m2", "A", 3, "categorical", "L2", labels="a=20; b=60; c=100"),
    metric_row("m3", "B", 1, "range", "N", low=0, high=10),
]
CATEGORIES = [CATEGORY_HEADER, ["A", 3, "", "", ""], ["B", 1, "", "", ""]]
SETTINGS = [["Setting", "Value"], ["Minimum coverage", 0.3], ["As-of date", 46341.0]]  # 46341 = 2026-11-15
ACCOUNTS = [["Account ID", "L1", "L2", "N"],
            ["X", "a", "b", 10],          # A = (20 + 180)/4 = 50, B = 100 -> (150 + 100)/4 = 62.5 -> 63
            ["Y", "a", "", 10],           # m2 missing: A = 20 -> (60 + 100)/4 = 40
            ["Z", "c", "c", "#N/A"],      # N is an error: B missing -> overall = A = 100
            ["", "", "", ""],             # blank row in an over-sized range
            ["W", "a", "#DIV/0!", "lots"]]  # only m1: A = 20, coverage 3/16 < 0.3 -> no score


def call(name, *args):
    return asyncio.run(server.custom_functions_call(function_call(name, *args), excel))


def test_health_score_spills_one_value_per_row():
    assert call("health_score", ACCOUNTS, METRICS, CATEGORIES, SETTINGS) == [[63], [40], [100], [""], [""]]


def test_one_row_with_its_header_passed_separately():
    assert call("health_score", [ACCOUNTS[2]], METRICS, CATEGORIES, SETTINGS, None, None, [ACCOUNTS[0]]) == [[40]]


def test_band_category_metric_gap_and_drivers():
    assert call("health_band", ACCOUNTS, METRICS, CATEGORIES, SETTINGS) == [["Amber"], ["Amber"], ["Green"], [""], [""]]
    assert call("category_score", ACCOUNTS, "a", METRICS, CATEGORIES, SETTINGS) == [[50], [20], [100], [""], [20]]
    assert call("metric_score", ACCOUNTS, "M3", METRICS, CATEGORIES, SETTINGS) == [[100], [100], [""], [""], [""]]
    # benchmark 75: 63 - 75 = -12; 40 - 75 = -35; 100 - 75 = 25
    assert call("health_gap", ACCOUNTS, 75, METRICS, CATEGORIES, SETTINGS) == [[-12], [-35], [25], [""], [""]]
    # X loses m2: 9/16 x 40 = 22.5 -> 23, m1: 3/16 x 80 = 15; Y: m1 carries A: 3/4 x 80 = 60
    assert call("health_drivers", ACCOUNTS, METRICS, CATEGORIES, SETTINGS)[:3] == [["m2 -23, m1 -15"], ["m1 -60"], [""]]


def test_unknown_names_and_config_errors_are_plain_text():
    assert call("category_score", ACCOUNTS, "Nope", METRICS, CATEGORIES, SETTINGS) == [['unknown category "Nope" (known: A, B)']]
    bad = [row[:] for row in METRICS]
    bad[2][2] = "heavy"
    assert call("health_score", ACCOUNTS, bad, CATEGORIES, SETTINGS) == [
        ['Config error: Metrics!C3: weight must be a number of 0 or more, got "heavy"']]
    missing_source = [["Account ID", "L1"], ["X", "a"]]
    result = call("health_score", missing_source, METRICS, CATEGORIES, SETTINGS)[0][0]
    assert result.startswith('Config error: Metrics!E3: source column "L2" is not a column of the Accounts sheet') and "(and 1 more)" in result


def test_duplicate_and_blank_ids():
    rows = [ACCOUNTS[0], ["X", "a", "b", 10], ["X", "c", "c", 10], ["", "a", "a", 1]]
    assert call("health_score", rows, METRICS, CATEGORIES, SETTINGS) == [[63], ["duplicate Account ID X"], ["no Account ID"]]


def test_classic_com_shapes_go_straight_to_the_python_function():
    # COM: floats, None for blanks, naive datetimes, a 1-D list for one row, errors as text (err_to_str)
    settings = [["Setting", "Value"], ["Minimum coverage", 0.3], ["As-of date", dt.datetime(2026, 11, 15)]]
    row = ["Y", "a", None, 10.0]
    assert excel.health_score(row, METRICS, CATEGORIES, settings, None, None, ACCOUNTS[0]) == [[40]]
    assert excel.health_score([ACCOUNTS[0], ["Z", "c", "c", "#N/A"]], METRICS, CATEGORIES, settings) == [[100]]


def test_spilled_scores_match_the_refresh_on_the_template(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    args = [sheet_values(book, s) for s in ("Accounts", "Metrics", "Categories", "Settings", "Metric History", "Overrides")]
    args += [None, sheet_values(book, "Rules")]  # no header argument, then the Rules range
    spilled = call("health_score", *args)
    summary = refresh_file(book)
    expected = summary.result.overall.round(10)
    ids = [row[0] for row in args[0][1:]]
    shown = {i: v[0] for i, v in zip(ids, spilled)}
    for account in ids:
        value = expected[account]
        assert shown[account] == ("" if value != value else int((value + 0.5) // 1)), account
