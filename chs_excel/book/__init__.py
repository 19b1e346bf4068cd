"""The edge between chs-excel and a workbook: tables in, output sheets out.

The engine and report code only ever see :class:`Table` and
:class:`OutputSheet`; a file on disk and a live Excel book are two
implementations of :class:`BookReader` / :class:`BookWriter`.
"""
from chs_excel.book.table import BookReader, BookWriter, OutputSheet, Table

__all__ = ["BookReader", "BookWriter", "OutputSheet", "Table"]
