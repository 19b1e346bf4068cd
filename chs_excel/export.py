"""``chs-excel export``: the scores as a file a CRM imports, one row per account (CSV or JSON).

The book is scored exactly as a refresh scores it (:func:`chs_excel.pipeline.prepare`, then
:func:`chs_excel.sheets.report.build_report`), and nothing is written to it. Every value is the one the Scores
sheet shows (whole numbers, the shown band, the same change and override notes); the benchmark and playbook come
from :mod:`chs_excel.analysis.targets` as on the Benchmark Gap sheet, but for every account.

* CSV: UTF-8 with a byte order mark (so Excel reads it as UTF-8), RFC 4180 quoting, ISO dates, empty cells for
  missing values. A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return) gets a leading ``'`` (OWASP's advice on CSV injection); numbers stay numbers.
* JSON: ``{"as_of", "generated_by", "scorecard", "accounts"}`` with snake_case keys and null for missing values,
  as ``schemas/crm_export.schema.json`` describes; a sample of the accounts is checked against that schema
  before anything is written.

Columns and their CRM mapping: docs/crm_export.md.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from chs_excel import __version__
from chs_excel import contract as c
from chs_excel.analysis.targets import category_points, select_playbooks, top_names
from chs_excel.config.model import HealthConfig
from chs_excel.core.engine import ScoreResult
from chs_excel.core.explain import driver_text, points_lost
from chs_excel.problems import BookError

FORMATS = ("csv", "json")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP)
SCHEMA_FILE = "crm_export.schema.json"
SCHEMA_SAMPLE = 200  # accounts checked against the schema per export: the types are per column, not per row
LINK_SCHEMES = ("https:", "http:", "mailto:")  # a place in the workbook (Playbooks!A2) means nothing in a CRM
DRIVER_SEPARATOR = "; "
STATUS_SCORED = "scored"  # the Scores sheet leaves Status blank for these; a CRM import would skip a blank cell
STATUS_NO_DATA = "no data"


@dataclass(frozen=True)
class Field:
    """One column of the export: its CSV header, its JSON key and its kind ("text", "number" or "date")."""

    header: str
    key: str
    kind: str


FIELDS_BEFORE_CATEGORIES = (
    Field(c.ACCOUNT_ID, "account_id", "text"),
    Field("Account name", "account_name", "text"),
    Field("As-of date", "as_of_date", "date"),
    Field("Health score", "health_score", "number"),
    Field("Health band", "health_band", "text"),
    Field("Coverage", "coverage", "number"),
    Field("Status", "status", "text"),
)
FIELDS_AFTER_CATEGORIES = (
    Field("Change since last snapshot", "score_change", "number"),
    Field("Top drivers", "top_drivers", "text"),
    Field("Benchmark", "benchmark", "number"),
    Field("Benchmark gap", "benchmark_gap", "number"),
    Field("Playbook", "playbook", "text"),
    Field("Playbook link", "playbook_link", "text"),
    Field("Override", "override", "text"),
    Field("Rule", "rule", "text"),
)
CATEGORIES_KEY = "category_scores"  # JSON: the category scores as one object, {"Product": 72, ...}


def category_header(name: str) -> str:
    """The CSV column of a category's score: "Product score" ("Health category score" if that would repeat a
    fixed column such as "Health score")."""
    fixed = {f.header.casefold() for f in FIELDS_BEFORE_CATEGORIES + FIELDS_AFTER_CATEGORIES}
    header = f"{name} score"
    return f"{name} category score" if header.casefold() in fixed else header


@dataclass
class CrmTable:
    """The export, one row per account (the order of the Accounts sheet).

    Attributes
    ----------
    as_of : datetime.date
    config : HealthConfig
    frame : pandas.DataFrame
        One column per CSV header: numbers as float (NaN when missing), text as str ('' when missing).
    categories : list of str
        The category names, in the scorecard's order; their columns are :func:`category_header` of each.
    """

    as_of: dt.date
    config: HealthConfig
    frame: pd.DataFrame
    categories: list[str]

    @property
    def fields(self) -> list[Field]:
        """Every column in order, the categories' among them."""
        cats = [Field(category_header(name), name, "number") for name in self.categories]
        return list(FIELDS_BEFORE_CATEGORIES) + cats + list(FIELDS_AFTER_CATEGORIES)

    def __len__(self) -> int:
        return len(self.frame)


def _driver_text(lost: pd.DataFrame) -> pd.Series:
    """The Scores sheet's drivers ("Support engagement -18, Outreach -9") joined by "; " instead.

    The metrics are first renamed to tokens that hold no separator, so a metric whose name holds ", " cannot be
    split; each distinct text is then re-joined once.
    """
    tokens = [f"\x1f{k}\x1f" for k in range(lost.shape[1])]
    text = driver_text(lost.set_axis(tokens, axis=1))
    codes, distinct = pd.factorize(text)
    names = dict(zip(tokens, map(str, lost.columns)))

    def rejoin(one: str) -> str:
        parts = [part.split(" -", 1) for part in one.split(", ")] if one else []
        return DRIVER_SEPARATOR.join(f"{names[token]} -{points}" for token, points in parts)
    worded = np.array([rejoin(one) for one in distinct] + [""], dtype=object)
    return pd.Series(worded[codes], index=lost.index, dtype=object)  # code -1 (none) reads ""


def _rule_texts(result: ScoreResult, scores: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """The rule that fired for each account ('' when none): the Scores sheet's "Rule" column when it has one, else
    the engine's ``rules`` (a text per account), else none (an engine without rules)."""
    if "Rule" in scores.columns:
        return scores["Rule"].fillna("").to_numpy(dtype=object)
    rules = getattr(result, "rules", None)
    if isinstance(rules, pd.Series):
        return rules.reindex(index).fillna("").astype(str).to_numpy(dtype=object)
    return np.full(len(index), "", dtype=object)


def crm_table(config: HealthConfig, result: ScoreResult, scores_frame: pd.DataFrame, as_of: dt.date) -> CrmTable:
    """The export's rows, from the engine's result and the Scores sheet a refresh would write.

    Parameters
    ----------
    config : HealthConfig
    result : ScoreResult
    scores_frame : pandas.DataFrame
        The Scores sheet's table (:func:`chs_excel.sheets.scores.scores_sheet`): its shown values are exported.
    as_of : datetime.date

    Returns
    -------
    CrmTable
    """
    index = result.overall.index  # the accounts in the order of the Accounts sheet
    where = pd.Index(scores_frame[c.ACCOUNT_ID]).get_indexer(index)  # Scores is sorted by score: put it back
    scores = scores_frame.iloc[where].reset_index(drop=True)
    overall = scores["Overall"].to_numpy(dtype=float)
    band = pd.Series(scores["Band"].fillna("").to_numpy(dtype=object), index=index)
    stage = pd.Series(scores["Stage"].to_numpy(dtype=object), index=index)

    target = scores["Benchmark"].to_numpy(dtype=float)  # matched once by the refresh's report (NaN: none)
    lost = points_lost(config, result.metric_scores)
    playbook = select_playbooks(config, band, stage, top_names(category_points(config, lost)), top_names(lost))
    picks = playbook.to_numpy()  # -1 (none) picks the trailing ""
    names = np.array([p.name for p in config.playbooks] + [""], dtype=object)
    links = np.array([(p.link or "") if (p.link or "").strip().lower().startswith(LINK_SCHEMES) else ""
                      for p in config.playbooks] + [""], dtype=object)

    status = scores["Status"].fillna("").to_numpy(dtype=object, copy=True)
    blank = status == ""
    status[blank] = np.where(np.isnan(overall[blank]), STATUS_NO_DATA, STATUS_SCORED)

    columns = {
        c.ACCOUNT_ID: index.to_numpy(dtype=object),
        "Account name": scores["Account name"].fillna("").to_numpy(dtype=object),
        "As-of date": np.full(len(index), as_of.isoformat(), dtype=object),
        "Health score": overall,
        "Health band": band.to_numpy(),
        "Coverage": scores["Coverage"].to_numpy(dtype=float),
        "Status": status,
        **{category_header(cat.name): scores[cat.name].to_numpy(dtype=float) for cat in config.categories},
        "Change since last snapshot": scores["Change"].to_numpy(dtype=float),
        "Top drivers": _driver_text(lost).to_numpy(),
        "Benchmark": target,
        "Benchmark gap": np.round(overall - target, 4),  # 70 - 72.3 reads -2.3, not -2.299999999999997
        "Playbook": names[picks],
        "Playbook link": links[picks],
        "Override": scores["Override"].fillna("").to_numpy(dtype=object),
        "Rule": _rule_texts(result, scores, index),
    }
    return CrmTable(as_of, config, pd.DataFrame(columns), [cat.name for cat in config.categories])


# ---------------------------------------------------------------- cells as written


def plain_numbers(values) -> np.ndarray:
    """Numbers as a CRM reads them: Python ints where whole (72, not 72.0; -0.0 reads 0), Python floats
    elsewhere, None where missing (NaN or infinite)."""
    numbers = np.asarray(values, dtype=float)
    finite = np.isfinite(numbers)
    whole = finite & (np.floor(numbers) == numbers)
    out = np.array(numbers.tolist(), dtype=object)  # Python floats: csv writes repr(), numpy's is np.float64(...)
    out[whole] = numbers[whole].astype(np.int64)  # stored as Python ints
    out[~finite] = None
    return out


def formula_safe(texts) -> np.ndarray:
    """Text cells a spreadsheet will not run: one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading ``'`` (``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``). Missing reads ''.

    Each distinct text is looked at once (a band, a status, a playbook repeat over many rows).
    """
    codes, distinct = pd.factorize(np.asarray(texts, dtype=object))  # None and NaN: code -1
    words = [str(text) for text in distinct]
    safe = np.array([f"'{w}" if w.startswith(FORMULA_STARTS) else w for w in words] + [""], dtype=object)
    return safe[codes]  # code -1 picks the trailing ""


def _csv_column(table: CrmTable, field: Field) -> list:
    values = table.frame[field.header]
    return plain_numbers(values).tolist() if field.kind == "number" else formula_safe(values).tolist()


def write_csv(table: CrmTable, handle: io.TextIOBase) -> None:
    """The CSV (header row, then one row per account) into a text handle opened with ``newline=""``.

    The byte order mark is the handle's (open it with encoding ``utf-8-sig``); rows end in CRLF (RFC 4180).
    """
    fields = table.fields
    writer = csv.writer(handle, dialect="excel", lineterminator="\r\n")
    writer.writerow(formula_safe([f.header for f in fields]).tolist())  # a category named "=x" heads a column too
    writer.writerows(zip(*(_csv_column(table, f) for f in fields)))  # None writes an empty cell


def _json_column(table: CrmTable, field: Field) -> list:
    values = table.frame[field.header]
    if field.kind == "number":
        return plain_numbers(values).tolist()
    texts = values.to_numpy(dtype=object).copy()
    texts[pd.isna(values).to_numpy() | (values == "").to_numpy()] = None
    return texts.tolist()


def _plain(number: float) -> int | float:
    """40.0 -> 40, 0.6 -> 0.6: config numbers as a person wrote them."""
    return int(number) if float(number).is_integer() else float(number)


def json_document(table: CrmTable) -> dict:
    """The JSON export as a Python object (see ``schemas/crm_export.schema.json``)."""
    config = table.config
    cats = [plain_numbers(table.frame[category_header(name)]).tolist() for name in table.categories]
    by_account = [dict(zip(table.categories, row)) for row in zip(*cats)] if cats else [{} for _ in range(len(table))]
    # The keys in the order of the CSV's columns, the categories as one object where their columns are
    columns = [_json_column(table, f) for f in FIELDS_BEFORE_CATEGORIES] + [by_account] \
        + [_json_column(table, f) for f in FIELDS_AFTER_CATEGORIES]
    keys = [f.key for f in FIELDS_BEFORE_CATEGORIES] + [CATEGORIES_KEY] + [f.key for f in FIELDS_AFTER_CATEGORIES]
    accounts = [dict(zip(keys, row)) for row in zip(*columns)]
    return {
        "as_of": table.as_of.isoformat(),
        "generated_by": f"chs-excel {__version__}",
        "scorecard": {
            "bands": {"red_below": _plain(config.bands.red_below), "amber_below": _plain(config.bands.amber_below)},
            "min_coverage": _plain(config.min_coverage),
            "categories": [{"name": cat.name, "column": category_header(cat.name), "weight": _plain(cat.weight),
                            "red_below": _plain(cat.bands.red_below), "amber_below": _plain(cat.bands.amber_below)}
                           for cat in config.categories],
        },
        "accounts": accounts,
    }


@lru_cache(maxsize=1)
def load_export_schema() -> dict:
    """``schemas/crm_export.schema.json``: from the package data of a wheel, else from the source tree."""
    packaged = resources.files("chs_excel").joinpath(f"schemas/{SCHEMA_FILE}")
    if packaged.is_file():
        return json.loads(packaged.read_text(encoding="utf-8"))
    return json.loads((Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_FILE).read_text(encoding="utf-8"))


def schema_errors(document: dict, sample: int | None = None) -> list[str]:
    """What ``document`` breaks of the export schema ([] when nothing), checking only ``sample`` accounts spread
    evenly over the list (every account when None): each column has one type, so a sample finds a wrong one."""
    import jsonschema

    accounts = document.get("accounts")
    if sample is not None and isinstance(accounts, list) and len(accounts) > sample:
        picked = np.unique(np.linspace(0, len(accounts) - 1, sample).astype(int))
        document = {**document, "accounts": [accounts[k] for k in picked.tolist()]}
    validator = jsonschema.Draft202012Validator(load_export_schema(), format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(document)]


def write_json(table: CrmTable, handle: io.TextIOBase) -> None:
    """The JSON, checked on a sample against the schema, one account per line.

    Raises
    ------
    RuntimeError
        When the document breaks its own schema: a bug in chs-excel, never in the workbook.
    """
    document = json_document(table)
    wrong = schema_errors(document, sample=SCHEMA_SAMPLE)
    if wrong:
        raise RuntimeError("chs-excel made an export its own schema refuses (a bug): " + "; ".join(wrong[:3]))
    # One dumps (json.dump writes many small pieces: 5x as slow); allow_nan=False: a NaN that slipped through
    # would be invalid JSON, so it fails here instead.
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # Then a line break before each account (a text holds '"' only escaped, so this cannot match inside one):
    # the file reads and diffs line by line at no cost.
    first = f'{{"{FIELDS_BEFORE_CATEGORIES[0].key}":'
    text = text.replace('"accounts":[' + first, '"accounts":[\n' + first, 1).replace("}," + first, "},\n" + first)
    handle.write(text)
    handle.write("\n")


# ---------------------------------------------------------------- the command


@dataclass
class ExportSummary:
    accounts: int
    as_of: dt.date
    written_to: Path | None  # None: standard output
    fmt: str
    seconds: dict[str, float]

    def line(self) -> str:
        where = "standard output" if self.written_to is None else str(self.written_to)
        return f"Wrote {self.accounts} account(s) as of {self.as_of.isoformat()} ({self.fmt.upper()}) to {where}"


def default_path(book: Path, as_of: dt.date, fmt: str) -> Path:
    """``BOOK-health-YYYY-MM-DD.csv`` (the as-of date) next to the book."""
    return book.with_name(f"{book.stem}-health-{as_of.isoformat()}.{fmt}")


def score_book(book: str | Path, *, config: HealthConfig | None = None, as_of: dt.date | None = None):
    """Read and score a workbook file as a refresh does, writing nothing.

    Returns
    -------
    (Prepared, Report)

    Raises
    ------
    ConfigError, BookError
        As a refresh raises them.
    """
    from chs_excel.files.reader import FileBookReader
    from chs_excel.pipeline import prepare
    from chs_excel.sheets.report import build_report

    with FileBookReader(Path(book)) as reader:
        # date1904=False: as validate does (nothing is written, the as-of date is still checked against Excel's)
        prepared = prepare(reader, config=config, as_of=as_of, date1904=False)
        report = build_report(prepared.config, prepared.result, prepared.labels, prepared.issues, prepared.as_of,
                              prepared.history)  # inside ``with``: Score History's snapshots are read on demand
    return prepared, report


def export_table(book: str | Path, *, config: HealthConfig | None = None, as_of: dt.date | None = None) -> CrmTable:
    """The export's rows for a workbook file."""
    prepared, report = score_book(book, config=config, as_of=as_of)
    scores = next(sheet.frame for sheet in report.sheets if sheet.name == c.SCORES)
    return crm_table(prepared.config, prepared.result, scores, prepared.as_of)


def export_file(book: str | Path, fmt: str, output: str | Path | None = None, *,
                config: HealthConfig | None = None, as_of: dt.date | None = None) -> ExportSummary:
    """Score ``book`` and write the export to ``output`` ("-": standard output; None: :func:`default_path`).

    The file is written beside its final place and moved there in one step.
    """
    import time

    from chs_excel.files.atomic import atomic_write, final_path

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    start = time.perf_counter()
    book = Path(book)
    table = export_table(book, config=config, as_of=as_of)
    seconds = {"score": time.perf_counter() - start}
    start = time.perf_counter()
    write = write_csv if fmt == "csv" else write_json
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"  # JSON never starts with a byte order mark (RFC 8259)
    target = None
    if str(output) == "-":
        sys.stdout.flush()  # what was printed before goes first
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding=encoding, newline="", write_through=True) \
            if hasattr(sys.stdout, "buffer") else None
        if stream is None:  # a stdout without bytes (a test's capture): text as is
            sys.stdout.write("\ufeff" if fmt == "csv" else "")
            write(table, sys.stdout)
        else:
            write(table, stream)
            stream.flush()
            stream.detach()  # sys.stdout stays open
    else:
        target = Path(output) if output else default_path(book, table.as_of, fmt)
        if final_path(target) == final_path(book):
            raise BookError(f"{target} is the workbook itself: give the export another name with -o. "
                            f"Nothing was written.")

        def write_to(path: Path) -> None:
            with open(path, "w", encoding=encoding, newline="") as handle:
                write(table, handle)
        atomic_write(target, write_to)
    seconds["write"] = time.perf_counter() - start
    return ExportSummary(len(table), table.as_of, target, fmt, seconds)
