"""Build the typed :class:`~chs_excel.config.model.HealthConfig` from workbook sheets or a JSON file.

Flow: sheets (or JSON) -> plain dict -> readable text -> JSON Schema -> checks
across fields -> :class:`HealthConfig`. Every problem names the sheet and cell
(or JSON path) it came from, in words a CS person understands.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chs_excel import contract as c
from chs_excel.config.checks import bands_of, is_band_word, rule_kind, semantic_problems, text_problems
from chs_excel.config.model import Bands, Benchmark, Category, HealthConfig, Metric, Outcome, Override, Playbook, Rule
from chs_excel.config.schema import ConfigPath, schema_problems
from chs_excel.config.sheets import SheetTable, config_dict_from_tables
from chs_excel.core.measures import even_scores  # the 1..100 ladder a threshold metric without Scores gets
from chs_excel.problems import ConfigError, Problem


def json_locator(file_name: str) -> Callable[[ConfigPath], str]:
    def locate(path: ConfigPath) -> str:
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return f"{file_name}: {text or '(top level)'}"
    return locate


def _typed(data: dict, locate: Callable[[ConfigPath], str]) -> HealthConfig:
    settings = data.get("settings", {})
    default = bands_of(settings, Bands())
    day = dt.date.fromisoformat
    categories = tuple(Category(cat["name"], float(cat["weight"]), bands_of(cat, default), cat.get("description", ""))
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
            bands=bands_of(m, default), description=m.get("description", ""), location=locate(("metrics", i)),
            source_location=locate(("metrics", i, "source")), source2_location=locate(("metrics", i, "source2")),
            stale_after=int(m["stale_after"]) if "stale_after" in m else None, date_column=m.get("date_column"),
            date_column_location=locate(("metrics", i, "date_column")),
            read_from="history" if measure == "trend" else m.get("read_from", "accounts"),
            read_from_location=locate(("metrics", i, "read_from"))))
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
    rules = []
    for i, r in enumerate(data.get("rules", [])):
        kind = rule_kind(r["when"], canonical, metric_names)
        key = r["when"].strip().casefold()
        when = {"overall": c.OVERALL, "category": canonical.get(key), "metric": metric_names.get(key)}.get(
            kind) or r["when"].strip()
        value = r["value"]
        by_band = kind != "column" and is_band_word(value)
        rules.append(Rule(r["name"], when, kind, r["compare"], value.strip().capitalize() if by_band else value,
                          r["effect"], float(r["to"]) if r["effect"] == "cap score" else r["to"], by_band,
                          r.get("description", ""), locate(("rules", i)), locate(("rules", i, "when"))))
    return HealthConfig(categories=categories, metrics=tuple(metrics), overrides=tuple(overrides), bands=default,
                        min_coverage=float(settings.get("min_coverage", c.SETTINGS_ROWS["Minimum coverage"][1])),
                        as_of=day(settings["as_of"]) if "as_of" in settings else None,
                        segment_column=settings.get("segment_column", "Segment"),
                        segment_column_location=locate(("settings", "segment_column")),
                        as_of_location=locate(("settings", "as_of")),
                        accounts_sheet=settings.get("accounts_sheet"),
                        accounts_sheet_location=locate(("settings", "accounts_sheet")),
                        churn_risk_column=bool(settings.get("churn_risk_column",
                                                            c.SETTINGS_ROWS["Churn risk column"][1])),
                        benchmarks=benchmarks, playbooks=playbooks,
                        outcomes=tuple(Outcome(o["account"], o["outcome"], day(o["date"]) if "date" in o else None,
                                               locate(("outcomes", i))) for i, o in enumerate(data.get("outcomes", []))),
                        rules=tuple(rules))


def build_config(data: dict, locate: Callable[[ConfigPath], str], earlier: list[Problem] | None = None) -> HealthConfig:
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


def config_from_tables(tables: Mapping[str, SheetTable]) -> HealthConfig:
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
                    "labels": dict(m.labels) or None, "stale_after": m.stale_after, "date_column": m.date_column,
                    "read_from": "history" if m.logged else None, "description": m.description or None}
        item.update({k: v for k, v in optional.items() if v is not None})
        item.update(bands(m.bands))
        metrics.append(item)
    settings: dict[str, Any] = {**bands(config.bands), "min_coverage": config.min_coverage,
                                "segment_column": config.segment_column}
    if config.as_of:
        settings["as_of"] = config.as_of.isoformat()
    if config.accounts_sheet:
        settings["accounts_sheet"] = config.accounts_sheet
    if config.churn_risk_column:
        settings["churn_risk_column"] = True
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
        "rules": [{k: v for k, v in {"name": r.name, "when": r.when, "compare": r.compare, "value": r.value,
                                     "effect": r.effect, "to": r.to, "description": r.description or None}.items()
                   if v is not None} for r in config.rules],
    }
