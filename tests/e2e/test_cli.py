"""The chs-excel command: what it prints and its exit codes (0 fine, 1 config/data errors, 2 usage)."""
import openpyxl
import pytest

from chs_excel import contract as c
from chs_excel.cli import main
from chs_excel.demo.template import write_template


def test_demo_writes_a_refreshed_workbook(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo.xlsx")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Scored 60 accounts as of 2026-11-15:")
    # 5, 3 stale usage dates and 1 blank one, and 2 CSM sentiment calls logged more than 30 days ago
    assert "11 data issue(s): see the 'Data Issues' sheet." in out
    assert c.SCORES in openpyxl.load_workbook(tmp_path / "demo.xlsx").sheetnames


def test_refresh_and_strict(tmp_path, capsys):
    book = write_template(tmp_path / "b.xlsx")
    assert main(["refresh", str(book), "-q"]) == 0
    assert main(["refresh", str(book), "-q", "--strict"]) == 1


def test_as_of_changes_the_goal_pro_rating(tmp_path, capsys):
    book = write_template(tmp_path / "b.xlsx")
    main(["refresh", str(book), "-q", "--as-of", "2026-11-30"])
    assert "as of 2026-11-30" in capsys.readouterr().out


def test_validate_writes_nothing(tmp_path, capsys):
    book = write_template(tmp_path / "b.xlsx")
    before = book.read_bytes()
    assert main(["validate", str(book)]) == 0
    assert "the configuration is valid; 60 accounts can be scored" in capsys.readouterr().out
    assert book.read_bytes() == before


def test_config_error_exit_1_and_names_the_cell(tmp_path, capsys):
    book = write_template(tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(book)
    wb[c.METRICS]["C3"] = "heavy"
    wb.save(book)
    before = book.read_bytes()
    assert main(["refresh", str(book), "-q"]) == 1
    err = capsys.readouterr().err
    assert 'Metrics!C3: weight must be a number of 0 or more, got "heavy"' in err
    assert "nothing was written" in err
    assert book.read_bytes() == before


def test_corrupt_file_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    assert main(["refresh", str(bad)]) == 1
    assert "cannot be read as an Excel workbook" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["refresh"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["refresh", "x.xlsx", "--as-of", "yesterday"])
    assert caught.value.code == 2


def test_version(capsys):
    import chs_excel
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"chs-excel {chs_excel.__version__}"


@pytest.mark.parametrize("command", ["template", "demo"])
def test_template_and_demo_refuse_an_existing_file(tmp_path, capsys, command):
    book = tmp_path / "book.xlsx"
    book.write_bytes(b"a user's own workbook")
    assert main([command, str(book)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"chs-excel: {book} already exists; pass --force to replace it (nothing was written)\n"
    assert captured.out == ""
    assert book.read_bytes() == b"a user's own workbook"


def test_demo_refuses_its_default_file_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    before = (tmp_path / "chs-excel-demo.xlsx").read_bytes()
    assert main(["demo"]) == 1
    assert "chs-excel-demo.xlsx already exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "chs-excel-demo.xlsx").read_bytes() == before


@pytest.mark.parametrize("command", ["template", "demo"])
def test_force_replaces_an_existing_file(tmp_path, capsys, command):
    book = tmp_path / "book.xlsx"
    book.write_bytes(b"old")
    assert main([command, str(book), "--force"]) == 0
    assert c.METRICS in openpyxl.load_workbook(book).sheetnames
    if command == "demo":
        assert c.SCORES in openpyxl.load_workbook(book).sheetnames
