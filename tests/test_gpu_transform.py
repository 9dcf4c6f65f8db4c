"""GPU use and cost (DESIGN §4 "GPU use"), on small frames written here.

Every expected number is worked out by hand in the test, independently of the code.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ingest.config import EnergyConfig, InventoryHost, TelemetryConfig
from transforms.gpu import gpu_costs, model_power_cap
from transforms.money import round_preserving_sum
from transforms.schema import GPU_COLUMNS

MONTH = "2026-09"  # 30 days: 720 hours
START = pd.Timestamp("2026-09-01", tz="UTC")
END = pd.Timestamp("2026-10-01", tz="UTC")
TEXT = {c for c in GPU_COLUMNS if c not in ("timestamp",)} - {
    "utilization",
    "memory_used_mib",
    "power_watts",
    "energy_joules",
}


def samples(*series: dict) -> pd.DataFrame:
    """One dict per series: offsets in seconds from START plus per-sample lists."""
    rows = []
    for spec in series:
        offsets = spec["at"]
        for i, offset in enumerate(offsets):
            row = {c: "" for c in TEXT}
            row.update(host="gpu-a1", gpu_uuid="GPU-1", source_format="dcgm")
            row.update({k: v for k, v in spec.items() if not isinstance(v, list)})
            for key in ("utilization", "power_watts", "energy_joules", "team", "pod"):
                if isinstance(spec.get(key), list):
                    row[key] = spec[key][i]
            row.setdefault("utilization", 0.5)
            row.setdefault("power_watts", np.nan)
            row.setdefault("energy_joules", np.nan)
            row["memory_used_mib"] = 1.0
            row["timestamp"] = START + pd.Timedelta(seconds=offset)
            rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("utilization", "power_watts", "energy_joules"):
        frame[column] = frame[column].astype("float64")
    return frame[list(GPU_COLUMNS)]


def cloud(host="gpu-a1", **extra) -> InventoryHost:
    return InventoryHost(host=host, location="cloud", gpus=1, **extra)


def run(frame, billing=None, inventory=None, telemetry=None, energy=None):
    return gpu_costs(
        frame,
        billing if billing is not None else pd.DataFrame(),
        month=MONTH,
        inventory=inventory if inventory is not None else [cloud()],
        telemetry=telemetry or TelemetryConfig(),
        energy=energy or EnergyConfig(),
    )


def bill(*rows: tuple[str, float, dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ResourceId": [r[0] for r in rows],
            "EffectiveCost": [r[1] for r in rows],
            "Tags": [json.dumps(r[2]) for r in rows],
            "ChargePeriodStart": START + pd.Timedelta(days=2),
        },
        index=[f"row{i}" for i in range(len(rows))],
    )


# --- intervals ---


@pytest.mark.parametrize(
    ("max_gap", "expected_seconds"),
    [
        # steps 60, 60, 480; median 60; the 480 s gap is capped at 2 x 60; last = 60
        (0, 60 + 60 + 120 + 60),
        # a configured cap of 1000 s lets the 480 s gap stand
        (1000, 60 + 60 + 480 + 60),
        # a configured cap of 30 s cuts every step
        (30, 30 + 30 + 30 + 60),
    ],
)
def test_each_sample_stands_until_the_next_capped_at_the_gap(max_gap, expected_seconds):
    frame = samples({"at": [0, 60, 120, 600]})
    result = run(frame, telemetry=TelemetryConfig(max_gap_seconds=max_gap))
    assert result.summary["gpu_hours"] == pytest.approx(expected_seconds / 3600)


def test_a_lone_sample_stands_for_the_default_interval():
    frame = samples({"at": [100]})
    result = run(frame, telemetry=TelemetryConfig(default_interval_seconds=45))
    assert result.summary["gpu_hours"] == pytest.approx(45 / 3600)


def test_intervals_are_clipped_to_the_month():
    # 30 s before the month (stands 60 s: 30 s inside) and 20 s before its end
    # (the last sample stands for the median step, 60 s: 20 s inside).
    before = samples({"at": [-30, 30], "gpu_uuid": "GPU-1"})
    after = samples({"at": [720 * 3600 - 80, 720 * 3600 - 20], "gpu_uuid": "GPU-2"})
    result = run(pd.concat([before, after], ignore_index=True))
    assert result.summary["gpu_hours"] == pytest.approx((30 + 60 + 60 + 20) / 3600)


# --- MIG ---


def test_mig_instances_weigh_their_compute_slices_out_of_seven():
    three = {"at": [0, 3600], "mig_instance": "1", "mig_profile": "3g.40gb"}
    four = {"at": [0, 3600], "mig_instance": "2", "mig_profile": "4g.40gb"}
    result = run(samples(three, four))
    weights = result.per_gpu.set_index("mig_instance")["weight"]
    assert weights["1"] == pytest.approx(3 / 7)
    assert weights["2"] == pytest.approx(4 / 7)
    # two samples of 3600 s each: 2 hours, split 3/7 + 4/7 = one whole GPU
    assert result.summary["gpu_hours"] == pytest.approx(2.0)


def test_four_mig_series_repeating_one_counter_give_one_gpus_energy():
    counter = [1000.0, 1600.0, 2200.0]  # joules, 60 s apart: 1,200 J
    series = [
        {
            "at": [0, 60, 120],
            "mig_instance": str(i),
            "mig_profile": "1g.10gb",
            "energy_joules": counter,
        }
        for i in range(4)
    ]
    result = run(samples(*series))
    assert result.summary["energy_kwh"] == pytest.approx(1200 / 3.6e6)


# --- energy ---


def test_a_counter_drop_is_a_reset_counted_from_zero():
    # 1,000,000, 2,000,000, 500 and 100,500 mJ at 60 s: 1,000,000 + 500 + 100,000 mJ
    frame = samples(
        {"at": [0, 60, 120, 180], "energy_joules": [1000.0, 2000.0, 0.5, 100.5]}
    )
    result = run(frame, inventory=[cloud(gpu_model="NVIDIA H100 80GB HBM3")])
    assert result.summary["energy_kwh"] == pytest.approx(1100.5 / 3.6e6)


def test_no_counter_interval_exceeds_the_power_cap():
    # 100,000 J in 60 s is 1,667 W; a 700 W cap allows 42,000 J.
    frame = samples({"at": [0, 60], "energy_joules": [0.0, 100_000.0]})
    result = run(frame, inventory=[cloud(power_cap_watts=700)])
    assert result.summary["energy_kwh"] == pytest.approx(42_000 / 3.6e6)
    assert "power_cap" in {f.check for f in result.findings}


def test_power_cap_defaults_from_the_model_table():
    assert model_power_cap("NVIDIA H100 80GB HBM3") == 700
    assert model_power_cap("Tesla T4") == 70
    assert np.isnan(model_power_cap("Some Future GPU"))


def test_without_a_counter_energy_is_power_times_interval():
    # 300 W for 60 s + 60 s (the last sample stands for the median step)
    frame = samples({"at": [0, 60], "power_watts": [300.0, 300.0]})
    result = run(frame)
    assert result.summary["energy_kwh"] == pytest.approx(300 * 120 / 3.6e6)


# --- use ---


def test_idle_below_threshold_and_unknown_counts_as_busy_but_apart():
    frame = samples({"at": [0, 60, 120, 180], "utilization": [0.5, 0.01, None, 0.9]})
    result = run(frame)
    summary = result.summary
    assert summary["gpu_hours"] == pytest.approx(240 / 3600)
    assert summary["idle_gpu_hours"] == pytest.approx(60 / 3600)
    assert summary["unknown_gpu_hours"] == pytest.approx(60 / 3600)
    assert summary["busy_gpu_hours"] == pytest.approx(180 / 3600)
    assert summary["utilization"] == pytest.approx((0.5 + 0.01 + 0.9) / 3)


def test_team_from_namespace_then_team_label_then_inventory():
    frame = samples(
        {"at": [0], "gpu_uuid": "GPU-1", "namespace": "llm-train", "team": "x"},
        {"at": [0], "gpu_uuid": "GPU-2", "team": "vision"},
        {"at": [0], "gpu_uuid": "GPU-3"},
    )
    telemetry = TelemetryConfig(namespaces={"llm-train": "research"})
    result = run(frame, telemetry=telemetry, inventory=[cloud(team="platform")])
    teams = result.per_gpu.set_index("gpu_uuid")["team"].to_dict()
    assert teams == {"GPU-1": "research", "GPU-2": "vision", "GPU-3": "platform"}


# --- cost ---


def four_hours_two_teams() -> pd.DataFrame:
    """One GPU, hourly samples: 2 h team a, 1 h team b, 1 h idle."""
    return samples(
        {
            "at": [0, 3600, 7200, 10800],
            "utilization": [0.9, 0.8, 0.7, 0.0],
            "team": ["a", "a", "b", "b"],
        }
    )


def test_cloud_host_cost_goes_to_busy_teams_and_idle_to_the_cent():
    billing = bill(("i-gpu1", 100.00, {}), ("i-gpu1", 23.45, {}), ("i-other", 9.0, {}))
    host = cloud(resource_id="i-gpu1")
    result = run(four_hours_two_teams(), billing, inventory=[host])
    amounts = result.allocations.set_index("team")["amount"].to_dict()
    # 123.45 x 2/4 = 61.725, x 1/4 = 30.8625 twice, kept at full precision; rounded
    # once for output, largest remainder gives the leftover cent to a.
    assert amounts == pytest.approx({"a": 61.725, "b": 30.8625, "idle": 30.8625})
    assert round_preserving_sum(amounts, total=123.45) == {
        "a": 61.73,
        "b": 30.86,
        "idle": 30.86,
    }
    assert set(result.allocations["source"]) == {"telemetry"}
    assert set(result.allocations["category"]) == {"hardware"}
    assert sorted(result.matched_billing) == ["row0", "row1"]
    assert result.summary["idle_cost"] == pytest.approx(30.8625)
    host_row = result.per_host.iloc[0]
    assert host_row["cost_per_gpu_hour"] == pytest.approx(123.45 / 4)
    assert host_row["cost_per_busy_gpu_hour"] == pytest.approx(123.45 / 3)
    assert host_row["energy_cost"] == 0
    assert host_row["idle_cost"] == pytest.approx(30.8625)


def test_a_cloud_host_without_samples_is_idle_as_a_whole_and_utilization_is_na():
    """No sample at all: the host's whole cost is idle, in the summary and in its
    per-host row alike, and utilization is undefined rather than 0 %."""
    from ingest.telemetry import empty_frame

    billing = bill(("i-gpu1", 100.00, {}), ("i-gpu1", 23.45, {}))
    result = run(empty_frame(), billing, inventory=[cloud(resource_id="i-gpu1")])

    assert result.summary["utilization"] is None
    assert result.summary["idle_cost"] == pytest.approx(123.45)
    assert result.per_host.set_index("host")["idle_cost"].to_dict() == pytest.approx(
        {"gpu-a1": 123.45}
    )
    assert [f.check for f in result.findings] == ["cloud_host_unobserved"]


def test_idle_policy_share_spreads_idle_over_busy_hours():
    billing = bill(("i-gpu1", 123.45, {}))
    telemetry = TelemetryConfig(idle_policy="share")
    result = run(
        four_hours_two_teams(),
        billing,
        inventory=[cloud(resource_id="i-gpu1")],
        telemetry=telemetry,
    )
    amounts = result.allocations.set_index("team")["amount"].to_dict()
    assert amounts == pytest.approx({"a": 82.30, "b": 41.15})  # 123.45 x 2/3 and x 1/3


def test_autoscaled_nodes_match_by_pattern_narrowed_by_tags():
    billing = bill(
        ("i-0aa", 10.00, {"pool": "gpu"}),
        ("i-0bb", 5.55, {"pool": "gpu", "team": "x"}),
        ("i-0cc", 99.00, {"pool": "cpu"}),
        ("vol-0dd", 7.00, {"pool": "gpu"}),
    )
    host = cloud(resource_pattern="i-*", resource_tags={"pool": "gpu"})
    result = run(four_hours_two_teams(), billing, inventory=[host])
    assert sorted(result.matched_billing) == ["row0", "row1"]
    assert result.allocations["amount"].sum() == pytest.approx(15.55)


def test_onprem_cost_is_depreciation_maintenance_and_energy_over_available_hours():
    # One of two GPUs runs 144 hourly samples at 500 W for team a.
    hours = 144
    frame = samples(
        {
            "at": [i * 3600 for i in range(hours)],
            "utilization": [0.9] * hours,
            "power_watts": [500.0] * hours,
            "team": ["a"] * hours,
        }
    )
    host = InventoryHost(
        host="gpu-a1",
        location="onprem",
        gpus=2,
        purchase_cost=48_000,
        depreciation_months=48,
        maintenance_rate=0.12,
        gpu_model="H100",
    )
    energy = EnergyConfig(price_per_kwh=0.20, pue=1.5)
    result = run(frame, inventory=[host], energy=energy)
    kwh = 500 * 3600 * hours / 3.6e6  # 72 kWh
    assert result.summary["energy_kwh"] == pytest.approx(kwh)
    assert result.summary["available_gpu_hours"] == pytest.approx(2 * 720)
    assert result.onprem == pytest.approx(
        {"hardware": 1000.0, "maintenance": 480.0, "energy": 21.60}
    )
    # team a ran 144 of 1,440 available GPU-hours: a tenth of each part.
    table = result.allocations.pivot_table(
        index="team", columns="category", values="amount"
    )
    assert table.loc["a"].to_dict() == pytest.approx(
        {"energy": 2.16, "hardware": 100.0, "maintenance": 48.0}
    )
    assert table.loc["idle"].to_dict() == pytest.approx(
        {"energy": 19.44, "hardware": 900.0, "maintenance": 432.0}
    )
    assert set(result.allocations["source"]) == {"onprem"}
    assert result.per_host.iloc[0]["cost_per_gpu_hour"] == pytest.approx(1501.6 / 1440)


def test_energy_kwh_for_cloud_hosts_but_no_energy_cost():
    frame = samples({"at": [0, 60], "power_watts": [300.0, 300.0]})
    result = run(frame, energy=EnergyConfig(price_per_kwh=1.0))
    assert result.per_host.iloc[0]["energy_kwh"] == pytest.approx(0.01)
    assert result.per_host.iloc[0]["energy_cost"] == 0
    assert result.onprem["energy"] == 0


def test_hosts_missing_from_inventory_are_a_warning():
    frame = samples({"at": [0], "host": "stray-node"})
    result = run(frame, inventory=[])
    found = [f for f in result.findings if f.check == "unknown_host"]
    assert found and found[0].examples == ["stray-node"]
    assert result.allocations.empty


def test_job_cost_from_job_label_else_pod():
    frame = samples(
        {"at": [0, 3600], "job": "llama-ft", "team": "a", "gpu_uuid": "GPU-1"},
        {"at": [0, 3600], "pod": ["pod-1", "pod-1"], "team": "b", "gpu_uuid": "GPU-2"},
    )
    billing = bill(("i-1", 40.00, {}))
    inventory = [InventoryHost("gpu-a1", "cloud", 2, resource_id="i-1")]
    result = run(frame, billing, inventory=inventory)
    jobs = result.jobs.set_index("job")
    # 4 busy GPU-hours share 40.00: 10.00 per GPU-hour
    assert jobs.loc["llama-ft", "busy_gpu_hours"] == pytest.approx(2.0)
    assert jobs.loc["llama-ft", "cost"] == pytest.approx(20.0)
    assert jobs.loc["pod-1", "team"] == "b"
    assert result.team_busy_hours == pytest.approx({"a": 2.0, "b": 2.0})


def test_daily_cells_per_host_and_day():
    frame = samples({"at": [0, 86_400], "utilization": [0.0, 1.0]})
    result = run(frame, telemetry=TelemetryConfig(max_gap_seconds=3600))
    daily = result.daily.set_index("date")
    assert list(daily["idle_hours"]) == pytest.approx([1.0, 0.0])
    assert list(daily["utilization"]) == pytest.approx([0.0, 1.0])
