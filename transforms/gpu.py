"""GPU use and GPU cost from canonical GPU samples (DESIGN §4 "GPU use"). Pure: no I/O.

Two phases. The per-sample phase (`transforms.gpu_rollup`) turns chunks of samples
into a `GpuRollup`: hours per series, team, job and UTC day, and energy per physical
GPU. The costing phase here needs only that roll-up:
1. per GPU or MIG instance: hours, utilization, majority team, its share of the
   device's energy;
2. cost per host (cloud: matched billing rows, spread over observed GPU-hours;
   on-prem: depreciation + maintenance + energy, spread over available GPU-hours),
   split to the teams that ran the busy hours and to `idle` (or shared);
3. the month's summary, jobs and daily cells.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.config import EnergyConfig, InventoryHost, TelemetryConfig
from transforms.findings import Finding
from transforms.gpu_rollup import (
    MODEL_POWER_CAP_WATTS,
    PHYSICAL,
    SERIES,
    GpuRollup,
    Month,
    combine_rollups,
    model_power_cap,
    month_window,
    rollup_samples,
    telemetry_warning,
)

__all__ = [
    "MODEL_POWER_CAP_WATTS",
    "GpuResult",
    "GpuRollup",
    "Month",
    "combine_rollups",
    "gpu_costs",
    "model_power_cap",
    "month_window",
    "rollup_samples",
]

IDLE = "idle"
UNALLOCATED = "unallocated"

PER_GPU_COLUMNS = [
    "host",
    "gpu_uuid",
    "mig_instance",
    "weight",
    "observed_hours",
    "busy_hours",
    "idle_hours",
    "unknown_hours",
    "utilization",
    "energy_kwh",
    "team",
    "location",
    "cost",
    "idle_cost",
]
PER_HOST_COLUMNS = [
    "host",
    "location",
    "gpus",
    "gpu_model",
    "team",
    "cost",
    "observed_hours",
    "busy_hours",
    "idle_hours",
    "unknown_hours",
    "available_hours",
    "utilization",
    "energy_kwh",
    "energy_cost",
    "cost_per_gpu_hour",
    "cost_per_busy_gpu_hour",
    "power_cap_watts",
    "mean_power_watts",
]


@dataclass
class GpuResult:
    summary: dict
    per_gpu: pd.DataFrame
    per_host: pd.DataFrame
    allocations: pd.DataFrame  # team, category, source, amount (cents, sums per host)
    onprem: dict
    matched_billing: pd.Index
    jobs: pd.DataFrame
    daily: pd.DataFrame
    team_busy_hours: dict[str, float]
    findings: list[Finding] = field(default_factory=list)


def gpu_costs(
    samples: pd.DataFrame | GpuRollup,
    billing: pd.DataFrame,
    *,
    month: str,
    inventory: list[InventoryHost],
    telemetry: TelemetryConfig,
    energy: EnergyConfig,
) -> GpuResult:
    """GPU-hours, energy and cost from samples (one chunk) or from their roll-up."""
    if isinstance(samples, GpuRollup):
        rollup = samples
    else:
        rollup = rollup_samples(
            samples, month=month, inventory=inventory, telemetry=telemetry
        )
    window = month_window(month)
    hosts = {h.host: h for h in inventory}
    findings = list(rollup.findings)
    per_gpu = gpu_table(rollup.usage, rollup.physical)
    physical = rollup.physical
    costs = host_costs(per_gpu, physical, billing, hosts, energy, window, findings)
    return _assemble(rollup.usage, per_gpu, costs, hosts, telemetry, window, findings)


# --- per GPU ---


def gpu_table(usage: pd.DataFrame, physical: pd.DataFrame) -> pd.DataFrame:
    """One row per GPU or MIG instance: hours, utilization, energy, majority team."""
    sums = usage.groupby(SERIES, sort=True).agg(
        weight=("weight", "first"),
        observed_hours=("hours", "sum"),
        busy_hours=("busy_hours", "sum"),
        idle_hours=("idle_hours", "sum"),
        unknown_hours=("unknown_hours", "sum"),
        known_hours=("known_hours", "sum"),
        util_hours=("util_hours", "sum"),
    )
    sums = sums.reset_index()
    sums["utilization"] = _ratio(sums["util_hours"], sums["known_hours"])
    sums["team"] = (
        _majority_team(usage).reindex(pd.MultiIndex.from_frame(sums[SERIES])).to_numpy()
    )
    return _share_energy(sums, physical)


def _majority_team(usage: pd.DataFrame) -> pd.Series:
    hours = usage.groupby([*SERIES, "team"], sort=True)["hours"].sum().reset_index()
    hours = hours.sort_values([*SERIES, "hours"], ascending=[True] * 3 + [False])
    return hours.drop_duplicates(SERIES).set_index(SERIES)["team"]


def _share_energy(gpus: pd.DataFrame, physical: pd.DataFrame) -> pd.DataFrame:
    """A physical GPU's energy split over its MIG instances by observed hours."""
    device_hours = gpus.groupby(PHYSICAL)["observed_hours"].transform("sum")
    count = gpus.groupby(PHYSICAL)["observed_hours"].transform("size")
    share = np.where(
        device_hours > 0,
        gpus["observed_hours"] / device_hours.where(device_hours > 0, 1),
        1.0 / count,
    )
    joules = gpus[PHYSICAL].merge(physical, on=PHYSICAL, how="left")["joules"]
    gpus["energy_kwh"] = joules.fillna(0.0).to_numpy() * share / 3.6e6
    return gpus


# --- 4. cost per host ---


@dataclass
class HostCosts:
    table: pd.DataFrame  # per host: location, cost parts, hours, spread hours
    allocations: pd.DataFrame
    matched: pd.Index


def host_costs(
    per_gpu: pd.DataFrame,
    physical: pd.DataFrame,
    billing: pd.DataFrame,
    hosts: dict[str, InventoryHost],
    energy: EnergyConfig,
    window: Month,
    findings: list[Finding],
) -> HostCosts:
    table = _host_hours(per_gpu, physical, hosts, window)
    cloud_cost, matched = match_billing(billing, hosts, window, findings)
    kwh = table["energy_kwh"]
    onprem = table["location"] == "onprem"
    owned = {h: c for h, c in hosts.items() if c.location == "onprem"}
    depreciation = {
        h: c.purchase_cost / c.depreciation_months for h, c in owned.items()
    }
    upkeep = {h: c.purchase_cost * c.maintenance_rate / 12.0 for h, c in owned.items()}
    hardware = table["host"].map(cloud_cost).astype("float64")
    table["hardware"] = hardware.fillna(table["host"].map(depreciation)).fillna(0.0)
    table["maintenance"] = table["host"].map(upkeep).astype("float64").fillna(0.0)
    table["energy_cost"] = np.where(
        onprem, kwh * energy.pue * energy.price_per_kwh, 0.0
    )
    table["cost"] = table[["hardware", "maintenance", "energy_cost"]].sum(axis=1)
    _report_unobserved(table, findings)
    return HostCosts(table, pd.DataFrame(), matched)


def _host_hours(
    per_gpu: pd.DataFrame,
    physical: pd.DataFrame,
    hosts: dict[str, InventoryHost],
    window: Month,
) -> pd.DataFrame:
    sums = per_gpu.groupby("host").agg(
        observed_hours=("observed_hours", "sum"),
        busy_hours=("busy_hours", "sum"),
        idle_hours=("idle_hours", "sum"),
        unknown_hours=("unknown_hours", "sum"),
        known_hours=("known_hours", "sum"),
        util_hours=("util_hours", "sum"),
        energy_kwh=("energy_kwh", "sum"),
    )
    device = physical.groupby("host").agg(
        devices=("gpu_uuid", "size"),
        device_seconds=("seconds", "sum"),
        cap_watts=("cap_watts", "max"),
    )
    names = sorted(set(sums.index) | set(hosts))
    table = sums.join(device).reindex(names).fillna(0.0).rename_axis("host")
    table = table.reset_index()
    table["location"] = table["host"].map({h: c.location for h, c in hosts.items()})
    table["location"] = table["location"].fillna("")
    gpus = table["host"].map({h: c.gpus for h, c in hosts.items()})
    table["gpus"] = gpus.fillna(table["devices"]).astype(int)
    table["available_hours"] = np.where(
        table["location"] != "", table["gpus"] * window.hours, 0.0
    )
    spread = np.where(
        table["location"] == "onprem",
        np.maximum(table["available_hours"], table["observed_hours"]),
        table["observed_hours"],
    )
    table["spread_hours"] = spread
    return table


def match_billing(
    billing: pd.DataFrame,
    hosts: dict[str, InventoryHost],
    window: Month,
    findings: list[Finding],
) -> tuple[dict[str, float], pd.Index]:
    """EffectiveCost per cloud host: its resource_id rows, or pattern and tags."""
    rows = _month_rows(billing, window)
    resource = rows["ResourceId"].fillna("").astype(str)
    by_id = _rows_by_resource(resource)
    effective = rows["EffectiveCost"].astype("float64").to_numpy()
    taken = np.zeros(len(rows), dtype=bool)
    costs: dict[str, float] = {}
    for name in sorted(hosts):
        host = hosts[name]
        if host.location != "cloud":
            continue
        if host.resource_id:
            found = by_id.get(host.resource_id, np.zeros(0, dtype=np.int64))
        else:
            found = np.flatnonzero(_host_rows(rows, host, resource).to_numpy())
        found = found[~taken[found]]
        taken[found] = True
        costs[name] = float(effective[found].sum())
        if not len(found):
            findings.append(
                telemetry_warning(
                    "cloud_host_unbilled",
                    f"cloud host {name} matched no billing row of the month "
                    f"(resource_id {host.resource_id!r}, resource_pattern "
                    f"{host.resource_pattern!r}); its GPU cost is 0: check "
                    "[[inventory]]",
                    count=0,
                )
            )
    return costs, rows.index[taken]


def _rows_by_resource(resource: pd.Series) -> dict[str, np.ndarray]:
    """Row positions (ascending) of each ResourceId: one sort, not a scan per host."""
    codes, uniques = pd.factorize(resource)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {str(u): order[bounds[i] : bounds[i + 1]] for i, u in enumerate(uniques)}


def _month_rows(billing: pd.DataFrame, window: Month) -> pd.DataFrame:
    if billing is None or billing.empty or "ResourceId" not in billing:
        return pd.DataFrame(columns=["ResourceId", "EffectiveCost", "Tags"])
    if "ChargePeriodStart" not in billing:
        return billing
    start = pd.to_datetime(billing["ChargePeriodStart"], utc=True)
    return billing[(start >= window.start) & (start < window.end)]


def _host_rows(
    rows: pd.DataFrame, host: InventoryHost, resource: pd.Series
) -> pd.Series:
    if host.resource_id:
        return resource == host.resource_id
    if not host.resource_pattern:
        return pd.Series(False, index=rows.index)
    mask = resource.str.match(fnmatch.translate(host.resource_pattern))
    if host.resource_tags and mask.any():
        tags = (
            rows.loc[mask, "Tags"]
            if "Tags" in rows
            else pd.Series("", index=rows.index)
        )
        has_tags = tags.map(lambda text: _tags_match(text, host.resource_tags))
        mask = mask & has_tags.reindex(rows.index, fill_value=False)
    return mask


def _tags_match(text: object, wanted: dict[str, str]) -> bool:
    if isinstance(text, dict):
        tags = text
    else:
        try:
            tags = json.loads(text) if isinstance(text, str) and text else {}
        except json.JSONDecodeError:
            return False
    return isinstance(tags, dict) and all(
        str(tags.get(k, "")) == str(v) for k, v in wanted.items()
    )


def _report_unobserved(table: pd.DataFrame, findings: list[Finding]) -> None:
    missing = table[table["location"] == ""]
    if not missing.empty:
        findings.append(
            telemetry_warning(
                "unknown_host",
                f"{len(missing)} hosts in the telemetry are not in [[inventory]]; "
                "their GPU-hours are counted but carry no cost: add them to "
                "[[inventory]] or map them with [telemetry.hosts]",
                count=len(missing),
                examples=sorted(missing["host"].tolist())[:10],
            )
        )
    idle_cloud = table[
        (table["location"] == "cloud")
        & (table["observed_hours"] <= 0)
        & (table["hardware"] != 0)
    ]
    if not idle_cloud.empty:
        findings.append(
            telemetry_warning(
                "cloud_host_unobserved",
                f"{len(idle_cloud)} cloud hosts have cost but no telemetry in the "
                "month; their whole cost is counted as idle",
                count=len(idle_cloud),
                examples=sorted(idle_cloud["host"].tolist())[:10],
            )
        )


# --- allocation to teams ---


def allocate(
    usage: pd.DataFrame, table: pd.DataFrame, idle_policy: str
) -> pd.DataFrame:
    """Each host's cost parts split over team busy hours and idle.

    Shares stay at full precision: the summary rounds once, so that every split of the
    month sums back to its total (DESIGN §4).
    """
    busy = usage.groupby(["host", "team"])["busy_hours"].sum()
    rows = []
    for host in table.itertuples(index=False):  # one pass per host, not per sample
        if host.location == "":
            continue
        weights = _weights(host, busy, idle_policy)
        source = "onprem" if host.location == "onprem" else "telemetry"
        parts = {"hardware": host.hardware}
        if host.location == "onprem":
            parts |= {"energy": host.energy_cost, "maintenance": host.maintenance}
        for category, amount in parts.items():
            if amount == 0:
                continue
            total_weight = sum(weights.values())
            for team, weight in weights.items():
                share = amount * weight / total_weight
                rows.append((host.host, team, category, source, share))
    columns = ["host", "team", "category", "source", "amount"]
    return pd.DataFrame(rows, columns=columns)


def _weights(host, busy: pd.Series, idle_policy: str) -> dict[str, float]:
    teams = busy.xs(host.host).to_dict() if host.host in busy.index else {}
    teams = {t: h for t, h in teams.items() if h > 0}
    idle = host.spread_hours - sum(teams.values())
    if idle_policy == "share" and teams:
        return teams
    if idle > 1e-12 or not teams:
        teams[IDLE] = max(idle, 0.0) or 1.0
    return teams


# --- results ---


def _assemble(
    usage: pd.DataFrame,
    per_gpu: pd.DataFrame,
    costs: HostCosts,
    hosts: dict[str, InventoryHost],
    telemetry: TelemetryConfig,
    window: Month,
    findings: list[Finding],
) -> GpuResult:
    table = costs.table
    rate = table["cost"] / table["spread_hours"].where(table["spread_hours"] > 0)
    rate = dict(zip(table["host"], rate.fillna(0.0), strict=False))
    allocations = allocate(usage, table, telemetry.idle_policy)
    idle_by_host = allocations[allocations["team"] == IDLE].groupby("host")["amount"]
    per_host = _per_host(table, hosts)
    # What each host's idle share came to, as summary.gpu.idle_cost sums it (a host
    # without telemetry is idle as a whole).
    idle_cost = per_host["host"].map(idle_by_host.sum()).astype("float64")
    per_host["idle_cost"] = idle_cost.fillna(0.0)
    per_gpu = _per_gpu(per_gpu, table, rate)
    onprem = table[table["location"] == "onprem"]
    summary = _summary(usage, per_host, float(idle_by_host.sum().sum()))
    return GpuResult(
        summary=summary,
        per_gpu=per_gpu,
        per_host=per_host,
        allocations=allocations.groupby(["team", "category", "source"], as_index=False)[
            "amount"
        ].sum(),
        onprem={
            "hardware": float(onprem["hardware"].sum()),
            "energy": float(onprem["energy_cost"].sum()),
            "maintenance": float(onprem["maintenance"].sum()),
        },
        matched_billing=costs.matched,
        jobs=_jobs(usage, rate),
        daily=_daily(usage),
        team_busy_hours={
            str(k): float(v)
            for k, v in usage.groupby("team")["busy_hours"].sum().items()
        },
        findings=findings,
    )


def _per_host(table: pd.DataFrame, hosts: dict[str, InventoryHost]) -> pd.DataFrame:
    out = table.copy()
    out["gpu_model"] = out["host"].map({h: c.gpu_model for h, c in hosts.items()})
    out["gpu_model"] = out["gpu_model"].fillna("")
    out["team"] = out["host"].map({h: c.team for h, c in hosts.items()}).fillna("")
    out["utilization"] = _ratio(out["util_hours"], out["known_hours"])
    out["cost_per_gpu_hour"] = _ratio(out["cost"], out["spread_hours"])
    out["cost_per_busy_gpu_hour"] = _ratio(out["cost"], out["busy_hours"])
    out["power_cap_watts"] = out["cap_watts"].where(out["cap_watts"] > 0)
    out["mean_power_watts"] = _ratio(out["energy_kwh"] * 3.6e6, out["device_seconds"])
    return out[PER_HOST_COLUMNS]


def _per_gpu(
    per_gpu: pd.DataFrame, table: pd.DataFrame, rate: dict[str, float]
) -> pd.DataFrame:
    out = per_gpu.copy()
    out["location"] = out["host"].map(
        dict(zip(table["host"], table["location"], strict=False))
    )
    host_rate = out["host"].map(rate).astype("float64").fillna(0.0)
    out["cost"] = host_rate * out["observed_hours"]
    out["idle_cost"] = host_rate * out["idle_hours"]
    return out[PER_GPU_COLUMNS]


def _summary(
    usage: pd.DataFrame, per_host: pd.DataFrame, idle_cost: float
) -> dict[str, float | None]:
    known_hours = float(usage["known_hours"].sum())
    # No sample with a known utilization: undefined (n/a), not 0 %.
    utilization = None
    if known_hours:
        utilization = float(usage["util_hours"].sum()) / known_hours
    return {
        "gpu_hours": float(per_host["observed_hours"].sum()),
        "busy_gpu_hours": float(per_host["busy_hours"].sum()),
        "idle_gpu_hours": float(per_host["idle_hours"].sum()),
        "unknown_gpu_hours": float(per_host["unknown_hours"].sum()),
        "available_gpu_hours": float(per_host["available_hours"].sum()),
        "utilization": utilization,
        "energy_kwh": float(per_host["energy_kwh"].sum()),
        "idle_cost": idle_cost,
    }


def _jobs(usage: pd.DataFrame, rate: dict[str, float]) -> pd.DataFrame:
    named = usage[usage["job"] != ""]
    cost = named["host"].map(rate).astype("float64").fillna(0.0) * named["busy_hours"]
    jobs = (
        named.assign(cost=cost)
        .groupby(["job", "team"], as_index=False)
        .agg(busy_gpu_hours=("busy_hours", "sum"), cost=("cost", "sum"))
    )
    return jobs.sort_values("cost", ascending=False, kind="stable").reset_index(
        drop=True
    )


def _daily(usage: pd.DataFrame) -> pd.DataFrame:
    """Per host and UTC day of the sample's start (a heat map's cells)."""
    in_month = usage[usage["hours"] > 0]
    daily = in_month.groupby(["host", "date"], as_index=False).agg(
        util_hours=("util_hours", "sum"),
        known_hours=("known_hours", "sum"),
        busy_hours=("busy_hours", "sum"),
        idle_hours=("idle_hours", "sum"),
    )
    daily["utilization"] = _ratio(daily["util_hours"], daily["known_hours"])
    return daily[["host", "date", "utilization", "busy_hours", "idle_hours"]]


# --- small helpers ---


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator > 0)
