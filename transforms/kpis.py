"""The monthly KPIs of DESIGN §4, each with last month's value and the change.

`compute_kpis` takes the raw numbers of this month (keys of `RAW_KEYS`) and last month's
summary.json (or None). Every KPI is `{value, previous, change, formula}`; a division by
zero, a missing input or a non-finite number gives None, so the result is JSON-safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

RAW_KEYS = (
    "recommended_savings",  # monthly, counted once per target
    "total_cost",
    "gpu_utilization",
    "busy_gpu_hours",
    "available_gpu_hours",
    "energy_kwh",
    "energy_cost",
    "list_cost",  # cloud ListCost
    "effective_cost",  # cloud EffectiveCost
    "allocated_gross",
    "gross",
    "people_cost",
    "gpu_hours",  # observed
    "platform_engineers",
    "gpus",
)

Raw = Mapping[str, Any]


def _number(raw: Raw, key: str) -> float | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _divide(raw: Raw, top: str, bottom: str) -> float | None:
    numerator, denominator = _number(raw, top), _number(raw, bottom)
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def _effective_savings(raw: Raw) -> float | None:
    list_cost, effective = _number(raw, "list_cost"), _number(raw, "effective_cost")
    if list_cost is None or effective is None or list_cost == 0:
        return None
    return (list_cost - effective) / list_cost


def _ratio_of(top: str, bottom: str) -> Callable[[Raw], float | None]:
    return lambda raw: _divide(raw, top, bottom)


def _copy(key: str) -> Callable[[Raw], float | None]:
    return lambda raw: _number(raw, key)


# KPI name -> (how to compute it from the raw numbers, the formula printed beside it).
KPIS: dict[str, tuple[Callable[[Raw], float | None], str]] = {
    "cost_savings_rate": (
        _ratio_of("recommended_savings", "total_cost"),
        "recommended monthly savings (once per target) / total cost",
    ),
    "gpu_utilization": (
        _copy("gpu_utilization"),
        "interval-weighted mean utilization of samples with known utilization",
    ),
    "capacity_utilization": (
        _ratio_of("busy_gpu_hours", "available_gpu_hours"),
        "busy GPU-hours / available GPU-hours",
    ),
    "energy_kwh": (_copy("energy_kwh"), "GPU energy in kWh"),
    "energy_cost": (_copy("energy_cost"), "on-prem kWh x PUE x price per kWh"),
    "effective_savings_rate": (
        _effective_savings,
        "(ListCost - EffectiveCost) / ListCost",
    ),
    "allocation_coverage": (
        _ratio_of("allocated_gross", "gross"),
        "allocated gross cost / gross cost (credits and negative rows left out)",
    ),
    "cost_per_gpu_hour": (
        _ratio_of("total_cost", "gpu_hours"),
        "total cost / observed GPU-hours",
    ),
    "cost_per_busy_gpu_hour": (
        _ratio_of("total_cost", "busy_gpu_hours"),
        "total cost / busy GPU-hours",
    ),
    "people_cost_per_busy_gpu_hour": (
        _ratio_of("people_cost", "busy_gpu_hours"),
        "people cost / busy GPU-hours",
    ),
    "people_share": (_ratio_of("people_cost", "total_cost"), "people / total cost"),
    "gpus_per_platform_engineer": (
        _ratio_of("gpus", "platform_engineers"),
        "inventory GPUs / engineers of [people] platform_teams",
    ),
}


def compute_kpis(current: Raw, previous_summary: Mapping | None) -> dict:
    """Every KPI as {value, previous, change, formula}."""
    if "recommended_savings" not in current:  # the longer name is accepted too
        current = {
            **current,
            "recommended_savings": current.get("recommended_monthly_savings"),
        }
    kpis = {}
    for name, (compute, formula) in KPIS.items():
        value = compute(current)
        previous = _previous_value(previous_summary, name)
        change = None if value is None or previous is None else value - previous
        kpis[name] = {
            "value": value,
            "previous": previous,
            "change": change,
            "formula": formula,
        }
    return kpis


def _previous_value(summary: Mapping | None, name: str) -> float | None:
    if not isinstance(summary, Mapping):
        return None
    kpis = summary.get("kpis")
    entry = kpis.get(name) if isinstance(kpis, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    return _number(entry, "value")
