"""The demo's output sheets, cell by cell, against a reference written before chs_excel/ was reshaped.

A change here is a change of behaviour: if it is meant, regenerate the reference with demo_reference.py and say why
in the commit.
"""
import json
from pathlib import Path

import pytest
from demo_reference import SHEETS, demo_cells, make_demo

REFERENCE = Path(__file__).parent / "reference" / "demo_output.json"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_cells(make_demo(tmp_path_factory.mktemp("demo")))


@pytest.mark.parametrize("sheet", SHEETS)
def test_demo_output_sheet_matches_the_reference(demo, sheet):
    expected = json.loads(REFERENCE.read_text(encoding="utf-8"))[sheet]
    got = json.loads(json.dumps(demo[sheet]))  # the same JSON round trip the reference went through
    assert len(got) == len(expected), f"{sheet}: {len(got)} rows, reference {len(expected)}"
    for i, (row, ref) in enumerate(zip(got, expected), start=1):
        assert row == ref, f"{sheet} row {i}"
