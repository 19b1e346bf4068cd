"""Golden tests of the XML the file writer emits, one element at a time (as XlsxWriter's suite does):
given this input, exactly this XML. A change to any of these strings changes every refreshed workbook."""
import datetime as dt

import numpy as np

from chs_excel.book.look import BAND_LOOKS, HEADER, band_rules, label_rules
from chs_excel.book.table import BarChart
from chs_excel.files.chart import chart_anchor_xml, series_xml
from chs_excel.files.ooxml import escape
from chs_excel.files.styles import dxf_xml, fill_xml, font_xml, xf_xml
from chs_excel.files.worksheet import (cell_elements, conditional_format_xml, cols_xml, hyperlink_xml,
                                       sheet_view_xml)

DXF_IDS = {"Red": 0, "Amber": 1, "Green": 2}


def cells(values, refs, styles=None, date1904=False):
    styles = np.zeros(len(values), dtype=np.int64) if styles is None else np.array(styles)
    return cell_elements(np.array(values, dtype=object), np.array(refs, dtype=object), styles, date1904).tolist()


def test_sheet_view_frozen_above_and_left():
    assert sheet_view_xml("C2") == (
        '<sheetViews><sheetView workbookViewId="0"><pane xSplit="2" ySplit="1" topLeftCell="C2" '
        'activePane="bottomRight" state="frozen"/><selection pane="bottomRight" activeCell="C2" sqref="C2"/>'
        '</sheetView></sheetViews>')


def test_sheet_view_frozen_rows_only_and_nothing_frozen():
    assert sheet_view_xml("A5") == (
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="4" topLeftCell="A5" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft" activeCell="A5" sqref="A5"/></sheetView></sheetViews>')
    assert sheet_view_xml("A1") == sheet_view_xml("") == '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'


def test_column_widths():
    assert cols_xml([12, 30.5]) == ('<cols><col min="1" max="1" width="12" customWidth="1"/>'
                                    '<col min="2" max="2" width="30.5" customWidth="1"/></cols>')
    assert cols_xml([]) == ""


def test_fill():
    assert fill_xml("FFC7CE") == ('<fill><patternFill patternType="solid"><fgColor rgb="FFFFC7CE"/>'
                                  '<bgColor rgb="FFFFC7CE"/></patternFill></fill>')


def test_font_of_the_header():
    assert font_xml(HEADER) == '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font>'


def test_cell_style_xf():
    assert xf_xml(font=2, fill=3, wrap=True) == (
        '<xf numFmtId="0" fontId="2" fillId="3" borderId="0" xfId="0" applyFont="1" applyFill="1" '
        'applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>')
    assert xf_xml(number_format=164) == (
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>')


def test_differential_format_of_a_band():
    assert dxf_xml(BAND_LOOKS["Red"]) == (
        '<dxf><font><color rgb="FF9C0006"/></font><fill><patternFill patternType="solid"><fgColor rgb="FFFFC7CE"/>'
        '<bgColor rgb="FFFFC7CE"/></patternFill></fill></dxf>')


def test_conditional_format_rules_of_a_score_column():
    assert conditional_format_xml("F2:F61", band_rules("F2", 40, 70), DXF_IDS, 4) == (
        '<conditionalFormatting sqref="F2:F61">'
        '<cfRule type="expression" dxfId="0" priority="4" stopIfTrue="1"><formula>AND(ISNUMBER(F2),F2&lt;40)</formula></cfRule>'
        '<cfRule type="expression" dxfId="1" priority="5" stopIfTrue="1"><formula>AND(ISNUMBER(F2),F2&gt;=40,F2&lt;70)'
        '</formula></cfRule>'
        '<cfRule type="expression" dxfId="2" priority="6" stopIfTrue="1"><formula>AND(ISNUMBER(F2),F2&gt;=70)</formula></cfRule>'
        '</conditionalFormatting>')


def test_conditional_format_rules_of_a_band_name_column():
    assert conditional_format_xml("B2:B4", label_rules("B2"), DXF_IDS, 1) == (
        '<conditionalFormatting sqref="B2:B4">'
        '<cfRule type="expression" dxfId="0" priority="1" stopIfTrue="1"><formula>B2=&quot;Red&quot;</formula></cfRule>'
        '<cfRule type="expression" dxfId="1" priority="2" stopIfTrue="1"><formula>B2=&quot;Amber&quot;</formula></cfRule>'
        '<cfRule type="expression" dxfId="2" priority="3" stopIfTrue="1"><formula>B2=&quot;Green&quot;</formula></cfRule>'
        '</conditionalFormatting>')


def test_hyperlinks_external_and_in_the_workbook():
    assert hyperlink_xml("K8", "https://example.com/a?b=1&c=2", "rIdLink1") == '<hyperlink ref="K8" r:id="rIdLink1"/>'
    assert hyperlink_xml("K9", "#'Play & run'!A3") == (
        '<hyperlink ref="K9" location="\'Play &amp; run\'!A3" display="#\'Play &amp; run\'!A3"/>')


def test_inline_string_cell_with_xml_special_characters():
    assert cells(['Tom & "Jerry" <b>\x01'], ["A1"]) == [
        '<c r="A1" t="inlineStr"><is><t xml:space="preserve">Tom &amp; &quot;Jerry&quot; &lt;b&gt;</t></is></c>']


def test_text_is_cut_at_excels_limit_before_escaping():
    (cell,) = cells(["&" * 40_000], ["A1"])
    assert cell.count("&amp;") == 32_767 and cell.endswith("&amp;</t></is></c>")


def test_numbers_booleans_and_blanks():
    assert cells([3.0, 2.5, True, float("nan"), ""], ["A1", "B1", "C1", "D1", "E1"], [7, 0, 0, 0, 0]) == [
        '<c r="A1" s="7"><v>3</v></c>', '<c r="B1"><v>2.5</v></c>', '<c r="C1" t="b"><v>1</v></c>', "", ""]


def test_date_cells_in_the_1900_date_system():
    assert cells([dt.date(2026, 3, 31), dt.datetime(2026, 3, 31, 12)], ["B2", "C2"], [5, 5]) == [
        '<c r="B2" s="5"><v>46112</v></c>', '<c r="C2" s="5"><v>46112.5</v></c>']


def test_date_cells_in_the_1904_date_system():
    # 1,462 days fewer: serial 0 is 1904-01-01 instead of 1899-12-30
    assert cells([dt.date(2026, 3, 31), dt.datetime(2026, 3, 31, 12)], ["B2", "C2"], [5, 5], date1904=True) == [
        '<c r="B2" s="5"><v>44650</v></c>', '<c r="C2" s="5"><v>44650.5</v></c>']


def test_chart_series():
    spec = BarChart("Share", "Group", ("Red", "Green"), ("C00000", "00B050"), anchor="L2")
    assert series_xml(spec, 1, "Band's view", ["Group", "Red", "Green"], 4, 3) == (
        '<c:ser><c:idx val="1"/><c:order val="1"/>'
        "<c:tx><c:strRef><c:f>'Band''s view'!$C$4</c:f></c:strRef></c:tx>"
        '<c:spPr><a:solidFill><a:srgbClr val="00B050"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>'
        "<c:cat><c:strRef><c:f>'Band''s view'!$A$5:$A$7</c:f></c:strRef></c:cat>"
        "<c:val><c:numRef><c:f>'Band''s view'!$C$5:$C$7</c:f></c:numRef></c:val></c:ser>")


def test_chart_series_with_one_colour_per_bar():
    spec = BarChart("Churn", "Band", ("Churn rate",), ("888888",), anchor="F11", point_colors=("FFC7CE", "C6EFCE"))
    assert series_xml(spec, 0, "Validation", ["Band", "Churn rate"], 1, 2) == (
        '<c:ser><c:idx val="0"/><c:order val="0"/><c:tx><c:strRef><c:f>\'Validation\'!$B$1</c:f></c:strRef></c:tx>'
        '<c:spPr><a:solidFill><a:srgbClr val="888888"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>'
        '<c:dPt><c:idx val="0"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/><c:spPr><a:solidFill>'
        '<a:srgbClr val="FFC7CE"/></a:solidFill></c:spPr></c:dPt>'
        '<c:dPt><c:idx val="1"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/><c:spPr><a:solidFill>'
        '<a:srgbClr val="C6EFCE"/></a:solidFill></c:spPr></c:dPt>'
        "<c:cat><c:strRef><c:f>'Validation'!$A$2:$A$3</c:f></c:strRef></c:cat>"
        "<c:val><c:numRef><c:f>'Validation'!$B$2:$B$3</c:f></c:numRef></c:val></c:ser>")


def test_second_chart_anchor_of_a_drawing():
    assert chart_anchor_xml("L2", 3, 1) == (
        '<xdr:twoCellAnchor><xdr:from><xdr:col>11</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
        '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>19</xdr:col><xdr:colOff>0</xdr:colOff>'
        '<xdr:row>13</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:graphicFrame macro=""><xdr:nvGraphicFramePr>'
        '<xdr:cNvPr id="3" name="chs-excel chart 2"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm>'
        '<a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId2"/>'
        '</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>')


def test_escape():
    assert escape('a<b & "c">\x0b\t') == 'a&lt;b &amp; &quot;c&quot;&gt;\t'
    assert escape("abcdef", limit=3) == "abc"
