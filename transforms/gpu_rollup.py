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
    """Roll one chunk of canonical GPU samples up to usage rows and device energy.

    `samples` counts the rows handed in (before repeated timestamps are dropped).
    """
    if samples.empty:
        return GpuRollup(_empty_usage(), _empty_physical(), [], 0)
    window = month_window(month)
    hosts = {h.host: h for h in inventory}
    chunk = _Chunk.of(samples)
    clipped = _intervals(chunk.series, chunk.seconds, telemetry, window)
    runs = _Runs.of(samples, chunk)
    findings: list[Finding] = []
    usage = _usage(samples, chunk, runs, clipped, hosts, telemetry, findings)
    physical = _physical(samples, chunk, runs, hosts, telemetry, window)
    findings += _power_cap_finding(physical)
    return GpuRollup(usage, physical, findings, len(samples))


def combine_rollups(parts: list[GpuRollup]) -> GpuRollup:
    """Chunks of whole physical GPUs joined; findings of one check merged into one."""
    if not parts:
        return GpuRollup(_empty_usage(), _empty_physical(), [], 0)
    usage = pd.concat([p.usage for p in parts], ignore_index=True)
    physical = pd.concat([p.physical for p in parts], ignore_index=True)
    findings = _merge_findings([f for p in parts for f in p.findings], physical)
    return GpuRollup(usage, physical, findings, sum(p.samples for p in parts))


# --- 1. order ---

NAT = np.iinfo(np.int64).max
LABELS = ["namespace", "team", "job", "pod", "mig_profile", "gpu_model"]


@dataclass
class _Chunk:
    """The chunk's samples as arrays, in series-then-time order, deduplicated."""

    rows: np.ndarray  # positions in the input frame, in order
    series: np.ndarray  # dense series id per ordered row (ascending)
    codes: dict[str, tuple[np.ndarray, np.ndarray]]  # SERIES codes (input order)
    stamps: np.ndarray  # int64 in the frame's unit (NaT as the largest value)
    seconds: np.ndarray  # float epoch seconds (NaN for NaT)
    units_per_second: int

    @property
    def size(self) -> int:
        return len(self.rows)

    @classmethod
    def of(cls, samples: pd.DataFrame) -> _Chunk:
        codes = {c: _sorted_codes(samples[c]) for c in SERIES}
        series = _combine([codes[c][0] for c in SERIES])
        stamps, per_second = _stamps(samples["timestamp"])
        rows, series, stamps = _series_order(series, stamps)
        kept = ~_repeated(series, stamps, keep="last")
        if not kept.all():
            rows, series, stamps = rows[kept], series[kept], stamps[kept]
        seconds = stamps / per_second
        seconds[stamps == NAT] = np.nan
        return cls(rows, series, codes, stamps, seconds, per_second)

    def values(self, column: str, at: np.ndarray) -> np.ndarray:
        """The text of a SERIES column at ordered positions `at`."""
        codes, values = self.codes[column]
        return values[codes[self.rows[at]]]


def _stamps(column: pd.Series) -> tuple[np.ndarray, int]:
    """Integer timestamps in the column's unit (NaT last) and units per second."""
    index = pd.DatetimeIndex(column)
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
    stamps = index.asi8.copy()
    stamps[index.isna()] = NAT
    return stamps, per_second[index.unit]


def _series_order(series: np.ndarray, stamps: np.ndarray) -> tuple:
    """Stable order by series then time; one radix pass when time already ascends.

    Returns the order and both columns in it.
    """
    small = series.astype(np.uint16) if series.max() < 2**16 else series
    order = np.argsort(small, kind="stable")
    ordered, when = series[order], stamps[order]
    if np.any((ordered[1:] == ordered[:-1]) & (when[1:] < when[:-1])):
        order = np.lexsort((stamps, series))
        ordered, when = series[order], stamps[order]
    return order, ordered, when


def _repeated(group: np.ndarray, stamps: np.ndarray, keep: str) -> np.ndarray:
    """Rows whose (group, stamp) repeats a neighbour's; keep 'first' or 'last'."""
    same = (group[1:] == group[:-1]) & (stamps[1:] == stamps[:-1])
    return np.append(same, False) if keep == "last" else np.insert(same, 0, False)


@dataclass
class _Runs:
    """Stretches of ordered samples with one series, day and set of labels.

    Labels (team, job, MIG profile, model) change rarely, so every per-label
    answer is worked out once per run, not per sample.
    """

    starts: np.ndarray
    lengths: np.ndarray
    keys: pd.DataFrame  # per run: SERIES, LABELS (text) and day (days since 1970)

    @classmethod
    def of(cls, samples: pd.DataFrame, chunk: _Chunk) -> _Runs:
        day = chunk.stamps // (86_400 * chunk.units_per_second)  # UTC day
        change = chunk.series[1:] != chunk.series[:-1]
        change |= day[1:] != day[:-1]
        labels: dict[str, tuple[np.ndarray | None, np.ndarray]] = {}
        for column in LABELS:
            codes, values = _sorted_codes(samples[column])
            if len(values) <= 2 and codes.max(initial=0) == 0:  # one value
                labels[column] = (None, values)
                continue
            codes = codes[chunk.rows]
            change |= codes[1:] != codes[:-1]
            labels[column] = (codes, values)
        starts = np.flatnonzero(np.insert(change, 0, True))
        keys = pd.DataFrame({c: chunk.values(c, starts) for c in SERIES})
        for column, (ranks, values) in labels.items():
            keys[column] = values[0] if ranks is None else values[ranks[starts]]
        keys["day"] = day[starts]
        keys["nat"] = chunk.stamps[starts] == NAT
        keys["series"] = chunk.series[starts]
        return cls(starts, np.diff(np.append(starts, chunk.size)), keys)

    def sums(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts)

    def spread(self, values: np.ndarray) -> np.ndarray:
        """A value per run repeated on each of its samples."""
        return np.repeat(values, self.lengths)


# --- 2. intervals ---


def _intervals(
    group: np.ndarray, seconds: np.ndarray, telemetry: TelemetryConfig, window: Month
) -> np.ndarray:
    """Each sample's standing time inside the month (seconds; 0 for a NaT).

    `group` is ascending and `seconds` ascends inside each group. Buffers are reused:
    at millions of samples the passes over memory are the cost.
    """
    interval = np.empty(len(seconds))
    np.subtract(seconds[1:], seconds[:-1], out=interval[:-1])
    interval[-1] = np.nan
    interval[np.flatnonzero(group[1:] != group[:-1])] = np.nan  # a series' last
    median = _group_median(interval, group)
    cap = telemetry.max_gap_seconds or 2 * median
    np.minimum(interval, cap, out=interval)  # NaN stays NaN
    last = np.isnan(interval)
    median[np.isnan(median)] = telemetry.default_interval_seconds
    interval[last] = median[last]
    start, end = window.bounds
    np.add(interval, seconds, out=interval)
    np.minimum(interval, end, out=interval)
    interval -= np.maximum(seconds, start)
    np.clip(interval, 0, None, out=interval)
    interval[np.isnan(interval)] = 0.0
    return interval


def _group_median(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Median of the non-NaN values of each contiguous group, spread to its rows."""
    starts = np.flatnonzero(np.insert(group[1:] != group[:-1], 0, True))
    low = np.fmin.reduceat(values, starts)
    high = np.fmax.reduceat(values, starts)
    median = low.copy()  # NaN when the group has no value
    bounds = np.append(starts, len(values))
    for i in np.flatnonzero((low != high) & ~np.isnan(low)):  # steps that vary
        segment = values[bounds[i] : bounds[i + 1]]
        median[i] = np.median(segment[~np.isnan(segment)])
    return np.repeat(median, np.diff(bounds))


# --- 3. use, summed per series, team, job and day ---


def _usage(
    samples: pd.DataFrame,
    chunk: _Chunk,
    runs: _Runs,
    clipped: np.ndarray,
    hosts: dict[str, InventoryHost],
    telemetry: TelemetryConfig,
    findings: list[Finding],
) -> pd.DataFrame:
    keys = runs.keys
    weight, unknown = _weights(keys)
    missing = int(runs.lengths[unknown].sum())  # samples, not series
    if missing:
        findings.append(_mig_profile_finding(missing))
    table = keys[SERIES].copy()
    table["team"] = _teams(hosts, telemetry)(keys).to_numpy(object)
    table["job"] = _job_name(keys).to_numpy(object)
    table["date"] = _dates(keys["day"].to_numpy(), keys["nat"].to_numpy())
    table["weight"] = _series_first(weight, keys["series"].to_numpy())
    for name, seconds in _use(samples, chunk, runs, clipped, telemetry).items():
        table[name] = seconds / 3600.0 * weight
    group = [*SERIES, "team", "job", "date"]
    usage = table.groupby(group, sort=False, dropna=False).agg(
        {"weight": "first", **dict.fromkeys(MEASURES, "sum")}
    )
    return usage.reset_index()[USAGE_COLUMNS]


def _use(
    samples: pd.DataFrame, chunk: _Chunk, runs: _Runs, seconds: np.ndarray, telemetry
) -> dict[str, np.ndarray]:
    """Per run: seconds inside the month by use, and utilization x seconds."""
    utilization = samples["utilization"].to_numpy("float64")[chunk.rows]
    known = ~np.isnan(utilization)
    idle = known & (utilization < telemetry.idle_threshold)
    masks = {
        "busy_hours": ~idle,
        "idle_hours": idle,
        "unknown_hours": ~known,
        "known_hours": known,
    }
    sums = {"hours": runs.sums(seconds)}
    buffer = np.empty(len(seconds))
    for name, mask in masks.items():
        sums[name] = runs.sums(np.multiply(seconds, mask, out=buffer))
    np.multiply(utilization, seconds, out=buffer)
    buffer[~known] = 0.0
    sums["util_hours"] = runs.sums(buffer)
    return sums


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


def _dates(day: np.ndarray, nat: np.ndarray) -> np.ndarray:
    """UTC dates from days since 1970 (None for a missing timestamp)."""
    epoch = dt.date(1970, 1, 1)
    dates = {d: epoch + dt.timedelta(days=d) for d in set(day[~nat].tolist())}
    return np.array([None if n else dates[d] for d, n in zip(day, nat, strict=True)])


def _weights(keys: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """1 for a whole GPU; compute slices / 7 for a MIG instance (`3g.40gb` -> 3/7).

    Also whether a MIG instance's profile is unreadable (weighted 1/7).
    """
    profiles = keys["mig_profile"].fillna("").astype(str)
    parts = profiles.str.extract(r"^(?:(\d+)c\.)?(\d+)g\.")
    slices = pd.to_numeric(parts[0].fillna(parts[1]), errors="coerce")
    is_mig = keys["mig_instance"].fillna("").astype(str) != ""
    unknown = is_mig & slices.isna()
    weight = (slices / MIG_SLICES).where(is_mig, 1.0).fillna(1.0 / MIG_SLICES)
    return weight.to_numpy("float64"), unknown.to_numpy(bool)


# --- 4. energy, once per physical GPU ---


def _physical(
    samples: pd.DataFrame,
    chunk: _Chunk,
    runs: _Runs,
    hosts: dict[str, InventoryHost],
    telemetry: TelemetryConfig,
    window: Month,
) -> pd.DataFrame:
    """Energy (J) and observed seconds per physical GPU (MIG series repeat it)."""
    device, at = _device_order(chunk, runs)
    seconds = _take(chunk.seconds, at)
    clipped = _intervals(device, seconds, telemetry, window)
    cap = _take(runs.spread(_caps(hosts)(runs.keys).to_numpy("float64")), at)
    rows = _take(chunk.rows, at)
    energy = samples["energy_joules"].to_numpy("float64")[rows]
    has_energy = ~np.isnan(energy)
    counted = has_energy
    if has_energy.any():
        counted = np.bincount(device, has_energy)[device] >= 2
    counter = None
    if counted.any():
        counter = _counter_energy(device, energy, seconds, cap, counted, window)
    starts = np.flatnonzero(np.insert(device[1:] != device[:-1], 0, True))
    first = starts if at is None else at[starts]
    table = pd.DataFrame({c: chunk.values(c, first) for c in PHYSICAL})
    table["cap_watts"] = cap[starts]
    power = samples["power_watts"].to_numpy("float64")[rows]
    joules, over = _power_energy(power, cap, clipped)
    if counter is not None:
        joules = np.where(counted, counter[0], joules)
        over = np.where(counted, counter[1], over)
    table["joules"] = np.add.reduceat(joules, starts)
    table["seconds"] = np.add.reduceat(clipped, starts)
    table["over_cap"] = np.add.reduceat(over.astype(np.int64), starts)
    return table[PHYSICAL_COLUMNS]


def _device_order(chunk: _Chunk, runs: _Runs) -> tuple[np.ndarray, np.ndarray | None]:
    """Dense device id per sample and the samples' positions, by device then time.

    Without MIG a device is a series (positions: None, as they are). MIG series of
    one device are merged, and a timestamp seen in several of them counts once (the
    first instance's sample).
    """
    keys = runs.keys
    device = keys.groupby(PHYSICAL, sort=False, dropna=False).ngroup().to_numpy()
    if (np.diff(device) >= 0).all() and device[-1] == keys["series"].iloc[-1]:
        return chunk.series, None
    per_sample = runs.spread(device)
    at = np.lexsort((chunk.stamps, per_sample))
    at = at[~_repeated(per_sample[at], chunk.stamps[at], keep="first")]
    return per_sample[at], at


def _take(values: np.ndarray, at: np.ndarray | None) -> np.ndarray:
    return values if at is None else values[at]


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
    and whether the cap clipped the interval, per sample (0 and False off readings).
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
    """power x interval inside the month, the power never above the cap.

    Overwrites `power` (missing: 0 W) and returns joules in `cap`'s buffer.
    """
    power[np.isnan(power)] = 0.0
    capped = np.fmin(power, cap, out=cap)  # a NaN cap: no cap
    over = capped < power
    return np.multiply(capped, clipped, out=capped), over


# --- findings ---


def _mig_profile_finding(count: int) -> Finding:
    return telemetry_warning(
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
    return [telemetry_warning("power_cap", message, count=count, examples=examples)]


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


def telemetry_warning(
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
        raw = column.cat.codes.to_numpy()
    else:
        raw, uniques = pd.factorize(column)
        values = np.asarray(uniques, dtype=object)
    order = np.argsort(values.astype(str), kind="stable")
    ranked = np.empty(len(values) + 1, dtype=object)
    ranked[:-1] = values[order]
    ranked[-1] = np.nan
    if (order == np.arange(len(order))).all() and raw.min(initial=0) >= 0:
        return raw, ranked  # categories already in text order, none missing
    rank = np.empty(len(values) + 1, dtype=np.int32)
    rank[order] = np.arange(len(values))
    rank[-1] = len(values)  # code -1: missing, after every value
    return rank[raw], ranked


def _combine(codes: list[np.ndarray]) -> np.ndarray:
    """One dense id per distinct row of several code columns, in their order."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for column in codes:
        low, high = int(column.min(initial=0)), int(column.max(initial=0))
        if low == high:  # one value: nothing to tell apart
            continue
        key = _dense(key * (high - low + 1) + (column.astype(np.int64) - low))
    return key


def _dense(key: np.ndarray) -> np.ndarray:
    if key.max(initial=0) <= 4 * len(key) + 4096:
        present = np.zeros(int(key.max(initial=0)) + 1, dtype=bool)
        present[key] = True
        return (np.cumsum(present) - 1)[key]
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def _series_first(values: np.ndarray, series: np.ndarray) -> np.ndarray:
    """Per run: the value of its series' first run (`series` ascends)."""
    first = np.flatnonzero(np.insert(series[1:] != series[:-1], 0, True))
    return np.repeat(values[first], np.diff(np.append(first, len(series))))


def _empty_usage() -> pd.DataFrame:
    usage = pd.DataFrame({c: pd.Series(dtype=object) for c in USAGE_COLUMNS})
    return usage.astype({c: "float64" for c in ["weight", *MEASURES]})


def _empty_physical() -> pd.DataFrame:
    physical = pd.DataFrame({c: pd.Series(dtype=object) for c in PHYSICAL_COLUMNS})
    return physical.astype(
        {"joules": "float64", "seconds": "float64", "cap_watts": "float64"}
    ).astype({"over_cap": "int64"})
