"""One pipeline behind every entry point: refresh, validate, the backtest's scoring and the worksheet functions
choose the as-of date by the same rule (``--as-of``, else Settings, else today) and give every account of the
template the same overall score (all of them go through :func:`chs_excel.pipeline.prepare`)."""
import asyncio
import datetime as dt
import math

import openpyxl
import pandas as pd
import pytest
from client_shapes import function_call, sheet_values
from xlwings import server

from chs_excel import contract as c
from chs_excel import excel
from chs_excel.cli import main
from chs_excel.demo.template import AS_OF, write_template
from chs_excel.pipeline import backtest_file, refresh_file, validate_file
from chs_excel.sheets import backtest

LATER = dt.date(2026, 12, 20)
RANGES = ("Accounts", "Metrics", "Categories", "Settings", "Metric History", "Overrides")


def _template(folder, as_of_in_settings: bool):
    book = write_template(folder / "book.xlsx")
    if not as_of_in_settings:  # a blank As-of date on Settings: the scores are for today
        wb = openpyxl.load_workbook(book)
        row = next(r for r in wb["Settings"].iter_rows() if r[0].value == "As-of date")
        row[1].value = None
        wb.save(book)
    return book


def _serial(day: dt.date) -> float:
    """A date as Office.js hands it to a worksheet function."""
    return float((day - dt.date(1899, 12, 30)).days)


def _function_scores(book, as_of: dt.date | None) -> dict[str, object]:
    """=HEALTH_SCORE spilled over the book's Accounts; ``as_of`` typed into the Settings range (the functions'
    only way to be given a date)."""
    args = [sheet_values(book, name) for name in RANGES] + [None, sheet_values(book, c.RULES)]  # no header
    if as_of is not None:
        settings = args[RANGES.index("Settings")]
        next(r for r in settings if r[0] == "As-of date")[1] = _serial(as_of)
    spilled = asyncio.run(server.custom_functions_call(function_call("health_score", *args), excel))
    ids = [row[0] for row in args[0][1:]]
    return {account: value[0] for account, value in zip(ids, spilled)}


def _shown(score: float):
    """The whole number a worksheet function shows for an overall score (blank: no score)."""
    return "" if math.isnan(score) else int(math.floor(score + 0.5))


@pytest.mark.parametrize("case", ["settings", "--as-of", "today"])
def test_every_route_uses_the_same_as_of_date_and_gives_the_same_scores(tmp_path, monkeypatch, capsys, case):
    book = _template(tmp_path, as_of_in_settings=case != "today")
    given = LATER if case == "--as-of" else None
    expected_day = {"settings": AS_OF, "--as-of": LATER, "today": dt.date.today()}[case]

    validated = validate_file(book, as_of=given)

    seen = {}
    build = backtest.build_backtest

    def spy(config, result, labels, as_of, history_frame, days=90):  # what the Validation sheet is built from
        seen.update(overall=result.overall, as_of=as_of)
        return build(config, result, labels, as_of, history_frame, days)
    monkeypatch.setattr(backtest, "build_backtest", spy)
    backtest_file(book, as_of=given)

    functions = _function_scores(book, given)
    refreshed = refresh_file(book, as_of=given)

    assert validated.as_of == seen["as_of"] == refreshed.as_of == expected_day
    pd.testing.assert_series_equal(validated.result.overall, refreshed.result.overall)
    pd.testing.assert_series_equal(seen["overall"], refreshed.result.overall)
    assert (refreshed.result.rules != "").any()  # the template's rules fire: the functions were given them too
    assert functions == {account: _shown(score) for account, score in refreshed.result.overall.items()}

    argv = ["gap", str(book)] + (["--as-of", given.isoformat()] if given else [])
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"As of {expected_day.isoformat()}:")


def test_the_as_of_date_changes_the_template_scores(tmp_path):
    """So the agreement above is about the date too: the template's goal and trend metrics depend on it."""
    book = _template(tmp_path, as_of_in_settings=True)
    on_settings_day = validate_file(book).result.overall
    later = validate_file(book, as_of=LATER).result.overall
    assert (on_settings_day.round(6) != later.round(6)).sum() > len(later) // 2
    assert _function_scores(book, None) != _function_scores(book, LATER)
