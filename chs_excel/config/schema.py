"""The JSON Schema of the config object, and its errors in the project's words.

Each schema node may carry an ``errorMessage``; :func:`schema_problems` turns a
jsonschema error into a :class:`~chs_excel.problems.Problem` with the most
specific of those messages, at the cell (or JSON path) the value came from.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from chs_excel import contract as c
from chs_excel.problems import Problem, show_value

ConfigPath = tuple[Any, ...]  # a place in the config object, e.g. ("metrics", 2, "weight")


@lru_cache(maxsize=1)
def load_schema() -> dict:
    """The JSON Schema: from the package data of a wheel (or the Lite bundle), else from the source tree's schemas/."""
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


def is_finite_number(value: Any) -> bool:
    """A real, finite number: not TRUE/FALSE, NaN, an infinity, or an integer too big for a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _finite_number(checker: Any, instance: Any) -> bool:
    return is_finite_number(instance)


# Every "number" in the schema is a finite one: NaN, Infinity (JSON or a cell) and 1e309 are not numbers here.
ConfigValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number))


def schema_problems(data: dict, locate: Callable[[ConfigPath], str]) -> list[Problem]:
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


_LABELS = {col.key: col.header for cols in (c.RULE_COLUMNS, c.METRIC_COLUMNS, c.CATEGORY_COLUMNS, c.OVERRIDE_COLUMNS)
           for col in cols}
_LABELS.update({key: label for label, (key, _) in c.SETTINGS_ROWS.items()})
_LABELS["name"] = "Name"


def label_of(path: ConfigPath) -> str:
    key = path[-1] if path else ""
    if path[:1] == ("categories",) and key == "name":
        return "Category"
    if path[:1] == ("metrics",) and key == "name":
        return "Metric"
    if path[:1] == ("rules",) and key == "name":
        return "Rule"
    return _LABELS.get(key, str(key))
