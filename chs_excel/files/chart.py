"""DrawingML for chs-excel's charts (bars on output sheets, lines on a form): one drawing part per sheet holding
every chart, one chart part per chart."""
from __future__ import annotations

from chs_excel.book.form import LineChart
from chs_excel.book.table import BarChart, cell_position, column_letter, quoted_sheet
from chs_excel.files.ooxml import NS_CHART, NS_DRAWING, NS_REL, NS_SHEET_DRAWING, XML_DECLARATION, escape


def series_xml(spec: BarChart, k: int, sheet: str, columns: list, head: int, n: int) -> str:
    """The ``<c:ser>`` of the chart's ``k``-th value column: its name (header cell), colour, categories, values."""
    quoted = escape(quoted_sheet(sheet))
    label = column_letter(columns.index(spec.label_column) + 1)
    cats = f"{quoted_sheet(sheet)}!${label}${head + 1}:${label}${head + n}"
    col = column_letter(columns.index(spec.value_columns[k]) + 1)
    points = "".join(f'<c:dPt><c:idx val="{i}"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/>'
                     f'<c:spPr><a:solidFill><a:srgbClr val="{p}"/></a:solidFill></c:spPr></c:dPt>'
                     for i, p in enumerate(spec.point_colors[:n])) if spec.point_colors else ""
    return (f'<c:ser><c:idx val="{k}"/><c:order val="{k}"/>'
            f'<c:tx><c:strRef><c:f>{quoted}!${col}${head}</c:f></c:strRef></c:tx>'
            f'<c:spPr><a:solidFill><a:srgbClr val="{spec.colors[k]}"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>{points}'
            f'<c:cat><c:strRef><c:f>{escape(cats)}</c:f></c:strRef></c:cat>'
            f'<c:val><c:numRef><c:f>{quoted}!${col}${head + 1}:${col}${head + n}</c:f></c:numRef></c:val>'
            f'</c:ser>')


def chart_xml(spec: BarChart, sheet: str, columns: list, head: int, n: int) -> bytes:
    """The chart part of ``spec``, over the ``n`` data rows under header row ``head`` of ``sheet``."""
    count = min(len(spec.value_columns), len(spec.colors))  # a value column without a colour is left out
    series = [series_xml(spec, k, sheet, columns, head, n) for k in range(count)]
    grouping = ("percentStacked" if spec.percent else "stacked") if spec.stacked else "clustered"
    direction = "bar" if spec.horizontal else "col"
    overlap = '<c:overlap val="100"/>' if spec.stacked else ""
    cat_pos, val_pos, orient = ("l", "t", "maxMin") if spec.horizontal else ("b", "l", "minMax")
    legend = '<c:legend><c:legendPos val="r"/><c:overlay val="0"/></c:legend>' if len(spec.value_columns) > 1 else ""
    return (f'{XML_DECLARATION}'
            f'<c:chartSpace xmlns:c="{NS_CHART}" xmlns:a="{NS_DRAWING}" xmlns:r="{NS_REL}"><c:roundedCorners val="0"/><c:chart>'
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


def drawing_xml(anchors: list[str], rows: int) -> bytes:
    """A drawing holding one chart per anchor cell, each over 8 columns and enough rows for ``rows`` bars.

    The ``k``-th chart is the drawing's relationship ``rId{k+1}``.
    """
    return (f'{XML_DECLARATION}<xdr:wsDr xmlns:xdr="{NS_SHEET_DRAWING}" xmlns:a="{NS_DRAWING}">'
            + "".join(chart_anchor_xml(anchor, rows, k) for k, anchor in enumerate(anchors))
            + '</xdr:wsDr>').encode("utf-8")


def chart_anchor_xml(anchor: str, rows: int, k: int = 0, *, span: tuple[int, int] | None = None) -> str:
    """The ``<xdr:twoCellAnchor>`` placing the drawing's ``k``-th chart at ``anchor``: over 8 columns and enough
    rows for ``rows`` bars, or over ``span`` (columns, rows) cells."""
    row, col = (p - 1 for p in cell_position(anchor))
    width, height = span if span is not None else (8, max(12, 3 + 2 * rows))
    name = "chs-excel chart" if k == 0 else f"chs-excel chart {k + 1}"
    return (f'<xdr:twoCellAnchor>'
            f'<xdr:from><xdr:col>{col}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>'
            f'<xdr:to><xdr:col>{col + width}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row + height}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>'
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{k + 2}" name="{name}"/><xdr:cNvGraphicFramePr/>'
            f'</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
            f'<a:graphicData uri="{NS_CHART}"><c:chart xmlns:c="{NS_CHART}" xmlns:r="{NS_REL}" r:id="rId{k + 1}"/></a:graphicData>'
            f'</a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>')


def line_drawing_xml(charts: list[LineChart]) -> bytes:
    """A drawing holding the line charts of a form, each over its own block of cells (``rId{k+1}``: the k-th)."""
    return (f'{XML_DECLARATION}<xdr:wsDr xmlns:xdr="{NS_SHEET_DRAWING}" xmlns:a="{NS_DRAWING}">'
            + "".join(chart_anchor_xml(spec.anchor, 0, k, span=(spec.columns, spec.rows))
                      for k, spec in enumerate(charts))
            + '</xdr:wsDr>').encode("utf-8")


def line_chart_xml(spec: LineChart) -> bytes:
    """The chart part of a one-series line chart with markers, over the ranges ``spec`` names (absolute, with the
    sheet). No cached points: Excel and LibreOffice draw it from the cells when they open the file."""
    name = (f'<c:tx><c:v>{escape(spec.series_name)}</c:v></c:tx>' if spec.series_name else "")
    scaling = ('<c:scaling><c:orientation val="minMax"/>'
               + (f'<c:max val="{spec.value_max:g}"/>' if spec.value_max is not None else "")
               + (f'<c:min val="{spec.value_min:g}"/>' if spec.value_min is not None else "") + '</c:scaling>')
    title = (f'<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:pPr><a:defRPr sz="1100" b="1"/></a:pPr><a:r>'
             f'<a:rPr lang="en-US" sz="1100" b="1"/><a:t>{escape(spec.title)}</a:t></a:r></a:p></c:rich></c:tx>'
             f'<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>') if spec.title else (
             '<c:autoTitleDeleted val="1"/>')
    line = f'<c:spPr><a:ln w="28575" cap="rnd"><a:solidFill><a:srgbClr val="{spec.colour}"/></a:solidFill></a:ln></c:spPr>'
    marker = (f'<c:marker><c:symbol val="circle"/><c:size val="5"/><c:spPr><a:solidFill><a:srgbClr val="{spec.colour}"/>'
              f'</a:solidFill></c:spPr></c:marker>')
    return (f'{XML_DECLARATION}'
            f'<c:chartSpace xmlns:c="{NS_CHART}" xmlns:a="{NS_DRAWING}" xmlns:r="{NS_REL}"><c:roundedCorners val="0"/>'
            f'<c:chart>{title}<c:plotArea><c:layout/>'
            f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>'
            f'<c:ser><c:idx val="0"/><c:order val="0"/>{name}{line}{marker}'
            f'<c:cat><c:strRef><c:f>{escape(spec.categories)}</c:f></c:strRef></c:cat>'
            f'<c:val><c:numRef><c:f>{escape(spec.values)}</c:f></c:numRef></c:val><c:smooth val="0"/></c:ser>'
            f'<c:marker val="1"/><c:axId val="500011"/><c:axId val="500012"/></c:lineChart>'
            f'<c:catAx><c:axId val="500011"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
            f'<c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="low"/>'
            f'<c:crossAx val="500012"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
            f'<c:lblOffset val="100"/></c:catAx>'
            f'<c:valAx><c:axId val="500012"/>{scaling}<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
            f'<c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="nextTo"/><c:crossAx val="500011"/>'
            f'<c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx></c:plotArea>'
            f'<c:plotVisOnly val="0"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>').encode("utf-8")
