"""A part-level .xlsx/.xlsm writer: chs-excel's own sheets are written as XML and swapped into
the existing zip package; every other part is copied byte for byte (charts, pictures, shapes,
pivot tables, comments, VBA, cached formula values, ...)."""
