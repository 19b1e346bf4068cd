"""Tables straight from row lists, the way a reader hands them over (no file in between)."""
from chs_excel.book.table import table_from_grid


def tables_from_rows(sheets: dict) -> dict:
    return {name: table_from_grid(name, [list(r) for r in rows]) for name, rows in sheets.items()}
