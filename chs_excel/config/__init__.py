"""The scorecard configuration: built from workbook sheets or a JSON file, checked, typed.

Flow: sheets (or JSON) -> plain dict -> JSON Schema validation -> semantic checks
-> :class:`HealthConfig`. Every problem names the sheet and cell (or JSON path)
it came from, in words a CS person understands.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from chs_excel import contract as c
from chs_excel.book.table import CellError, Table, serial_to_date
from chs_excel.core.measures import even_scores
from chs_excel.problems import ConfigError, Problem, show_value

Path_ = tuple[Any, ...]


# ---------------------------------------------------------------- typed config


@dataclass(frozen=True)
class Bands:
    """Red below ``red_below``, Amber below ``amber_below``, Green from ``amber_below``."""

    red_below: float = 40.0
    amber_below: float = 70.0


@dataclass(frozen=True)
class Metric:
    name: str
    category: str
    weight: float
    measure: str
    source: str
    source2: str | None = None
    higher_is_better: bool = True
    low: float | None = None
    high: float | None = None
    cut_points: tuple[float, ...] = ()
    scores: tuple[float, ...] = ()
    labels: Mapping[str, float] = field(default_factory=dict)
    target: float | None = None
    goal_period: str | None = None
    goal_start: dt.date | None = None
    goal_end: dt.date | None = None
    bands: Bands = Bands()
    description: str = ""
    location: str = ""  # where the metric is defined, e.g. "Metrics!A5"
    source_location: str = ""
    source2_location: str = ""


@dataclass(frozen=True)
class Category:
    name: str
    weight: float
    bands: Bands = Bands()
    description: str = ""


@dataclass(frozen=True)
class Override:
    account: str
    level: str
    target: str | None
    score: float | None
    band: str | None
    reason: str
    author: str
    expires: dt.date
    location: str = ""


@dataclass(frozen=True)
class Benchmark:
    """Target scores for accounts of a segment at a journey stage; ``None`` means any."""

    segment: str | None
    stage: str | None
    target: float
    category_targets: Mapping[str, float] = field(default_factory=dict)
    location: str = ""

    @property
    def specificity(self) -> int:
        return (self.segment is not None) + (self.stage is not None)


@dataclass(frozen=True)
class Playbook:
    """What to do for an account whose triggers all hold (``None`` triggers match anything)."""

    name: str
    actions: str
    band: str | None = None
    category: str | None = None
    metric: str | None = None
    stage: str | None = None
    owner: str = ""
    link: str = ""
    location: str = ""

    @property
    def specificity(self) -> int:
        return sum(t is not None for t in (self.band, self.category, self.metric, self.stage))


@dataclass(frozen=True)
class Outcome:
    account: str
    outcome: str
    date: dt.date | None = None
    location: str = ""

    @property
    def churned(self) -> bool:
        return self.outcome == "churned"


@dataclass(frozen=True)
class HealthConfig:
    categories: tuple[Category, ...]
    metrics: tuple[Metric, ...]
    overrides: tuple[Override, ...] = ()
    bands: Bands = Bands()
    min_coverage: float = 0.6
    as_of: dt.date | None = None
    segment_column: str = "Segment"
    segment_column_location: str = "Settings"
    as_of_location: str = "Settings"
    accounts_sheet: str | None = None  # the sheet holding the accounts, when not "Accounts" (Settings: Accounts sheet)
    accounts_sheet_location: str = "Settings"
    benchmarks: tuple[Benchmark, ...] = ()
    playbooks: tuple[Playbook, ...] = ()
    outcomes: tuple[Outcome, ...] = ()

    def metrics_in(self, category: str) -> list[Metric]:
        return [m for m in self.metrics if m.category == category]


# ---------------------------------------------------------------- schema


@lru_cache(maxsize=1)
def load_schema() -> dict:
    """The JSON Schema, from the installed package data or the source tree."""
    packaged = resources.files("chs_excel").joinpath("schemas/health_config.schema.json")
    if packaged.is_file():
        return json.loads(packaged.read_text(encoding="utf-8"))
    here = Path(__file__).resolve().parents[2] / "schemas" / "health_config.schema.json"
    return json.loads(here.read_text(encoding="utf-8"))


def _resolve(schema: dict, ref: str) -> Any:
    node: Any = schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _message_for(error: jsonschema.ValidationError, schema: dict) -> str:
    """The errorMessage of the most specific schema node on the error's path.

    A property's own errorMessage (beside its ``$ref``) wins over the generic
    one inside the referenced definition.
    """
    node: Any = schema
    message = error.message
    for key in error.absolute_schema_path:
        if isinstance(node, dict) and "$ref" in node and "errorMessage" in node:
            break
        if key == "$ref":
            node = _resolve(schema, node["$ref"])
            continue
        if isinstance(node, dict) and key not in node and "$ref" in node:
            node = _resolve(schema, node["$ref"])
            if "errorMessage" in node:
                message = node["errorMessage"]
        node = node[key]
        if isinstance(node, dict) and "errorMessage" in node:
            message = node["errorMessage"]
    return message


def _finite_number(checker: Any, instance: Any) -> bool:
    return is_finite_number(instance)


# Every "number" in the schema is a finite one: NaN, Infinity (JSON or a cell) and 1e309 are not numbers here.
ConfigValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number))


def schema_problems(data: dict, locate: Callable[[Path_], str]) -> list[Problem]:
    """Validate ``data`` against the schema; one :class:`Problem` per error, in sheet order."""
    schema = load_schema()
    validator = ConfigValidator(schema, format_checker=jsonschema.FormatChecker())
    problems = []
    for error in validator.iter_errors(data):
        if error.validator in ("if", "allOf") and error.context:
            continue
        path = tuple(error.absolute_path)
        message = _message_for(error, schema)
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            field_name = missing[0] if missing else ""
            path = path + (field_name,)
            message = f"{label_of(path)} must be filled in ({message})"
        elif error.validator == "anyOf" and all("required" in branch for branch in error.validator_value):
            path = path + (error.validator_value[0]["required"][0],)
        elif error.validator == "additionalProperties" or isinstance(error.instance, (dict, list)):
            pass
        else:
            message = f"{message}, got {show_value(error.instance)}"
        problems.append(Problem(locate(path), message))
    return sorted(set(problems), key=lambda p: _sort_key(p.location))


def _sort_key(location: str) -> tuple:
    sheet, _, cell = location.partition("!")
    m = re.match(r"([A-Z]*)(\d*)", cell)
    col, row = (m.group(1), int(m.group(2) or 0)) if m else ("", 0)
    return (sheet, row, len(col), col)


_LABELS = {col.key: col.header for cols in (c.METRIC_COLUMNS, c.CATEGORY_COLUMNS, c.OVERRIDE_COLUMNS) for col in cols}
_LABELS.update({key: label for label, (key, _) in c.SETTINGS_ROWS.items()})
_LABELS["name"] = "Name"


def label_of(path: Path_) -> str:
    key = path[-1] if path else ""
    if path[:1] == ("categories",) and key == "name":
        return "Category"
    if path[:1] == ("metrics",) and key == "name":
        return "Metric"
    return _LABELS.get(key, str(key))


# ---------------------------------------------------------------- sheets -> dict

NUMBER_KEYS = {"weight", "low", "high", "target", "red_below", "amber_below", "score", "min_coverage"}
LIST_KEYS = {"cut_points", "scores"}
DATE_KEYS = {"goal_start", "goal_end", "expires", "as_of", "date"}
WORD_KEYS = {"measure", "direction", "level", "goal_period", "outcome"}
DIRECTION_WORDS = {"higher": "higher", "higher is better": "higher", "up": "higher",
                   "lower": "lower", "lower is better": "lower", "down": "lower"}


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not isinstance(value, CellError) and value.strip() == "")


def is_finite_number(value: Any) -> bool:
    """A real, finite number: not TRUE/FALSE, NaN, an infinity, or an integer too big for a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _number(value: Any) -> Any:
    """Numbers stay; numeric text ("12", "60%") becomes a number; anything else is kept for the schema to reject.

    Text that Python would read as NaN or an infinity ("NaN", "inf", "1e309") stays text, so the
    schema rejects it as "got "NaN"", like any other word.
    """
    if isinstance(value, bool) or isinstance(value, CellError) or not isinstance(value, str):
        return float(value) if isinstance(value, int) and is_finite_number(value) else value
    text = value.strip().replace(",", "")
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def _number_list(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if not isinstance(value, str) or isinstance(value, CellError):
        return value
    parts = [p for p in re.split(r"[;,\s]+", value.strip()) if p]
    numbers = [_number(p) for p in parts]
    return numbers if numbers and all(isinstance(n, float) for n in numbers) else value


def _labels(value: Any) -> Any:
    if not isinstance(value, str) or isinstance(value, CellError):
        return value
    mapping: dict[str, Any] = {}
    for part in re.split(r"[;\n]+|,(?![^=:]*$)", value):
        if not part.strip():
            continue
        label, sep, score = part.partition("=") if "=" in part else part.rpartition(":")
        if not sep or not label.strip():
            return value
        mapping[label.strip()] = _number(score.strip())
    return mapping or value


def _date(value: Any) -> Any:
    serial = serial_to_date(value)
    if serial is not None:  # Office.js sends date cells as serial numbers
        return serial.isoformat()
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value.strip() if isinstance(value, str) and not isinstance(value, CellError) else value


def _text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) and not isinstance(value, CellError) else value


def convert_cell(key: str, value: Any) -> Any:
    """Turn one raw cell into the JSON value the schema expects (or leave it for the schema to reject)."""
    if key in NUMBER_KEYS:
        return _number(value)
    if key in LIST_KEYS:
        return _number_list(value)
    if key == "labels":
        return _labels(value)
    if key in DATE_KEYS:
        return _date(value)
    if key in WORD_KEYS and isinstance(value, str) and not isinstance(value, CellError):
        word = value.strip().casefold()
        return DIRECTION_WORDS.get(word, word) if key == "direction" else word
    if key == "band" and isinstance(value, str) and not isinstance(value, CellError):
        return value.strip().capitalize()
    return _text(value)


class SheetLocator:
    """Maps a config path such as ``("metrics", 2, "weight")`` to the cell it came from."""

    def __init__(self) -> None:
        self.cells: dict[Path_, str] = {}

    def __call__(self, path: Path_) -> str:
        for n in range(len(path), -1, -1):
            if path[:n] in self.cells:
                return self.cells[path[:n]]
        return "workbook"


def _missing_columns(table: Table, columns: tuple[c.Column, ...]) -> list[Problem]:
    found = ", ".join(h for h in table.header if h) or "nothing"
    return [Problem(f"{table.sheet}!{table.header_row}:{table.header_row}",
                    f'column "{col.header}" is missing from the header row (found: {found})')
            for col in columns if col.required and table.find(col.header) is None]


def _rows_to_items(table: Table, columns: tuple[c.Column, ...], key: str, locate: SheetLocator) -> list[dict]:
    positions = {col.key: table.find(col.header) for col in columns}
    locate.cells[(key,)] = f"{table.sheet}!A{table.header_row}"
    items = []
    for i, row in enumerate(table.rows):
        cells = {k: (row[j] if j is not None and j < len(row) else "") for k, j in positions.items()}
        if all(_is_blank(v) for v in cells.values()):
            continue
        n = len(items)
        item = {}
        for k, j in positions.items():
            if j is not None:
                locate.cells[(key, n, k)] = table.cell(i, j)
            if not _is_blank(cells[k]):
                item[k] = convert_cell(k, cells[k])
        locate.cells[(key, n)] = table.cell(i, 0)
        items.append(item)
    return items


def _settings(table: Table, locate: SheetLocator) -> tuple[dict, list[Problem]]:
    problems = _missing_columns(table, c.SETTING_COLUMNS)
    if problems:
        return {}, problems
    name_j, value_j = table.find("Setting"), table.find("Value")
    known = {label.casefold(): (label, key) for label, (key, _) in c.SETTINGS_ROWS.items()}
    settings: dict[str, Any] = {}
    for i, row in enumerate(table.rows):
        name = row[name_j] if name_j < len(row) else ""
        if _is_blank(name):
            continue
        label_key = known.get(str(name).strip().casefold())
        if label_key is None:
            continue  # free notes on the Settings sheet are allowed
        key = label_key[1]
        locate.cells[("settings", key)] = table.cell(i, value_j)
        value = row[value_j] if value_j < len(row) else ""
        if not _is_blank(value):
            settings[key] = convert_cell(key, value)
    return settings, []


def config_dict_from_tables(tables: Mapping[str, Table]) -> tuple[dict, SheetLocator, list[Problem]]:
    """Build the config object from the Settings, Categories, Metrics and Overrides sheets."""
    locate = SheetLocator()
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for sheet in (c.CATEGORIES, c.METRICS):
        if sheet not in tables:
            problems.append(Problem(sheet, f'the workbook has no "{sheet}" sheet; it is required '
                                           f"(run `chs-excel template` for a workbook with every sheet)"))
    if c.SETTINGS in tables:
        data["settings"], found = _settings(tables[c.SETTINGS], locate)
        problems += found
    for sheet, columns, key in ((c.CATEGORIES, c.CATEGORY_COLUMNS, "categories"),
                                (c.METRICS, c.METRIC_COLUMNS, "metrics"),
                                (c.OVERRIDES, c.OVERRIDE_COLUMNS, "overrides"),
                                (c.BENCHMARKS, c.BENCHMARK_COLUMNS, "benchmarks"),
                                (c.PLAYBOOKS, c.PLAYBOOK_COLUMNS, "playbooks"),
                                (c.OUTCOMES, c.OUTCOME_COLUMNS, "outcomes")):
        if sheet not in tables:
            continue
        missing = _missing_columns(tables[sheet], columns)
        problems += missing
        if not missing:
            data[key] = _rows_to_items(tables[sheet], columns, key, locate)
    if "benchmarks" in data and "categories" in data:
        _add_category_targets(tables[c.BENCHMARKS], data, locate)
    return data, locate, problems


def _add_category_targets(table: Table, data: dict, locate: SheetLocator) -> None:
    """Benchmarks columns named after a category hold that category's target."""
    names = {str(cat.get("name", "")).strip().casefold() for cat in data["categories"]}
    positions = {j: h for j, h in enumerate(table.header) if h.strip().casefold() in names}
    if not positions:
        return
    items = iter(data["benchmarks"])
    known = [j for j in (table.find(col.header) for col in c.BENCHMARK_COLUMNS) if j is not None]
    n = 0
    for i, row in enumerate(table.rows):
        if all(_is_blank(row[j]) for j in known):  # the rows _rows_to_items skipped
            continue
        item = next(items)
        targets = {}
        for j, header in positions.items():
            locate.cells[("benchmarks", n, "category_targets", header.strip())] = table.cell(i, j)
            if not _is_blank(row[j]):
                targets[header.strip()] = _number(row[j])
        if targets:
            item["category_targets"] = targets
        n += 1


def json_locator(file_name: str) -> Callable[[Path_], str]:
    def locate(path: Path_) -> str:
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return f"{file_name}: {text or '(top level)'}"
    return locate


# ---------------------------------------------------------------- checks beyond the schema


def _bands(item: Mapping, default: Bands) -> Bands:
    return Bands(float(item.get("red_below", default.red_below)), float(item.get("amber_below", default.amber_below)))


def _band_problems(item: Mapping, path: Path_, default: Bands, locate: Callable) -> list[Problem]:
    bands = _bands(item, default)
    if bands.red_below < bands.amber_below or not ({"red_below", "amber_below"} & item.keys()):
        return []
    where = path + ("red_below",) if "red_below" in item else path + ("amber_below",)
    return [Problem(locate(where), f"Red below ({show_value(bands.red_below)}) must be lower than "
                                   f"Amber below ({show_value(bands.amber_below)}): the bands overlap")]


EXCEL_FIRST_DATE = dt.date(1900, 1, 1)  # serial 1 in Excel's default (1900) date system
EXCEL_FIRST_DATE_1904 = dt.date(1904, 1, 1)  # serial 0 in the 1904 date system (old Mac workbooks)
EXCEL_LAST_DATE = dt.date(9999, 12, 31)


def excel_date_problem(day: dt.date, date1904: bool = False) -> str | None:
    """Why Excel cannot hold ``day`` as a date cell (None when it can): before 1900 (1904) or after 9999."""
    first = EXCEL_FIRST_DATE_1904 if date1904 else EXCEL_FIRST_DATE
    if first <= day <= EXCEL_LAST_DATE:
        return None
    return (f"must be a date Excel can hold, from {first.isoformat()} to {EXCEL_LAST_DATE.isoformat()}, "
            f"got {day.isoformat()}")


def _safe_text(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def text_problems(data: Any, locate: Callable[[Path_], str], path: Path_ = ()) -> list[Problem]:
    """Text that is not valid Unicode (a lone surrogate such as "\\ud800", which a JSON file or Excel can hold
    but no file can be saved with), named by where it is."""
    problems: list[Problem] = []
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(Problem(locate(path), f'the text "{_safe_text(data)}" is not valid Unicode (it holds a lone '
                                                  f"surrogate, half of a character); retype it"))
    elif isinstance(data, dict):
        for key, value in data.items():
            where = path + (_safe_text(key) if isinstance(key, str) else key,)
            problems += text_problems(key, locate, where) if isinstance(key, str) else []
            problems += text_problems(value, locate, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            problems += text_problems(value, locate, path + (i,))
    return problems


def semantic_problems(data: dict, locate: Callable[[Path_], str]) -> list[Problem]:
    """Cross-field checks: names that must match, weights that must add up, bands in order."""
    problems: list[Problem] = []
    settings = data.get("settings", {})
    if "as_of" in settings:
        wrong = excel_date_problem(dt.date.fromisoformat(settings["as_of"]))
        if wrong:
            problems.append(Problem(locate(("settings", "as_of")), f"the as-of date {wrong}"))
    default = _bands(settings, Bands())
    problems += _band_problems(settings, ("settings",), Bands(), locate)
    cats = data["categories"]
    cat_names: dict[str, int] = {}
    for i, cat in enumerate(cats):
        key = cat["name"].casefold()
        if key in cat_names:
            problems.append(Problem(locate(("categories", i, "name")),
                                    f'category "{cat["name"]}" is listed twice (first at {locate(("categories", cat_names[key], "name"))})'))
        cat_names.setdefault(key, i)
        problems += _band_problems(cat, ("categories", i), default, locate)
    if cats and sum(cat["weight"] for cat in cats) <= 0:
        problems.append(Problem(locate(("categories", 0, "weight")), "category weights add up to 0; give at least one category a weight above 0"))
    metric_names: dict[str, int] = {}
    weight_by_cat: dict[str, float] = {cat["name"].casefold(): 0.0 for cat in cats}
    for i, m in enumerate(data["metrics"]):
        key = m["name"].casefold()
        if key in metric_names:
            problems.append(Problem(locate(("metrics", i, "name")),
                                    f'metric "{m["name"]}" is listed twice (first at {locate(("metrics", metric_names[key], "name"))})'))
        metric_names.setdefault(key, i)
        if m["category"].casefold() not in cat_names:
            known = ", ".join(cat["name"] for cat in cats)
            problems.append(Problem(locate(("metrics", i, "category")),
                                    f'category "{m["category"]}" is not on the Categories sheet (known: {known})'))
        else:
            weight_by_cat[m["category"].casefold()] += m["weight"]
        problems += _metric_problems(m, ("metrics", i), locate)
        problems += _band_problems(m, ("metrics", i), default, locate)
    for i, cat in enumerate(cats):
        if cat["weight"] > 0 and weight_by_cat[cat["name"].casefold()] <= 0:
            problems.append(Problem(locate(("categories", i, "name")),
                                    f'category "{cat["name"]}" has weight {show_value(cat["weight"])} but its metrics\' '
                                    f"weights add up to 0 (or it has no metrics); give one of its metrics a weight above 0"))
    for i, o in enumerate(data.get("overrides", [])):
        target = o.get("target")
        if o["level"] == "category" and target and target.casefold() not in cat_names:
            problems.append(Problem(locate(("overrides", i, "target")), f'"{target}" is not a category on the Categories sheet'))
        if o["level"] == "metric" and target and target.casefold() not in metric_names:
            problems.append(Problem(locate(("overrides", i, "target")), f'"{target}" is not a metric on the Metrics sheet'))
        if o["level"] != "overall" and "band" in o and "score" not in o:
            problems.append(Problem(locate(("overrides", i, "band")), "a Band alone can only override the overall score; give a Score"))
    for i, p in enumerate(data.get("playbooks", [])):
        if "category" in p and p["category"].casefold() not in cat_names:
            problems.append(Problem(locate(("playbooks", i, "category")), f'"{p["category"]}" is not a category on the Categories sheet'))
        if "metric" in p and p["metric"].casefold() not in metric_names:
            problems.append(Problem(locate(("playbooks", i, "metric")), f'"{p["metric"]}" is not a metric on the Metrics sheet'))
    seen_benchmarks: dict[tuple, int] = {}
    for i, b in enumerate(data.get("benchmarks", [])):
        key = (str(b.get("segment", "")).casefold(), str(b.get("stage", "")).casefold())
        if key in seen_benchmarks:
            problems.append(Problem(locate(("benchmarks", i, "target")),
                                    f"this segment and stage already have a benchmark at {locate(('benchmarks', seen_benchmarks[key], 'target'))}"))
        seen_benchmarks.setdefault(key, i)
    return problems


def _metric_problems(m: Mapping, path: Path_, locate: Callable) -> list[Problem]:
    problems = []
    if m["measure"] in ("range", "trend", "ratio", "goal") and "low" in m and "high" in m and m["low"] == m["high"]:
        problems.append(Problem(locate(path + ("high",)), f"Low and High are both {show_value(m['low'])}; they must differ"))
    if m["measure"] == "threshold":
        cuts = m["cut_points"]
        if any(b <= a for a, b in zip(cuts, cuts[1:])):
            problems.append(Problem(locate(path + ("cut_points",)), f"cut points must increase from left to right, got {', '.join(show_value(x) for x in cuts)}"))
        if "scores" in m and len(m["scores"]) != len(cuts) + 1:
            problems.append(Problem(locate(path + ("scores",)),
                                    f"{len(cuts)} cut points make {len(cuts) + 1} bands, so Scores needs {len(cuts) + 1} numbers, got {len(m['scores'])}"))
    if m.get("goal_period") == "custom" and "goal_start" in m and "goal_end" in m and m["goal_end"] < m["goal_start"]:
        problems.append(Problem(locate(path + ("goal_end",)), f"goal end {m['goal_end']} is before goal start {m['goal_start']}"))
    return problems


# ---------------------------------------------------------------- entry points


def _typed(data: dict, locate: Callable[[Path_], str]) -> HealthConfig:
    settings = data.get("settings", {})
    default = _bands(settings, Bands())
    day = dt.date.fromisoformat
    categories = tuple(Category(cat["name"], float(cat["weight"]), _bands(cat, default), cat.get("description", ""))
                       for cat in data["categories"])
    canonical = {cat.name.casefold(): cat.name for cat in categories}
    metrics = []
    for i, m in enumerate(data["metrics"]):
        measure = m["measure"]
        higher = m.get("direction", "higher") == "higher"
        cuts = tuple(m.get("cut_points", ()))
        scores = tuple(m.get("scores", ()))
        if measure == "threshold" and not scores:
            scores = tuple(even_scores(len(cuts) + 1, higher))
        low, high = m.get("low"), m.get("high")
        if measure in ("ratio", "goal"):
            low, high = (0.0 if low is None else low), (1.0 if high is None else high)
        metrics.append(Metric(
            name=m["name"], category=canonical[m["category"].casefold()], weight=float(m["weight"]),
            measure=measure, source=m["source"], source2=m.get("source2"), higher_is_better=higher,
            low=low, high=high, cut_points=cuts, scores=scores, labels=dict(m.get("labels", {})),
            target=m.get("target"), goal_period=m.get("goal_period"),
            goal_start=day(m["goal_start"]) if "goal_start" in m else None,
            goal_end=day(m["goal_end"]) if "goal_end" in m else None,
            bands=_bands(m, default), description=m.get("description", ""), location=locate(("metrics", i)),
            source_location=locate(("metrics", i, "source")), source2_location=locate(("metrics", i, "source2"))))
    metric_names = {m.name.casefold(): m.name for m in metrics}
    overrides = []
    for i, o in enumerate(data.get("overrides", [])):
        target = o.get("target")
        if target and o["level"] == "category":
            target = canonical[target.casefold()]
        elif target and o["level"] == "metric":
            target = metric_names[target.casefold()]
        overrides.append(Override(o["account"], o["level"], target if o["level"] != "overall" else None,
                                  o.get("score"), o.get("band"), o["reason"], o["author"], day(o["expires"]),
                                  locate(("overrides", i))))
    benchmarks = tuple(Benchmark(b.get("segment"), b.get("stage"), float(b["target"]),
                                 {canonical[k.casefold()]: float(v) for k, v in b.get("category_targets", {}).items()},
                                 locate(("benchmarks", i))) for i, b in enumerate(data.get("benchmarks", [])))
    playbooks = tuple(Playbook(p["name"], p["actions"], p.get("band"),
                               canonical[p["category"].casefold()] if "category" in p else None,
                               metric_names[p["metric"].casefold()] if "metric" in p else None,
                               p.get("stage"), p.get("owner", ""), p.get("link", ""), locate(("playbooks", i)))
                      for i, p in enumerate(data.get("playbooks", [])))
    return HealthConfig(categories=categories, metrics=tuple(metrics), overrides=tuple(overrides), bands=default,
                        min_coverage=float(settings.get("min_coverage", c.SETTINGS_ROWS["Minimum coverage"][1])),
                        as_of=day(settings["as_of"]) if "as_of" in settings else None,
                        segment_column=settings.get("segment_column", "Segment"),
                        segment_column_location=locate(("settings", "segment_column")),
                        as_of_location=locate(("settings", "as_of")),
                        accounts_sheet=settings.get("accounts_sheet"),
                        accounts_sheet_location=locate(("settings", "accounts_sheet")),
                        benchmarks=benchmarks, playbooks=playbooks,
                        outcomes=tuple(Outcome(o["account"], o["outcome"], day(o["date"]) if "date" in o else None,
                                               locate(("outcomes", i))) for i, o in enumerate(data.get("outcomes", []))))


def build_config(data: dict, locate: Callable[[Path_], str], earlier: list[Problem] | None = None) -> HealthConfig:
    """Validate ``data`` (schema, then cross-field checks) and return the typed config, or raise :class:`ConfigError`."""
    unreadable = text_problems(data, locate)
    if unreadable:
        raise ConfigError(list(earlier or []) + unreadable)
    problems = list(earlier or [])
    problems += schema_problems(data, locate)
    if problems:
        raise ConfigError(problems)
    problems = semantic_problems(data, locate)
    if problems:
        raise ConfigError(problems)
    return _typed(data, locate)


def config_from_tables(tables: Mapping[str, Table]) -> HealthConfig:
    data, locate, problems = config_dict_from_tables(tables)
    if problems and ("categories" not in data or "metrics" not in data):
        raise ConfigError(problems)
    return build_config(data, locate, problems)


def config_from_json(path: str | Path) -> HealthConfig:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError([Problem(path.name, f"cannot read the config file: {exc}")]) from exc
    return build_config(data, json_locator(path.name))


def config_to_dict(config: HealthConfig) -> dict:
    """The config as the JSON object the schema describes (for ``--config`` files)."""
    def bands(b: Bands) -> dict:
        return {"red_below": b.red_below, "amber_below": b.amber_below}

    metrics = []
    for m in config.metrics:
        item: dict[str, Any] = {"name": m.name, "category": m.category, "weight": m.weight, "measure": m.measure,
                                "source": m.source, "direction": "higher" if m.higher_is_better else "lower"}
        optional = {"source2": m.source2, "low": m.low, "high": m.high, "target": m.target, "goal_period": m.goal_period,
                    "goal_start": m.goal_start.isoformat() if m.goal_start else None,
                    "goal_end": m.goal_end.isoformat() if m.goal_end else None,
                    "cut_points": list(m.cut_points) or None, "scores": list(m.scores) or None,
                    "labels": dict(m.labels) or None, "description": m.description or None}
        item.update({k: v for k, v in optional.items() if v is not None})
        item.update(bands(m.bands))
        metrics.append(item)
    settings: dict[str, Any] = {**bands(config.bands), "min_coverage": config.min_coverage,
                                "segment_column": config.segment_column}
    if config.as_of:
        settings["as_of"] = config.as_of.isoformat()
    if config.accounts_sheet:
        settings["accounts_sheet"] = config.accounts_sheet
    return {
        "settings": settings,
        "categories": [{"name": cat.name, "weight": cat.weight, **bands(cat.bands)} for cat in config.categories],
        "metrics": metrics,
        "overrides": [{k: v for k, v in {"account": o.account, "level": o.level, "target": o.target, "score": o.score,
                                          "band": o.band, "reason": o.reason, "author": o.author,
                                          "expires": o.expires.isoformat()}.items() if v is not None}
                      for o in config.overrides],
        "benchmarks": [{k: v for k, v in {"segment": b.segment, "stage": b.stage, "target": b.target,
                                          "category_targets": dict(b.category_targets) or None}.items() if v is not None}
                       for b in config.benchmarks],
        "playbooks": [{k: v for k, v in {"name": p.name, "actions": p.actions, "band": p.band, "category": p.category,
                                         "metric": p.metric, "stage": p.stage, "owner": p.owner or None,
                                         "link": p.link or None}.items() if v is not None}
                      for p in config.playbooks],
    }
