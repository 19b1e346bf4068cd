"""chs-excel: an explainable customer health score engine that lives in Excel."""
from chs_excel.config import HealthConfig, config_from_json, config_from_tables
from chs_excel.core.engine import ScoreResult, ScoringInput, score
from chs_excel.problems import BookError, ConfigError, DataIssue, Problem
from chs_excel.pipeline import refresh, refresh_file, validate_file

__version__ = "0.1.0"
__all__ = ["BookError", "ConfigError", "DataIssue", "HealthConfig", "Problem", "ScoreResult", "ScoringInput",
           "config_from_json", "config_from_tables", "refresh", "refresh_file", "score", "validate_file"]
