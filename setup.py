"""Only the package list lives here; everything else is in pyproject.toml.

Every ``chs_excel`` subpackage is found (a new one cannot be left out of the wheel again), and the JSON Schema in the
top-level ``schemas/`` folder is shipped inside the package as ``chs_excel.schemas`` (``package-dir`` in
pyproject.toml), where ``chs_excel.config.load_schema`` finds it. ``[tool.setuptools.packages.find]`` alone cannot do
this: it only finds folders under ``chs_excel/``, so the mapped ``chs_excel.schemas`` would be dropped.
"""
from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["chs_excel", "chs_excel.*"]), "chs_excel.schemas"])
