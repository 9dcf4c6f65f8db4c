"""summary.json: the month's numbers, rounded once, with every split summing back.

The layout is DESIGN §5's contract. Money is rounded to cents here and nowhere earlier;
`by_category` and `by_team` are rounded so that each sums to `total_cost` exactly.
Hours and kWh go to three decimals; ratios stay unrounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from transforms.money import round_preserving_sum, to_cents
from transforms.schema import CATEGORIES

TOTAL_KEYS = ("billed_cost", "effective_cost", "list_cost", "tax", "credits")
GPU_HOUR_KEYS = (
    "gpu_hours",
    "busy_gpu_hours",
    "idle_gpu_hours",
    "unknown_gpu_hours",
    "available_gpu_hours",
    "energy_kwh",
)


def build_summary(
    result,
    *,
    provisional: bool,
    fx: dict,
    invoices: dict[str, float],
    data_quality: dict,
    extra: dict | None = None,
) -> dict[str, Any]:
    """The summary.json mapping for a MonthResult (transforms.month)."""
    total = to_cents(result.totals["total_cost"])
    totals = {key: to_cents(result.totals[key]) for key in TOTAL_KEYS}
    totals["total_cost"] = total
    summary = {
        "month": result.month,
        "currency": result.currency,
        "provisional": bool(provisional),
        "totals": totals,
        "by_category": _split(result.by_category, total, CATEGORIES),
        "by_team": _split(result.by_team, total),
        "gpu": _gpu(result.gpu.summary),
        "kpis": json_safe(result.kpis),
        "recommendations": [json_safe(_rec(r)) for r in result.recommendations],
        "economics": json_safe(result.economics),
        "forecast": json_safe(result.forecast),
        "fx": json_safe(fx),
        "invoices": {k or "(none)": to_cents(v) for k, v in sorted(invoices.items())},
        "data_quality": json_safe(data_quality),
        "allocation_coverage": result.coverage,
    }
    summary.update(json_safe(extra or {}))
    return summary


def _split(
    amounts: dict[str, float], total: float, keys: tuple[str, ...] = ()
) -> dict[str, float]:
    raw = {k: float(amounts.get(k, 0.0)) for k in (keys or amounts)}
    rounded = round_preserving_sum(raw, places=2, total=total) if raw else {}
    order = keys or sorted(rounded, key=lambda k: (-rounded[k], k))
    return {k: rounded[k] + 0.0 for k in order}


def _gpu(summary: dict) -> dict[str, float]:
    out = {k: round(float(summary.get(k) or 0.0), 3) for k in GPU_HOUR_KEYS}
    utilization = summary.get("utilization")
    out["utilization"] = json_safe(utilization)
    out["idle_cost"] = to_cents(float(summary.get("idle_cost") or 0.0))
    return out


def _rec(rec) -> dict:
    data = dict(vars(rec))
    data["monthly_savings"] = to_cents(float(data.get("monthly_savings") or 0.0))
    return data


def json_safe(value: Any) -> Any:
    """Numbers JSON can carry: numpy scalars unwrapped, NaN and inf as null."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
