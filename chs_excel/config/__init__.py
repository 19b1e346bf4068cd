"""The scorecard configuration: built from workbook sheets or a JSON file, checked, typed.

- :mod:`~chs_excel.config.model`: the typed scorecard (standard library only; what the engine imports)
- :mod:`~chs_excel.config.sheets`: the config sheets' cells -> the config object
- :mod:`~chs_excel.config.schema`: the JSON Schema and its messages
- :mod:`~chs_excel.config.checks`: checks across fields, beyond the schema
- :mod:`~chs_excel.config.build`: validate and build :class:`HealthConfig`

The builders are loaded on first use, so importing the types loads no jsonschema.
"""
from __future__ import annotations

from importlib import import_module

from chs_excel.config.model import Bands, Benchmark, Category, HealthConfig, Metric, Outcome, Override, Playbook, Rule

_LOADED_ON_USE = {"config_from_tables": "build", "config_from_json": "build", "config_to_dict": "build",
                  "excel_date_problem": "checks", "convert_cell": "sheets", "load_schema": "schema"}

__all__ = ["Bands", "Benchmark", "Category", "HealthConfig", "Metric", "Outcome", "Override", "Playbook", "Rule",
           *_LOADED_ON_USE]


def __getattr__(name: str):
    if name not in _LOADED_ON_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_LOADED_ON_USE[name]}"), name)
