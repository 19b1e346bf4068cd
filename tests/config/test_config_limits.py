"""Config values a file can hold but a scorecard cannot use: NaN and infinite numbers, lone surrogates,
dates before Excel's first day. Each is a config error naming its cell (or JSON path), never a traceback."""
import datetime as dt
import json

import pytest
from helpers import metric_row, simple_tables

from chs_excel.cli import main
from chs_excel.config import config_from_json, config_from_tables, config_to_dict
from chs_excel.problems import ConfigError
from chs_excel.demo.template import write_template


def problems(**tables_kw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_tables(simple_tables(**tables_kw))
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("typed, shown", [
    ("NaN", '"NaN"'), ("nan", '"nan"'), ("inf", '"inf"'), ("-Infinity", '"-Infinity"'), ("1e309", '"1e309"'),
    (float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity"),
])
def test_weight_that_is_not_a_finite_number_names_the_cell(typed, shown):
    assert problems(metrics=[
        metric_row("m1", "A", typed, "categorical", "L1", labels="a=20"),
        metric_row("m3", "B", 1, "categorical", "L3", labels="a=20"),
    ]) == [f"Metrics!C2: weight must be a number of 0 or more, got {shown}"]


def test_every_kind_of_number_refuses_nan_and_infinity():
    found = problems(
        categories=[["A", float("inf")], ["B", 1]],
        settings=[["Minimum coverage", "NaN"], ["Red below", float("nan")]],
        metrics=[
            metric_row("m1", "A", 1, "range", "L1", low=float("-inf"), high="1e309"),
            metric_row("m2", "A", 1, "threshold", "L2", cut_points="1, NaN, 3", scores="10, inf, 50, 90"),
            metric_row("m3", "B", 1, "categorical", "L3", labels="a=NaN; b=60"),
            metric_row("m4", "B", 1, "goal", "L3", source2="L1", goal_period="month", target=float("inf")),
        ])
    assert found == [
        "Categories!B2: weight must be a number of 0 or more, got Infinity",
        "Metrics!H2: Low must be a number, got -Infinity",
        'Metrics!I2: High must be a number, got "1e309"',
        'Metrics!J3: cut points must be numbers separated by commas, e.g. 1, 2, 4, got "1, NaN, 3"',
        'Metrics!K3: scores must be numbers from 1 to 100 separated by commas, e.g. 10, 40, 70, 100, got "10, inf, 50, 90"',
        'Metrics!L4: each label needs a score from 1 to 100, e.g. Green=100; Amber=60; Red=20, got "NaN"',
        "Metrics!M5: target must be a number above 0, got Infinity",
        'Settings!B2: minimum coverage must be a share from 0 to 1 (e.g. 60% or 0.6), got "NaN"',
        "Settings!B3: Red below must be a number from 1 to 100, got NaN",
    ]


@pytest.fixture
def good_json(tmp_path):
    config = config_from_tables(simple_tables())
    return config_to_dict(config)


@pytest.mark.parametrize("literal, shown", [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
                                            ("1e309", "Infinity"), ("1" + "0" * 400, "1" + "0" * 400)])
def test_json_nan_and_infinity_name_the_path(tmp_path, good_json, literal, shown):
    good_json["metrics"][1]["weight"] = "@@"
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(good_json).replace('"@@"', literal))
    with pytest.raises(ConfigError) as caught:
        config_from_json(path)
    assert [str(p) for p in caught.value.problems] == [
        f"scorecard.json: metrics[1].weight: weight must be a number of 0 or more, got {shown}"]


def test_lone_surrogate_in_a_json_config_is_a_config_error(tmp_path, good_json, capsys):
    good_json["metrics"][0]["name"] = "@@"
    good_json["metrics"][1]["labels"] = {"@@": 20}
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(good_json).replace("@@", "\\ud800"))
    with pytest.raises(ConfigError) as caught:
        config_from_json(path)
    assert [str(p) for p in caught.value.problems] == [
        'scorecard.json: metrics[0].name: the text "\\ud800" is not valid Unicode (it holds a lone surrogate, '
        "half of a character); retype it",
        'scorecard.json: metrics[1].labels.\\ud800: the text "\\ud800" is not valid Unicode (it holds a lone '
        "surrogate, half of a character); retype it"]
    book = write_template(tmp_path / "book.xlsx")
    original = book.read_bytes()
    assert main(["refresh", str(book), "--config", str(path), "-q"]) == 1
    err = capsys.readouterr().err
    assert "metrics[0].name" in err and "Traceback" not in err
    assert book.read_bytes() == original


@pytest.mark.parametrize("value", ["1899-06-01", dt.date(1899, 12, 31), "0001-01-01"])
def test_settings_as_of_before_excel_dates_names_the_cell(value):
    assert problems(settings=[["Minimum coverage", 0.4], ["As-of date", value]]) == [
        f"Settings!B3: the as-of date must be a date Excel can hold, from 1900-01-01 to 9999-12-31, "
        f"got {str(value)}"]


def test_first_excel_date_is_accepted():
    config = config_from_tables(simple_tables(settings=[["As-of date", "1900-01-01"]]))
    assert config.as_of == dt.date(1900, 1, 1)


def test_cli_as_of_before_excel_dates_is_a_usage_error(tmp_path, capsys):
    book = write_template(tmp_path / "book.xlsx")
    original = book.read_bytes()
    for command in ("refresh", "validate", "gap", "backtest"):
        with pytest.raises(SystemExit) as caught:
            main([command, str(book), "--as-of", "1899-06-01"])
        assert caught.value.code == 2
        assert "--as-of: must be a date Excel can hold, from 1900-01-01 to 9999-12-31, got 1899-06-01" in \
            capsys.readouterr().err
    assert book.read_bytes() == original
