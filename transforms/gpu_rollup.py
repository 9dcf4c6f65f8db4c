"""GPU samples rolled up per chunk (DESIGN §4 "GPU use"): the per-sample phase.

A chunk holds every sample of each of its physical GPUs (host, UUID), all their MIG
series too, so intervals, medians and energy are computed wholly inside one chunk.
`rollup_samples` turns a chunk into a few rows per series and day (`GpuRollup`);
`combine_rollups` joins chunks; `transforms.gpu.gpu_costs` costs the result.

Steps, on numpy arrays of category codes and integer timestamps (no text per sample):
1. order: series (host, UUID, MIG instance, as text) then time, one sample per series
   and timestamp (the last read wins);
2. intervals: each sample stands until the next of its series, capped at
   `max_gap_seconds` (0: twice the series' median step); the last or a lone sample
   stands for the median step or `default_interval_seconds`; clipped to the month;
   MIG instances weigh compute slices / 7;
3. use: idle below `idle_threshold`, unknown when utilization is missing;
4. energy once per physical GPU: counter deltas (a drop is a reset) or power x
   interval, never above the power cap x interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.config import InventoryHost, TelemetryConfig
from transforms.findings import Finding, Severity

SERIES = ["host", "gpu_uuid", "mig_instance"]
PHYSICAL = ["host", "gpu_uuid"]
MIG_SLICES = 7
UNALLOCATED = "unallocated"
MAX_EXAMPLES = 10
MEASURES = [
    "hours",
    "busy_hours",
    "idle_hours",
    "unknown_hours",
    "known_hours",
    "util_hours",
]
USAGE_COLUMNS = [*SERIES, "team", "job", "date", "weight", *MEASURES]
PHYSICAL_COLUMNS = [*PHYSICAL, "joules", "seconds", "cap_watts", "over_cap"]

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


@dataclass
class GpuRollup:
    """GPU samples summed per series, team, job and UTC day, plus energy per device.

    usage: one row per (host, gpu_uuid, mig_instance, team, job, date) with weight and
    the hours columns of MEASURES; every series of the chunk keeps its rows, even
    when its samples lie outside the month (hours 0).
    physical: one row per (host, gpu_uuid): joules inside the month, seconds observed,
    cap_watts (NaN: no cap check) and over_cap (energy intervals clipped to the cap).
    """

    usage: pd.DataFrame
    physical: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    samples: int = 0


@dataclass(frozen=True)
class Month:
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    @property
    def bounds(self) -> tuple[float, float]:
        epoch = pd.Timestamp(0, tz="UTC")
        return (self.start - epoch).total_seconds(), (self.end - epoch).total_seconds()


def month_window(month: str) -> Month:
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    return Month(start, start + pd.offsets.MonthBegin(1))


def model_power_cap(model: str) -> float:
    upper = model.upper()
    return next(
        (watts for token, watts in MODEL_POWER_CAP_WATTS if token in upper), np.nan
    )


# --- public entry points ---


def rollup_samples(
    samples: pd.DataFrame,
    *,
    month: str,
    inventory: list[InventoryHost],
    telemetry: TelemetryConfig,
) -> GpuRollup:
    """Roll one chunk of canonical GPU samples up to usage rows and device energy."""
    window = month_window(month)
    hosts = {h.host: h for h in inventory}
    if samples.empty:
        return GpuRollup(_empty_usage(), _empty_physical(), [], 0)
    chunk = _Chunk.of(samples)
    findings: list[Finding] = []
    weight = _mig_weight(samples, chunk, findings)
    interval = _intervals(chunk.series, chunk.seconds, telemetry, window)
    usage = _usage(samples, chunk, weight, interval, hosts, telemetry)
    physical = _physical(samples, chunk, hosts, telemetry, window)
    power_cap = _power_cap_finding(physical)
    return GpuRollup(usage, physical, findings + power_cap, len(samples))


def combine_rollups(parts: list[GpuRollup]) -> GpuRollup:
    """Chunks of whole physical GPUs joined; findings of one check merged into one."""
    if not parts:
        return GpuRollup(_empty_usage(), _empty_physical(), [], 0)
    usage = pd.concat([p.usage for p in parts], ignore_index=True)
    physical = pd.concat([p.physical for p in parts], ignore_index=True)
    findings = _merge_findings([f for p in parts for f in p.findings], physical)
    return GpuRollup(usage, physical, findings, sum(p.samples for p in parts))


# --- 1. order ---


@dataclass
class _Chunk:
    """The chunk's samples as arrays, in series-then-time order, deduplicated."""

    rows: np.ndarray  # positions in the input frame, in order
    series: np.ndarray  # dense series id per ordered row (ascending)
    keys: list[tuple[np.ndarray, np.ndarray]]  # codes and values of SERIES
    stamps: np.ndarray  # int64 in the frame's unit (NaT as the largest value)
    seconds: np.ndarray  # float epoch seconds (NaN for NaT)
    units_per_second: int

    @property
    def size(self) -> int:
        return len(self.rows)

    @classmethod
    def of(cls, samples: pd.DataFrame) -> _Chunk:
        keys = [_sorted_codes(samples[c]) for c in SERIES]
        series = _combine([codes for codes, _ in keys], sort=True)
        stamps, per_second = _stamps(samples["timestamp"])
        rows = _series_order(series, stamps)
        rows = rows[~_repeated(series[rows], stamps[rows], keep="last")]
        ordered = stamps[rows]
        seconds = ordered / per_second
        seconds[ordered == np.iinfo(np.int64).max] = np.nan
        return cls(rows, series[rows], keys, ordered, seconds, per_second)

    def values(self, position: int, group_rows: np.ndarray) -> np.ndarray:
        codes, values = self.keys[position]
        return _decode(codes[self.rows[group_rows]], values)


def _stamps(column: pd.Series) -> tuple[np.ndarray, int]:
    """Integer timestamps in the column's unit (NaT last) and units per second."""
    index = pd.DatetimeIndex(column)
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
    stamps = index.asi8.copy()
    stamps[index.isna()] = np.iinfo(np.int64).max
    return stamps, per_second[index.unit]


def _series_order(series: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    """Stable order by series then time; one radix pass when time already ascends."""
    small = series.astype(np.uint16) if series.max() < 2**16 else series
    order = np.argsort(small, kind="stable")
    ordered, when = series[order], stamps[order]
    if np.any((ordered[1:] == ordered[:-1]) & (when[1:] < when[:-1])):
        order = np.lexsort((stamps, series))
    return order


def _repeated(group: np.ndarray, stamps: np.ndarray, keep: str) -> np.ndarray:
    """Rows whose (group, stamp) repeats a neighbour's; keep 'first' or 'last'."""
    same = (group[1:] == group[:-1]) & (stamps[1:] == stamps[:-1])
    return np.append(same, False) if keep == "last" else np.insert(same, 0, False)


# --- 2. intervals ---


def _intervals(
    group: np.ndarray, seconds: np.ndarray, telemetry: TelemetryConfig, window: Month
) -> tuple[np.ndarray, np.ndarray]:
    """Standing time of each sample and its part inside the month (seconds).

    `group` is ascending and `seconds` ascends inside each group.
    """
    same_next = np.append(group[1:] == group[:-1], False)
    step = np.full(len(seconds), np.nan)
    step[:-1] = np.where(same_next[:-1], seconds[1:] - seconds[:-1], np.nan)
    median = _group_median(step, group)
    cap = telemetry.max_gap_seconds or 2 * median
    last = np.where(np.isnan(median), telemetry.default_interval_seconds, median)
    interval = np.where(np.isnan(step), last, np.minimum(step, cap))
    start, end = window.bounds
    clipped = np.minimum(seconds + interval, end) - np.maximum(seconds, start)
    return interval, np.clip(clipped, 0, None)


def _group_median(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Median of the non-NaN values of each contiguous group, spread to its rows."""
    starts = np.flatnonzero(np.insert(group[1:] != group[:-1], 0, True))
    known = ~np.isnan(values)
    low = np.fmin.reduceat(values, starts)
    high = np.fmax.reduceat(values, starts)
    count = np.add.reduceat(known, starts)
    median = np.where(count > 0, low, np.nan)
    bounds = np.append(starts, len(values))
    for i in np.flatnonzero((count > 0) & (low != high)):  # steps that vary
        segment = values[bounds[i] : bounds[i + 1]]
        median[i] = np.median(segment[~np.isnan(segment)])
    return np.repeat(median, np.diff(bounds))


# --- 3. use, summed per series, team, job and day ---


def _usage(
    samples: pd.DataFrame,
    chunk: _Chunk,
    weight: np.ndarray,
    interval: tuple[np.ndarray, np.ndarray],
    hosts: dict[str, InventoryHost],
    telemetry: TelemetryConfig,
) -> pd.DataFrame:
    rows = chunk.rows
    by_team = _teams(hosts, telemetry)
    team_codes, teams = _labels(samples, ["namespace", "team", "host"], by_team)
    job_codes, jobs = _labels(samples, ["job", "pod"], _job_name)
    day = _floor_div(chunk.stamps, 86_400 * chunk.units_per_second)
    hours = interval[1] / 3600.0 * weight
    group = _combine(
        [chunk.series, team_codes[rows], job_codes[rows], day - day.min()], sort=False
    )
    first = _first_rows(group)
    usage = pd.DataFrame({c: chunk.values(i, first) for i, c in enumerate(SERIES)})
    usage["team"] = teams[team_codes[rows[first]]]
    usage["job"] = jobs[job_codes[rows[first]]]
    usage["date"] = _dates(day[first], chunk.stamps[first])
    usage["weight"] = _series_first(weight, chunk.series)[first]
    for name, values in _use(samples, chunk, hours, telemetry).items():
        usage[name] = np.bincount(group, np.nan_to_num(values), minlength=len(first))
    return usage[USAGE_COLUMNS]


def _use(
    samples: pd.DataFrame, chunk: _Chunk, hours: np.ndarray, telemetry: TelemetryConfig
) -> dict[str, np.ndarray]:
    utilization = samples["utilization"].to_numpy("float64")[chunk.rows]
    known = ~np.isnan(utilization)
    idle = known & (utilization < telemetry.idle_threshold)
    return {
        "hours": hours,
        "busy_hours": np.where(idle, 0.0, hours),
        "idle_hours": np.where(idle, hours, 0.0),
        "unknown_hours": np.where(known, 0.0, hours),
        "known_hours": np.where(known, hours, 0.0),
        "util_hours": np.where(known, utilization * hours, 0.0),
    }


def _teams(hosts: dict[str, InventoryHost], telemetry: TelemetryConfig):
    """[telemetry.namespaces], else the team label, else the host's inventory team."""
    owners = {h: c.team for h, c in hosts.items() if c.team}

    def teams(keys: pd.DataFrame) -> pd.Series:
        by_namespace = keys["namespace"].map(telemetry.namespaces)
        label = keys["team"].where(keys["team"].fillna("") != "")
        owner = keys["host"].map(owners)
        team = by_namespace.fillna(label).fillna(owner).fillna(UNALLOCATED)
        return team.astype(object).astype(str)

    return teams


def _job_name(keys: pd.DataFrame) -> pd.Series:
    """The job label, else the pod; "" when neither."""
    job = keys["job"]
    return job.where(job.fillna("") != "", keys["pod"]).fillna("").astype(str)


def _dates(day: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    epoch = dt.date(1970, 1, 1)
    nat = stamps == np.iinfo(np.int64).max
    out = np.empty(len(day), dtype=object)
    for i, (value, missing) in enumerate(zip(day.tolist(), nat.tolist(), strict=True)):
        out[i] = None if missing else epoch + dt.timedelta(days=value)
    return out


def _mig_weight(
    samples: pd.DataFrame, chunk: _Chunk, findings: list[Finding]
) -> np.ndarray:
    """1 for a whole GPU; compute slices / 7 for a MIG instance (`3g.40gb` -> 3/7)."""
    codes, table = _per_distinct(samples, ["mig_profile", "mig_instance"], _weights)
    weight, unknown = table[codes[chunk.rows]].T
    missing = int(unknown.sum())  # samples, not series
    if missing:
        findings.append(_mig_profile_finding(missing))
    return weight.astype("float64")


def _weights(keys: pd.DataFrame) -> np.ndarray:
    """Per distinct (profile, instance): weight, and 1.0 when the profile is unread."""
    parts = (
        keys["mig_profile"]
        .fillna("")
        .astype(str)
        .str.extract(r"^(?:(\d+)c\.)?(\d+)g\.")
    )
    slices = pd.to_numeric(parts[0].fillna(parts[1]), errors="coerce")
    is_mig = keys["mig_instance"].fillna("").astype(str) != ""
    unknown = is_mig & slices.isna()
    weight = (slices / MIG_SLICES).where(is_mig, 1.0).fillna(1.0 / MIG_SLICES)
    return np.column_stack([weight.to_numpy("float64"), unknown.to_numpy("float64")])


# --- 4. energy, once per physical GPU ---


def _physical(
    samples: pd.DataFrame,
    chunk: _Chunk,
    hosts: dict[str, InventoryHost],
    telemetry: TelemetryConfig,
    window: Month,
) -> pd.DataFrame:
    """Energy (J) and observed seconds per physical GPU (MIG series repeat it)."""
    device = _combine([codes[chunk.rows] for codes, _ in chunk.keys[:2]], sort=True)
    at = np.arange(chunk.size)
    if device[-1] != chunk.series[-1]:  # MIG: merge each device's series
        at = np.lexsort((chunk.stamps, device))
        at = at[~_repeated(device[at], chunk.stamps[at], keep="first")]
    device, seconds = device[at], chunk.seconds[at]
    _, clipped = _intervals(device, seconds, telemetry, window)
    rows = chunk.rows[at]
    cap_codes, caps = _per_distinct(samples, ["host", "gpu_model"], _caps(hosts))
    cap = caps[cap_codes[rows]].astype("float64")
    energy = samples["energy_joules"].to_numpy("float64")[rows]
    power = samples["power_watts"].to_numpy("float64")[rows]
    counted = _group_count(~np.isnan(energy), device) >= 2
    joules, over = _counter_energy(device, energy, seconds, cap, counted, window)
    power_joules, power_over = _power_energy(power, cap, clipped)
    joules = np.where(counted, joules, power_joules)
    over = np.where(counted, over, power_over)
    return _per_device(chunk, at, device, joules, clipped, cap, over)


def _per_device(chunk, at, device, joules, clipped, cap, over) -> pd.DataFrame:
    first = _first_rows(device)
    table = pd.DataFrame(
        {c: chunk.values(i, at[first]) for i, c in enumerate(PHYSICAL)}
    )
    table["joules"] = np.bincount(device, joules)
    table["seconds"] = np.bincount(device, np.nan_to_num(clipped))
    table["cap_watts"] = cap[first]
    table["over_cap"] = np.bincount(device, over.astype("float64")).astype("int64")
    return table[PHYSICAL_COLUMNS]


def _caps(hosts: dict[str, InventoryHost]):
    """Inventory power_cap_watts, else the model table; NaN: no check."""
    configured = {
        h: c.power_cap_watts for h, c in hosts.items() if c.power_cap_watts > 0
    }
    models = {h: c.gpu_model for h, c in hosts.items() if c.gpu_model}

    def caps(keys: pd.DataFrame) -> pd.Series:
        model = keys["host"].map(models).fillna(keys["gpu_model"]).fillna("")
        by_model = model.astype(str).map(model_power_cap)
        return keys["host"].map(configured).fillna(by_model).astype("float64")

    return caps


def _counter_energy(device, energy, seconds, cap, counted, window: Month):
    """Counter increase between readings; a drop is a reset counted from zero.

    Each increase belongs to the time since the previous reading; it never exceeds
    cap x elapsed time, and only its share inside the month counts. Returns joules
    and whether the cap clipped the interval, per row (0 and False off readings).
    """
    reading = np.flatnonzero(counted & ~np.isnan(energy))
    group, value, when = device[reading], energy[reading], seconds[reading]
    same_prev = np.insert(group[1:] == group[:-1], 0, False)
    rise = value - np.roll(value, 1)
    delta = np.where(same_prev, np.where(rise < 0, value, rise), 0.0)
    elapsed = np.where(same_prev, when - np.roll(when, 1), 0.0)
    limit = cap[reading] * elapsed
    capped = np.where(np.isnan(limit), delta, np.minimum(delta, limit))
    joules = np.zeros(len(device))
    over = np.zeros(len(device), dtype=bool)
    joules[reading] = capped * _share_inside(when - elapsed, when, window)
    over[reading] = capped < delta
    return joules, over


def _share_inside(begin: np.ndarray, end: np.ndarray, window: Month) -> np.ndarray:
    start, stop = window.bounds
    length = end - begin
    inside = np.clip(np.minimum(end, stop) - np.maximum(begin, start), 0, None)
    return np.divide(inside, length, out=np.zeros_like(inside), where=length > 0)


def _power_energy(power, cap, clipped) -> tuple[np.ndarray, np.ndarray]:
    """power x interval inside the month, the power never above the cap."""
    power = np.nan_to_num(power, nan=0.0)
    capped = np.minimum(power, np.where(np.isnan(cap), np.inf, cap))
    return np.nan_to_num(capped * clipped), capped < power


# --- findings ---


def _mig_profile_finding(count: int) -> Finding:
    return _warning(
        "mig_profile",
        f"{count} MIG samples have no readable profile (like 3g.40gb); they were "
        "weighted as one slice of 7: export the GPU_I_PROFILE label",
        count=count,
    )


def _power_cap_finding(physical: pd.DataFrame) -> list[Finding]:
    over = physical[physical["over_cap"] > 0]
    if over.empty:
        return []
    gpus = over.sort_values(PHYSICAL, kind="stable")
    count = int(over["over_cap"].sum())
    examples = [f"{h}/{u}" for h, u in gpus[PHYSICAL].head(MAX_EXAMPLES).to_numpy()]
    message = (
        f"{count} energy intervals on {len(over)} GPUs exceeded the power cap x their "
        "length and were clipped to it: check power_cap_watts in [[inventory]] and "
        "the energy counter"
    )
    return [_warning("power_cap", message, count=count, examples=examples)]


def _merge_findings(findings: list[Finding], physical: pd.DataFrame) -> list[Finding]:
    """One finding per check: counts summed, examples united (at most 10)."""
    merged: dict[str, Finding] = {}
    for found in findings:
        before = merged.get(found.check)
        if before is None:
            merged[found.check] = found
            continue
        examples = list(dict.fromkeys([*before.examples, *found.examples]))
        merged[found.check] = Finding(
            before.severity,
            before.source,
            before.check,
            before.message,
            count=before.count + found.count,
            examples=examples[:MAX_EXAMPLES],
        )
    if "mig_profile" in merged:
        merged["mig_profile"] = _mig_profile_finding(merged["mig_profile"].count)
    if "power_cap" in merged:
        merged["power_cap"] = _power_cap_finding(physical)[0]
    return list(merged.values())


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


# --- array helpers ---


def _sorted_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes ranked by text value (missing last) and the value of each code."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = np.asarray(column.cat.categories, dtype=object)
        raw = column.cat.codes.to_numpy().astype(np.int64)
    else:
        raw, uniques = pd.factorize(column)
        values = np.asarray(uniques, dtype=object)
    order = np.argsort(values.astype(str), kind="stable")
    rank = np.empty(len(values) + 1, dtype=np.int64)
    rank[order] = np.arange(len(values))
    rank[-1] = len(values)  # code -1: missing, after every value
    ranked = np.empty(len(values) + 1, dtype=object)
    ranked[rank[:-1]] = values
    ranked[-1] = np.nan
    return rank[raw], ranked


def _decode(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    return values[codes]


def _combine(codes: list[np.ndarray], *, sort: bool) -> np.ndarray:
    """One dense id per distinct row of several code columns (ascending when sort)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for column in codes:
        low, high = int(column.min(initial=0)), int(column.max(initial=0))
        if low == high:  # one value: nothing to tell apart
            continue
        key = _dense(
            key * (high - low + 1) + (column.astype(np.int64) - low), sort=sort
        )
    return key


def _dense(key: np.ndarray, *, sort: bool) -> np.ndarray:
    if len(key) and key.max() <= 4 * len(key) + 4096:
        present = np.zeros(int(key.max()) + 1, dtype=bool)
        present[key] = True
        return (np.cumsum(present) - 1)[key]
    if sort:
        return np.unique(key, return_inverse=True)[1].reshape(-1)
    return pd.factorize(key)[0]


def _first_rows(group: np.ndarray) -> np.ndarray:
    """Position of the first row of each dense group id."""
    first = np.full(int(group.max(initial=-1)) + 1, -1, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)
    return first


def _series_first(values: np.ndarray, series: np.ndarray) -> np.ndarray:
    """The value of each series' first row, on every row."""
    return values[_first_rows(series)][series]


def _group_count(flags: np.ndarray, group: np.ndarray) -> np.ndarray:
    return np.bincount(group, flags.astype("float64"))[group]


def _floor_div(stamps: np.ndarray, size: int) -> np.ndarray:
    nat = stamps == np.iinfo(np.int64).max
    day = stamps // size
    day[nat] = day[~nat].min(initial=0)
    return day


def _per_distinct(frame: pd.DataFrame, columns: list[str], func) -> tuple:
    """A code per row and `func`'s answer per code, computed once per distinct row."""
    coded = [_sorted_codes(frame[c]) for c in columns]
    group = _combine([codes for codes, _ in coded], sort=False)
    first = _first_rows(group)
    distinct = pd.DataFrame(
        {
            c: values[codes[first]]
            for c, (codes, values) in zip(columns, coded, strict=True)
        }
    )
    answer = func(distinct)
    if isinstance(answer, list):
        return group, np.asarray(answer, dtype=object)
    return group, np.asarray(answer)


def _labels(frame: pd.DataFrame, columns: list[str], func) -> tuple:
    """Like _per_distinct for text answers: one code per distinct answer."""
    group, answers = _per_distinct(frame, columns, func)
    codes, uniques = pd.factorize(answers)
    return codes[group], np.asarray(uniques, dtype=object)


def _empty_usage() -> pd.DataFrame:
    usage = pd.DataFrame({c: pd.Series(dtype=object) for c in USAGE_COLUMNS})
    return usage.astype({c: "float64" for c in ["weight", *MEASURES]})


def _empty_physical() -> pd.DataFrame:
    physical = pd.DataFrame({c: pd.Series(dtype=object) for c in PHYSICAL_COLUMNS})
    return physical.astype(
        {"joules": "float64", "seconds": "float64", "cap_watts": "float64"}
    ).astype({"over_cap": "int64"})
