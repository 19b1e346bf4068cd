"""The sheets chs-excel writes, each described as an :class:`~chs_excel.book.table.OutputSheet` (no Excel library)."""
