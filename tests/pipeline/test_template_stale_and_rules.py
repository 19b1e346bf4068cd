"""The template refreshed end to end: its rules fire on Scores and its stale usage dates are on Data Issues.

What should happen is worked out from the template's own Accounts and Rules cells (read with openpyxl), not from
what chs-excel wrote.
"""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

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
    return {sheet: rows(sheet) for sheet in (c.ACCOUNTS, c.SCORES, c.DATA_ISSUES, c.RULES, c.OVERRIDES)}


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
    red = [row[c.ACCOUNT_ID] for row in refreshed[c.ACCOUNTS] if row["CSM sentiment"] == "Red"]
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
    for account, (row, updated) in stale.items():
        days = (AS_OF - updated).days
        assert (f"N{row}", f'"Feature usage" data is {days} days old (updated {updated.isoformat()}; stale after 60 days)') \
            in issues
        assert "Feature usage (stale)" in scores[account]["Missing data"]
        assert scores[account]["Feature usage"] is None
