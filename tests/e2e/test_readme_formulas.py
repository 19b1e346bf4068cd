"""Every worksheet formula the README shows, evaluated on the shipped template through xlwings' own dispatch
with the arguments Office.js sends (client_shapes.officejs_arg_cell), returns scores, not an error text."""
import asyncio
import re
from pathlib import Path

import pytest
from client_shapes import file_grid, function_call, officejs_arg_cell
from xlwings import server

from chs_excel import excel
from chs_excel.book.table import column_number

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workbook_template.xlsx"
FORMULA = re.compile(r"=(HEALTH_SCORE|HEALTH_BAND|CATEGORY_SCORE|METRIC_SCORE|HEALTH_GAP|HEALTH_DRIVERS)\(([^()]*)\)")
REFERENCE = re.compile(r"^(?:'([^']+)'|([A-Za-z_][\w ]*))!([A-Z]+)(\d+):([A-Z]+)(\d+)$")


def readme_formulas() -> list[str]:
    found = sorted(set(m.group(0) for m in FORMULA.finditer(ROOT.joinpath("README.md").read_text(encoding="utf-8"))))
    assert len(found) >= 7, found  # the README shows each function; fewer means the pattern broke
    return found


def _split_arguments(text: str) -> list[str]:
    out, current, quoted = [], "", None
    for ch in text:
        if ch in "'\"" and quoted in (None, ch):
            quoted = None if quoted else ch
        if ch == "," and not quoted:
            out.append(current.strip())
            current = ""
        else:
            current += ch
    return out + [current.strip()]


def argument(text: str):
    """One formula argument as Office.js passes it: a range as a 2-D array, a literal as [[x]], omitted as null."""
    if text == "":
        return None
    if text.startswith('"'):
        return [[text.strip('"')]]
    ref = REFERENCE.match(text)
    if ref is None:
        return [[float(text)]]
    sheet = ref.group(1) or ref.group(2)
    c0, r0, c1, r1 = column_number(ref.group(3)), int(ref.group(4)), column_number(ref.group(5)), int(ref.group(6))
    grid = file_grid(TEMPLATE, sheet)
    rows = [(grid[r - 1] if r - 1 < len(grid) else []) for r in range(r0, r1 + 1)]
    padded = [list(row) + [""] * (c1 - len(row)) for row in rows]
    return [[None if row[c - 1] == "" else officejs_arg_cell(row[c - 1]) for c in range(c0, c1 + 1)] for row in padded]


@pytest.mark.parametrize("formula", readme_formulas())
def test_readme_formula_returns_scores(formula):
    name, text = FORMULA.fullmatch(formula).groups()
    args = [argument(a) for a in _split_arguments(text)]
    body = function_call(name.lower(), *args)
    body["args"] = args  # omitted arguments stay null, as Office.js sends them
    result = asyncio.run(server.custom_functions_call(body, excel))
    values = [row[0] for row in result]
    errors = [v for v in values if isinstance(v, str) and ("error" in v.lower() or v.startswith("unknown"))]
    assert not errors, f"{formula} -> {errors[0]}"
    accounts = REFERENCE.match(_split_arguments(text)[0])
    expected_rows = int(accounts.group(6)) - int(accounts.group(4)) + (0 if accounts.group(4) == "1" else 1)
    assert len(values) == expected_rows
    if name in ("HEALTH_SCORE", "CATEGORY_SCORE", "METRIC_SCORE", "HEALTH_GAP"):
        numbers = [v for v in values if isinstance(v, (int, float))]
        assert numbers and len(numbers) >= 0.8 * len(values)
        assert all(1 <= v <= 100 for v in numbers) or name == "HEALTH_GAP"
    elif name == "HEALTH_BAND":
        assert set(values) <= {"Red", "Amber", "Green", ""} and {"Red", "Amber", "Green"} <= set(values)
    else:
        assert any(re.fullmatch(r"(.+ -\d+)(, .+ -\d+)*", v) for v in values)
