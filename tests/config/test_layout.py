"""The typed config and the engine import without the schema or the workbook stack.

Each import runs in a fresh interpreter, so modules an earlier test loaded cannot hide a new dependency.
"""
import subprocess
import sys

import pytest

SCHEMA_AND_WORKBOOK = ("jsonschema", "openpyxl", "python_calamine", "xlwings")


def loaded_by_import(module: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded once it has imported ``module``."""
    probe = f"import sys, {module}; print(' '.join(m for m in {watched!r} if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("module", ["chs_excel.config.model", "chs_excel.core.engine"])
def test_importing_loads_no_schema_or_workbook_library(module):
    assert loaded_by_import(module, SCHEMA_AND_WORKBOOK) == []


def test_the_config_model_is_standard_library_only():
    assert loaded_by_import("chs_excel.config.model", ("numpy", "pandas")) == []


def test_the_builders_are_still_reachable_from_the_package():
    from chs_excel.config import HealthConfig, config_from_json, config_from_tables, load_schema
    from chs_excel.config.build import config_from_tables as built
    from chs_excel.config.model import HealthConfig as typed

    assert config_from_tables is built and HealthConfig is typed
    assert callable(config_from_json) and load_schema()["type"] == "object"
