"""The sheets chs-excel writes, each described as an :class:`~chs_excel.book.table.OutputSheet` (no Excel library).

One module per sheet: ``scores``, ``gap`` (Benchmark Gap), ``distribution``, ``score_history`` and
``data_issues``, assembled for a refresh by ``report``; ``backtest`` writes the Validation sheet.
"""
