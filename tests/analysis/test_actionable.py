"""Benchmarks, playbooks, history and distribution, against hand-worked cases."""
import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest
from helpers import simple_tables, table

from chs_excel import contract as c
from chs_excel.analysis import distribution, history
from chs_excel.analysis.targets import benchmark_targets, match_benchmarks, select_playbooks
from chs_excel.cli import main
from chs_excel.config import config_from_tables
from chs_excel.problems import ConfigError
from chs_excel.pipeline import refresh_file
from chs_excel.demo.template import write_template

BENCH_HEADER = ["Segment", "Stage", "Target", "A"]
PLAY_HEADER = [col.header for col in c.PLAYBOOK_COLUMNS]


def config_with(benchmarks=(), playbooks=()):
    tables = simple_tables()
    tables[c.BENCHMARKS] = table(c.BENCHMARKS, BENCH_HEADER, [list(r) for r in benchmarks])
    tables[c.PLAYBOOKS] = table(c.PLAYBOOKS, PLAY_HEADER, [list(r) for r in playbooks])
    return config_from_tables(tables)


def test_benchmark_matching_exact_wildcards_and_no_match():
    config = config_with([("Enterprise", "Onboard", 75, 70), ("Enterprise", "", 70, ""), ("", "Renew", 65, ""),
                          ("SMB", "Adopt", 50, "")])
    segment = pd.Series(["Enterprise", " enterprise ", "Enterprise", "Mid-Market", "SMB", "Mid-Market"])
    stage = pd.Series(["Onboard", "ONBOARD", "Renew", "Renew", "Onboard", "Adopt"])
    chosen = match_benchmarks(config, segment, stage)
    # exact; exact ignoring case and spaces; segment-only beats stage-only on a tie? both set one field:
    # the first listed of equal specificity wins (Enterprise/any is row 2, any/Renew row 3);
    # stage wildcard; no match for SMB/Onboard nor Mid-Market/Adopt
    assert chosen.tolist() == [0, 0, 1, 2, -1, -1]
    assert benchmark_targets(config, chosen).tolist()[:4] == [75, 75, 70, 65]
    assert np.isnan(benchmark_targets(config, chosen).tolist()[4])
    assert config.benchmarks[0].category_targets == {"A": 70}


def test_playbook_most_specific_trigger_wins():
    config = config_with(playbooks=[
        ("General", "", "", "", "", "review", "", ""),
        ("Red accounts", "Red", "", "", "", "call", "", ""),
        ("Red renewals", "Red", "", "", "Renew", "escalate", "", "https://example.com/p"),
        ("Product gaps", "", "A", "", "", "train", "", ""),
        ("Red renewals too", "Red", "", "", "Renew", "second of equal rank", "", ""),
    ])
    band = pd.Series(["Red", "Red", "Amber", "Amber", "Red"])
    stage = pd.Series(["Renew", "Adopt", "Adopt", "Adopt", "Renew"])
    top_category = pd.Series(["A", "A", "A", "B", "B"])
    top_metric = pd.Series(["m1", "m1", "m1", "m3", "m3"])
    chosen = select_playbooks(config, band, stage, top_category, top_metric)
    # row 0: Red+Renew (2 triggers) beats Red (1) and Product gaps (1); first listed of equal rank wins
    # row 1: Red (1) and Product gaps (1) tie -> the first listed, "Red accounts"
    # row 2: only Product gaps and General match -> Product gaps; row 3: only General
    assert [config.playbooks[k].name for k in chosen] == ["Red renewals", "Red accounts", "Product gaps", "General",
                                                          "Red renewals"]


def test_playbook_link_and_name_checks():
    with pytest.raises(ConfigError) as caught:
        config_with(playbooks=[("Bad link", "", "", "", "", "x", "", "javascript:alert(1)"),
                               ("Unknown", "", "Nope", "m9", "", "x", "", "Metrics!A4")])
    assert [str(p) for p in caught.value.problems] == [
        'Playbooks!H2: link must start with https://, http:// or mailto:, or be a place in this workbook such as '
        'Playbooks!A2, got "javascript:alert(1)"']
    with pytest.raises(ConfigError) as caught:
        config_with(playbooks=[("Unknown", "", "Nope", "m9", "", "x", "", "'My Sheet'!B12")])
    assert [str(p) for p in caught.value.problems] == [
        'Playbooks!C2: "Nope" is not a category on the Categories sheet',
        'Playbooks!D2: "m9" is not a metric on the Metrics sheet']


def test_benchmark_checks():
    with pytest.raises(ConfigError) as caught:
        config_with([("SMB", "", 120, ""), ("SMB", "", 50, ""), ("", "", 60, "lots")])
    assert [str(p) for p in caught.value.problems] == [
        "Benchmarks!C2: target must be a score from 1 to 100, got 120",
        'Benchmarks!D4: a category target must be a score from 1 to 100, got "lots"']
    with pytest.raises(ConfigError) as caught:
        config_with([("SMB", "", 60, ""), ("smb", "", 50, "")])
    assert [str(p) for p in caught.value.problems] == [
        "Benchmarks!C3: this segment and stage already have a benchmark at Benchmarks!C2"]


def test_band_drops_flags_only_falls():
    # X fell Green -> Amber; Y rose Red -> Amber: only X is flagged
    drops = history.band_drops(pd.Series(["Amber", "Amber"], index=["X", "Y"]),
                               pd.Series(["Green", "Red"], index=["X", "Y"]))
    assert drops.tolist() == ["Green → Amber", ""]


def test_even_thirds_and_skew_warning():
    scores = [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert distribution.even_thirds(scores) == (40, 70)  # Red {10,20,30}, Amber {40,50,60}, Green {70,80,90}
    assert distribution.even_thirds([50, 50, 50]) is None
    balanced = {"Red": 3, "Amber": 3, "Green": 3, "No score": 0}
    assert distribution.skew_warning(balanced, scores) == ""
    skewed = {"Red": 1, "Amber": 6, "Green": 2, "No score": 4}  # 6 of 9 scored = 67%
    assert distribution.skew_warning(skewed, scores) == (
        "67% of scored accounts are Amber: the score is not separating accounts, so it is hard to act on. "
        "Consider these cut points: Red below 40, Amber below 70 (even thirds of today's scores).")
    assert distribution.skew_warning({"Red": 5, "Amber": 5, "Green": 0, "No score": 0}, scores) == ""  # exactly half


def test_refresh_writes_gap_history_and_distribution(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    refresh_file(book, as_of=dt.date(2026, 10, 15))
    refresh_file(book)
    refresh_file(book)  # same as-of date: replaces, never duplicates
    wb = openpyxl.load_workbook(book)
    index = list(wb[c.SCORE_HISTORY].iter_rows(min_row=2, values_only=True))
    assert [row[:3] for row in index[:2]] == [(dt.datetime(2026, 11, 15), "Score History 2026-11-15", 60),
                                              (dt.datetime(2026, 10, 15), "Score History 2026-10-15", 60)]
    assert {ws.title: ws.sheet_state for ws in wb if ws.title.startswith("Score History ")} == {
        "Score History 2026-10-15": "hidden", "Score History 2026-11-15": "hidden"}  # same date: replaced
    october = list(wb["Score History 2026-10-15"].iter_rows(min_row=2, values_only=True))
    assert len(october) == 60
    earlier = {row[0]: row[1] for row in october}
    scores = wb[c.SCORES]
    header = [cell.value for cell in scores[1]]
    compared = 0
    for row in scores.iter_rows(min_row=2, values_only=True):
        account, overall, change = row[0], row[header.index("Overall")], row[header.index("Change")]
        if overall is not None and earlier.get(account) is not None:
            assert change == overall - earlier[account]
            compared += 1
    assert compared == 59
    gap = wb[c.GAP]
    assert gap["A2"].value == 37 and gap["B2"].value.startswith("accounts below their benchmark")
    rows = list(gap.iter_rows(min_row=8, values_only=True))
    gaps = [r[7] for r in rows]
    assert gaps == sorted(gaps) and all(g < 0 for g in gaps)
    assert all(r[7] == r[5] - r[6] for r in rows)  # gap = overall - benchmark
    links = {cell.value: (cell.hyperlink.target or cell.hyperlink.location) for cell in gap["K"][7:] if cell.hyperlink}
    assert links["Renewal rescue"] == "https://example.com/playbooks/renewal-rescue"
    assert links["Onboarding recovery"] == "Playbooks!A3"  # no link given: its own row on Playbooks
    dist = wb[c.DISTRIBUTION]
    assert [cell.value for cell in dist[5]][:6] == ["Level", "Group", "Red", "Amber", "Green", "No score"]
    assert len(dist._charts) == 1


def test_in_place_refresh_is_not_blocked_by_our_own_chart(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    refresh_file(book)
    again = refresh_file(book)
    assert again.written_to == book and len(openpyxl.load_workbook(book)[c.DISTRIBUTION]._charts) == 1


def test_segment_column_setting(tmp_path):
    book = write_template(tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(book)
    wb[c.SETTINGS]["B6"] = "CSM"
    wb.save(book)
    summary = refresh_file(book)
    segments = set(summary.report.gap["Segment"])
    assert segments <= {"Priya Natarajan", "Tom Becker", "Ana Souza", "Kenji Watanabe", "Chloé Martin"}
    wb = openpyxl.load_workbook(book)
    wb[c.SETTINGS]["B6"] = "Region"
    wb.save(book)
    assert main(["refresh", str(book), "-q"]) == 1


def test_gap_command_prints_the_top_of_the_list(tmp_path, capsys):
    book = write_template(tmp_path / "book.xlsx")
    assert main(["gap", str(book), "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "As of 2026-11-15: 37 account(s) below their benchmark, 22 at or above, 0 with no benchmark, 1 without a score."
    assert out[2].split()[:3] == ["Account", "ID", "Account"]
    assert len(out) == 2 + 2 + 3 + 1 and out[-1].startswith("... and 34 more")
