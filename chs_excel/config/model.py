"""The scorecard as typed, frozen values: categories, metrics, overrides, targets, playbooks, outcomes.

Standard library only: the engine imports these types without loading the
schema, the sheet readers or pandas. :mod:`chs_excel.config.build` makes them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


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
    stale_after: int | None = None  # days: older data counts as missing (None: never stale)
    date_column: str | None = None  # Accounts column with the date of the source (None: trend's latest period)
    date_column_location: str = ""
    read_from: str = "accounts"  # "history": Source is the latest Metric History entry (Source 2 stays on Accounts)
    read_from_location: str = ""

    @property
    def logged(self) -> bool:
        """Is the value the latest Metric History entry of ``source`` (not a column of Accounts, not a trend)?"""
        return self.read_from == "history" and self.measure != "trend"

    @property
    def from_history(self) -> bool:
        """Does the metric read ``source`` from Metric History (a trend, or a logged metric)?"""
        return self.measure == "trend" or self.logged


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
class Rule:
    """When ``when`` (Overall, a category, a metric or an Accounts column) compares true with ``value``, apply ``effect``.

    ``by_band``: the condition compares the score's band (``value`` is Red, Amber or Green);
    ``kind``: what ``when`` names: "overall", "category", "metric" or "column".
    ``to``: a score (cap score) or a band (cap band, set band).
    """

    name: str
    when: str
    kind: str
    compare: str
    value: float | str
    effect: str
    to: float | str
    by_band: bool = False
    description: str = ""
    location: str = ""
    when_location: str = ""


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
    churn_risk_column: bool = False  # Scores shows each band's observed churn rate (Settings: Churn risk column)
    benchmarks: tuple[Benchmark, ...] = ()
    playbooks: tuple[Playbook, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    rules: tuple[Rule, ...] = ()

    def metrics_in(self, category: str) -> list[Metric]:
        return [m for m in self.metrics if m.category == category]
