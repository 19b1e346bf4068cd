"""``chs-excel export``: the CRM file holds what the refreshed workbook's sheets show, safely, for every account.

Expected values are read back from a refreshed copy of the demo with openpyxl (Scores, Benchmark Gap,
Benchmarks, Accounts), never from the export code.
"""
import csv
import io
import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import openpyxl
import pandas as pd
import pytest

from chs_excel import contract as c
from chs_excel.cli import main
from chs_excel.demo.template import write_template
from chs_excel.export import (FORMULA_STARTS, _driver_text, _rule_texts, formula_safe, load_export_schema,
                              plain_numbers, schema_errors)

AS_OF = "2026-11-15"  # the demo's Settings as-of date
EARLIER = "2026-11-01"  # a refresh before it, so Score History gives a change
CRAFTED = {"ACC-001": '=HYPERLINK("https://evil.example","click")', "ACC-002": "+1 Corp", "ACC-004": "-x",
           "ACC-005": "@SUM(A1:A2)"}


def sheet_rows(ws, header_row: int = 1) -> list[dict]:
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    header = rows[0]
    return [dict(zip(header, row)) for row in rows[1:] if any(v is not None for v in row)]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The demo with crafted account names, refreshed at an earlier date and then at its own as-of date."""
    folder = tmp_path_factory.mktemp("export")
    path = write_template(folder / "accounts.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[c.ACCOUNTS]
    for row in ws.iter_rows(min_row=2):
        if row[0].value in CRAFTED:
            row[1].value = CRAFTED[row[0].value]
            row[1].data_type = "s"  # text, not a formula: what a user typing '=... or pasting from a CRM gets
    wb.save(path)
    assert main(["refresh", str(path), "-q", "--as-of", EARLIER]) == 0
    assert main(["refresh", str(path), "-q"]) == 0
    return path


@pytest.fixture(scope="module")
def sheets(book) -> dict:
    wb = openpyxl.load_workbook(book)
    gap_ws = wb[c.GAP]
    header_row = next(r for r in range(1, 20) if gap_ws.cell(r, 1).value == c.ACCOUNT_ID)
    gap = sheet_rows(gap_ws, header_row)
    links = {}
    playbook_col = [cell.value for cell in gap_ws[header_row]].index("Playbook") + 1
    for r in range(header_row + 1, header_row + 1 + len(gap)):
        link = gap_ws.cell(r, playbook_col).hyperlink
        links[gap_ws.cell(r, 1).value] = link.target if link is not None and link.target else None
    return {"scores": {row[c.ACCOUNT_ID]: row for row in sheet_rows(wb[c.SCORES])},
            "gap": {row[c.ACCOUNT_ID]: row for row in gap}, "gap_links": links,
            "accounts": sheet_rows(wb[c.ACCOUNTS]), "benchmarks": sheet_rows(wb[c.BENCHMARKS]),
            "categories": [row["Category"] for row in sheet_rows(wb[c.CATEGORIES])]}


@pytest.fixture(scope="module")
def exported(book, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("out")
    before = book.read_bytes()
    assert main(["export", str(book), "--format", "csv", "-o", str(folder / "a.csv")]) == 0
    assert main(["export", str(book), "--format", "json", "-o", str(folder / "a.json")]) == 0
    assert book.read_bytes() == before  # export writes nothing into the workbook
    raw = (folder / "a.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    return {"csv_bytes": raw, "csv": {row[c.ACCOUNT_ID]: row for row in rows}, "csv_order": [r[c.ACCOUNT_ID] for r in rows],
            "json": json.loads((folder / "a.json").read_text(encoding="utf-8"))}


def number_text(value) -> str:
    """How a number from the sheet must read in the CSV: whole numbers without '.0', nothing for blank."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def expected_benchmark(sheets, segment, stage):
    """The Benchmarks row for a segment and stage, by the documented rule: the most specific matching row
    (segment and stage > one of them > neither), the first listed among equals; matching ignores case and spaces."""
    norm = lambda v: "" if v is None else str(v).strip().casefold()  # noqa: E731
    best, best_rank = None, -1
    for row in sheets["benchmarks"]:
        seg, stg = norm(row["Segment"]), norm(row["Stage"])
        if (seg and seg != norm(segment)) or (stg and stg != norm(stage)):
            continue
        rank = bool(seg) + bool(stg)
        if rank > best_rank:
            best, best_rank = row, rank
    return None if best is None else best["Target"]


# ---------------------------------------------------------------- the values


def test_every_account_once_in_the_accounts_order(sheets, exported):
    ids = [row[c.ACCOUNT_ID] for row in sheets["accounts"]]
    assert exported["csv_order"] == ids
    assert [a["account_id"] for a in exported["json"]["accounts"]] == ids
    assert set(ids) == set(sheets["scores"])


def test_csv_values_equal_the_scores_sheet(sheets, exported):
    """Every account, every shown value: the Scores sheet of the refreshed copy, read with openpyxl."""
    categories = sheets["categories"]
    for account, shown in sheets["scores"].items():
        row = exported["csv"][account]
        assert row["Health score"] == number_text(shown["Overall"]), account
        assert row["Health band"] == (shown["Band"] or ""), account
        assert row["Coverage"] == number_text(shown["Coverage"]), account
        assert row["Change since last snapshot"] == number_text(shown["Change"]), account
        for name in categories:
            assert row[f"{name} score"] == number_text(shown[name]), (account, name)
        assert row["Top drivers"] == (shown["Drivers"] or "").replace(", ", "; "), account
        assert row["Override"] == (shown["Override"] or ""), account
        assert row["Rule"] == (shown.get("Rule") or ""), account  # the rule that fired (once the engine has rules)
        assert row["Status"] == shown["Status"] or (shown["Status"] is None and row["Status"] == (
            "scored" if shown["Overall"] is not None else "no data")), account
        assert row["As-of date"] == AS_OF


def test_two_accounts_by_hand(sheets, exported):
    """One scored account with an override and a change, one without a score: field by field."""
    scored = next(a for a, s in sheets["scores"].items() if s["Override"] and s["Change"] is not None)
    unscored = next(a for a, s in sheets["scores"].items() if s["Overall"] is None)
    s, row = sheets["scores"][scored], exported["csv"][scored]
    assert (int(row["Health score"]), row["Health band"], float(row["Coverage"])) == (s["Overall"], s["Band"], s["Coverage"])
    assert int(row["Change since last snapshot"]) == s["Change"]
    assert row["Override"] == s["Override"] and row["Status"] == "scored"
    s, row = sheets["scores"][unscored], exported["csv"][unscored]
    assert row["Health score"] == row["Health band"] == row["Benchmark gap"] == row["Change since last snapshot"] == ""
    assert row["Status"] == s["Status"] == "insufficient data"
    assert all(row[f"{name} score"] == number_text(s[name]) for name in sheets["categories"])


def test_negative_changes_are_plain_numbers(exported):
    changes = [row["Change since last snapshot"] for row in exported["csv"].values()]
    negative = [v for v in changes if v.startswith("-")]
    assert negative, "the demo refreshed twice should have some score drops"
    assert all(int(v) < 0 for v in negative)  # -5, not '-5
    assert not any(v.startswith("'") for v in changes)
    gaps = [row["Benchmark gap"] for row in exported["csv"].values() if row["Benchmark gap"]]
    assert any(g.startswith("-") for g in gaps) and all(_is_number(g) for g in gaps)


def test_benchmark_for_every_account(sheets, exported):
    """Every account gets its benchmark (the Benchmarks sheet's rule), not only those below it."""
    above = 0
    for account in sheets["accounts"]:
        row = exported["csv"][account[c.ACCOUNT_ID]]
        target = expected_benchmark(sheets, account["Segment"], account["Stage"])
        assert row["Benchmark"] == number_text(target)
        if row["Health score"]:
            assert float(row["Benchmark gap"]) == int(row["Health score"]) - target
            above += float(row["Benchmark gap"]) >= 0
    assert above > 0


def test_below_their_benchmark_as_the_gap_sheet(sheets, exported):
    """The accounts the Benchmark Gap sheet lists: the same benchmark, gap, playbook and playbook link."""
    assert sheets["gap"]
    for account, listed in sheets["gap"].items():
        row = exported["csv"][account]
        assert (row["Benchmark"], row["Benchmark gap"]) == (number_text(listed["Benchmark"]), number_text(listed["Gap"]))
        assert row["Playbook"] == (listed["Playbook"] or "")
        link = sheets["gap_links"][account]
        web = link if link and link.lower().startswith(("https:", "http:", "mailto:")) else ""
        assert row["Playbook link"] == web  # a place in the workbook (Metrics!A4) is no link in a CRM
    assert any(sheets["gap_links"][a] and sheets["gap_links"][a].startswith("https:") for a in sheets["gap"])
    assert any(row["Playbook"] for a, row in exported["csv"].items() if a not in sheets["gap"])  # others get one too


# ---------------------------------------------------------------- CSV


def test_csv_has_a_bom_crlf_and_the_documented_header(exported, sheets):
    raw = exported["csv_bytes"]
    assert raw.startswith(b"\xef\xbb\xbfAccount ID,Account name,As-of date,Health score,Health band,Coverage,Status,")
    assert raw.count(b"\r\n") == len(sheets["accounts"]) + 1
    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header == ["Account ID", "Account name", "As-of date", "Health score", "Health band", "Coverage", "Status",
                      *(f"{name} score" for name in sheets["categories"]), "Change since last snapshot",
                      "Top drivers", "Benchmark", "Benchmark gap", "Playbook", "Playbook link", "Override", "Rule"]


def test_csv_injection_prefix_on_crafted_names(exported):
    for account, name in CRAFTED.items():
        assert exported["csv"][account]["Account name"] == "'" + name
    raw = exported["csv_bytes"].decode("utf-8-sig")
    assert '"\'=HYPERLINK(""https://evil.example"",""click"")"' in raw  # RFC 4180: quotes doubled, field quoted
    for row in exported["csv"].values():  # no text cell of the file starts a formula
        assert not any(v.startswith(FORMULA_STARTS) and not _is_number(v) for v in row.values())


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("text, written", [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'), ("+1", "'+1"), ("-x", "'-x"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tX", "'\tX"), ("\rY", "'\rY"), ("A=1", "A=1"), ("", ""), (None, ""),
    ("'quoted", "'quoted"), ("Ünïcödé", "Ünïcödé")])
def test_formula_safe(text, written):
    assert formula_safe([text]).tolist() == [written]


def test_tab_and_cr_names_survive_a_round_trip():
    """Cells the reader keeps as they are (a playbook, an override note) with a tab or CR in front: prefixed,
    and the csv module reads back exactly what was meant."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([formula_safe(["\tX", "\rY", "a\r\nb"]).tolist()])
    assert next(csv.reader(io.StringIO(buffer.getvalue(), newline=""))) == ["'\tX", "'\rY", "a\r\nb"]


def test_plain_numbers():
    out = plain_numbers([72.0, -5.0, 0.8333, np.nan, -0.0, np.inf, 72.5])
    assert out.tolist() == [72, -5, 0.8333, None, 0, None, 72.5]
    assert [type(v) for v in out.tolist()] == [int, int, float, type(None), int, type(None), float]


def test_drivers_joined_with_semicolons_even_when_a_name_holds_a_comma():
    lost = pd.DataFrame({"Logins, weekly": [18.2, 0.0], "Outreach": [9.0, 0.2], "NPS": [3.0, 0.0]}, index=["a", "b"])
    assert _driver_text(lost).tolist() == ["Logins, weekly -18; Outreach -9; NPS -3", ""]


def test_rule_text_from_the_scores_sheet_or_the_engine():
    index = pd.Index(["a", "b"])
    with_rule = pd.DataFrame({"Rule": ["Rule: CSM sentiment Red caps overall at Red", None]})
    engine = type("Result", (), {"rules": pd.Series({"b": "Rule: no login caps at 40"})})()
    assert _rule_texts(engine, with_rule, index).tolist() == ["Rule: CSM sentiment Red caps overall at Red", ""]
    assert _rule_texts(engine, pd.DataFrame({"x": [1, 2]}), index).tolist() == ["", "Rule: no login caps at 40"]
    assert _rule_texts(object(), pd.DataFrame({"x": [1, 2]}), index).tolist() == ["", ""]


# ---------------------------------------------------------------- JSON


def test_json_validates_and_matches_the_csv(exported, sheets):
    document = exported["json"]
    jsonschema.validate(document, load_export_schema(), cls=jsonschema.Draft202012Validator,
                        format_checker=jsonschema.FormatChecker())
    assert document["as_of"] == AS_OF and document["generated_by"].startswith("chs-excel ")
    assert [cat["name"] for cat in document["scorecard"]["categories"]] == sheets["categories"]
    for account in document["accounts"]:
        row = exported["csv"][account["account_id"]]
        assert number_text(account["health_score"]) == row["Health score"]
        assert account["category_scores"] == {name: (int(row[f"{name} score"]) if row[f"{name} score"] else None)
                                              for name in sheets["categories"]}
        assert account["score_change"] == (int(row["Change since last snapshot"])
                                           if row["Change since last snapshot"] else None)
        assert account["override"] == (row["Override"] or None)
        assert account["playbook_link"] == (row["Playbook link"] or None)
    names = {a["account_id"]: a["account_name"] for a in document["accounts"]}
    assert all(names[a] == name for a, name in CRAFTED.items())  # JSON is data, not a spreadsheet: no prefix


@pytest.mark.parametrize("break_it", [
    lambda d: d["accounts"][0].update(health_score="72"),
    lambda d: d["accounts"][0].update(health_score=150),
    lambda d: d["accounts"][0].update(health_score=72.5),
    lambda d: d["accounts"][0].pop("account_id"),
    lambda d: d["accounts"][0].update(health_band="Purple"),
    lambda d: d["accounts"][0].update(coverage=1.5),
    lambda d: d["accounts"][0].update(playbook_link="javascript:alert(1)"),
    lambda d: d["accounts"][0].update(surprise=1),
    lambda d: d["accounts"][0]["category_scores"].update(Product="high"),
    lambda d: d.update(as_of="15/11/2026"),
    lambda d: d.pop("scorecard"),
], ids=["score-text", "score-150", "score-fraction", "no-id", "band", "coverage", "link", "extra-key",
        "category-text", "date", "no-scorecard"])
def test_a_broken_json_does_not_validate(exported, break_it):
    document = json.loads(json.dumps(exported["json"]))
    assert schema_errors(document) == []
    break_it(document)
    assert schema_errors(document)


def test_write_json_refuses_its_own_broken_output(monkeypatch, book):
    import chs_excel.export as export

    real = export.json_document

    def broken(table):
        document = real(table)
        document["accounts"][-1]["health_score"] = "oops"
        return document
    monkeypatch.setattr(export, "json_document", broken)
    with pytest.raises(RuntimeError, match="its own schema"):
        export.write_json(export.export_table(book), io.StringIO())


# ---------------------------------------------------------------- the command


def test_default_path_and_what_it_prints(book, tmp_path, capsys):
    copy = shutil.copyfile(book, tmp_path / "my book.xlsx")
    assert main(["export", str(copy), "--format", "csv"]) == 0
    target = tmp_path / f"my book-health-{AS_OF}.csv"
    assert target.is_file()
    assert capsys.readouterr().out.strip() == f"Wrote 60 account(s) as of {AS_OF} (CSV) to {target}"
    assert main(["export", str(copy), "--format", "json", "--as-of", "2026-11-30"]) == 0
    document = json.loads((tmp_path / "my book-health-2026-11-30.json").read_text(encoding="utf-8"))
    assert document["as_of"] == "2026-11-30" and len(document["accounts"]) == 60


def test_to_stdout(book, capsysbinary):
    assert main(["export", str(book), "--format", "csv", "-o", "-"]) == 0
    out, err = capsysbinary.readouterr()
    assert out.startswith(b"\xef\xbb\xbfAccount ID,")
    assert len(list(csv.reader(io.StringIO(out.decode("utf-8-sig"), newline="")))) == 61
    assert err.decode().strip() == f"Wrote 60 account(s) as of {AS_OF} (CSV) to standard output"
    assert main(["export", str(book), "--format", "json", "-o", "-"]) == 0
    out, _ = capsysbinary.readouterr()
    assert not out.startswith(b"\xef\xbb\xbf")  # JSON never has a BOM
    assert len(json.loads(out)["accounts"]) == 60


def test_config_error_exit_1_as_refresh(tmp_path, capsys):
    book = write_template(tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(book)
    wb[c.METRICS]["C3"] = "heavy"
    wb.save(book)
    assert main(["export", str(book), "--format", "csv"]) == 1
    err = capsys.readouterr().err
    assert 'Metrics!C3: weight must be a number of 0 or more, got "heavy"' in err
    assert not list(tmp_path.glob("*.csv"))


def test_bad_book_and_bad_target_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    assert main(["export", str(bad), "--format", "json"]) == 1
    assert "cannot be read as an Excel workbook" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.xlsx"), "--format", "json"]) == 1
    book = write_template(tmp_path / "b.xlsx")
    assert main(["export", str(book), "--format", "csv", "-o", str(tmp_path / "no" / "such" / "folder.csv")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_a_workbook_without_accounts(tmp_path, capsys):
    """``chs-excel init`` on a new workbook: no accounts yet, a header row and an empty list."""
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Pipeline"
    wb.save(tmp_path / "new.xlsx")
    assert main(["init", str(tmp_path / "new.xlsx")]) == 0
    assert main(["export", str(tmp_path / "new.xlsx"), "--format", "csv", "-o", str(tmp_path / "a.csv")]) == 0
    assert main(["export", str(tmp_path / "new.xlsx"), "--format", "json", "-o", str(tmp_path / "a.json")]) == 0
    assert (tmp_path / "a.csv").read_bytes().startswith(b"\xef\xbb\xbfAccount ID,")
    assert (tmp_path / "a.csv").read_bytes().count(b"\r\n") == 1
    document = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert document["accounts"] == [] and schema_errors(document) == []
    assert "Wrote 0 account(s)" in capsys.readouterr().out


def test_never_over_the_workbook(book, tmp_path, capsys):
    copy = shutil.copyfile(book, tmp_path / "b.xlsx")
    before = copy.read_bytes()
    assert main(["export", str(copy), "--format", "csv", "-o", str(copy)]) == 1
    assert "is the workbook itself" in capsys.readouterr().err
    assert copy.read_bytes() == before


@pytest.mark.parametrize("argv", [["export", "b.xlsx"], ["export", "b.xlsx", "--format", "xml"], ["export"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
