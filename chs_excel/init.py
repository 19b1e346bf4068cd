"""``chs-excel init BOOK``: add the input sheets to a workbook a team already has.

Each input sheet (Instructions, Settings, Categories, Metrics, Accounts, Metric History, Overrides, Benchmarks,
Playbooks) is added only when the workbook has no sheet of that name (case ignored). The sheets are described as
:class:`~chs_excel.book.table.OutputSheet` from the same example data the template is made of
(:func:`chs_excel.demo.template.example_sheets`) and written by the same part-level writer as a refresh
(:class:`~chs_excel.files.writer.PackageBookWriter`): every part of the workbook is copied byte for byte
except the registry parts a new sheet is listed in, and the file is replaced in one step.

chs-excel never writes these sheets again: a refresh writes only ``contract.OUTPUT_SHEETS``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from chs_excel import contract as c
from chs_excel.book.table import OutputSheet
from chs_excel.problems import BookError
from chs_excel.demo.template import ACCOUNTS_SHEET_SETTING, AS_OF, INSTRUCTIONS, METRICS, example_sheets

INIT_SHEETS = (c.INSTRUCTIONS, c.SETTINGS, c.CATEGORIES, c.METRICS, c.ACCOUNTS, c.HISTORY, c.OVERRIDES, c.BENCHMARKS,
               c.PLAYBOOKS, c.RULES)
SUFFIXES = (".xlsx", ".xlsm")
STYLES = {"title": "title", "heading": "header"}


@dataclass
class InitResult:
    book: Path
    added: list[str]
    present: list[str]                      # input sheets the workbook already had (as it spells them)
    accounts_sheet: str | None = None       # the user's sheet read as Accounts
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        name = self.book.name
        if not self.added:
            return [f"{name} already has every input sheet chs-excel uses ({', '.join(self.present)}); "
                    f"nothing was added.", *self.notes]
        out = [f"Added {len(self.added)} sheet(s) to {name}: {', '.join(self.added)}."]
        if self.present:
            out.append(f"Left as they were: {', '.join(self.present)}.")
        if self.accounts_sheet:
            out.append(f"Accounts are read from your sheet '{self.accounts_sheet}' "
                       f"(Settings: {ACCOUNTS_SHEET_SETTING}); chs-excel never writes it.")
        out += self.notes
        out.append(f"Next: chs-excel refresh {name}")
        return out


def _frame(headers: list[str], rows: list[list]) -> pd.DataFrame:
    return pd.DataFrame([list(row) + [None] * (len(headers) - len(row)) for row in rows], columns=headers, dtype=object)


def instructions_sheet(accounts_sheet: str | None = None) -> OutputSheet:
    """The template's Instructions, as lines above an empty table."""
    lines = list(INSTRUCTIONS)
    if accounts_sheet:
        at = next(i for i, (text, _) in enumerate(lines) if text.startswith("Accounts:")) + 1
        lines.insert(at, (f"   In this workbook the accounts are on your sheet '{accounts_sheet}' (Settings: "
                          f"{ACCOUNTS_SHEET_SETTING}); chs-excel only reads it.", None))
    styles = {r: STYLES[style] for r, (_, style) in enumerate(lines, start=1) if style}
    return OutputSheet(c.INSTRUCTIONS, pd.DataFrame(columns=[""]), widths={"": 120}, freeze="A1",
                       preamble=[[text] for text, _ in lines], row_styles=styles)


def input_sheets(example: bool = False, accounts_sheet: str | None = None) -> list[OutputSheet]:
    """Every sheet ``init`` may add, in order. ``example``: the 60 sample accounts with their history and overrides,
    and the template's as-of date so they score as in the template (else the as-of date is blank: today)."""
    sheets = [instructions_sheet(accounts_sheet)]
    for spec in example_sheets(as_of=AS_OF if example else None, sample=example, accounts_sheet=accounts_sheet):
        rows = [list(row) for row in spec.rows]
        if spec.name == c.SETTINGS:  # one number format per column here: the date goes in as ISO text
            rows = [[s, v.isoformat() if isinstance(v, dt.date) else v, m] for s, v, m in rows]
        sheets.append(OutputSheet(spec.name, _frame(spec.headers, rows), number_formats=dict(spec.column_formats),
                                  widths=dict(spec.widths)))
    return sheets


def _refuse(book: Path, why: str) -> BookError:
    return BookError(f"{why}. {book.name} was not changed.")


def init_file(book: str | Path, *, example: bool = False, accounts: str | None = None,
              backup: bool = False) -> InitResult:
    """Add the missing input sheets to ``book`` in place; raise :class:`BookError` (file untouched) when it cannot."""
    from chs_excel.files.reader import FileBookReader
    from chs_excel.pipeline import accounts_sheet_setting
    from chs_excel.files.writer import PackageBookWriter

    book = Path(book)
    if book.suffix.lower() not in SUFFIXES:
        raise _refuse(book, f"{book.name} is not an .xlsx or .xlsm workbook (init adds sheets to those only)")
    if not book.is_file():
        raise BookError(f"{book}: no such file")
    with FileBookReader(book) as reader:
        names = reader.sheet_names()
        existing = {name.strip().casefold(): name for name in names}
        present = [existing[s.casefold()] for s in INIT_SHEETS if s.casefold() in existing]
        missing = [s for s in INIT_SHEETS if s.casefold() not in existing]
        notes: list[str] = []
        setting = None  # the Settings row to write, when the accounts are on a sheet of the user's
        user_sheet = None
        if accounts is not None:
            user_sheet = existing.get(accounts.strip().casefold())
            if user_sheet is None:
                raise _refuse(book, f"{book.name} has no sheet named '{accounts}' (its sheets: {', '.join(names)})")
            own = {s.casefold() for s in INIT_SHEETS + c.INPUT_SHEETS + c.OWNED_SHEETS} - {c.ACCOUNTS.casefold()}
            if user_sheet.strip().casefold() in own:
                raise _refuse(book, f"'{user_sheet}' is one of chs-excel's own sheets; --accounts names the sheet that "
                                    f"holds your accounts")
            if user_sheet.strip().casefold() != c.ACCOUNTS.casefold():
                setting = user_sheet
                missing = [s for s in missing if s != c.ACCOUNTS]
                if c.SETTINGS.casefold() in existing:
                    current = accounts_sheet_setting(reader.read_table(existing[c.SETTINGS.casefold()]))
                    if (current or "").casefold() != user_sheet.strip().casefold():
                        raise _refuse(book, f"{book.name} already has a Settings sheet and chs-excel does not rewrite "
                                            f"it: add a row with Setting '{ACCOUNTS_SHEET_SETTING}' and Value "
                                            f"'{user_sheet}' to it by hand, then run init again")
            notes += _accounts_notes(reader.read_table(user_sheet), adding_metrics=c.METRICS in missing)
        elif c.SETTINGS.casefold() in existing and c.ACCOUNTS in missing:
            current = accounts_sheet_setting(reader.read_table(existing[c.SETTINGS.casefold()]))
            if current and current.casefold() != c.ACCOUNTS.casefold():  # Settings already points at the user's sheet
                missing = [s for s in missing if s != c.ACCOUNTS]
                notes.append(f"Accounts are read from the sheet '{current}' (Settings: {ACCOUNTS_SHEET_SETTING}).")
        if accounts is None and example and c.ACCOUNTS not in missing:
            notes.append(f"{book.name} already has its accounts sheet, so the sample accounts, history and overrides "
                         f"were not added.")
        if c.METRICS.casefold() not in existing:
            mine = [existing[s.casefold()] for s in c.OWNED_SHEETS if s.casefold() in existing]
            if mine:
                notes.append(f"Note: refresh replaces the sheet(s) {', '.join(mine)}: chs-excel writes its results "
                             f"there. Rename yours first to keep them.")
    if not missing:
        return InitResult(book, [], present, setting, notes)
    sample = example and c.ACCOUNTS in missing
    sheets = [s for s in input_sheets(sample, setting) if s.name in missing]
    PackageBookWriter(book, book, backup=backup).write(sheets)
    return InitResult(book, [s.name for s in sheets], present, setting, notes)


def _accounts_notes(table, adding_metrics: bool) -> list[str]:
    """What the user's accounts sheet lacks for a refresh: an Account ID column, the example metrics' sources."""
    notes = []
    if table.find(c.ACCOUNT_ID) is None:
        notes.append(f"Sheet '{table.sheet}' has no '{c.ACCOUNT_ID}' column in its header row: add one (one unique ID "
                     f"per account) before refreshing.")
    if adding_metrics:
        sources = []
        for m in METRICS:
            if m[3] == "trend":
                continue
            sources += [s for s in (m[4], m[5]) if s and s not in sources]
        absent = [s for s in sources if table.find(s) is None]
        if absent:
            notes.append(f"The example Metrics read columns '{table.sheet}' does not have ({', '.join(absent)}): "
                         f"before refreshing, change the Source and Source 2 cells on Metrics to name your columns.")
    return notes
