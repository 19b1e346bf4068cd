"""Work done once per distinct value instead of once per account.

A column of a million accounts holds a handful of segments, labels or band names,
and a million rows of "top three metrics with their points" only a few thousand
distinct combinations. These helpers group rows by value with a hash table
(``pandas.factorize``), let the caller do its per-value Python work once per group,
and spread the answers back with one ``take``. Pure: numpy and pandas only.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

_ARRAYS = (pd.Series, pd.Index, np.ndarray, pd.api.extensions.ExtensionArray)
_FEW = 32


def _is_text(value) -> bool:
    return type(value) in (str, np.str_)


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize`` of any sequence: each row's position in the distinct values (-1: missing), and those.

    Parameters
    ----------
    values : array-like
        A Series, Index, numpy or pandas array, or any sequence (read as objects).

    Returns
    -------
    codes : numpy.ndarray of intp
    distinct : numpy.ndarray of object
    """
    if not isinstance(values, _ARRAYS):
        values = np.asarray(values, dtype=object)
    codes, distinct = pd.factorize(values)
    return codes, np.asarray(distinct, dtype=object)


def each_value(values, rule: Callable, dtype) -> np.ndarray:
    """``rule(value)`` for every value, worked out once per distinct text.

    Values that are not text go one by one (a hash table takes 1, 1.0 and True for
    one value, but they read differently), except the plain blanks (None, NaN, NA),
    which all get ``rule(None)``: ``rule`` must treat those alike.

    Parameters
    ----------
    values : array-like
    rule : callable
        Of one value.
    dtype : numpy dtype
        Of the result.

    Returns
    -------
    numpy.ndarray
        One entry per value.
    """
    if len(values) <= _FEW:  # a hash table costs more than it saves (a worksheet function's one row)
        return np.fromiter((rule(v) for v in values), dtype=dtype, count=len(values))
    codes, distinct = factorize(values)
    out = np.array([rule(v) for v in distinct] + [rule(None)], dtype=dtype)[codes]  # code -1 picks the last
    text = np.array([_is_text(v) for v in distinct] + [False], dtype=bool)
    odd = ~text[codes]
    if odd.any():  # values as iterating over them gives them (a numpy array's own scalars)
        objects = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
        blank = codes < 0
        if objects.dtype == object:
            kinds = np.frompyfunc(type, 1, 1)(objects[blank])
            odd[blank] = ~np.frompyfunc(_PLAIN_BLANKS.__contains__, 1, 1)(kinds).astype(bool)
        elif objects.dtype.kind == "f":
            odd[blank] = False  # NaN; the blanks of other arrays (NaT) go one by one
        for pos in np.flatnonzero(odd):
            out[pos] = rule(objects[pos])
    return out


_PLAIN_BLANKS = frozenset({type(None), float, np.float64, type(pd.NA)})


def text_codes(values, convert: Callable[[pd.Series], pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """The text ``convert`` makes of each value, as each row's position in the distinct texts.

    ``convert`` is a pandas text operation on a Series (``s.astype(str)``,
    ``s.fillna("").astype(str).str.strip()``...) that leaves a text value's
    meaning to that value alone. It runs once on the distinct texts and on the
    other values (blanks, numbers) row by row, so the result is what it would
    give on the whole column.

    Parameters
    ----------
    values : array-like
    convert : callable
        Series -> Series of text, missing where there is none.

    Returns
    -------
    codes : numpy.ndarray of intp
        Position of each row's text in ``texts``; -1 where ``convert`` gave no text.
    texts : numpy.ndarray of object
        Each text once.
    """
    dtype = getattr(values, "dtype", np.dtype(object))
    if not (dtype == object or dtype.kind == "U" or isinstance(dtype, pd.StringDtype)):
        # Numbers, dates, categories: no texts to share, and their text is the column's own (dates as dates)
        codes, texts = pd.factorize(convert(values if isinstance(values, pd.Series) else pd.Series(values)))
        return codes, np.asarray(texts, dtype=object)
    codes, distinct = factorize(values)
    text = np.array([_is_text(v) for v in distinct], dtype=bool)
    other = np.flatnonzero(~np.append(text, False)[codes])
    extra = np.asarray(values, dtype=object)[other] if len(other) else np.empty(0, dtype=object)
    converted = convert(pd.Series(np.concatenate([distinct[text], extra]), dtype=object))
    new, texts = pd.factorize(converted)
    lookup = np.full(len(distinct) + 1, -1, dtype=np.intp)
    lookup[np.flatnonzero(text)] = new[:text.sum()]
    out = lookup[codes]
    out[other] = new[text.sum():]
    return out, np.asarray(texts, dtype=object)


def group_rows(n: int, columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows grouped by their values in every column: each row's group, and one row of each group.

    Parameters
    ----------
    n : int
        Number of rows (all in one group when there are no columns).
    columns : list of numpy.ndarray
        Integer codes, ``n`` each, none below -1.

    Returns
    -------
    group : numpy.ndarray of intp
        Each row's group, numbered in order of first appearance.
    example : numpy.ndarray of intp
        A row of each group.
    """
    key = np.zeros(n, dtype=np.int64)
    for col in columns:
        col = np.asarray(col, dtype=np.int64) + 1
        radix = int(col.max()) + 1 if n else 1
        if n and int(key.max()) >= (2 ** 62) // radix:  # renumber densely before the key could overflow
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * radix + col
    group, distinct = pd.factorize(key)
    example = np.empty(len(distinct), dtype=np.intp)
    example[group] = np.arange(n)  # any row of a group will do: they agree on every column
    return group, example
