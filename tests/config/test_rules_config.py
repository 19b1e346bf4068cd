"""The Rules sheet and the Metrics columns Stale after / Date column: every mistake is a Problem naming its cell."""
from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import METRIC_HEADER, metric_row, simple_tables, table

from chs_excel import contract as c
from chs_excel.config import config_from_json, config_from_tables, config_to_dict
from chs_excel.pipeline import prepare
from chs_excel.problems import ConfigError

RULE_HEADER = [col.header for col in c.RULE_COLUMNS]
LABELS = "a=20; b=60; c=100"
# Columns of the sheets as laid out by the helpers (header row 1, data from row 2)
STALE_COL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[METRIC_HEADER.index("Stale after (days)")]
DATE_COL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[METRIC_HEADER.index("Date column")]


def problems_of(tables) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_tables(tables)
    return [str(p) for p in caught.value.problems]


def with_rules(rows, metrics=None):
    tables = simple_tables(metrics=metrics)
    tables[c.RULES] = table(c.RULES, RULE_HEADER, rows)
    return tables


def test_the_new_columns_sit_where_the_tests_expect():
    assert (STALE_COL, DATE_COL) == ("T", "U")  # after Description (S)
    assert RULE_HEADER[:6] == ["Rule", "When", "Is", "Value", "Effect", "To"]


def test_stale_after_needs_a_date_column_unless_the_metric_is_a_trend():
    metrics = [metric_row("m1", "A", 1, "categorical", "L1", labels=LABELS, stale_after=30),
               metric_row("m2", "A", 1, "categorical", "L2", labels=LABELS, date_column="Updated"),
               metric_row("m3", "B", 1, "trend", "Users", low=-1, high=1, stale_after=30)]
    found = problems_of(simple_tables(metrics=metrics))
    assert len(found) == 2
    assert found[0].startswith(f"Metrics!{STALE_COL}2: Stale after (days) needs a Date column")
    assert found[1].startswith(f"Metrics!{DATE_COL}3: a Date column is only read with Stale after (days)")


@pytest.mark.parametrize("value", [0, 1.5, "soon", -3])
def test_stale_after_is_a_whole_number_of_days(value):
    metrics = [metric_row("m1", "A", 1, "categorical", "L1", labels=LABELS, stale_after=value, date_column="D"),
               metric_row("m3", "B", 1, "categorical", "L3", labels=LABELS)]
    found = problems_of(simple_tables(metrics=metrics))
    assert found == [f"Metrics!{STALE_COL}2: Stale after (days) must be a whole number of days, 1 or more, got "
                     + (f'"{value}"' if isinstance(value, str) else str(value))]


def test_an_unknown_date_column_or_rule_column_names_its_cell():
    metrics = [metric_row("m1", "A", 1, "categorical", "L1", labels=LABELS, stale_after=30, date_column="Updated"),
               metric_row("m3", "B", 1, "categorical", "L3", labels=LABELS)]
    tables = with_rules([["Old", "Days since login", ">", 60, "cap score", 40]], metrics=metrics)
    tables[c.ACCOUNTS] = table(c.ACCOUNTS, [c.ACCOUNT_ID, "L1", "L3"], [["X", "a", "b"]])
    with pytest.raises(ConfigError) as caught:
        prepare(tables)
    found = [str(p) for p in caught.value.problems]
    assert found == [f'Metrics!{DATE_COL}2: date column "Updated" is not a column of the Accounts sheet (its header row '
                     f"1 has: Account ID, L1, L3)",
                     'Rules!B2: rule column "Days since login" is not a column of the Accounts sheet (its header row '
                     "1 has: Account ID, L1, L3)"]


def test_rule_mistakes_name_their_cells():
    found = problems_of(with_rules([
        ["Text compared with <", "Plan", "<", "Pro", "cap score", 40],          # C2: text needs = or <>
        ["A score compared with a word", "m1", "=", "Purple", "cap score", 40],  # D3
        ["Cap score to a band", "Overall", "<", 50, "cap score", "Red"],        # F4
        ["Cap band to Green", "Overall", "<", 50, "cap band", "Green"],         # F5
        ["Set band to a number", "Overall", "<", 50, "set band", 30],           # F6
        ["Unknown effect", "Overall", "<", 50, "lower", 30],                    # E7
        ["Unknown comparison", "Overall", "~", 50, "cap score", 30],            # C8
        ["Cap score above 100", "Overall", "<", 50, "cap score", 120],          # F9
        ["No To", "Overall", "<", 50, "cap score", ""],                         # F10
    ]))
    assert found == [
        "Rules!F4: with Effect cap score, To must be a score from 1 to 100, got \"Red\"",
        "Rules!F5: with Effect cap band, To must be Red or Amber (a cap at Green changes nothing), got \"Green\"",
        "Rules!F6: with Effect set band, To must be Red, Amber or Green, got 30",
        "Rules!E7: Effect must be cap score, cap band or set band, got \"lower\"",
        "Rules!C8: Is must be one of <, <=, >, >=, = or <>, got \"~\"",
        "Rules!F9: with Effect cap score, To must be a score from 1 to 100, got 120",
        "Rules!F10: To must be filled in (a rule needs a Rule name, When, Is, Value, Effect and To)",
    ]
    found = problems_of(with_rules([
        ["Text compared with <", "Plan", "<", "Pro", "cap score", 40],
        ["A score compared with a word", "m1", "=", "Purple", "cap score", 40],
        ["text compared with <", "Overall", "<", 50, "cap score", 40],
    ]))
    assert found == [
        'Rules!C2: text ("Pro") can only be compared with = or <>, got "<"',
        'Rules!D3: "m1" is a score, so Value must be a number or a band (Red, Amber, Green), got "Purple"',
        'Rules!A4: rule "text compared with <" is listed twice (first at Rules!A2)',
    ]


def test_a_missing_rules_column_names_the_header_row():
    tables = simple_tables()
    tables[c.RULES] = table(c.RULES, ["Rule", "When", "Is", "Value", "To"], [["r", "Overall", "<", 50, 40]])
    assert problems_of(tables) == ['Rules!1:1: column "Effect" is missing from the header row '
                                   "(found: Rule, When, Is, Value, To)"]


def test_words_and_case_are_read_as_a_person_means_them():
    config = config_from_tables(with_rules([
        ["Not Red", " m1 ", "is not", "red", "Set Band", "green"],
        ["At least 60", "overall", "at least", "60", "cap  score", "55"],
        ["Plan", "Plan", "=", "Pro", "cap band", "Amber"],
    ]))
    first, second, third = config.rules
    assert (first.when, first.kind, first.compare, first.value, first.by_band, first.effect, first.to) == \
        ("m1", "metric", "<>", "Red", True, "set band", "Green")
    assert (second.when, second.kind, second.compare, second.value, second.effect, second.to) == \
        ("Overall", "overall", ">=", 60.0, "cap score", 55.0)
    assert (third.kind, third.value, third.by_band) == ("column", "Pro", False)
    assert first.location == "Rules!A2" and third.when_location == "Rules!B4"


def test_rules_and_stale_settings_survive_a_json_round_trip(tmp_path):
    metrics = [metric_row("m1", "A", 1, "categorical", "L1", labels=LABELS, stale_after=30, date_column="Updated"),
               metric_row("m3", "B", 1, "categorical", "L3", labels=LABELS)]
    config = config_from_tables(with_rules([["Old", "Days", ">", 60, "cap score", 40],
                                            ["Red", "B", "=", "Red", "cap band", "Red"]], metrics=metrics))
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(config_to_dict(config)))
    again = config_from_json(path)
    assert [dataclasses.replace(r, location="", when_location="") for r in again.rules] == \
        [dataclasses.replace(r, location="", when_location="") for r in config.rules]
    assert (again.metrics[0].stale_after, again.metrics[0].date_column) == (30, "Updated")
