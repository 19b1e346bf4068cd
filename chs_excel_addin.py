"""Entry point of the classic "Health Score" ribbon add-in (chs_excel_addin.xlam).

The add-in's VBA (xlwings' own ribbon template) runs
``import chs_excel_addin; chs_excel_addin.main()`` through RunPython: the
module is named after the add-in file.
"""


def main():
    import xlwings as xw

    from chs_excel.excel import refresh_workbook

    refresh_workbook(xw.Book.caller())
