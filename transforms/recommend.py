"""What to change to spend less: every recommendation kind of DESIGN §4, ranked.

Inputs (`RecommendationInputs`):
- per_gpu: host, gpu_uuid, mig_instance, weight, observed_hours, busy_hours,
  idle_hours, unknown_hours, utilization, energy_kwh, team, location, cost, idle_cost
- per_host: host, location, gpus, gpu_model, team, cost, observed_hours, busy_hours,
  idle_hours, available_hours, utilization, energy_kwh, energy_cost, power_cap_watts,
  mean_power_watts (mean draw per physical GPU, comparable with the per-GPU cap)
- billing: the month's canonical rows (FOCUS columns) plus `team` and `category`
- daily_cost: date, service, team, cost

One target is never counted twice: a GPU flagged idle_gpu claims its host, so the host
is neither consolidated nor power-capped; a consolidated host is not power-capped; and
a team's budget line counts only the excess its other lines do not already save.
Rules whose columns are missing are skipped (the missing input is the report's to say).
"""

from __future__ import annotations

import json

from transforms import recommend_gpu, recommend_spend
from transforms.money import to_cents
from transforms.recommend_types import (
    CONFIDENCE_ORDER,
    Recommendation,
    RecommendationInputs,
    json_safe,
    number,
)

__all__ = [
    "KINDS",
    "Recommendation",
    "RecommendationInputs",
    "recommend",
    "recommendations_to_rows",
    "total_monthly_savings",
]

KINDS = (
    "idle_gpu",
    "consolidate",
    "commitment",
    "commitment_underused",
    "untagged",
    "power_cap",
    "anomaly",
    "budget",
    "forecast",
)


def recommend(inputs: RecommendationInputs) -> list[Recommendation]:
    """Every recommendation for the month, ranked by monthly saving."""
    claimed: set[str] = set()  # hosts already targeted
    found = [
        *recommend_gpu.idle_gpus(inputs, claimed),
        *recommend_gpu.consolidate(inputs, claimed),
        *recommend_gpu.power_caps(inputs, claimed),
        *recommend_spend.commitments(inputs),
        *recommend_spend.underused_commitments(inputs),
        *recommend_spend.untagged(inputs),
        *recommend_spend.anomalies(inputs),
    ]
    found += recommend_spend.budgets(inputs, found)
    found += recommend_spend.forecast(inputs)
    return _ranked([_cleaned(rec) for rec in found])


def _cleaned(rec: Recommendation) -> Recommendation:
    rec.monthly_savings = max(number(rec.monthly_savings), 0.0)
    rec.evidence = json_safe(rec.evidence)
    return rec


def _ranked(recs: list[Recommendation]) -> list[Recommendation]:
    ordered = sorted(
        recs,
        key=lambda r: (
            -r.monthly_savings,
            CONFIDENCE_ORDER.get(r.confidence, len(CONFIDENCE_ORDER)),
            KINDS.index(r.kind),
            r.target,
        ),
    )
    for rank, rec in enumerate(ordered, start=1):
        rec.rank = rank
    return ordered


def total_monthly_savings(recs: list[Recommendation]) -> float:
    """Recommended monthly savings, each target counted once (its largest line)."""
    best: dict[str, float] = {}
    for rec in recs:
        best[rec.target] = max(best.get(rec.target, 0.0), rec.monthly_savings)
    return sum(best.values())


def recommendations_to_rows(
    recs: list[Recommendation], currency: str | None = None
) -> list[dict]:
    """Rows for recommendations.csv: money in cents, evidence as JSON text."""
    rows = []
    for rec in recs:
        row = {
            "rank": rec.rank,
            "kind": rec.kind,
            "target": rec.target,
            "monthly_savings": to_cents(rec.monthly_savings),
        }
        if currency is not None:
            row["currency"] = currency
        row |= {
            "confidence": rec.confidence,
            "evidence": json.dumps(
                json_safe(rec.evidence), sort_keys=True, allow_nan=False
            ),
            "formula": rec.formula,
            "assumptions": rec.assumptions,
        }
        rows.append(row)
    return rows
