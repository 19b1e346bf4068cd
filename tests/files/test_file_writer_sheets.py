"""The file writer honours every part of an OutputSheet: all its charts, its widths, its frozen pane."""
import zipfile

import openpyxl
import pandas as pd
import pytest

from chs_excel.book.table import BarChart, OutputSheet
from chs_excel.demo.template import write_template
from chs_excel.files.ooxml import CT_CHART
from chs_excel.files.opc import Package
from chs_excel.files.writer import PackageBookWriter


@pytest.fixture
def book(tmp_path):
    return write_template(tmp_path / "book.xlsx")


def two_chart_sheet() -> OutputSheet:
    frame = pd.DataFrame({"Group": ["A", "B", "C"], "Red": [0.2, 0.5, 0.1], "Green": [0.8, 0.5, 0.9]})
    return OutputSheet("Charts", frame, widths={"Group": 22}, freeze="B2", charts=[
        BarChart("Shares", "Group", ("Red", "Green"), ("C00000", "00B050"), anchor="E2"),
        BarChart("Red only", "Group", ("Red",), ("C00000",), anchor="E20", stacked=False, percent=False)])


def test_every_chart_of_a_sheet_is_written(book):
    PackageBookWriter(book, book).write([two_chart_sheet()])
    with zipfile.ZipFile(book) as package:
        opc = Package(package)
        sheet = next(s for s in opc.sheets() if s.name == "Charts")
        (drawing,) = [r.part for r in opc.rels(sheet.part) if r.kind == "drawing"]
        charts = [r.part for r in opc.rels(drawing) if r.kind == "chart"]
        assert len(charts) == 2 and len(set(charts)) == 2
        titles = [opc.text(part) for part in charts]
        assert "<a:t>Shares</a:t>" in titles[0] and "<a:t>Red only</a:t>" in titles[1]
        drawing_xml = opc.text(drawing)
        assert drawing_xml.count("<xdr:twoCellAnchor>") == 2 and 'r:id="rId2"' in drawing_xml
        types = opc.text("[Content_Types].xml")
        assert all(f'PartName="/{part}" ContentType="{CT_CHART}"' in types for part in charts)
    ws = openpyxl.load_workbook(book)["Charts"]
    assert ws.freeze_panes == "B2" and ws.column_dimensions["A"].width == 22


def test_a_second_refresh_replaces_both_charts_without_leaving_parts_behind(book):
    PackageBookWriter(book, book).write([two_chart_sheet()])
    with zipfile.ZipFile(book) as package:
        first = sorted(package.namelist())
    PackageBookWriter(book, book).write([two_chart_sheet()])
    with zipfile.ZipFile(book) as package:
        assert sorted(package.namelist()) == first
