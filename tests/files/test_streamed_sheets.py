"""The sheet XML is made in blocks of rows, and zipped as it is made.

The data rows are checked, byte for byte, against a cell-by-cell reference (the way they were written before
they were built as byte matrices) on random frames of every kind of column the writer meets.
"""
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chs_excel.book.dates import date_to_serial
from chs_excel.book.table import OutputSheet, link_kind
from chs_excel.files import worksheet
from chs_excel.files.ooxml import escape
from chs_excel.files.styles import Styles, StyleIds
from chs_excel.files.worksheet import MAX_TEXT, SheetXml, worksheet_xml

NUMBER_TYPES = (float, int, np.float64, np.int64)
DATE_TYPES = (dt.date, dt.datetime, pd.Timestamp)


def reference_cell(ref: str, xf: int, value, date1904: bool = False) -> str:
    """One cell as it was written one value at a time, by the value's exact type."""
    s = f' s="{xf}"' if xf > 0 else ""
    kind = type(value)
    if kind in NUMBER_TYPES:
        x = float(value)
        if not math.isfinite(x):
            return ""
        text = str(int(round(x))) if x == round(x) and abs(x) < 1e15 else repr(x)
        return f'<c r="{ref}"{s}><v>{text}</v></c>'
    if kind is str:
        text = escape(value, MAX_TEXT)
        return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>' if text else ""
    if kind in (bool, np.bool_):
        return f'<c r="{ref}"{s} t="b"><v>{"1" if value else "0"}</v></c>'
    if kind in DATE_TYPES:
        return f'<c r="{ref}"{s}><v>{str(date_to_serial(value, date1904)).removesuffix(".0")}</v></c>'
    return ""


def reference_rows(sheet: OutputSheet, ids: StyleIds, date1904: bool = False) -> str:
    frame, head = sheet.frame, sheet.header_row
    bands = sheet.cell_bands()
    columns = []
    for j, col in enumerate(frame.columns):
        xf = np.full(len(frame), ids.number_format(sheet.number_formats[col]) if col in sheet.number_formats else 0)
        for band, band_xf in ids.band.items():
            if col in bands:
                xf[bands[col] == band] = band_xf
        if col in sheet.links:
            xf[[bool(link_kind(t)) for t in sheet.links[col]]] = ids.link
        columns.append((worksheet.column_letter(j + 1), frame.iloc[:, j].to_numpy(dtype=object), xf))
    rows = []
    for i in range(len(frame)):
        r = head + 1 + i
        rows.append(f'<row r="{r}">' + "".join(reference_cell(f"{letter}{r}", int(xf[i]), values[i], date1904)
                                                for letter, values, xf in columns) + "</row>")
    return "".join(rows)


def data_rows(xml: bytes, sheet: OutputSheet) -> str:
    """The data rows of a sheet's XML (between the header row and the postscript or the end of sheetData)."""
    if not len(sheet.frame):
        return ""
    text = xml.decode("utf-8")
    end = f'<row r="{sheet.postscript_row}">' if any(sheet.postscript) else "</sheetData>"
    return text[text.index(f'<row r="{sheet.header_row + 1}">'):text.index(end)]


texts = st.one_of(st.sampled_from(["", " ", "Red", "Amber", "Green", "a & b", '<"q">', "tab\there", "line\nbreak",
                                   "\x01ctl\x1f", "é€😀", "=HYPERLINK(\"x\")", "'Scores'!A1"]),
                  st.text(max_size=12))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.builds(lambda i, k: i / 10 ** k, st.integers(-10**16, 10**16), st.integers(1, 9)),  # decimals
                   st.sampled_from([0.0, -0.0, 1e15, -1e15, 999999999999999.0, 1e16, 0.1, 2.5, -7.0, 1 / 3, 5e-324,
                                    1e-5, 123456.789, 2.0 ** 53]))
ints = st.one_of(st.integers(-10**6, 10**6), st.integers(-2**62, 2**62), st.sampled_from([0, -1, 9, 10, 99999, -99999]))
dates = st.one_of(st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)),
                  st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)),
                  st.datetimes(dt.datetime(1950, 1, 1), dt.datetime(2050, 1, 1),
                               timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=5))])),
                  st.builds(pd.Timestamp, st.datetimes(dt.datetime(1950, 1, 1), dt.datetime(2050, 1, 1))))
anything = st.one_of(texts, floats, ints, st.booleans(), dates, st.none(),
                     st.sampled_from([np.nan, pd.NA, pd.NaT, np.float64(2.5), np.int64(7), np.bool_(True),
                                      np.float32(1.5), complex(1, 2), b"bytes", np.str_("np text")]))


@st.composite
def frames(draw):
    n = draw(st.integers(0, 12))
    columns = {
        "f": pd.Series(draw(st.lists(floats, min_size=n, max_size=n)), dtype="float64"),
        "i": pd.Series(draw(st.lists(ints, min_size=n, max_size=n)), dtype="int64"),
        "b": pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype="bool"),
        "s": pd.Series(draw(st.lists(st.one_of(texts, st.none()), min_size=n, max_size=n)), dtype="string"),
        "o": pd.Series(draw(st.lists(anything, min_size=n, max_size=n)) + [None], dtype=object)[:n],
        "d": pd.Series(draw(st.lists(dates.filter(lambda d: not getattr(d, "tzinfo", None)), min_size=n,
                                     max_size=n)) + [None], dtype=object)[:n],
        "t": pd.to_datetime(pd.Series(draw(st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1950, 1, 1),
                                                                                        dt.datetime(2050, 1, 1))),
                                                    min_size=n, max_size=n)), dtype=object)),
        "n": pd.Series(draw(st.lists(st.one_of(st.none(), ints), min_size=n, max_size=n)), dtype="Int64"),
        "u": pd.Series(draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)), dtype="uint8"),
        "g": pd.Series(draw(st.lists(st.sampled_from([1.5, 2.0, np.nan]), min_size=n, max_size=n)), dtype="float32"),
    }
    frame = pd.DataFrame(columns)
    frame = frame[draw(st.permutations(list(frame.columns)))]
    links = draw(st.lists(st.sampled_from(["https://example.com/a?b=1&c=2", "#'Play & run'!A3", "Playbooks!A2",
                                           "ftp://no", None, ""]), min_size=n, max_size=n))
    return OutputSheet("Data", frame.reset_index(drop=True), bands={"f": (40.0, 70.0), "i": (0, 10)},
                       band_label_columns=("s",), number_formats={"f": "0.0", "d": "yyyy-mm-dd", "g": "0%"},
                       links={"o": links}, preamble=draw(st.sampled_from([[], [["Title"]], [["Title", 3.5], []]])),
                       postscript=draw(st.sampled_from([[], [["Note", True]]])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheet=frames(), block_rows=st.sampled_from([1, 3, 16_384]), block_bytes=st.sampled_from([1, 700, 2**21]),
       date1904=st.booleans())
def test_data_rows_match_the_cell_by_cell_reference(sheet, block_rows, block_bytes, date1904):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(worksheet, "BLOCK_ROWS", block_rows)
        mp.setattr(worksheet, "BLOCK_BYTES", block_bytes)
        xml, _ = worksheet_xml(sheet, StyleIds(Styles(None)), date1904=date1904)
        whole = bytes(xml)
    assert data_rows(whole, sheet) == reference_rows(sheet, StyleIds(Styles(None)), date1904)
    assert b"\x00" not in whole


def test_fractions_are_written_as_repr_writes_them():
    rng = np.random.default_rng(12)
    nums = np.concatenate([rng.integers(-10**12, 10**12, 4000) / 10.0 ** k for k in range(1, 12)] +
                          [rng.standard_normal(4000) * 10.0 ** rng.integers(-9, 16, 4000),
                           [0.5, -0.5, 1e-4, 9.99e-05, 0.1 + 0.2, 999999999999999.9, 1e15 + 0.5, -0.05, 5e-324]])
    nums = nums[nums != np.round(nums)]
    texts = worksheet._fractions(nums)
    assert [t.replace(b"\0", b"").decode() for t in texts.tolist()] == [repr(x) for x in nums.tolist()]


def test_long_and_escaped_texts_in_a_big_block():
    texts = ["&" * 40_000, "x" * 33_000 + "é", "plain", "", "<b>" * 10, "ü" * 5]
    sheet = OutputSheet("Long", pd.DataFrame({"t": pd.Series(texts * 50, dtype="string"),
                                              "o": pd.Series(texts * 50, dtype=object)}))
    ids = StyleIds(Styles(None))
    assert data_rows(bytes(worksheet_xml(sheet, ids)[0]), sheet) == reference_rows(sheet, ids)


def test_blocks_made_ahead_are_the_same_blocks(monkeypatch):
    monkeypatch.setattr(worksheet, "BLOCK_ROWS", 7)
    frame = pd.DataFrame({"x": np.arange(100.0) / 4, "y": [f"row {k}" for k in range(100)]})
    xml = SheetXml(OutputSheet("S", frame), StyleIds(Styles(None)))
    blocks = list(xml)
    assert len(blocks) > 10
    assert list(xml.ahead()) == blocks == list(xml)  # iterated again, the same


def test_a_failure_making_a_block_ahead_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(worksheet, "BLOCK_ROWS", 2)
    xml = SheetXml(OutputSheet("S", pd.DataFrame({"x": np.arange(10.0)})), StyleIds(Styles(None)))

    def broken(self, start, stop):
        if start >= 4:
            raise ValueError("broken block")
        return b"<row/>"
    monkeypatch.setattr(SheetXml, "_rows", broken)
    got = []
    with pytest.raises(ValueError, match="broken block"):
        for block in xml.ahead():
            got.append(block)
    assert got[1:] == [b"<row/>", b"<row/>"]


def test_a_caller_that_stops_early_stops_the_worker():
    xml = SheetXml(OutputSheet("S", pd.DataFrame({"x": np.arange(200_000.0)})), StyleIds(Styles(None)))
    blocks = xml.ahead(depth=1)
    next(blocks)
    blocks.close()  # joins the worker thread: it must not hang on a full queue


SHEET = (b"""<sheetData><row r="1"><c r="A1" s="1" t="inlineStr"><f>SUM('Score History'!A1)&amp;Scores!F2</f></c>"""
         b"""</row><row r="2"><c r="A2"><x:f t="shared" ref="A2:A3">A&gt;B</x:f><v>1</v></c><c r="B2">"""
         b"""<f t="shared" si="0"/></c><c r="C2" t="inlineStr"><is><t>&lt;f&gt;no&lt;/f&gt;</t></is></c></row>"""
         b"""</sheetData><sheetProtection sheet="1"/>""")


@given(st.lists(st.integers(1, len(SHEET) - 1), max_size=80))
def test_formulas_are_found_whole_however_the_xml_is_cut(cuts):
    from chs_excel.files.ooxml import FORMULA_BYTES, SHEET_PROTECTION, find_tag, last_start_tag
    cuts = sorted(set(cuts))
    blocks = [SHEET[a:b] for a, b in zip([0] + cuts, cuts + [len(SHEET)])] + [b""]  # b"": the end
    carry, found = b"", []
    for block in blocks:
        data = carry + block
        cut = last_start_tag(data) if block else len(data)
        carry = data[cut:]
        found += [m.group(1) for m in FORMULA_BYTES.finditer(data, 0, cut)]
    assert found == [m.group(1) for m in FORMULA_BYTES.finditer(SHEET)] == [
        b"SUM('Score History'!A1)&amp;Scores!F2", b"A&gt;B"]
    assert find_tag(SHEET, b"sheetProtection", SHEET_PROTECTION).start() == SHEET.index(b"<sheetProtection")
