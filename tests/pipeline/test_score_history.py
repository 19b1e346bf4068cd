"""Score History over many refreshes: bounded, read only as far as needed, and compatible with older workbooks."""
import datetime as dt

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from chs_excel import contract as c
from chs_excel.analysis import history
from chs_excel.demo.template import write_template
from chs_excel.files.reader import FileBookReader
from chs_excel.pipeline import refresh_file

ACCOUNTS = 60  # the template's sample accounts


def snapshot_rows(wb, name: str) -> dict:
    rows = list(wb[name].iter_rows(values_only=True))
    return {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}


def test_thirty_weekly_refreshes_stay_within_the_budget_and_keep_what_change_needs(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "ROW_BUDGET", 6 * ACCOUNTS)  # six snapshots' worth: thinning starts at week 7
    book = write_template(tmp_path / "book.xlsx")
    sundays = [dt.date(2026, 1, 4) + dt.timedelta(weeks=k) for k in range(30)]
    notes = []
    for k, day in enumerate(sundays):
        summary = refresh_file(book, as_of=day)
        notes.append(summary.report.history_note)
        with FileBookReader(book) as reader:
            kept = history.snapshot_sheets(reader.sheet_names())
            for name in kept.values():
                assert len(reader.read_table(name).rows) == ACCOUNTS  # one row per account, never more
        assert len(kept) == min(k + 1, 6)
        assert day in kept and (k == 0 or sundays[k - 1] in kept)  # what Change and Band drop compare with
    assert notes[:6] == [""] * 6 and all(notes[6:])
    assert notes[6].startswith("Score History dropped the snapshot(s) of 2026-01-04 to stay within 360 rows")
    # after 30 weeks (Jan 4 .. Jul 26): the newest and the one before, then month-ends, newest first (Jan 25 and
    # Feb 22 went once no other week was left to drop; Jul 12 is not a month-end)
    assert sorted(kept) == [dt.date(2026, 3, 29), dt.date(2026, 4, 26), dt.date(2026, 5, 31), dt.date(2026, 6, 28),
                            dt.date(2026, 7, 19), dt.date(2026, 7, 26)]
    wb = openpyxl.load_workbook(book)
    index = [r for r in wb[c.SCORE_HISTORY].iter_rows(min_row=2, values_only=True) if isinstance(r[0], dt.datetime)]
    assert [r[1] for r in index] == [kept[d] for d in sorted(kept, reverse=True)]
    assert all(r[2] == ACCOUNTS for r in index)  # carried over from refresh to refresh without rereading
    before, now = snapshot_rows(wb, kept[dt.date(2026, 7, 19)]), snapshot_rows(wb, kept[dt.date(2026, 7, 26)])
    header = [cell.value for cell in wb[c.SCORES][1]]
    for row in wb[c.SCORES].iter_rows(min_row=2, values_only=True):
        account = row[0]
        assert row[header.index("Overall")] == now[account]["Overall"]
        if now[account]["Overall"] is not None and before[account]["Overall"] is not None:
            assert row[header.index("Change")] == now[account]["Overall"] - before[account]["Overall"]
    for ws in wb:
        assert ws.max_row <= history.EXCEL_MAX_ROWS and ws.max_column <= history.EXCEL_MAX_COLUMNS
        assert ws.sheet_state == ("hidden" if ws.title in kept.values() else "visible")


def test_deleting_a_snapshot_keeps_the_users_sheet_names_and_active_tab_on_their_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "ROW_BUDGET", 2 * ACCOUNTS)
    book = write_template(tmp_path / "book.xlsx")
    refresh_file(book, as_of=dt.date(2026, 1, 4))
    refresh_file(book, as_of=dt.date(2026, 1, 11))
    wb = openpyxl.load_workbook(book)
    mine = wb.create_sheet("Mine")  # after the snapshot sheets: its position moves when one is deleted
    mine["A1"] = 42
    mine.defined_names.add(DefinedName("answer", attr_text="Mine!$A$1"))
    wb.defined_names.add(DefinedName("everywhere", attr_text="Mine!$A$1"))
    wb.active = wb.sheetnames.index("Mine")
    wb.save(book)
    summary = refresh_file(book, as_of=dt.date(2026, 1, 18))
    assert "2026-01-04" in summary.report.history_note
    wb = openpyxl.load_workbook(book)
    assert "Score History 2026-01-04" not in wb.sheetnames
    assert "answer" in wb["Mine"].defined_names and wb["Mine"].defined_names["answer"].attr_text == "Mine!$A$1"
    assert wb.defined_names["everywhere"].attr_text == "Mine!$A$1"
    assert wb.active.title == "Mine"
    with FileBookReader(book) as reader:  # the deleted sheet's parts are gone from the package too
        assert history.snapshot_sheets(reader.sheet_names()).keys() == {dt.date(2026, 1, 11), dt.date(2026, 1, 18)}


def test_a_score_history_in_the_old_one_sheet_layout_moves_to_snapshot_sheets(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(c.SCORE_HISTORY)  # as chs-excel before 0.9 wrote it
    ws.append(["As-of date", "Account ID", "Overall", "Band", "Product", "Engagement", "Sentiment"])
    for day, shift in ((dt.datetime(2026, 9, 15), 0), (dt.datetime(2026, 10, 15), 5)):
        for k in range(1, ACCOUNTS + 1):
            ws.append([day, f"ACC-{k:03d}", 30 + k + shift, "Amber", 40, 50, 60])
    wb.save(book)
    refresh_file(book)  # 2026-11-15
    wb = openpyxl.load_workbook(book)
    october = snapshot_rows(wb, "Score History 2026-10-15")
    assert october["ACC-007"]["Overall"] == 42 and len(october) == ACCOUNTS
    assert snapshot_rows(wb, "Score History 2026-09-15")["ACC-007"]["Overall"] == 37
    index = [r for r in wb[c.SCORE_HISTORY].iter_rows(min_row=2, values_only=True) if isinstance(r[0], dt.datetime)]
    assert [r[0].date() for r in index] == [dt.date(2026, 11, 15), dt.date(2026, 10, 15), dt.date(2026, 9, 15)]
    assert index[1][2:4] == (ACCOUNTS, pytest.approx(sum(35 + k for k in range(1, ACCOUNTS + 1)) / ACCOUNTS, abs=0.05))
    header = [cell.value for cell in wb[c.SCORES][1]]
    for row in wb[c.SCORES].iter_rows(min_row=2, values_only=True):
        if row[header.index("Overall")] is not None:
            assert row[header.index("Change")] == row[header.index("Overall")] - october[row[0]]["Overall"]
    refresh_file(book)  # the next refresh reads the new layout: nothing moves twice
    assert sorted(s for s in openpyxl.load_workbook(book).sheetnames if s.startswith("Score History ")) == [
        "Score History 2026-09-15", "Score History 2026-10-15", "Score History 2026-11-15"]


def test_a_snapshot_holds_what_the_scores_sheet_shows(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    refresh_file(book)
    wb = openpyxl.load_workbook(book)
    snap = snapshot_rows(wb, "Score History 2026-11-15")
    rows = list(wb[c.SCORES].iter_rows(values_only=True))
    header = list(rows[0])
    categories, metrics = ["Product", "Engagement", "Sentiment"], header[header.index("Rule") + 1:]
    assert len(metrics) == 7 and len(snap) == ACCOUNTS
    for row in rows[1:]:
        shown, kept = dict(zip(header, row)), snap[row[0]]
        for name in ["Overall", "Band"] + categories:
            assert kept[name] == shown[name], (row[0], name)
        for name in metrics:  # kept to 0.1; Scores shows whole numbers
            assert (kept[name] is None) == (shown[name] is None)
            if kept[name] is not None:
                assert abs(kept[name] - shown[name]) <= 0.5, (row[0], name)
