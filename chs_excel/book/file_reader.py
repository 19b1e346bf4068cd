"""Read a workbook file: python-calamine for speed, the raw XML only to find error cells."""
from __future__ import annotations

from pathlib import Path

import python_calamine

from chs_excel.book.package import error_cells, hidden_rows, open_package, sheet_parts
from chs_excel.book.table import Table, column_letter, table_from_grid
from chs_excel.problems import BookError


class FileBookReader:
    """:class:`~chs_excel.book.table.BookReader` over an .xlsx/.xlsm file on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._package = open_package(self.path)
        try:
            self._parts = sheet_parts(self._package)
            self._book = python_calamine.CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine and the XML parser raise their own types
            self._package.close()
            raise BookError(f"{self.path.name} cannot be read: {exc}") from exc

    def close(self) -> None:
        self._package.close()
        if hasattr(self._book, "close"):  # python-calamine >= 0.3 holds the file open until closed
            self._book.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sheet_names(self) -> list[str]:
        return list(self._book.sheet_names)

    def read_table(self, sheet: str) -> Table:
        """The sheet's first non-blank row is its header; rows under it are data."""
        try:
            calamine_sheet = self._book.get_sheet_by_name(sheet)
            grid = calamine_sheet.to_python(skip_empty_area=False)
            merged = calamine_sheet.merged_cell_ranges or []
        except Exception as exc:
            raise BookError(f'sheet "{sheet}" of {self.path.name} cannot be read: {exc}') from exc
        part = self._parts.get(sheet)
        if part:
            for (r, col), err in error_cells(self._package, part).items():
                if r - 1 < len(grid):
                    row = grid[r - 1]
                    if col - 1 >= len(row):
                        row.extend([""] * (col - len(row)))
                    row[col - 1] = err
        table = table_from_grid(sheet, grid)
        table.merged = [f"{column_letter(c0 + 1)}{r0 + 1}:{column_letter(c1 + 1)}{r1 + 1}" for (r0, c0), (r1, c1) in merged]
        table.hidden_rows = hidden_rows(self._package, part) if part else []
        return table
