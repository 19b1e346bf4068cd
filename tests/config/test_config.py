"""Every config error names its sheet and cell, in plain words; good config becomes typed objects."""
import datetime as dt
import json

import pytest
from helpers import CATEGORY_HEADER, METRIC_HEADER, metric_row, override_row, simple_tables, table

from chs_excel import contract as c
from chs_excel.config import Bands, config_from_json, config_from_tables, config_to_dict, load_schema
from chs_excel.problems import ConfigError


def problems(**tables_kw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_tables(simple_tables(**tables_kw))
    return [str(p) for p in caught.value.problems]


def test_good_config_is_typed():
    config = config_from_tables(simple_tables())
    assert [cat.name for cat in config.categories] == ["A", "B"]
    assert config.metrics[0].labels == {"a": 20, "b": 60, "c": 100}
    assert config.min_coverage == 0.4 and config.as_of == dt.date(2026, 11, 15)
    assert config.bands == Bands(40, 70)


def test_schema_is_valid_draft_2020_12():
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(load_schema())


def test_metric_cells_are_named():
    assert problems(metrics=[
        metric_row("m1", "A", "abc", "categorical", "L1", labels="a=1"),
        metric_row("m2", "B", -1, "range", "x"),
        metric_row("m3", "B", 1, "linear", "x"),
    ]) == [
        'Metrics!C2: weight must be a number of 0 or more, got "abc"',
        "Metrics!C3: weight must be a number of 0 or more, got -1",
        "Metrics!H3: Low must be filled in (a range or trend metric needs Low and High)",
        "Metrics!I3: High must be filled in (a range or trend metric needs Low and High)",
        'Metrics!D4: measure must be one of threshold, range, trend, goal, categorical, ratio, got "linear"',
    ]


def test_parameter_text_errors():
    assert problems(metrics=[
        metric_row("m1", "A", 1, "categorical", "x", labels="Green 100"),
        metric_row("m3", "B", 1, "threshold", "x", cut_points="a, b", scores="1,200"),
        metric_row("r", "B", 1, "ratio", "x", red_below=150),
        metric_row("g", "B", 1, "goal", "x"),
    ]) == [
        'Metrics!L2: labels must be label=score pairs with scores from 1 to 100, e.g. Green=100; Amber=60; Red=20, got "Green 100"',
        'Metrics!J3: cut points must be numbers separated by commas, e.g. 1, 2, 4, got "a, b"',
        "Metrics!K3: scores must be numbers from 1 to 100 separated by commas, e.g. 10, 40, 70, 100, got 200",
        "Metrics!F4: Source 2 must be filled in (a ratio metric needs Source 2 (the denominator column))",
        "Metrics!Q4: Red below must be a number from 1 to 100, got 150",
        "Metrics!N5: Goal period must be filled in (a goal metric needs a Goal period (month, quarter, year or custom))",
    ]


def test_cross_field_errors():
    assert problems(metrics=[
        metric_row("m1", "A", 0, "range", "x", low=1, high=1),
        metric_row("m1", "B", 1, "threshold", "x", cut_points="5, 3", scores="1,2"),
        metric_row("g", "B", 1, "goal", "x", goal_period="custom", goal_start=dt.date(2026, 2, 1),
                   goal_end=dt.date(2026, 1, 1), target=3),
        metric_row("u", "Prodcut", 1, "range", "x", low=0, high=1),
    ]) == [
        "Metrics!I2: Low and High are both 1; they must differ",
        'Metrics!A3: metric "m1" is listed twice (first at Metrics!A2)',
        "Metrics!J3: cut points must increase from left to right, got 5, 3",
        "Metrics!K3: 2 cut points make 3 bands, so Scores needs 3 numbers, got 2",
        "Metrics!P4: goal end 2026-01-01 is before goal start 2026-02-01",
        'Metrics!B5: category "Prodcut" is not on the Categories sheet (known: A, B)',
        "Categories!A2: category \"A\" has weight 3 but its metrics' weights add up to 0 (or it has no metrics); "
        "give one of its metrics a weight above 0",
    ]


def test_weights_that_add_up_to_zero():
    assert problems(categories=[["A", 0], ["B", 0]]) == [
        "Categories!B2: category weights add up to 0; give at least one category a weight above 0"]


def test_weights_need_not_add_to_100():
    scaled = config_from_tables(simple_tables(categories=[["A", 30], ["B", 10]]))
    assert [cat.weight for cat in scaled.categories] == [30, 10]


def test_settings_errors():
    assert problems(settings=[["Red below", 75], ["Amber below", 70], ["Minimum coverage", "lots"], ["As-of date", "soon"]]) == [
        'Settings!B4: minimum coverage must be a share from 0 to 1 (e.g. 60% or 0.6), got "lots"',
        'Settings!B5: the as-of date must be a date (e.g. 2026-12-31), got "soon"',
    ]
    assert problems(settings=[["Red below", 75], ["Amber below", 70]]) == [
        "Settings!B2: Red below (75) must be lower than Amber below (70): the bands overlap"]


def test_percent_text_and_numeric_text_are_read_as_numbers():
    config = config_from_tables(simple_tables(settings=[["Minimum coverage", "50%"], ["Red below", " 30 "]]))
    assert config.min_coverage == 0.5 and config.bands.red_below == 30


def test_own_bands_must_not_overlap_the_defaults():
    assert problems(categories=[["A", 3, 80], ["B", 1]]) == [
        "Categories!C2: Red below (80) must be lower than Amber below (70): the bands overlap"]


def test_override_errors():
    assert problems(overrides=[
        override_row("X", "everything"),
        override_row("X", "overall", score=150),
        override_row("X", "overall", score=50, reason="", expires="soon"),
        override_row("X", "metric", "m1", band="Red"),
    ]) == [
        'Overrides!B2: level must be overall, category or metric, got "everything"',
        "Overrides!D2: an override needs a Score or a Band",
        "Overrides!D3: override score must be a number from 1 to 100, got 150",
        "Overrides!F4: Reason must be filled in (an override needs an account, level, reason, author and expiry date)",
        'Overrides!H4: expiry must be a date (e.g. 2026-12-31), got "soon"',
        "Overrides!D5: Score must be filled in (a category or metric override needs a Target name and a Score)",
    ]
    assert problems(overrides=[override_row("X", "category", "Q", 50)]) == [
        'Overrides!C2: "Q" is not a category on the Categories sheet']


def test_missing_sheet_and_renamed_header():
    tables = simple_tables()
    del tables[c.METRICS]
    with pytest.raises(ConfigError) as caught:
        config_from_tables(tables)
    assert [str(p) for p in caught.value.problems] == [
        'Metrics: the workbook has no "Metrics" sheet; it is required (run `chs-excel template` for a workbook with every sheet)']
    tables = simple_tables()
    header = ["Wieght" if h == "Weight" else h for h in METRIC_HEADER]
    tables[c.METRICS] = table(c.METRICS, header, tables[c.METRICS].rows)
    with pytest.raises(ConfigError) as caught:
        config_from_tables(tables)
    assert str(caught.value.problems[0]).startswith('Metrics!1:1: column "Weight" is missing from the header row (found: Metric, Category, Wieght,')


def test_blank_rows_are_skipped_and_free_notes_allowed_on_settings():
    tables = simple_tables(settings=[["Note to self", "anything"], ["Minimum coverage", 0.5]])
    tables[c.CATEGORIES] = table(c.CATEGORIES, CATEGORY_HEADER, [["A", 3], ["", ""], ["B", 1]])
    config = config_from_tables(tables)
    assert [cat.name for cat in config.categories] == ["A", "B"] and config.min_coverage == 0.5


def test_json_config_round_trip_and_errors(tmp_path):
    config = config_from_tables(simple_tables(overrides=[override_row("X", "overall", score=20)]))
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(config_to_dict(config)))
    again = config_from_json(path)
    assert again.metrics == tuple(m.__class__(**{**m.__dict__, "location": again.metrics[i].location,
                                                 "source_location": again.metrics[i].source_location,
                                                 "source2_location": again.metrics[i].source2_location,
                                                 "date_column_location": again.metrics[i].date_column_location,
                                                 "read_from_location": again.metrics[i].read_from_location})
                                  for i, m in enumerate(config.metrics))
    assert again.categories == config.categories
    data = config_to_dict(config)
    data["metrics"][1]["weight"] = "heavy"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as caught:
        config_from_json(path)
    assert [str(p) for p in caught.value.problems] == ['scorecard.json: metrics[1].weight: weight must be a number of 0 or more, got "heavy"']


def test_config_text_is_never_run_as_code(tmp_path):
    """A name that looks like code or a formula is only ever text."""
    sneaky = "__import__('os').system('touch pwned') or =cmd|'/C calc'!A0"
    config = config_from_tables(simple_tables(categories=[[sneaky, 3], ["B", 1]], metrics=[
        metric_row("m1", sneaky, 1, "categorical", "L1", labels="a=20"),
        metric_row("m3", "B", 1, "categorical", "L3", labels="a=20")]))
    assert config.categories[0].name == sneaky
    assert not (tmp_path / "pwned").exists()
