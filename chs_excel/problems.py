"""Messages for people: config errors that stop a refresh, data issues that do not."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """A config error at a place the user can find: ``Metrics!D5`` or ``config.json: metrics[2].weight``."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; nothing was scored or written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class BookError(Exception):
    """The workbook itself cannot be read or written (missing, corrupt, locked, read-only)."""


@dataclass(frozen=True)
class DataIssue:
    """A cell chs-excel could not use, and what it did instead (written to the Data Issues sheet)."""

    sheet: str
    cell: str
    column: str
    value: Any
    problem: str
    action: str

    @property
    def row(self) -> int | None:
        digits = "".join(ch for ch in self.cell.split("!")[-1] if ch.isdigit())
        return int(digits) if digits else None


def show_value(value: Any) -> str:
    """How a cell value is quoted in a message: text in quotes, numbers plain."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
