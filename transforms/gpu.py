"""GPU use and GPU cost from canonical GPU samples (DESIGN §4 "GPU use"). Pure: no I/O.

Steps, each a small function below:
1. intervals: each sample stands until the next of its series (host, UUID, MIG
   instance), capped at `max_gap_seconds` (0: twice the series' median step); the last
   or a lone sample stands for the median step or `default_interval_seconds`; clipped to
   the month; MIG instances weigh compute slices / 7;
2. use: idle below `idle_threshold`, unknown when utilization is missing (charged as
   busy, reported apart);
3. energy once per physical GPU: counter deltas (a drop is a reset) or power x interval,
   never above the power cap x interval;
4. cost per host (cloud: matched billing rows, spread over observed GPU-hours; on-prem:
   depreciation + maintenance + energy, spread over available GPU-hours), split to the
   teams that ran the busy hours and to `idle` (or shared) with exact cent splits.
The interval and energy math is vectorised on sorted frames: no loop over samples.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.config import EnergyConfig, InventoryHost, TelemetryConfig
from transforms.distinct import per_distinct, sorted_series
from transforms.findings import Finding, Severity

SERIES = ["host", "gpu_uuid", "mig_instance"]
PHYSICAL = ["host", "gpu_uuid"]
MIG_SLICES = 7
IDLE = "idle"
UNALLOCATED = "unallocated"

# Board power of common data-centre GPUs (W), used when power_cap_watts is 0.
# First token found in the model name wins, so longer names come first.
MODEL_POWER_CAP_WATTS = (
    ("B200", 1000.0),
    ("H200", 700.0),
    ("H100", 700.0),
    ("A100", 400.0),
    ("A10G", 300.0),
    ("A10", 150.0),
    ("L40S", 350.0),
    ("L40", 300.0),
    ("L4", 72.0),
    ("T4", 70.0),
    ("V100", 300.0),
    ("RTX 4080", 320.0),
    ("RTX 2080", 250.0),
)

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


@dataclass(frozen=True)
class Month:
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    @property
    def bounds(self) -> tuple[float, float]:
        return _seconds(self.start), _seconds(self.end)


def month_window(month: str) -> Month:
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    return Month(start, start + pd.offsets.MonthBegin(1))


def gpu_costs(
    samples: pd.DataFrame,
    billing: pd.DataFrame,
    *,
    month: str,
    inventory: list[InventoryHost],
    telemetry: TelemetryConfig,
    energy: EnergyConfig,
) -> GpuResult:
    """Turn GPU samples and the month's billing rows into GPU-hours, energy and cost."""
    window = month_window(month)
    hosts = {h.host: h for h in inventory}
    findings: list[Finding] = []
    frame = prepare(samples, hosts, telemetry, findings)
    frame = with_intervals(frame, SERIES, telemetry, window)
    frame = with_use(frame, telemetry.idle_threshold)
    physical = physical_energy(frame, hosts, telemetry, window, findings)
    per_gpu = gpu_table(frame, physical)
    costs = host_costs(per_gpu, physical, billing, hosts, energy, window, findings)
    return _assemble(frame, per_gpu, costs, hosts, telemetry, window, findings)


# --- 1. samples and intervals ---


def prepare(
    samples: pd.DataFrame,
    hosts: dict[str, InventoryHost],
    telemetry: TelemetryConfig,
    findings: list[Finding],
) -> pd.DataFrame:
    """Sorted, one sample per series and timestamp, with team and MIG weight."""
    frame = sorted_series(samples, SERIES, "timestamp", keep="last")
    frame["team"] = sample_team(frame, hosts, telemetry)
    frame["weight"] = mig_weight(frame, findings)
    frame["seconds"] = _seconds(frame["timestamp"])
    return frame


def sample_team(
    frame: pd.DataFrame, hosts: dict[str, InventoryHost], telemetry: TelemetryConfig
) -> pd.Series:
    """[telemetry.namespaces], else the team label, else the host's inventory team."""
    owners = {h: c.team for h, c in hosts.items() if c.team}

    def teams(keys: pd.DataFrame) -> pd.Series:
        by_namespace = keys["namespace"].map(telemetry.namespaces)
        label = keys["team"].where(keys["team"].fillna("") != "")
        owner = keys["host"].map(owners)
        team = by_namespace.fillna(label).fillna(owner).fillna(UNALLOCATED)
        return team.astype(str)

    return per_distinct(frame, teams, ["namespace", "team", "host"]).astype(str)


def mig_weight(frame: pd.DataFrame, findings: list[Finding]) -> pd.Series:
    """1 for a whole GPU; compute slices / 7 for a MIG instance (`3g.40gb` -> 3/7)."""
    slices = per_distinct(frame["mig_profile"], _slices).astype("float64")
    is_mig = per_distinct(
        frame["mig_instance"], lambda u: u.fillna("").astype(str) != ""
    ).astype(bool)
    unknown = is_mig & slices.isna()
    if unknown.any():
        findings.append(
            _warning(
                "mig_profile",
                f"{int(unknown.sum())} MIG samples have no readable profile (like "
                "3g.40gb); they were weighted as one slice of 7: export the "
                "GPU_I_PROFILE label",
                count=int(unknown.sum()),
            )
        )
    weight = (slices / MIG_SLICES).where(is_mig, 1.0)
    return weight.fillna(1.0 / MIG_SLICES).astype("float64")


def _slices(profiles: pd.Series) -> pd.Series:
    parts = profiles.fillna("").astype(str).str.extract(r"^(?:(\d+)c\.)?(\d+)g\.")
    return pd.to_numeric(parts[0].fillna(parts[1]), errors="coerce")


def with_intervals(
    frame: pd.DataFrame, keys: list[str], telemetry: TelemetryConfig, window: Month
) -> pd.DataFrame:
    """Add `interval_s` (standing time) and `clipped_s` (its part inside the month).

    The frame must be sorted by keys then timestamp.
    """
    group = frame.groupby(keys, sort=False).ngroup().to_numpy()
    seconds = frame["seconds"].to_numpy()
    same_next = np.append(group[1:] == group[:-1], False)
    step = np.where(same_next, np.roll(seconds, -1) - seconds, np.nan)
    median = pd.Series(step).groupby(group).transform("median").to_numpy()
    cap = telemetry.max_gap_seconds or 2 * median
    last = np.where(np.isnan(median), telemetry.default_interval_seconds, median)
    interval = np.where(np.isnan(step), last, np.minimum(step, cap))
    start, end = window.bounds
    clipped = np.minimum(seconds + interval, end) - np.maximum(seconds, start)
    return frame.assign(interval_s=interval, clipped_s=np.clip(clipped, 0, None))


def with_use(frame: pd.DataFrame, idle_threshold: float) -> pd.DataFrame:
    hours = frame["clipped_s"] / 3600.0 * frame["weight"]
    known = frame["utilization"].notna()
    idle = known & (frame["utilization"] < idle_threshold)
    return frame.assign(
        hours=hours,
        idle_hours=hours.where(idle, 0.0),
        unknown_hours=hours.where(~known, 0.0),
        busy_hours=hours.where(~idle, 0.0),
        known_hours=hours.where(known, 0.0),
        util_hours=(frame["utilization"] * hours).where(known, 0.0),
    )


# --- 3. energy, once per physical GPU ---


def physical_energy(
    frame: pd.DataFrame,
    hosts: dict[str, InventoryHost],
    telemetry: TelemetryConfig,
    window: Month,
    findings: list[Finding],
) -> pd.DataFrame:
    """Energy (J) and observed seconds per physical GPU (MIG series repeat it)."""
    columns = [*PHYSICAL, "timestamp", "seconds", "power_watts", "energy_joules"]
    device = sorted_series(frame[[*columns, "gpu_model"]], PHYSICAL, "timestamp")
    device = with_intervals(device, PHYSICAL, telemetry, window)
    device["cap_watts"] = power_caps(device, hosts)
    counted = device.groupby(PHYSICAL)["energy_joules"].transform("count") >= 2
    joules, over = counter_energy(device[counted], window)
    power_joules, power_over = power_energy(device[~counted])
    device["joules"] = pd.concat([joules, power_joules]).reindex(device.index)
    device["over_cap"] = pd.concat([over, power_over]).reindex(device.index)
    _report_caps(device, findings)
    per_device = device.groupby(PHYSICAL, sort=False).agg(
        joules=("joules", "sum"),
        seconds=("clipped_s", "sum"),
        cap_watts=("cap_watts", "first"),
    )
    return per_device.reset_index()


def power_caps(device: pd.DataFrame, hosts: dict[str, InventoryHost]) -> pd.Series:
    """Inventory power_cap_watts, else the model table; NaN: no check."""
    configured = {
        h: c.power_cap_watts for h, c in hosts.items() if c.power_cap_watts > 0
    }
    models = {h: c.gpu_model for h, c in hosts.items() if c.gpu_model}

    def caps(keys: pd.DataFrame) -> pd.Series:
        model = keys["host"].map(models).fillna(keys["gpu_model"]).fillna("")
        by_model = model.astype(str).map(model_power_cap)
        return keys["host"].map(configured).fillna(by_model).astype("float64")

    return per_distinct(device, caps, ["host", "gpu_model"]).astype("float64")


def model_power_cap(model: str) -> float:
    upper = model.upper()
    return next(
        (watts for token, watts in MODEL_POWER_CAP_WATTS if token in upper), np.nan
    )


def counter_energy(device: pd.DataFrame, window: Month) -> tuple[pd.Series, pd.Series]:
    """Counter increase between readings; a drop is a reset counted from zero.

    Each increase belongs to the time since the previous reading; it never exceeds
    cap x elapsed time, and only its share inside the month counts. Returns joules and
    whether the cap clipped the interval.
    """
    readings = device[device["energy_joules"].notna()]
    group = readings.groupby(PHYSICAL, sort=False).ngroup().to_numpy()
    value = readings["energy_joules"].to_numpy()
    seconds = readings["seconds"].to_numpy()
    same_prev = np.insert(group[1:] == group[:-1], 0, False)
    rise = value - np.roll(value, 1)
    delta = np.where(same_prev, np.where(rise < 0, value, rise), 0.0)
    elapsed = np.where(same_prev, seconds - np.roll(seconds, 1), 0.0)
    limit = readings["cap_watts"].to_numpy() * elapsed
    capped = np.where(np.isnan(limit), delta, np.minimum(delta, limit))
    joules = capped * _share_inside(seconds - elapsed, seconds, window)
    index = readings.index
    return (
        pd.Series(joules, index=index).reindex(device.index, fill_value=0.0),
        pd.Series(capped < delta, index=index).reindex(device.index, fill_value=False),
    )


def _share_inside(begin: np.ndarray, end: np.ndarray, window: Month) -> np.ndarray:
    start, stop = window.bounds
    length = end - begin
    inside = np.clip(np.minimum(end, stop) - np.maximum(begin, start), 0, None)
    return np.divide(inside, length, out=np.zeros_like(inside), where=length > 0)


def power_energy(device: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """power x interval inside the month, the power never above the cap."""
    power = device["power_watts"].fillna(0.0)
    capped = np.minimum(power, device["cap_watts"].fillna(np.inf))
    return capped * device["clipped_s"], capped < power


def _report_caps(device: pd.DataFrame, findings: list[Finding]) -> None:
    over = device["over_cap"].fillna(False).astype(bool)
    if not over.any():
        return
    gpus = device.loc[over, PHYSICAL].drop_duplicates()
    findings.append(
        _warning(
            "power_cap",
            f"{int(over.sum())} energy intervals on {len(gpus)} GPUs exceeded the "
            "power cap x their length and were clipped to it: check power_cap_watts in "
            "[[inventory]] and the energy counter",
            count=int(over.sum()),
            examples=[f"{h}/{u}" for h, u in gpus.head(10).itertuples(index=False)],
        )
    )


# --- per GPU ---


def gpu_table(frame: pd.DataFrame, physical: pd.DataFrame) -> pd.DataFrame:
    """One row per GPU or MIG instance: hours, utilization, energy, majority team."""
    sums = frame.groupby(SERIES, sort=False).agg(
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
        _majority_team(frame).reindex(pd.MultiIndex.from_frame(sums[SERIES])).to_numpy()
    )
    return _share_energy(sums, physical)


def _majority_team(frame: pd.DataFrame) -> pd.Series:
    hours = frame.groupby([*SERIES, "team"], sort=True)["hours"].sum().reset_index()
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
                _warning(
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
            _warning(
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
            _warning(
                "cloud_host_unobserved",
                f"{len(idle_cloud)} cloud hosts have cost but no telemetry in the "
                "month; their whole cost is counted as idle",
                count=len(idle_cloud),
                examples=sorted(idle_cloud["host"].tolist())[:10],
            )
        )


# --- allocation to teams ---


def allocate(
    frame: pd.DataFrame, table: pd.DataFrame, idle_policy: str
) -> pd.DataFrame:
    """Each host's cost parts split over team busy hours and idle.

    Shares stay at full precision: the summary rounds once, so that every split of the
    month sums back to its total (DESIGN §4).
    """
    busy = frame.groupby(["host", "team"])["busy_hours"].sum()
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
    frame: pd.DataFrame,
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
    allocations = allocate(frame, table, telemetry.idle_policy)
    idle_by_host = allocations[allocations["team"] == IDLE].groupby("host")["amount"]
    per_host = _per_host(table, hosts)
    per_gpu = _per_gpu(per_gpu, table, rate)
    onprem = table[table["location"] == "onprem"]
    summary = _summary(frame, per_host, float(idle_by_host.sum().sum()))
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
        jobs=_jobs(frame, rate),
        daily=_daily(frame),
        team_busy_hours={
            str(k): float(v)
            for k, v in frame.groupby("team")["busy_hours"].sum().items()
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


def _summary(frame: pd.DataFrame, per_host: pd.DataFrame, idle_cost: float) -> dict:
    known_hours = float(frame["known_hours"].sum())
    utilization = float(frame["util_hours"].sum()) / known_hours if known_hours else 0.0
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


def _job_name(keys: pd.DataFrame) -> pd.Series:
    """The job label, else the pod; "" when neither (text, not categories)."""
    job = keys["job"].astype(object)
    return job.where(job.fillna("") != "", keys["pod"].astype(object)).fillna("")


def _jobs(frame: pd.DataFrame, rate: dict[str, float]) -> pd.DataFrame:
    job = per_distinct(frame, _job_name, ["job", "pod"]).astype(str)
    named = frame.assign(job=job)[job != ""]
    cost = named["host"].map(rate).astype("float64").fillna(0.0) * named["busy_hours"]
    jobs = (
        named.assign(cost=cost)
        .groupby(["job", "team"], as_index=False)
        .agg(busy_gpu_hours=("busy_hours", "sum"), cost=("cost", "sum"))
    )
    return jobs.sort_values("cost", ascending=False, kind="stable").reset_index(
        drop=True
    )


def _daily(frame: pd.DataFrame) -> pd.DataFrame:
    """Per host and UTC day of the sample's start (a heat map's cells)."""
    in_month = frame[frame["hours"] > 0]
    day = in_month["timestamp"].dt.tz_convert("UTC").dt.floor("D")
    daily = (
        in_month.assign(date=day)
        .groupby(["host", "date"], as_index=False)
        .agg(
            util_hours=("util_hours", "sum"),
            known_hours=("known_hours", "sum"),
            busy_hours=("busy_hours", "sum"),
            idle_hours=("idle_hours", "sum"),
        )
    )
    daily["date"] = daily["date"].dt.date
    daily["utilization"] = _ratio(daily["util_hours"], daily["known_hours"])
    return daily[["host", "date", "utilization", "busy_hours", "idle_hours"]]


# --- small helpers ---


def _seconds(stamps):
    """Epoch seconds as float64 from a timestamp or a column of them."""
    if isinstance(stamps, pd.Series):
        return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("float64")
    return (stamps - pd.Timestamp(0, tz="UTC")).total_seconds()


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator > 0)


def _warning(
    check: str, message: str, *, count: int, examples: list | None = None
) -> Finding:
    return Finding(
        Severity.WARNING,
        "telemetry",
        check,
        message,
        count=count,
        examples=list(examples or []),
    )
