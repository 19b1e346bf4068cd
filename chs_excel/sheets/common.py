"""What several output sheets share: the account label columns, figures as cells, sections under a table."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chs_excel import contract as c


def account_labels(labels: pd.DataFrame, index: pd.Index) -> dict[str, np.ndarray]:
    """The Accounts columns after the ID (name, segment, stage, CSM) for ``index``, '' where a column is absent."""
    return {col: (labels[col].reindex(index).to_numpy() if col in labels else np.full(len(index), "", dtype=object))
            for col in c.ACCOUNT_COLUMNS[1:]}


def rounded_figure(value, digits: int = 3) -> float | None:
    """A figure for a cell, rounded to ``digits`` decimals; None (a blank cell) when it is undefined."""
    return None if value is None or pd.isna(value) else round(float(value), digits)


def percent(value) -> float | None:
    """A share as a percentage to 0.1: sections under a table hold plain numbers, not percent-formatted ones."""
    return rounded_figure(None if value is None or pd.isna(value) else 100 * float(value), 1)


@dataclass
class Sections:
    """Rows written under a sheet's table: sections of a title, a header row and rows, a blank row after each.

    ``rows`` becomes :attr:`OutputSheet.postscript`; :meth:`styles` the titles' and headers' row styles.
    """

    rows: list[list] = field(default_factory=list)
    titles: list[int] = field(default_factory=list)  # positions within ``rows``
    headers: list[int] = field(default_factory=list)

    def add(self, title: str, header: list, body: list[list], notes: tuple[str, ...] = ()) -> None:
        self.titles.append(len(self.rows))
        self.rows.append([title])
        self.headers.append(len(self.rows))
        self.rows.append(header)
        self.rows.extend(body)
        self.rows.extend([note] for note in notes)
        self.rows.append([])

    def styles(self, first_row: int) -> dict[int, str]:
        """Excel row -> "title" or "header", with the sections starting at Excel row ``first_row``."""
        return {**{first_row + k: "title" for k in self.titles}, **{first_row + k: "header" for k in self.headers}}
