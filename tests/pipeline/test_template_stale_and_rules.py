"""The template refreshed end to end: its rules fire on Scores and its stale usage dates are on Data Issues.

What should happen is worked out from the template's own Accounts and Rules cells (read with openpyxl), not from
what chs-excel wrote.
"""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from chs_excel import contract as c
from chs_excel.demo.template import AS_OF, write_template
from chs_excel.pipeline import refresh_file


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    book = write_template(tmp_path_factory.mktemp("template") / "template.xlsx")
    refresh_file(book)
    wb = openpyxl.load_workbook(book, read_only=True)

    def rows(sheet):
        values = list(wb[sheet].iter_rows(values_only=True))
        return [dict(zip(values[0], row)) for row in values[1:]]
    return {sheet: rows(sheet) for sheet in (c.ACCOUNTS, c.SCORES, c.DATA_ISSUES, c.RULES, c.OVERRIDES, c.HISTORY)}


def latest_sentiment(history: list[dict]) -> dict[str, tuple[dt.date, str, int]]:
    """Per account, the latest CSM sentiment logged on or before the as-of date that is a label of the metric
    (the last row of that day): (date, label, sheet row), by a plain loop over the rows."""
    latest = {}
    for i, row in enumerate(history, start=2):
        day = row["Period"].date() if isinstance(row["Period"], dt.datetime) else row["Period"]
        if row["Column"] == "CSM sentiment" and row["Value"] in ("Green", "Amber", "Red") and day <= AS_OF:
            if row[c.ACCOUNT_ID] not in latest or day >= latest[row[c.ACCOUNT_ID]][0]:
                latest[row[c.ACCOUNT_ID]] = (day, row["Value"], i)
    return latest


def test_the_template_has_both_example_rules(refreshed):
    assert [(r["When"], r["Is"], r["Value"], r["Effect"], r["To"]) for r in refreshed[c.RULES]] == [
        ("CSM sentiment", "=", "Red", "cap band", "Red"), ("Days since last login", ">", 60, "cap score", 40)]


def test_rules_fire_on_scores(refreshed):
    scores = {row[c.ACCOUNT_ID]: row for row in refreshed[c.SCORES]}
    overridden = {row[c.ACCOUNT_ID] for row in refreshed[c.OVERRIDES]
                  if row["Level"] == "overall" and row["Expires"].date() >= AS_OF}
    login_rule = "No login in 60 days caps overall at 40"
    long_since = [row[c.ACCOUNT_ID] for row in refreshed[c.ACCOUNTS]
                  if isinstance(row["Days since last login"], (int, float)) and row["Days since last login"] > 60]
    assert long_since
    for account in long_since:
        row = scores[account]
        if row["Overall"] is None or account in overridden:
            continue
        assert row["Overall"] <= 40
        if login_rule in (row["Rule"] or ""):  # listed only where it changed the score: down to the cap
            assert row["Overall"] == 40
    logged = latest_sentiment(refreshed[c.HISTORY])
    red = [account for account, (day, label, _) in logged.items()
           if label == "Red" and (AS_OF - day).days <= 30]  # Stale after 30 days leaves older calls out
    assert len(red) >= 10
    for account in red:
        row = scores[account]
        if row["Overall"] is None or account in overridden or row["CSM sentiment"] != 20:  # a metric override
            continue
        assert row["Band"] == "Red" and row["Overall"] < 40
        if "CSM sentiment Red caps overall at Red" in (row["Rule"] or ""):  # listed where it lowered the score
            assert row["Overall"] == 39
    # at least one rule visibly changes a score: the capped score sits exactly at its cap
    assert any(scores[a]["Overall"] == 40 for a in long_since) or any(scores[a]["Overall"] == 39 for a in red)
    fired = [row for row in refreshed[c.SCORES] if row["Rule"]]
    assert fired and all(row["Rule"].startswith("Rule: ") for row in fired)


def test_stale_usage_is_on_data_issues_and_missing_data(refreshed):
    oldest_fresh = AS_OF - dt.timedelta(days=60)
    stale = {}
    for i, row in enumerate(refreshed[c.ACCOUNTS], start=2):
        updated = row["Usage updated"]
        if isinstance(updated, dt.datetime) and updated.date() < oldest_fresh and isinstance(row["Features used"], int):
            stale[row[c.ACCOUNT_ID]] = (i, updated.date())
    assert len(stale) >= 2
    issues = {(row["Cell"], row["Problem"]) for row in refreshed[c.DATA_ISSUES]}
    scores = {row[c.ACCOUNT_ID]: row for row in refreshed[c.SCORES]}
    letter = get_column_letter(list(refreshed[c.ACCOUNTS][0]).index("Usage updated") + 1)
    for account, (row, updated) in stale.items():
        days = (AS_OF - updated).days
        assert (f"{letter}{row}", f'"Feature usage" data is {days} days old (updated {updated.isoformat()}; '
                                  f'stale after 60 days)') in issues
        assert "Feature usage (stale)" in scores[account]["Missing data"]
        assert scores[account]["Feature usage"] is None


def test_stale_sentiment_logs_are_on_data_issues_and_missing_data(refreshed):
    """CSM sentiment is the latest entry logged on Metric History; one older than 30 days is left out, and Data Issues
    points at that entry's Period cell."""
    logged = latest_sentiment(refreshed[c.HISTORY])
    scores = {row[c.ACCOUNT_ID]: row for row in refreshed[c.SCORES]}
    issues = {(row["Cell"], row["Problem"]) for row in refreshed[c.DATA_ISSUES]}
    overridden = {row[c.ACCOUNT_ID] for row in refreshed[c.OVERRIDES] if row["Target"] == "CSM sentiment"}
    stale = {a: v for a, v in logged.items() if (AS_OF - v[0]).days > 30}
    assert len(stale) >= 2
    for account, (day, _, sheet_row) in stale.items():
        assert (f"B{sheet_row}", f'"CSM sentiment" data is {(AS_OF - day).days} days old (updated {day.isoformat()}; '
                                 f"stale after 30 days)") in issues
        if account not in overridden:  # a metric override gives the account its score back
            assert scores[account]["CSM sentiment"] is None
            assert "CSM sentiment (stale)" in scores[account]["Missing data"]
    points = {"Green": 100, "Amber": 60, "Red": 20}
    fresh = {a: v for a, v in logged.items() if a not in stale and a not in overridden}
    assert len(fresh) >= 50
    assert all(scores[a]["CSM sentiment"] == points[label] for a, (_, label, _) in fresh.items())
    assert {a for a, row in scores.items() if row["CSM sentiment"] is not None} == set(fresh) | overridden
