"""A generated month of GPU samples with every awkward case, and a plain reference.

The reference walks the samples one by one in Python, straight from DESIGN §4
"GPU use", with none of the transform's array tricks: it is the expected answer the
roll-up and costing phases are checked against.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict

import numpy as np
import pandas as pd

from ingest.config import EnergyConfig, InventoryHost, TelemetryConfig
from transforms.schema import GPU_COLUMNS

MONTH = "2026-09"  # 30 days
START = pd.Timestamp("2026-09-01", tz="UTC")
END = pd.Timestamp("2026-10-01", tz="UTC")
TEXT = [
    "host",
    "gpu_uuid",
    "mig_instance",
    "mig_profile",
    "gpu_model",
    "namespace",
    "pod",
    "job",
    "team",
    "source_format",
    "source_file",
]
TELEMETRY = TelemetryConfig(namespaces={"llm": "research"})
ENERGY = EnergyConfig(price_per_kwh=0.25, pue=1.4)
INVENTORY = [
    InventoryHost("gpu-a1", "cloud", 2, resource_id="i-a1", team="platform"),
    InventoryHost(
        "gpu-b1",
        "onprem",
        4,
        gpu_model="H100",
        purchase_cost=48_000,
        maintenance_rate=0.12,
    ),
    InventoryHost("gpu-c1", "cloud", 1, resource_id="i-c1"),
]


def billing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ResourceId": ["i-a1", "i-a1", "i-c1", "i-zz"],
            "EffectiveCost": [100.0, 23.45, 50.0, 9.99],
            "Tags": ["{}"] * 4,
            "ChargePeriodStart": START + pd.Timedelta(days=3),
        },
        index=["r0", "r1", "r2", "r3"],
    )


def _series(host, uuid, offsets, **values) -> list[dict]:
    rows = []
    for i, offset in enumerate(offsets):
        row = dict.fromkeys(TEXT, "")
        row.update(host=host, gpu_uuid=uuid, source_format="dcgm")
        for key, value in values.items():
            row[key] = value[i] if isinstance(value, list) else value
        row["timestamp"] = START + pd.Timedelta(seconds=offset)
        rows.append(row)
    return rows


def month_frame(categorical: bool = True, seed: int = 7) -> pd.DataFrame:
    """Four hosts, MIG, counter reset, gaps, missing use, samples outside the month."""
    rng = np.random.default_rng(seed)
    rows = []
    # gpu-a1/GPU-1: from 10 min before the month, 60 s steps with a 30 min gap;
    # teams a then b, a job label then a pod; a counter that resets once.
    at = [-600 + 60 * i for i in range(90)] + [7_200 + 60 * i for i in range(60)]
    counter = np.cumsum(rng.uniform(10_000, 20_000, len(at)))
    counter[100:] -= counter[99] - 5_000.0  # reset: drops, then counts again
    use = rng.uniform(0, 1, len(at))
    use[::7] = np.nan
    use[::5] = 0.01
    rows += _series(
        "gpu-a1",
        "GPU-1",
        at,
        utilization=list(use),
        energy_joules=list(counter),
        power_watts=250.0,
        team=["a" if i < 70 else "b" for i in range(len(at))],
        job=["train" if i < 40 else "" for i in range(len(at))],
        pod=["pod-x" if i >= 40 else "" for i in range(len(at))],
        gpu_model="NVIDIA A100-SXM4-80GB",
    )
    # gpu-a1/GPU-2: a day later, 120 s steps, namespace llm; power over the A100 cap.
    at = [86_400 + 120 * i for i in range(60)]
    rows += _series(
        "gpu-a1",
        "GPU-2",
        at,
        utilization=list(rng.uniform(0, 1, len(at))),
        power_watts=[500.0 if i % 3 else 300.0 for i in range(len(at))],
        energy_joules=np.nan,
        namespace="llm",
        gpu_model="NVIDIA A100-SXM4-80GB",
    )
    # gpu-b1/GPU-3: three MIG instances across midnight, one without a profile;
    # instance 2 misses samples; all repeat the device's counter.
    base = 2 * 86_400 - 3_600
    for instance, profile in (("1", "3g.40gb"), ("2", "4g.40gb"), ("3", "")):
        at = [base + 60 * i for i in range(120) if instance != "2" or i % 4]
        rows += _series(
            "gpu-b1",
            "GPU-3",
            at,
            mig_instance=instance,
            mig_profile=profile,
            utilization=list(rng.uniform(0, 0.2, len(at))),
            energy_joules=[1e6 + 200.0 * (t - base) for t in at],
            power_watts=200.0,
            team="vision" if instance == "1" else "",
            gpu_model="NVIDIA H100 80GB HBM3",
        )
    # stray/GPU-9 (not in inventory): across the month's end, utilization unknown.
    at = [30 * 86_400 - 90 + 30 * i for i in range(6)]
    rows += _series("stray", "GPU-9", at, utilization=np.nan, power_watts=100.0)
    # gpu-c1/GPU-4: only samples of the month before: no hours, still a GPU.
    at = [-7_200 + 60 * i for i in range(5)]
    rows += _series("gpu-c1", "GPU-4", at, utilization=0.5, power_watts=100.0)
    frame = pd.DataFrame(rows)
    for column in ("utilization", "power_watts", "energy_joules", "memory_used_mib"):
        frame[column] = pd.to_numeric(frame.get(column), errors="coerce")
    frame = frame.iloc[rng.permutation(len(frame))]  # files interleave series
    repeat = frame.iloc[:3].assign(utilization=0.99)  # re-read: the last one wins
    frame = pd.concat([frame, repeat], ignore_index=True)[list(GPU_COLUMNS)]
    if categorical:
        frame = frame.astype(dict.fromkeys(TEXT, "category"))
    return frame


# --- the reference: one sample at a time ---


def _weight(instance: str, profile: str) -> float:
    if not instance:
        return 1.0
    found = re.match(r"^(?:(\d+)c\.)?(\d+)g\.", profile)
    return int(found.group(1) or found.group(2)) / 7 if found else 1 / 7


def _standing(times: list[float], telemetry: TelemetryConfig) -> list[float]:
    steps = [b - a for a, b in itertools.pairwise(times)]
    median = statistics.median(steps) if steps else None
    cap = telemetry.max_gap_seconds or (2 * median if steps else 0)
    last = median if steps else telemetry.default_interval_seconds
    return [min(step, cap) for step in steps] + [last]


def _inside(begin: float, length: float) -> float:
    start = (START - pd.Timestamp(0, tz="UTC")).total_seconds()
    end = (END - pd.Timestamp(0, tz="UTC")).total_seconds()
    return max(0.0, min(begin + length, end) - max(begin, start))


def _records(frame: pd.DataFrame) -> dict[tuple, dict]:
    """One record per series and timestamp, the last read winning."""
    kept: dict[tuple, dict] = {}
    for row in frame.astype(object).to_dict("records"):
        key = (row["host"], row["gpu_uuid"], row["mig_instance"])
        kept[(*key, row["timestamp"])] = row
    return kept


def reference(frame: pd.DataFrame, telemetry: TelemetryConfig = TELEMETRY) -> dict:
    """Per series hours, per (host, team) busy hours, per device kWh."""
    owners = {h.host: h.team for h in INVENTORY if h.team}
    series: dict[tuple, list[dict]] = defaultdict(list)
    for (*key, _), row in sorted(_records(frame).items()):
        series[tuple(key)].append(row)
    hours: dict[tuple, dict] = {}
    busy: dict[tuple, float] = defaultdict(float)
    for key, rows in series.items():
        times = [(r["timestamp"] - START).total_seconds() + _epoch() for r in rows]
        sums = defaultdict(float)
        for row, t, length in zip(
            rows, times, _standing(times, telemetry), strict=True
        ):
            h = _inside(t, length) / 3600 * _weight(key[2], row["mig_profile"])
            use = row["utilization"]
            team = telemetry.namespaces.get(row["namespace"]) or row["team"]
            team = team or owners.get(key[0], "unallocated")
            idle = use == use and use < telemetry.idle_threshold
            sums["observed"] += h
            sums["idle"] += h if idle else 0.0
            sums["unknown"] += h if use != use else 0.0
            busy[(key[0], team)] += 0.0 if idle else h
        hours[key] = dict(sums)
    return {"series": hours, "busy": dict(busy), "kwh": _device_kwh(series, telemetry)}


def _epoch() -> float:
    return (START - pd.Timestamp(0, tz="UTC")).total_seconds()


def _device_kwh(series: dict, telemetry: TelemetryConfig) -> dict[tuple, float]:
    caps = {"gpu-a1": 400.0, "gpu-b1": 700.0}  # A100 and H100 from the model table
    devices: dict[tuple, dict] = defaultdict(dict)
    for key in sorted(series):
        for row in series[key]:
            devices[key[:2]].setdefault(row["timestamp"], row)  # first instance wins
    kwh = {}
    for device, by_time in devices.items():
        rows = [by_time[t] for t in sorted(by_time)]
        times = [(r["timestamp"] - START).total_seconds() + _epoch() for r in rows]
        cap = caps.get(device[0], np.inf)
        readings = [(t, r["energy_joules"]) for t, r in zip(times, rows, strict=True)]
        readings = [(t, e) for t, e in readings if e == e]
        joules = 0.0
        if len(readings) >= 2:
            for (t0, e0), (t1, e1) in itertools.pairwise(readings):
                delta = min(e1 if e1 < e0 else e1 - e0, cap * (t1 - t0))
                joules += delta * _inside(t0, t1 - t0) / (t1 - t0)
        else:
            for row, t, length in zip(
                rows, times, _standing(times, telemetry), strict=True
            ):
                power = (
                    0.0
                    if row["power_watts"] != row["power_watts"]
                    else row["power_watts"]
                )
                joules += min(power, cap) * _inside(t, length)
        kwh[device] = joules / 3.6e6
    return kwh
