"""Work done once per distinct value gives what doing it value by value gives."""
import decimal

import numpy as np
import pandas as pd
import pytest

from chs_excel.core.distinct import each_value, group_rows, text_codes

# Values a label column can hold: texts, blanks of every kind, numbers a hash table takes for one value
# (1, 1.0 and True), and values whose text reads like a blank ("None", "nan").
ODD = [" green", "AMBER", "Green", "", "  ", None, np.nan, pd.NA, pd.NaT, decimal.Decimal("NaN"), np.float32("nan"),
       1, 1.0, True, "1", "1.0", "True", False, 0, 2.5, "None", "nan", np.str_("Green")]


def sample(seed: int, size: int) -> list:
    rng = np.random.default_rng(seed)
    return [ODD[i] for i in rng.integers(0, len(ODD), size)]


def rule(value) -> str:
    return "?" if value is None or value is pd.NA or (isinstance(value, float) and value != value) \
        else str(value).strip().casefold()


@pytest.mark.parametrize("size", [0, 1, 5, 40, 500])
@pytest.mark.parametrize("shape", [list, lambda v: np.array(v, dtype=object), lambda v: pd.Series(v, dtype=object)])
def test_each_value_is_the_rule_of_each_value(size, shape):
    values = sample(size, size)
    expected = [rule(v) for v in values]
    assert each_value(shape(values), rule, object).tolist() == expected


def test_each_value_of_a_text_column_with_blanks():
    values = pd.Series(["a", None, "B ", "a"] * 20, dtype="str")
    assert each_value(values, rule, object).tolist() == ["a", "?", "b", "a"] * 20


@pytest.mark.parametrize("convert", [lambda s: s.astype(str), lambda s: s.fillna("").astype(str).str.strip(),
                                     lambda s: s.map(str)])
@pytest.mark.parametrize("size", [0, 3, 300])
def test_text_codes_spell_each_row_as_the_pandas_operation_on_the_whole_column(convert, size):
    column = pd.Series(sample(size + 1, size), dtype=object)
    codes, texts = text_codes(column, convert)
    expected = convert(column)
    assert len(set(texts.tolist())) == len(texts)  # each text once
    got = [texts[c] if c >= 0 else None for c in codes]
    assert got == [None if pd.isna(v) else v for v in expected]


def test_group_rows_groups_equal_rows_and_names_one_row_of_each_group():
    rng = np.random.default_rng(0)
    columns = [rng.integers(-1, 4, 1000), rng.integers(-1, 3, 1000), np.zeros(1000, dtype=int)]
    group, example = group_rows(1000, columns)
    rows = list(zip(*(c.tolist() for c in columns)))
    assert len(example) == len(set(rows))
    for r in range(1000):
        assert rows[example[group[r]]] == rows[r]
    assert [group[r] for r in range(1000) if rows[r] == rows[0]] == [0] * rows.count(rows[0])


def test_group_rows_with_codes_too_large_to_combine_in_one_number():
    big = np.array([2 ** 40, 3, 2 ** 40, 3, 5])
    group, example = group_rows(5, [big, big, big, np.array([0, 0, 1, 0, 0])])
    assert group.tolist() == [0, 1, 2, 1, 3] and len(example) == 4


def test_group_rows_without_columns_or_rows():
    assert [a.tolist() for a in group_rows(3, [])] in ([[0, 0, 0], [0]], [[0, 0, 0], [1]], [[0, 0, 0], [2]])
    assert [a.tolist() for a in group_rows(0, [np.array([], dtype=int)])] == [[], []]


@pytest.mark.parametrize("column", [pd.Series([1.5, np.nan, 2.0] * 20),
                                    pd.Series(pd.to_datetime(["2026-01-02", None] * 20)),
                                    pd.Series(["a", "b", None] * 20, dtype="category"), np.array([3, 1, 3] * 20)])
def test_text_codes_of_columns_that_are_not_text(column):
    codes, texts = text_codes(column, lambda s: s.astype(str))
    expected = pd.Series(column).astype(str)
    assert [texts[c] if c >= 0 else None for c in codes] == [None if pd.isna(v) else v for v in expected]


def test_each_value_reads_a_numpy_array_as_iterating_over_it_does():
    days = np.array(["2026-01-02", "NaT"] * 30, dtype="datetime64[ns]")
    assert each_value(days, str, object).tolist() == [str(v) for v in days]
