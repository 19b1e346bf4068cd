"""Checks beyond the schema: names that must match, weights that must add up, bands in order, dates Excel can hold.

They run on a config object the schema has accepted, so every key they read is
there and of the right type; each problem names the cell (or JSON path) to fix.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from chs_excel import contract as c
from chs_excel.cellvalues import EPOCH_1904
from chs_excel.config.model import Bands
from chs_excel.config.schema import ConfigPath
from chs_excel.problems import Problem, show_value


def bands_of(item: Mapping, default: Bands) -> Bands:
    """The bands an item of the config object sets, its ``red_below`` and ``amber_below`` falling back to ``default``."""
    return Bands(float(item.get("red_below", default.red_below)), float(item.get("amber_below", default.amber_below)))


def _band_problems(item: Mapping, path: ConfigPath, default: Bands, locate: Callable) -> list[Problem]:
    bands = bands_of(item, default)
    if bands.red_below < bands.amber_below or not ({"red_below", "amber_below"} & item.keys()):
        return []
    where = path + ("red_below",) if "red_below" in item else path + ("amber_below",)
    return [Problem(locate(where), f"Red below ({show_value(bands.red_below)}) must be lower than "
                                   f"Amber below ({show_value(bands.amber_below)}): the bands overlap")]


EXCEL_FIRST_DATE = dt.date(1900, 1, 1)  # serial 1 in Excel's default (1900) date system
EXCEL_FIRST_DATE_1904 = EPOCH_1904.date()  # serial 0 in the 1904 date system
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


def text_problems(data: Any, locate: Callable[[ConfigPath], str], path: ConfigPath = ()) -> list[Problem]:
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


def semantic_problems(data: dict, locate: Callable[[ConfigPath], str]) -> list[Problem]:
    """Cross-field checks: names that must match, weights that must add up, bands in order."""
    problems: list[Problem] = []
    settings = data.get("settings", {})
    if "as_of" in settings:
        wrong = excel_date_problem(dt.date.fromisoformat(settings["as_of"]))
        if wrong:
            problems.append(Problem(locate(("settings", "as_of")), f"the as-of date {wrong}"))
    default = bands_of(settings, Bands())
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
    problems += _rule_problems(data.get("rules", []), cat_names, metric_names, locate)
    seen_benchmarks: dict[tuple, int] = {}
    for i, b in enumerate(data.get("benchmarks", [])):
        key = (str(b.get("segment", "")).casefold(), str(b.get("stage", "")).casefold())
        if key in seen_benchmarks:
            problems.append(Problem(locate(("benchmarks", i, "target")),
                                    f"this segment and stage already have a benchmark at {locate(('benchmarks', seen_benchmarks[key], 'target'))}"))
        seen_benchmarks.setdefault(key, i)
    return problems


def rule_kind(when: str, categories: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    """What a rule's When names: "overall", "category", "metric", or (anything else) "column" of Accounts.

    Looked up in that order, ignoring case and surrounding spaces, so a metric named like its source
    column ("CSM sentiment") is the metric's score; ``categories`` and ``metrics`` are keyed by folded name.
    """
    key = when.strip().casefold()
    if key == c.OVERALL.casefold():
        return "overall"
    if key in categories:
        return "category"
    return "metric" if key in metrics else "column"


def is_band_word(value: Any) -> bool:
    return isinstance(value, str) and value.strip().casefold() in {band.casefold() for band in c.BANDS}


def _rule_problems(rules: list, cat_names: Mapping[str, int], metric_names: Mapping[str, int],
                   locate: Callable) -> list[Problem]:
    """A rule's Value must suit what its When names: a score takes a number or a band, text only = or <>."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        path = ("rules", i)
        key = rule["name"].strip().casefold()
        if key in seen:
            problems.append(Problem(locate(path + ("name",)), f'rule "{rule["name"]}" is listed twice '
                                                              f'(first at {locate(("rules", seen[key], "name"))})'))
        seen.setdefault(key, i)
        kind = rule_kind(rule["when"], cat_names, metric_names)
        value = rule["value"]
        if kind != "column" and isinstance(value, str) and not is_band_word(value):
            problems.append(Problem(locate(path + ("value",)),
                                    f'"{rule["when"]}" is a score, so Value must be a number or a band (Red, Amber, '
                                    f'Green), got {show_value(value)}'))
        elif kind == "column" and isinstance(value, str) and rule["compare"] not in ("=", "<>"):
            problems.append(Problem(locate(path + ("compare",)),
                                    f'text ({show_value(value)}) can only be compared with = or <>, got '
                                    f'"{rule["compare"]}"'))
    return problems


def _metric_problems(m: Mapping, path: ConfigPath, locate: Callable) -> list[Problem]:
    problems = []
    from_history = m["measure"] == "trend" or m.get("read_from") == "history"
    if "stale_after" in m and "date_column" not in m and not from_history:
        problems.append(Problem(locate(path + ("stale_after",)),
                                f"Stale after (days) needs a Date column (the Accounts column holding the date "
                                f"\"{m['source']}\" was last updated); only a trend metric, or one whose Read from is "
                                f"{c.HISTORY}, can use its latest {c.HISTORY} period instead"))
    if m["measure"] == "trend" and m.get("read_from") == "accounts":
        problems.append(Problem(locate(path + ("read_from",)),
                                f"a trend metric compares two periods of {c.HISTORY}, so Read from must be blank or "
                                f"{c.HISTORY}, got \"{c.READ_FROM['accounts']}\""))
    if "date_column" in m and "stale_after" not in m:
        problems.append(Problem(locate(path + ("date_column",)),
                                "a Date column is only read with Stale after (days): fill that in, or clear this cell"))
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

