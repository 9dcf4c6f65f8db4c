"""What a recommendation is, what the rules read, and how both become JSON-safe.

`transforms.recommend` re-exports these; import them from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ingest.config import EnergyConfig, PricesConfig, RecommendationsConfig

CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
EVIDENCE_DECIMALS = 6


@dataclass
class Recommendation:
    """One thing to change, with this month's numbers behind it.

    `team` names the team whose spend the saving comes from ("" when it is not one
    team's); the budget rule uses it so a team's saving is not counted twice.
    """

    kind: str
    target: str
    evidence: dict
    monthly_savings: float
    formula: str
    assumptions: str
    confidence: str  # "high" | "medium" | "low"
    rank: int = 0
    team: str = ""

    def to_dict(self) -> dict:
        return json_safe(
            {
                "rank": self.rank,
                "kind": self.kind,
                "target": self.target,
                "team": self.team,
                "monthly_savings": self.monthly_savings,
                "confidence": self.confidence,
                "evidence": self.evidence,
                "formula": self.formula,
                "assumptions": self.assumptions,
            }
        )


def _empty() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass
class RecommendationInputs:
    """This month's results the rules read (column lists in `transforms.recommend`)."""

    month: str
    currency: str
    per_gpu: pd.DataFrame = field(default_factory=_empty)
    per_host: pd.DataFrame = field(default_factory=_empty)
    billing: pd.DataFrame = field(default_factory=_empty)
    daily_cost: pd.DataFrame = field(default_factory=_empty)
    budgets: dict[str, float] = field(default_factory=dict)
    team_costs: dict[str, float] = field(default_factory=dict)
    forecast: dict | None = None
    config: RecommendationsConfig = field(default_factory=RecommendationsConfig)
    prices: PricesConfig = field(default_factory=PricesConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)


def json_safe(value: Any) -> Any:
    """Plain Python values only: numpy scalars unwrapped, NaN and inf as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return round(value, EVIDENCE_DECIMALS) if math.isfinite(value) else None
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def number(value: Any, default: Any = 0.0) -> Any:
    """A finite float, or `default` (0.0 unless given) for None, NaN, inf and text."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if math.isfinite(result) else default


def has_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> bool:
    return not frame.empty and all(c in frame.columns for c in columns)
