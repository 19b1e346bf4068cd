"""DrawingML for the stacked bar chart of the Distribution sheet: one drawing part and one chart part."""
from __future__ import annotations

from chs_excel.book.table import BarChart, column_letter
from chs_excel.files.worksheet import escape

NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def chart_xml(spec: BarChart, sheet: str, columns: list, head: int, n: int) -> bytes:
    label = column_letter(columns.index(spec.label_column) + 1)
    cats = f"{_quote(sheet)}!${label}${head + 1}:${label}${head + n}"
    series = []
    for k, (name, color) in enumerate(zip(spec.value_columns, spec.colors)):
        col = column_letter(columns.index(name) + 1)
        points = "".join(f'<c:dPt><c:idx val="{i}"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/>'
                         f'<c:spPr><a:solidFill><a:srgbClr val="{p}"/></a:solidFill></c:spPr></c:dPt>'
                         for i, p in enumerate(spec.point_colors[:n])) if spec.point_colors else ""
        series.append(
            f'<c:ser><c:idx val="{k}"/><c:order val="{k}"/>'
            f'<c:tx><c:strRef><c:f>{escape(_quote(sheet))}!${col}${head}</c:f></c:strRef></c:tx>'
            f'<c:spPr><a:solidFill><a:srgbClr val="{color}"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>{points}'
            f'<c:cat><c:strRef><c:f>{escape(cats)}</c:f></c:strRef></c:cat>'
            f'<c:val><c:numRef><c:f>{escape(_quote(sheet))}!${col}${head + 1}:${col}${head + n}</c:f></c:numRef></c:val>'
            f'</c:ser>')
    grouping = ("percentStacked" if spec.percent else "stacked") if spec.stacked else "clustered"
    direction = "bar" if spec.horizontal else "col"
    overlap = '<c:overlap val="100"/>' if spec.stacked else ""
    cat_pos, val_pos, orient = ("l", "t", "maxMin") if spec.horizontal else ("b", "l", "minMax")
    legend = '<c:legend><c:legendPos val="r"/><c:overlay val="0"/></c:legend>' if len(spec.value_columns) > 1 else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<c:chartSpace xmlns:c="{NS_C}" xmlns:a="{NS_A}" xmlns:r="{NS_R}"><c:roundedCorners val="0"/><c:chart>'
            f'<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>{escape(spec.title)}</a:t></a:r></a:p></c:rich></c:tx>'
            f'<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>'
            f'<c:barChart><c:barDir val="{direction}"/><c:grouping val="{grouping}"/><c:varyColors val="0"/>{"".join(series)}'
            f'<c:gapWidth val="60"/>{overlap}<c:axId val="500001"/><c:axId val="500002"/></c:barChart>'
            f'<c:catAx><c:axId val="500001"/><c:scaling><c:orientation val="{orient}"/></c:scaling><c:delete val="0"/>'
            f'<c:axPos val="{cat_pos}"/><c:numFmt formatCode="General" sourceLinked="0"/><c:tickLblPos val="nextTo"/>'
            f'<c:crossAx val="500002"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
            f'<c:lblOffset val="100"/></c:catAx>'
            f'<c:valAx><c:axId val="500002"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
            f'<c:axPos val="{val_pos}"/><c:majorGridlines/><c:numFmt formatCode="{escape(spec.value_format)}" sourceLinked="0"/>'
            f'<c:tickLblPos val="nextTo"/><c:crossAx val="500001"/><c:crosses val="{"max" if spec.horizontal else "autoZero"}"/>'
            f'<c:crossBetween val="between"/></c:valAx></c:plotArea>{legend}'
            f'<c:plotVisOnly val="1"/></c:chart></c:chartSpace>').encode("utf-8")


def drawing_xml(anchor: str, rows: int) -> bytes:
    """A drawing holding one chart, from ``anchor`` over 8 columns and enough rows for ``rows`` bars."""
    col = sum((ord(ch) - 64) * 26 ** k for k, ch in enumerate(reversed("".join(c for c in anchor if c.isalpha())))) - 1
    row = int("".join(c for c in anchor if c.isdigit())) - 1
    height = max(12, 3 + 2 * rows)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<xdr:wsDr xmlns:xdr="{NS_XDR}" xmlns:a="{NS_A}"><xdr:twoCellAnchor>'
            f'<xdr:from><xdr:col>{col}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
            f'<xdr:to><xdr:col>{col + 8}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row + height}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>'
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="chs-excel chart"/><xdr:cNvGraphicFramePr/>'
            f'</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
            f'<a:graphicData uri="{NS_C}"><c:chart xmlns:c="{NS_C}" xmlns:r="{NS_R}" r:id="rId1"/></a:graphicData>'
            f'</a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>').encode("utf-8")
