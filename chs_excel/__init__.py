"""chs-excel: an explainable customer health score engine that lives in Excel.

The names below are loaded on first use, so importing one layer (the engine,
the config types) loads only what that layer needs.
"""
from importlib import import_module

__version__ = "0.1.0"
_HOMES = {"BookError": "problems", "ConfigError": "problems", "DataIssue": "problems", "Problem": "problems",
          "HealthConfig": "config", "config_from_json": "config", "config_from_tables": "config",
          "ScoreResult": "core.engine", "ScoringInput": "core.engine", "score": "core.engine",
          "refresh": "pipeline", "refresh_file": "pipeline", "validate_file": "pipeline"}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
