"""Recommendations about GPUs and hosts: idle_gpu, consolidate, power_cap.

Each rule claims the hosts it targets, and later rules skip claimed hosts, so one GPU
or host is never counted twice: idle GPUs first, then consolidation of the remaining
hosts, then power caps on the hosts nobody has claimed.

Savings differ by location. A cloud GPU's cost stops when it is released, so the saving
is its cost. An on-prem GPU's purchase is sunk: switching it off saves only its energy,
and what it could have earned at `[prices] market_gpu_hour` is its opportunity cost,
shown in the evidence and never added to the saving.
"""

from __future__ import annotations

import math

from transforms.economics import idle_opportunity_cost
from transforms.recommend_types import (
    Recommendation,
    RecommendationInputs,
    has_columns,
    number,
)

GPU_COLUMNS = ("host", "gpu_uuid", "observed_hours", "idle_hours", "location")
HOST_COLUMNS = ("host", "location", "gpus", "observed_hours", "busy_hours")
POWER_COLUMNS = ("host", "location", "power_cap_watts", "mean_power_watts")

# A host whose GPUs draw on average less than this share of their cap is told the cap
# could come down (rack power to spare); there is no config key for it in DESIGN §5.
POWER_LOW_SHARE = 0.5
POWER_CAP_HEADROOM = 1.25  # suggested cap = mean draw x this, rounded up to 10 W


def gpu_target(row: dict) -> str:
    mig = str(row.get("mig_instance") or "")
    base = f"{row['host']}/{row['gpu_uuid']}"
    return f"{base}/{mig}" if mig and mig != "nan" else base


def idle_gpus(inputs: RecommendationInputs, claimed: set[str]) -> list[Recommendation]:
    """GPUs idle for at least idle_share of at least min_observed_hours."""
    frame = inputs.per_gpu
    if not has_columns(frame, GPU_COLUMNS):
        return []
    recs = []
    for row in frame.to_dict("records"):
        observed = number(row["observed_hours"])
        if observed <= 0 or observed < inputs.config.min_observed_hours:
            continue
        share = number(row["idle_hours"]) / observed
        if share < inputs.config.idle_share:
            continue
        recs.append(_idle_gpu(row, share, inputs))
        claimed.add(str(row["host"]))
    return recs


def _idle_gpu(row: dict, share: float, inputs: RecommendationInputs) -> Recommendation:
    idle_hours = number(row["idle_hours"])
    evidence = {
        "host": str(row["host"]),
        "location": str(row["location"]),
        "observed_hours": number(row["observed_hours"]),
        "idle_hours": idle_hours,
        "busy_hours": number(row.get("busy_hours"), None),
        "unknown_hours": number(row.get("unknown_hours"), None),
        "idle_share": share,
        "gpu_monthly_cost": number(row.get("cost")),
        "energy_kwh": number(row.get("energy_kwh")),
    }
    if row["location"] == "cloud":
        saving = share * number(row.get("cost"))
        formula = "idle_hours / observed_hours x the GPU's monthly cost"
        assumptions = (
            "Releasing the GPU (a smaller instance, or stopping it when idle) removes "
            "its cost for the idle share; usage next month looks like this month."
        )
        confidence = "high"
    else:
        saving = _idle_energy_cost(row, share, inputs)
        evidence["opportunity_cost"] = idle_opportunity_cost(
            idle_hours, inputs.prices.market_gpu_hour
        )
        evidence["market_gpu_hour"] = inputs.prices.market_gpu_hour
        formula = "energy_kwh x idle_hours / observed_hours x PUE x price per kWh"
        assumptions = (
            "On-prem: the purchase is sunk, so switching the GPU off saves only its "
            "idle energy, taken as spread evenly over observed hours; the opportunity "
            "cost (idle hours x market_gpu_hour) is what renting it out could earn."
        )
        confidence = "medium"
    return Recommendation(
        kind="idle_gpu",
        target=gpu_target(row),
        evidence=evidence,
        monthly_savings=saving,
        formula=formula,
        assumptions=assumptions + _no_price_note(row["location"], inputs),
        confidence=confidence,
        team=str(row.get("team") or ""),
    )


def _idle_energy_cost(row: dict, share: float, inputs: RecommendationInputs) -> float:
    kwh = number(row.get("energy_kwh")) * share
    return kwh * inputs.energy.pue * inputs.energy.price_per_kwh


def _no_price_note(location: str, inputs: RecommendationInputs) -> str:
    if location == "cloud" or inputs.energy.price_per_kwh > 0:
        return ""
    return " No [energy] price_per_kwh is set, so the energy saving is 0."


def consolidate(
    inputs: RecommendationInputs, claimed: set[str]
) -> list[Recommendation]:
    """Hosts whose busy work fits on fewer GPUs at target_utilization."""
    frame = inputs.per_host
    if not has_columns(frame, HOST_COLUMNS):
        return []
    recs = []
    for row in frame.to_dict("records"):
        if str(row["host"]) in claimed:
            continue
        rec = _consolidate_host(row, inputs)
        if rec is not None:
            recs.append(rec)
            claimed.add(str(row["host"]))
    return recs


def _consolidate_host(row: dict, inputs: RecommendationInputs) -> Recommendation | None:
    gpus = int(number(row["gpus"]))
    observed, busy = number(row["observed_hours"]), number(row["busy_hours"])
    target = inputs.config.target_utilization
    if gpus < 2 or observed <= 0 or target <= 0:
        return None
    hours_per_gpu = observed / gpus
    if hours_per_gpu < inputs.config.min_observed_hours:
        return None
    # 1e-9 keeps 2.0000000001 GPUs (float noise) from becoming 3.
    needed = max(1, math.ceil(busy / (hours_per_gpu * target) - 1e-9))
    freed = gpus - needed
    if freed < 1:
        return None
    evidence = {
        "gpus": gpus,
        "busy_hours": busy,
        "observed_hours": observed,
        "hours_per_gpu": hours_per_gpu,
        "utilization_now": busy / observed,
        "target_utilization": target,
        "gpus_needed": needed,
        "gpus_freed": freed,
        "utilization_after": busy / (needed * hours_per_gpu),
        "host_cost": number(row.get("cost")),
    }
    saving, formula, assumptions = _freed_value(row, freed, gpus, evidence, inputs)
    return Recommendation(
        kind="consolidate",
        target=str(row["host"]),
        evidence=evidence,
        monthly_savings=saving,
        formula=formula,
        assumptions=assumptions,
        confidence="medium",
        team=str(row.get("team") or ""),
    )


def _freed_value(
    row: dict, freed: int, gpus: int, evidence: dict, inputs: RecommendationInputs
) -> tuple[float, str, str]:
    packing = (
        "Busy work packs onto ceil(busy_hours / (hours_per_gpu x target)) GPUs; "
        "jobs can move between GPUs (no job needs more GPUs than remain)."
    )
    if row["location"] == "cloud":
        saving = freed / gpus * number(row.get("cost"))
        formula = "gpus_freed x host cost / gpus"
        stops = " The freed GPUs' cost stops (a smaller size)."
        return saving, formula, packing + stops
    share = freed / gpus
    saving = share * number(row.get("energy_cost"))
    evidence["energy_cost"] = number(row.get("energy_cost"))
    evidence["opportunity_cost"] = idle_opportunity_cost(
        freed * evidence["hours_per_gpu"], inputs.prices.market_gpu_hour
    )
    formula = "gpus_freed / gpus x host energy cost"
    assumptions = (
        packing + " On-prem the purchase is sunk: switching the freed GPUs off saves "
        "their share of the host's energy; renting them out is the opportunity cost."
    )
    return saving, formula, assumptions + _no_price_note("onprem", inputs)


def power_caps(inputs: RecommendationInputs, claimed: set[str]) -> list[Recommendation]:
    """On-prem hosts drawing above their cap, or far below it.

    `mean_power_watts` is the mean draw per physical GPU, compared with the per-GPU
    `power_cap_watts`. Above the cap: enforcing it saves the energy above the cap, taken
    as energy_kwh x (1 - cap / mean). Below POWER_LOW_SHARE of the cap: the cap can come
    down to free rack power; no energy saving is claimed, since draw is already lower.
    """
    frame = inputs.per_host
    if not has_columns(frame, POWER_COLUMNS):
        return []
    recs = []
    for row in frame.to_dict("records"):
        cap, mean = number(row["power_cap_watts"]), number(row["mean_power_watts"])
        if row["location"] != "onprem" or str(row["host"]) in claimed:
            continue
        if cap <= 0 or mean <= 0:
            continue
        if mean > cap:
            recs.append(_over_cap(row, cap, mean, inputs))
        elif mean < POWER_LOW_SHARE * cap:
            recs.append(_far_below_cap(row, cap, mean))
    return recs


def _over_cap(
    row: dict, cap: float, mean: float, inputs: RecommendationInputs
) -> Recommendation:
    kwh = number(row.get("energy_kwh"))
    excess_kwh = kwh * (1 - cap / mean)
    saving = excess_kwh * inputs.energy.pue * inputs.energy.price_per_kwh
    return Recommendation(
        kind="power_cap",
        target=str(row["host"]),
        evidence={
            "power_cap_watts": cap,
            "mean_power_watts": mean,
            "energy_kwh": kwh,
            "excess_kwh": excess_kwh,
            "pue": inputs.energy.pue,
            "price_per_kwh": inputs.energy.price_per_kwh,
        },
        monthly_savings=saving,
        formula="energy_kwh x (1 - cap / mean power) x PUE x price per kWh",
        assumptions=(
            "Mean draw per GPU is above the configured cap: the cap is not enforced "
            "or is set wrong. Enforcing it (nvidia-smi -pl) removes the energy above "
            "it; throughput of power-bound jobs may drop."
            + _no_price_note("onprem", inputs)
        ),
        confidence="medium",
        team=str(row.get("team") or ""),
    )


def _far_below_cap(row: dict, cap: float, mean: float) -> Recommendation:
    suggested = math.ceil(mean * POWER_CAP_HEADROOM / 10) * 10
    return Recommendation(
        kind="power_cap",
        target=str(row["host"]),
        evidence={
            "power_cap_watts": cap,
            "mean_power_watts": mean,
            "mean_share_of_cap": mean / cap,
            "suggested_cap_watts": suggested,
            "gpus": int(number(row.get("gpus"))),
            "rack_watts_freed": (cap - suggested) * int(number(row.get("gpus"))),
        },
        monthly_savings=0.0,
        formula="none: draw is already below the suggested cap, so no energy is saved",
        assumptions=(
            f"Mean draw per GPU is under {POWER_LOW_SHARE:.0%} of the cap; a cap of "
            f"mean x {POWER_CAP_HEADROOM} frees provisioned rack power for more GPUs "
            "without slowing typical work. Short peaks above it would be clipped."
        ),
        confidence="low",
        team=str(row.get("team") or ""),
    )
