"""The workbook file on disk: reading it, and rewriting only chs-excel's own parts of its zip package."""
