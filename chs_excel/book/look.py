"""How chs-excel's sheets look, for both writers (the file writer and the live xlwings writer).

Colours are ``RRGGBB`` hex text; each writer spells them as its library wants
(``FFRRGGBB`` in styles.xml, ``#RRGGBB`` or an RGB tuple in xlwings). A banded
cell is filled by its band when written, and also gets conditional-format
rules, so its colour follows when someone edits the value in Excel.
"""
from __future__ import annotations

from dataclasses import dataclass

from chs_excel import contract as c


@dataclass(frozen=True)
class Look:
    """The fill and font of a kind of cell; ``None`` keeps the workbook's default."""

    fill: str | None = None
    font: str | None = None
    bold: bool = False
    size: float = 11
    underline: bool = False
    wrap: bool = False


BAND_LOOKS = {"Red": Look(fill="FFC7CE", font="9C0006"), "Amber": Look(fill="FFEB9C", font="9C5700"),
              "Green": Look(fill="C6EFCE", font="006100")}
HEADER = Look(fill="1F4E78", font="FFFFFF", bold=True, wrap=True)
TITLE = Look(bold=True, size=14)
LINK = Look(font="0563C1", underline=True)


def band_rules(cell: str, red_below: float, amber_below: float) -> dict[str, str]:
    """Conditional-format formulas (without the leading '=') that colour ``cell`` by its band; blanks stay blank."""
    return {"Red": f"AND(ISNUMBER({cell}),{cell}<{red_below:g})",
            "Amber": f"AND(ISNUMBER({cell}),{cell}>={red_below:g},{cell}<{amber_below:g})",
            "Green": f"AND(ISNUMBER({cell}),{cell}>={amber_below:g})"}


def label_rules(cell: str) -> dict[str, str]:
    """Conditional-format formulas that colour a cell holding the band's name."""
    return {band: f'{cell}="{band}"' for band in c.BANDS}


def rules_for(cut_points: tuple[float, float] | None, cell: str) -> dict[str, str]:
    """The rules of a banded column whose first data cell is ``cell``.

    Parameters
    ----------
    cut_points : tuple of float, optional
        ``(red_below, amber_below)`` for a column of scores; ``None`` for a
        column holding band names.
    cell : str
        The column's first data cell, e.g. ``"F2"``; Excel shifts it down the column.

    Returns
    -------
    dict of str to str
        Band name -> formula, in the order the rules are added (Red, Amber, Green).
    """
    return band_rules(cell, *cut_points) if cut_points is not None else label_rules(cell)
