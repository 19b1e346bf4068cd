"""Worksheet functions with a metric read from Metric History (Read from): the latest entry logged there, called
through xlwings' own dispatch with the cells Office.js sends (dates as serial numbers, errors as text)."""
import asyncio

from client_shapes import function_call
from helpers import CATEGORY_HEADER, METRIC_HEADER, metric_row
from xlwings import server

from chs_excel import excel

# A (weight 1) = Mood (categorical, logged, stale after 30 days) + Seats (range 0..10 on Accounts), weights 1 and 1.
METRICS = [METRIC_HEADER] + [
    metric_row("Mood", "A", 1, "categorical", "Mood", labels="Green=100; Amber=60; Red=20", stale_after=30,
               read_from="Metric History"),
    metric_row("Seats", "A", 1, "range", "Seats", low=0, high=10),
]
CATEGORIES = [CATEGORY_HEADER, ["A", 1, "", "", ""]]
SETTINGS = [["Setting", "Value"], ["Minimum coverage", 0.4], ["As-of date", 46341.0]]  # 46341 = 2026-11-15
ACCOUNTS = [["Account ID", "Seats"], ["X", 10], ["Y", 0], ["Z", 10]]
HISTORY = [["Account ID", "Period", "Column", "Value"],
           ["X", 46330.0, "Mood", "Green"],   # 2026-11-04
           ["X", 46337.0, "Mood", "Red"],     # 2026-11-11: X's latest, Red 20
           ["X", 46345.0, "Mood", "Green"],   # 2026-11-19: after the as-of date
           ["Y", 46280.0, "Mood", "Amber"],   # 2026-09-15: 61 days old, stale
           ["Z", 46340.0, "Mood", "Amber"],   # 2026-11-14
           ["Z", 46340.0, "Mood", "#N/A"]]    # the same day, later, but an error: skipped, Amber counts


def call(name, *args):
    return asyncio.run(server.custom_functions_call(function_call(name, *args), excel))


def test_metric_score_is_the_latest_logged_entry():
    # X Red 20; Y stale (no score); Z Amber 60 (the #N/A below it is skipped)
    assert call("metric_score", ACCOUNTS, "Mood", METRICS, CATEGORIES, SETTINGS, HISTORY) == [[20], [""], [60]]


def test_health_score_renormalises_over_a_stale_log():
    # Seats on 0..10: 10 -> 100, 0 -> 1. X (20 + 100)/2 = 60; Y Seats alone (coverage 0.5) = 1; Z (60 + 100)/2 = 80
    assert call("health_score", ACCOUNTS, METRICS, CATEGORIES, SETTINGS, HISTORY) == [[60], [1], [80]]
    # one row with its header passed separately: the log is matched by its Account ID
    assert call("health_score", [ACCOUNTS[3]], METRICS, CATEGORIES, SETTINGS, HISTORY, None, [ACCOUNTS[0]]) == [[80]]


def test_without_the_history_range_the_function_says_what_is_missing():
    assert call("health_score", ACCOUNTS, METRICS, CATEGORIES, SETTINGS) == [
        ['Config error: Metrics!E2: metric "Mood" reads "Mood" from the "Metric History" sheet, and the workbook '
         'has none']]
