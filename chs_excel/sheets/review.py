"""The Account Review sheet: one printable page about one account, chosen from a drop-down list.

Everything on the page but the labels is a native formula over the sheets the same refresh writes (Scores,
Benchmark Gap, Data Issues, the Score History snapshots) and the input sheets (the accounts sheet, Playbooks):
choosing another Account ID in ``C3`` changes the whole page in Excel with no Python running. Each formula is
written with the value it gives for the account chosen at refresh time (``Formula.cached``), so the page reads
right before any recalculation (a PDF export, Excel's protected view).

Layout (columns A:H print; J:P hold hidden helper cells and constants):

- ``J3``: the account's row on Scores (``MATCH`` once; every Scores cell is an ``INDEX`` on it), ``J4`` its row
  on the accounts sheet, ``J5`` its row on Benchmark Gap (0: not listed there, at or above its benchmark),
  ``J6`` its playbook's row on Playbooks, ``J7`` that playbook's link.
- Points lost per metric: ``(100 - score) x`` the metric's effective weight, renormalised over the metrics and
  categories that have a score (as :func:`chs_excel.core.explain.points_lost`), from the shown (whole) scores;
  weights are constants in the hidden columns.

Pure: builds a :class:`~chs_excel.book.form.FormSheet`; the writers put it in a workbook.
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chs_excel import contract as c
from chs_excel.book.form import (Cell, FormSheet, Formula, FormulaColour, LineChart, ListValidation, PageSetup,
                                 formula_text)
from chs_excel.book.look import BAND_LOOKS, LINK, Look, band_rules, label_rules
from chs_excel.book.table import OutputSheet, cell_position, column_letter, link_kind, quoted_sheet
from chs_excel.cellvalues import CellError
from chs_excel.config.model import HealthConfig
from chs_excel.problems import DataIssue
from chs_excel.sheets.scores import CHANGE_FORMAT

CHOICE = "C3"  # the chosen Account ID
HISTORY_POINTS = 12  # snapshots drawn on the trend chart
ISSUES_LISTED = 3  # data issues listed one by one
NOT_LISTED = 10 ** 9  # "no such row" in the k-th-row formula of the data issues

WIDTHS = {"A": 24, "B": 13, "C": 12, "D": 9, "E": 12, "F": 10, "G": 14, "H": 14}
TEXT_WIDTH = sum(WIDTHS[k] for k in "BCDEFGH")  # characters across a wrapped text row (B:H merged)
POINTS = '0"   "'  # whole points, kept off the next column's text
HIDDEN = ("J", "K", "L", "M", "N", "O", "P")

LABEL = Look(bold=True)
SECTION = Look(fill="1F4E78", font="FFFFFF", bold=True)
HEADING = Look(fill="DDEBF7", bold=True, wrap=True)
NOTE = Look(font="595959", size=9, wrap=True)
WRAPPED = Look(wrap=True)
CHOSEN = Look(fill="FFF2CC", bold=True, size=12)
BIG = Look(bold=True, size=16)
NAME = Look(bold=True, size=13)
TITLE = Look(bold=True, size=16)
NA_HIDDEN = Look(font="FFFFFF")  # a snapshot without the account: #N/A leaves a gap in the chart, unseen here


class UnknownAccount(ValueError):
    """An Account ID that is not one of the scored accounts; the message names close matches."""


@dataclass
class ReviewInputs:
    """What the page reads besides the refresh's output sheets: where the accounts and playbooks are.

    Attributes
    ----------
    accounts_sheet : str
        The accounts sheet's name as the workbook spells it ("Accounts", or the user's own sheet).
    header_row, first_col : int
        Its header cell (1-based Excel row and column).
    header : list of str
        Its column headers.
    excel_rows : pandas.Series
        The Excel row of each scored account on that sheet, indexed by Account ID.
    values : pandas.DataFrame
        The metric source columns as scored (``ScoringInput.accounts``), indexed by Account ID.
    playbooks : tuple or None
        ``(sheet name, header row, first column, header)`` of the Playbooks sheet, None when absent.
    selected : str or None
        The Account ID to show (kept from the page as it was, or chosen by ``chs-excel review``).
    """

    accounts_sheet: str
    header_row: int
    first_col: int
    header: list[str]
    excel_rows: pd.Series
    values: pd.DataFrame
    playbooks: tuple | None = None
    selected: str | None = None


def review_inputs(prepared, selected: str | None) -> ReviewInputs | None:
    """The :class:`ReviewInputs` of a :class:`~chs_excel.pipeline.Prepared` (None without an accounts sheet)."""
    if prepared.accounts_layout is None or prepared.rows is None:
        return None
    sheet, header_row, first_col, header = prepared.accounts_layout
    scored = np.flatnonzero(prepared.rows.scored)
    ids = np.asarray(prepared.rows.ids, dtype=object)[scored]
    excel_rows = pd.Series(header_row + 1 + scored, index=pd.Index(ids, dtype=object))
    book = prepared.tables.get(c.PLAYBOOKS)
    playbooks = (book.sheet, book.header_row, book.first_col, list(book.header)) if book is not None else None
    return ReviewInputs(sheet, header_row, first_col, header, excel_rows, prepared.data.accounts, playbooks, selected)


def chosen_account(scores: pd.DataFrame, selected: str | None) -> str:
    """The account the page shows: ``selected`` when it is one of the accounts, else Scores' first (lowest)."""
    ids = scores[c.ACCOUNT_ID].astype(str)
    if selected is not None and (ids == selected).any():
        return selected
    return ids.iloc[0] if len(ids) else ""


def read_selection(reader) -> str | None:
    """The Account ID chosen on the existing Account Review sheet (its ``C3``), or None.

    Parameters
    ----------
    reader : BookReader
        The workbook before the refresh writes.
    """
    names = {name.strip().casefold(): name for name in reader.sheet_names()}
    name = names.get(c.ACCOUNT_REVIEW.casefold())
    if name is None:
        return None
    try:
        table = reader.read_table(name)
    except Exception:  # a damaged page must not stop a refresh: the lowest-scored account is shown instead
        return None
    row, col = 3, 3
    j = col - table.first_col
    if j < 0:
        return None
    if row == table.header_row:
        value = table.header[j] if j < len(table.header) else None
    elif row > table.header_row and row - table.header_row - 1 < len(table.rows):
        line = table.rows[row - table.header_row - 1]
        value = line[j] if j < len(line) else None
    else:
        return None
    if value is None or isinstance(value, CellError):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def find_account(wanted: str, ids: pd.Index) -> str:
    """The Account ID ``wanted`` names (exactly, else ignoring case and surrounding spaces).

    Raises
    ------
    UnknownAccount
        Naming up to five close matches.
    """
    text = str(wanted).strip()
    if text in ids:
        return text
    folded = {str(i).casefold(): i for i in ids}
    if text.casefold() in folded:
        return folded[text.casefold()]
    close = difflib.get_close_matches(text.casefold(), list(folded), n=5, cutoff=0.5)
    hint = f" (close matches: {', '.join(str(folded[k]) for k in close)})" if close else \
        f" (the Account IDs run from {min(ids)} to {max(ids)})" if len(ids) else " (the workbook has no accounts)"
    raise UnknownAccount(f'no account has the Account ID "{text}"{hint}')


def _letters(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): column_letter(j + 1) for j, name in enumerate(frame.columns)}


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and not value.strip()) or value is pd.NA


def _number_or_blank(value):
    if _blank(value) or isinstance(value, (str, bool)):
        return ""
    return float(value)


def _text(value) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lines(texts, width: float) -> int:
    """Lines the longest of ``texts`` takes wrapped over ``width`` characters (words do not split)."""
    longest = max([len(str(t)) for t in texts if isinstance(t, str)] + [0])
    return max(1, math.ceil(longest * 1.15 / width))


@dataclass
class _Page:
    cells: dict
    merged: list
    heights: dict
    colours: list

    def put(self, ref: str, value, look: Look | None = None, number_format: str = "") -> None:
        self.cells[ref] = Cell(value, look, number_format)

    def text_row(self, row: int, label: str, formula: Formula, lines: int = 1, look: Look | None = WRAPPED) -> None:
        self.put(f"A{row}", label, Look(bold=True, wrap=True))  # top-aligned beside its wrapped text
        self.put(f"B{row}", formula, look)
        self.merged.append(f"B{row}:H{row}")
        if lines > 1:
            self.heights[row] = 15 * lines


def review_sheet(config: HealthConfig, as_of: dt.date, scores: OutputSheet, gap: OutputSheet, issues: OutputSheet,
                 history: list[tuple[dt.date, str, float]], inputs: ReviewInputs,
                 all_issues: list[DataIssue] = (), *, name: str = c.ACCOUNT_REVIEW) -> FormSheet:
    """The Account Review page for the account ``inputs.selected`` (else the lowest-scored one).

    Parameters
    ----------
    config : HealthConfig
    as_of : datetime.date
    scores, gap, issues : OutputSheet
        The Scores, Benchmark Gap and Data Issues sheets of the same refresh (their columns are the formulas').
    history : list of (date, sheet name, overall)
        The Score History snapshots kept, oldest first, with the chosen account's overall in each (NaN when
        it has none; None when not read).
    inputs : ReviewInputs
    all_issues : list of DataIssue
        Every data issue, for the raw value of an unusable cell.
    name : str
        The sheet's name (another for the pages of ``chs-excel review --all``).

    Returns
    -------
    FormSheet
    """
    frame = scores.frame
    ids = pd.Index(frame[c.ACCOUNT_ID].astype(str))
    chosen = chosen_account(frame, inputs.selected)
    at = ids.get_loc(chosen) if chosen in ids else None
    row_of = frame.iloc[at] if at is not None else pd.Series(dtype=object)
    sc = _letters(frame)
    S = quoted_sheet(scores.name)
    first, last = scores.header_row + 1, scores.header_row + max(len(frame), 1)

    def scores_col(name: str) -> str:
        return f"{S}!${sc[name]}:${sc[name]}"

    def text_of(name: str) -> Formula:
        return Formula(f'IFERROR(INDEX({scores_col(name)},$J$3)&"","")', _text(row_of.get(name)))

    def number_of(name: str) -> Formula:
        ref = f"INDEX({scores_col(name)},$J$3)"
        return Formula(f'IFERROR(IF(ISNUMBER({ref}),{ref},""),"")', _number_or_blank(row_of.get(name)))

    page = _Page({}, [], {}, [])
    put = page.put
    red, amber = config.bands.red_below, config.bands.amber_below

    # Title, the choice and who the account is
    put("A1", "Account Review", TITLE)
    page.merged.append("A1:F1")
    put("G1", f"Scores as of {as_of.isoformat()}", Look(font="595959"))
    page.merged.append("G1:H1")
    put("A2", "Choose an Account ID in C3 (drop-down list): every figure on this page follows, in Excel with no "
              "Python running. chs-excel rewrites this page at each refresh and keeps your choice.", NOTE)
    page.merged.append("A2:H2")
    page.heights[2] = 26
    put("A3", "Account ID", LABEL)
    put("B3", "▶", Look(font="1F4E78", bold=True))
    put(CHOICE, chosen, CHOSEN)
    put("D3", Formula(f'IFERROR(INDEX({scores_col("Account name")},$J$3)&"","Not an account: choose one from the '
                      f'list in C3")', _text(row_of.get("Account name"))), NAME)
    page.merged.append("D3:H3")
    page.heights[3] = 20
    put("A4", "Segment", LABEL)
    put("B4", text_of("Segment"))
    put("D4", "Stage", LABEL)
    put("E4", text_of("Stage"))
    put("F4", "CSM", LABEL)
    put("G4", text_of("CSM"))
    page.merged += ["B4:C4", "G4:H4"]

    # Helper cells (hidden columns)
    put("J2", "helpers: rows found", LABEL)
    put("J3", Formula(f"MATCH($C$3,{S}!${sc[c.ACCOUNT_ID]}${first}:${sc[c.ACCOUNT_ID]}${last},0)+{first - 1}",
                      first + at if at is not None else CellError("#N/A")))
    acc_sheet = quoted_sheet(inputs.accounts_sheet)
    id_j = next((j for j, h in enumerate(inputs.header) if h.strip().casefold() == c.ACCOUNT_ID.casefold()), 0)
    id_col = column_letter(inputs.first_col + id_j)
    acc_ids = f"{acc_sheet}!${id_col}:${id_col}"
    acc_row = inputs.excel_rows.get(chosen)
    put("J4", Formula(f"IFERROR(MATCH($C$3,{acc_ids},0),IFERROR(MATCH(VALUE($C$3),{acc_ids},0),NA()))",
                      int(acc_row) if acc_row is not None else CellError("#N/A")))

    # Overall, band, change, coverage, status, benchmark, gap
    put("A6", "Overall", SECTION)
    for ref, label in (("B6", "Band"), ("C6", "Change"), ("D6", "Coverage"), ("E6", "Status"), ("G6", "Benchmark"),
                       ("H6", "Gap")):
        put(ref, label, SECTION)
    put("F6", "", SECTION)
    page.merged.append("E6:F6")
    put("A7", number_of("Overall"), BIG, "0")
    put("B7", text_of("Band"), Look(bold=True))
    put("C7", number_of("Change"), None, CHANGE_FORMAT)
    put("D7", number_of("Coverage"), None, "0%")
    put("E7", text_of("Status"), WRAPPED)
    page.merged.append("E7:F7")
    has_benchmark = "Benchmark" in sc
    benchmark = _number_or_blank(row_of.get("Benchmark")) if has_benchmark else ""
    put("G7", number_of("Benchmark") if has_benchmark else Formula('""', ""), None, "0")
    overall = _number_or_blank(row_of.get("Overall"))
    put("H7", Formula('IF(AND(ISNUMBER(A7),ISNUMBER(G7)),A7-G7,"")',
                      overall - benchmark if overall != "" and benchmark != "" else ""), Look(bold=True), "+0;-0;0")
    page.heights[7] = 24
    page.colours += [FormulaColour("A7", rule, BAND_LOOKS[band]) for band, rule in band_rules("A7", red, amber).items()]
    page.colours += [FormulaColour("B7", rule, BAND_LOOKS[band]) for band, rule in label_rules("B7").items()]
    page.colours += [FormulaColour("H7", 'AND(ISNUMBER(H7),H7<0)', BAND_LOOKS["Red"]),
                     FormulaColour("H7", 'AND(ISNUMBER(H7),H7>=0)', BAND_LOOKS["Green"])]

    # Categories (left) and the score history with its chart (right)
    top = 9
    put(f"A{top}", "Categories", SECTION)
    put(f"B{top}", "", SECTION)
    put(f"C{top}", "", SECTION)
    put(f"E{top}", "Score history", SECTION)
    for col in "FGH":
        put(f"{col}{top}", "", SECTION)
    put(f"A{top + 1}", "Category", HEADING)
    put(f"B{top + 1}", "Score", HEADING)
    put(f"C{top + 1}", "Points lost", HEADING)
    put(f"E{top + 1}", "Snapshot", HEADING)
    put(f"F{top + 1}", "Overall", HEADING)
    cats = list(config.categories)
    metrics = list(config.metrics)
    cat_rows = {cat.name: top + 2 + k for k, cat in enumerate(cats)}
    history = history[-HISTORY_POINTS:]
    metric_top = top + 3 + max(len(cats), len(history), 8)  # the metrics' section row
    metric_rows = {m.name: metric_top + 2 + k for k, m in enumerate(metrics)}
    m1, mN = metric_top + 2, metric_top + 1 + max(len(metrics), 1)
    c1, cN = top + 2, top + 1 + max(len(cats), 1)

    # Python's values for the chosen account, from the same Scores row the formulas read
    shown = {m.name: _number_or_blank(row_of.get(m.name)) for m in metrics}
    present = {name: v != "" for name, v in shown.items()}
    cat_present = {cat.name: sum(m.weight for m in metrics if m.category == cat.name and present[m.name])
                   for cat in cats}
    cat_on = {cat.name: cat.weight if cat_present[cat.name] > 0 else 0.0 for cat in cats}
    total_on = sum(cat_on.values())
    lost = {}
    for m in metrics:
        if present[m.name] and total_on > 0 and cat_present[m.category] > 0:
            lost[m.name] = cat_on[m.category] / total_on * m.weight / cat_present[m.category] * (100 - shown[m.name])
        else:
            lost[m.name] = 0.0

    put("J8", Formula(f"SUM($L${c1}:$L${cN})", total_on))
    put(f"J{top + 1}", "weight", LABEL)
    put(f"K{top + 1}", "weight scored", LABEL)
    put(f"L{top + 1}", "in the roll-up", LABEL)
    for cat in cats:
        r = cat_rows[cat.name]
        put(f"A{r}", cat.name)
        put(f"B{r}", number_of(cat.name), Look(bold=True), "0")
        put(f"C{r}", Formula(f"SUMPRODUCT(($B${m1}:$B${mN}=A{r})*$P${m1}:$P${mN})",
                             sum(lost[m.name] for m in metrics if m.category == cat.name)), None, POINTS)
        put(f"J{r}", cat.weight)
        put(f"K{r}", Formula(f"SUMPRODUCT(($B${m1}:$B${mN}=A{r})*$J${m1}:$J${mN}*$L${m1}:$L${mN})",
                             cat_present[cat.name]))
        put(f"L{r}", Formula(f"IF(K{r}>0,J{r},0)", cat_on[cat.name]))
        page.colours += [FormulaColour(f"B{r}", rule, BAND_LOOKS[band])
                         for band, rule in band_rules(f"B{r}", cat.bands.red_below, cat.bands.amber_below).items()]

    first_h = top + 2
    for k, (day, sheet, value) in enumerate(history):
        r = first_h + k
        put(f"E{r}", day.isoformat())  # text: the chart's axis shows it as written
        snap = quoted_sheet(sheet)
        cached = None if value is None else (CellError("#N/A") if _blank(value) else float(value))
        put(f"F{r}", Formula(f"INDEX({snap}!$B:$B,MATCH($C$3,{snap}!$A:$A,0))", cached), None, "0")
        page.colours.append(FormulaColour(f"F{r}", f"ISNA(F{r})", NA_HIDDEN))
    if history:
        last_h = first_h + len(history) - 1
        here = quoted_sheet(name)
        charts = [LineChart("Overall score", f"{here}!$E${first_h}:$E${last_h}", f"{here}!$F${first_h}:$F${last_h}",
                            f"G{top + 1}", columns=2, rows=max(len(cats), len(history), 8) + 1,
                            series_name="Overall", value_min=0, value_max=100)]  # the whole scale: no drama
    else:
        charts = []

    # Metrics
    put(f"A{metric_top}", "Metrics", SECTION)
    for col in "BCDEFGH":
        put(f"{col}{metric_top}", "", SECTION)
    for col, label in zip("ABCDEFG", ("Metric", "Category", "Value", "Score", "Points lost", "Measure", "Source")):
        put(f"{col}{metric_top + 1}", label, HEADING)
    put(f"H{metric_top + 1}", "", HEADING)
    for col, label in zip("JLMNOP", ("weight", "scored", "category weight scored", "category in roll-up",
                                     "", "points lost")):
        put(f"{col}{metric_top + 1}", label, LABEL)
    values = inputs.values
    value_row = values.loc[chosen] if chosen in values.index else pd.Series(dtype=object)
    bad_cells = {issue.cell: issue.value for issue in all_issues}
    header = {h.strip().casefold(): j for j, h in enumerate(inputs.header)}

    def source_ref(column: str | None) -> tuple[str, str] | None:
        if not column or column.strip().casefold() not in header:
            return None
        letter = column_letter(inputs.first_col + header[column.strip().casefold()])
        return f"INDEX({acc_sheet}!${letter}:${letter},$J$4)", letter

    def raw(column: str | None):
        if column is None or column not in value_row.index:
            return ""
        found = source_ref(column)
        if found is not None and acc_row is not None:
            cell = f"{inputs.accounts_sheet}!{found[1]}{int(acc_row)}"
            if cell in bad_cells:
                return bad_cells[cell] if bad_cells[cell] is not None else ""
        value = value_row[column]
        return "" if _blank(value) else (float(value) if isinstance(value, (int, float, np.number)) else str(value))

    for m in metrics:
        r = metric_rows[m.name]
        put(f"A{r}", m.name, WRAPPED)
        put(f"B{r}", m.category)
        numerator = source_ref(m.source)
        if m.from_history:  # a trend, or the latest entry logged: its value is not on the accounts sheet
            put(f"C{r}", "see Metric History", NOTE)
        elif m.measure == "ratio" and numerator is not None and source_ref(m.source2) is not None:
            top_v, bottom_v = raw(m.source), raw(m.source2)
            try:
                ratio = float(top_v) / float(bottom_v)
            except (TypeError, ValueError, ZeroDivisionError):
                ratio = ""
            put(f"C{r}", Formula(f'IFERROR({numerator[0]}/{source_ref(m.source2)[0]},"")', ratio), None, "0%")
        elif numerator is not None:
            put(f"C{r}", Formula(f'IFERROR(IF(ISBLANK({numerator[0]}),"",{numerator[0]}),"")', raw(m.source)), None,
                "General")
        else:
            put(f"C{r}", "")
        put(f"D{r}", number_of(m.name), Look(bold=True), "0")
        put(f"E{r}", Formula(f'IF(L{r}=1,P{r},"")', lost[m.name] if present[m.name] else ""), None, POINTS)
        put(f"F{r}", m.measure)
        put(f"G{r}", ", ".join(s for s in (m.source, m.source2) if s), WRAPPED)
        page.merged.append(f"G{r}:H{r}")
        put(f"J{r}", m.weight)
        put(f"L{r}", Formula(f"IF(ISNUMBER(D{r}),1,0)", 1 if present[m.name] else 0))
        put(f"M{r}", Formula(f"SUMPRODUCT(($B${m1}:$B${mN}=B{r})*$J${m1}:$J${mN}*$L${m1}:$L${mN})",
                             cat_present[m.category]))
        put(f"N{r}", Formula(f"INDEX($L${c1}:$L${cN},MATCH(B{r},$A${c1}:$A${cN},0))", cat_on[m.category]))
        put(f"P{r}", Formula(f"IFERROR(IF(L{r}=1,N{r}/$J$8*J{r}/M{r}*(100-D{r}),0),0)", lost[m.name]))
        page.colours += [FormulaColour(f"D{r}", rule, BAND_LOOKS[band])
                         for band, rule in band_rules(f"D{r}", m.bands.red_below, m.bands.amber_below).items()]
        if len(m.name) > WIDTHS["A"]:
            page.heights[r] = 15 * math.ceil(len(m.name) * 1.1 / WIDTHS["A"])

    # Why, and what to do
    r = mN + 2
    put(f"A{r}", "Why and what to do", SECTION)
    for col in "BCDEFGH":
        put(f"{col}{r}", "", SECTION)
    r += 1
    page.text_row(r, "Costing most points", text_of("Drivers"), _lines(frame.get("Drivers", []), TEXT_WIDTH))
    r += 1
    if "Missing data" in sc:
        page.text_row(r, "Missing data", text_of("Missing data"), _lines(frame["Missing data"], TEXT_WIDTH))
        r += 1

    # The playbook: from Benchmark Gap (accounts below their benchmark), its link from the Playbooks sheet
    gf = gap.frame
    gl = _letters(gf)
    G = quoted_sheet(gap.name)
    g_first, g_last = gap.header_row + 1, gap.header_row + max(len(gf), 1)
    gap_ids = pd.Index(gf[c.ACCOUNT_ID].astype(str)) if c.ACCOUNT_ID in gf else pd.Index([])
    g_at = gap_ids.get_loc(chosen) if chosen in gap_ids else None
    gap_row = gf.iloc[g_at] if g_at is not None else pd.Series(dtype=object)
    gid = gl.get(c.ACCOUNT_ID, "A")
    put("J5", Formula(f"IFERROR(MATCH($C$3,{G}!${gid}${g_first}:${gid}${g_last},0)+{g_first - 1},0)",
                      g_first + g_at if g_at is not None else 0))

    def gap_text(name: str) -> Formula:
        if name not in gl:
            return Formula('""', "")
        return Formula(f'IF($J$5=0,"",INDEX({G}!${gl[name]}:${gl[name]},$J$5)&"")', _text(gap_row.get(name)))

    book_name = _text(gap_row.get("Playbook"))
    link, book_row = "", 0
    pb_cells = None
    if inputs.playbooks is not None:
        pb_sheet, pb_header_row, pb_first, pb_header = inputs.playbooks
        folded = [h.strip().casefold() for h in pb_header]
        name_j = folded.index("playbook") if "playbook" in folded else None
        link_j = folded.index("link") if "link" in folded else None
        if name_j is not None:
            P = quoted_sheet(pb_sheet)
            name_col = column_letter(pb_first + name_j)
            book = next((b for b in config.playbooks if b.name == book_name), None) if book_name else None
            try:
                book_row = cell_position(book.location.rsplit("!", 1)[-1])[0] if book is not None else 0
            except ValueError:
                book_row = 0
            home = f"#{P}!{name_col}"  # the playbook's own row, when it has no link of its own
            link = (book.link if book is not None else "") or (f"{home}{book_row}" if book_row else "")
            pb_cells = (P, name_col, column_letter(pb_first + link_j) if link_j is not None else None, home)
    if pb_cells is not None:
        P, name_col, link_col, home = pb_cells
        name_ref = f"INDEX({G}!${gl['Playbook']}:${gl['Playbook']},$J$5)" if "Playbook" in gl else '""'
        put("J6", Formula(f'IF($J$5=0,0,IFERROR(MATCH({name_ref},{P}!${name_col}:${name_col},0),0))', book_row))
        own = f'INDEX({P}!${link_col}:${link_col},$J$6)&""' if link_col else '""'
        put("J7", Formula(f'IF($J$6=0,"",IF({own}="",{formula_text(home)}&$J$6,{own}))', link))
    else:
        put("J6", 0)
        put("J7", "")
    put("K6", "playbook row")
    put("K7", "its link")
    # 1: a web or mail link, 2: a place in this workbook, 0: not linked (anything else is shown, never followed)
    external = 'AND(OR(LEFT($J$7,8)="https://",LEFT($J$7,7)="http://",LEFT($J$7,7)="mailto:"),' \
               'ISERROR(FIND(" ",$J$7)),ISERROR(FIND(CHAR(34),$J$7)))'
    put("O4", Formula('IF(LEFT($J$7,1)="#",MID($J$7,2,300),$J$7)', link[1:] if link.startswith("#") else link))
    put("P4", "place")
    put("O5", Formula(f'IF($J$7="",0,IF({external},1,IFERROR(IF(ISREF(INDIRECT($O$4)),2,0),0)))',
                       _link_kind(link)))
    put("P5", "link kind")
    if book_name:
        book_cached = book_name
    elif g_at is not None:
        book_cached = "No playbook matches this account (see the Playbooks sheet)"
    elif benchmark == "":
        book_cached = "No benchmark for its segment and stage: add one on the Benchmarks sheet"
    else:
        book_cached = "At or above its benchmark: no playbook needed"
    name_f = f'INDEX({G}!${gl["Playbook"]}:${gl["Playbook"]},$J$5)&""' if "Playbook" in gl else '""'
    playbook = Formula(
        f'IF($J$5=0,IF(ISNUMBER($G$7),"At or above its benchmark: no playbook needed",'
        f'"No benchmark for its segment and stage: add one on the Benchmarks sheet"),'
        f'IF({name_f}="","No playbook matches this account (see the Playbooks sheet)",'
        f'IF($O$5=1,HYPERLINK($J$7,{name_f}),IF($O$5=2,HYPERLINK("#"&$O$4,{name_f}),{name_f}))))', book_cached)
    page.text_row(r, "Playbook", playbook, 1, LINK if book_name else WRAPPED)
    r += 1
    actions = gf["Actions"] if "Actions" in gf else []
    page.text_row(r, "Actions", gap_text("Actions"), _lines(actions, TEXT_WIDTH))
    r += 1
    page.text_row(r, "Owner", gap_text("Owner"))
    r += 1
    page.text_row(r, "Override", text_of("Override"), _lines(frame.get("Override", []), TEXT_WIDTH))
    r += 1
    if "Rule" in sc:
        page.text_row(r, "Rule", text_of("Rule"), _lines(frame["Rule"], TEXT_WIDTH))
        r += 1

    # Data issues on the account's row of the accounts sheet
    r += 1
    put(f"A{r}", "Data issues", SECTION)
    for col in "BCDEFGH":
        put(f"{col}{r}", "", SECTION)
    r += 1
    issue_frame = issues.frame
    il = _letters(issue_frame)
    D = quoted_sheet(issues.name)
    i_first, i_last = issues.header_row + 1, issues.header_row + max(len(issue_frame), 1)
    put("O3", inputs.accounts_sheet)
    put("P3", "accounts sheet")
    sheet_rng = f"{D}!${il['Sheet']}${i_first}:${il['Sheet']}${i_last}"
    row_rng = f"{D}!${il['Row']}${i_first}:${il['Row']}${i_last}"
    hit = f"({sheet_rng}=$O$3)*({row_rng}=$J$4)"
    sheets_col = issue_frame["Sheet"].astype(str).str.strip().str.casefold().to_numpy()
    rows_col = pd.to_numeric(issue_frame["Row"], errors="coerce").to_numpy(dtype=float)
    mine = np.flatnonzero((sheets_col == inputs.accounts_sheet.strip().casefold()) & (rows_col == acc_row)) \
        if acc_row is not None else np.array([], dtype=int)
    count_f = Formula(f"IFERROR(SUMPRODUCT({hit}),0)", int(len(mine)))
    put(f"A{r}", f"On its {inputs.accounts_sheet} row", WRAPPED)
    put(f"B{r}", count_f, Look(bold=True), "0")
    put(f"C{r}", Formula(f'IF(B{r}>{ISSUES_LISTED},"(the first {ISSUES_LISTED} below; all on the Data Issues sheet)",'
                         f'IF(B{r}=0,"none","(also on the Data Issues sheet)"))',
                         f"(the first {ISSUES_LISTED} below; all on the Data Issues sheet)" if len(mine) > ISSUES_LISTED
                         else "none" if not len(mine) else "(also on the Data Issues sheet)"), NOTE)
    page.merged.append(f"C{r}:H{r}")
    issue_width = TEXT_WIDTH
    for k in range(ISSUES_LISTED):
        r += 1
        found = f"SUMPRODUCT(SMALL({hit}*ROW({sheet_rng})+(1-{hit})*{NOT_LISTED},{k + 1}))"
        put(f"J{r}", Formula(f"IFERROR({found},{NOT_LISTED})", i_first + int(mine[k]) if k < len(mine) else NOT_LISTED))
        parts = [f'INDEX({D}!${il[name]}:${il[name]},$J${r})&""' for name in ("Cell", "Column", "Value", "Problem")]
        text = f'{parts[0]}&" "&{parts[1]}&" ("&{parts[2]}&"): "&{parts[3]}'
        cached = ""
        if k < len(mine):
            line = issue_frame.iloc[int(mine[k])]
            cached = f"{_text(line['Cell'])} {_text(line['Column'])} ({_text(line['Value'])}): {_text(line['Problem'])}"
        put(f"B{r}", Formula(f'IF($J${r}>={NOT_LISTED},"",{text})', cached), WRAPPED)
        page.merged.append(f"B{r}:H{r}")
        widest = issue_frame["Problem"].astype(str).str.len().max() if len(issue_frame) else 0
        if widest + 40 > issue_width:
            page.heights[r] = 15 * math.ceil((widest + 40) * 1.1 / issue_width)
    last_row = r + 1
    put(f"A{last_row}", f"Written by chs-excel on refresh; the scores are as of {as_of.isoformat()}.", NOTE)
    page.merged.append(f"A{last_row}:H{last_row}")

    validation = ListValidation(CHOICE, f"{S}!${sc[c.ACCOUNT_ID]}${first}:${sc[c.ACCOUNT_ID]}${last}",
                                "Choose an account: the page follows")
    return FormSheet(name, page.cells, widths=dict(WIDTHS) | {k: 10 for k in HIDDEN},
                     heights=page.heights, merged=page.merged, validations=[validation], colours=page.colours,
                     charts=charts, page=PageSetup(landscape=False, fit_width=1, fit_height=1,
                                                   print_area=f"A1:H{last_row}"),
                     hidden_columns=HIDDEN, gridlines=False)


def _link_kind(link: str) -> int:
    """What the O5 formula gives for ``link``: 1 a web or mail link, 2 a place in the workbook, 0 neither."""
    kind = link_kind(link[1:] if link.startswith("#") else link) if link else ""
    return {"external": 1, "place": 2}.get(kind, 0)
