"""The GPU transform in two phases: roll-up per chunk, then costing (DESIGN §4).

Whole frame, one roll-up, and chunks of whole hosts combined must give one answer,
and that answer must match a sample-by-sample reference (tests/gpu_frames.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest.config import InventoryHost, TelemetryConfig
from ingest.telemetry import empty_frame
from tests import gpu_frames as g
from tests.test_gpu_transform import four_hours_two_teams, samples
from transforms.gpu import (
    GpuResult,
    GpuRollup,
    combine_rollups,
    gpu_costs,
    rollup_samples,
)

KEYS = ["host", "gpu_uuid", "mig_instance", "team", "job", "date"]


def rollup(frame, telemetry=g.TELEMETRY, inventory=g.INVENTORY) -> GpuRollup:
    return rollup_samples(
        frame, month=g.MONTH, inventory=inventory, telemetry=telemetry
    )


def cost(source, telemetry=g.TELEMETRY, inventory=g.INVENTORY) -> GpuResult:
    return gpu_costs(
        source,
        g.billing(),
        month=g.MONTH,
        inventory=inventory,
        telemetry=telemetry,
        energy=g.ENERGY,
    )


def by_host_chunks(frame: pd.DataFrame, **config) -> GpuRollup:
    """One roll-up per host, in reverse name order, then combined."""
    hosts = sorted(frame["host"].astype(str).unique(), reverse=True)
    parts = [rollup(frame[frame["host"].astype(str) == h], **config) for h in hosts]
    return combine_rollups(parts)


def assert_same(got: GpuResult, expected: GpuResult) -> None:
    for name in ("per_gpu", "per_host", "allocations", "jobs", "daily"):
        pd.testing.assert_frame_equal(
            _plain(getattr(got, name)),
            _plain(getattr(expected, name)),
            check_dtype=False,
            rtol=0,
            atol=1e-9,
            obj=name,
        )
    assert got.summary.keys() == expected.summary.keys()
    for key, value in expected.summary.items():  # utilization may be None (n/a)
        if value is None:
            assert got.summary[key] is None, key
        else:
            assert got.summary[key] == pytest.approx(value, rel=0, abs=1e-9), key
    assert got.onprem == pytest.approx(expected.onprem, rel=0, abs=1e-9)
    assert sorted(got.matched_billing) == sorted(expected.matched_billing)
    assert got.team_busy_hours == pytest.approx(expected.team_busy_hours, abs=1e-9)
    assert [f.to_dict() for f in got.findings] == [
        f.to_dict() for f in expected.findings
    ]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text as Python objects, whatever the dtype (category, string, object)."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(object)
    return out


# --- one answer three ways ---


@pytest.mark.parametrize("categorical", [True, False])  # as read; as built in tests
def test_whole_frame_one_rollup_and_host_chunks_give_one_result(categorical):
    frame = g.month_frame(categorical=categorical)
    whole = cost(frame)
    assert_same(cost(rollup(frame)), whole)
    assert_same(cost(by_host_chunks(frame)), whole)
    assert {f.check for f in whole.findings} >= {"mig_profile", "power_cap"}


@pytest.mark.parametrize(
    "frame",
    [
        four_hours_two_teams(),  # two teams and an idle hour
        samples({"at": [0, 60, 120, 600]}),  # a gap capped at twice the median
        samples({"at": [-30, 30]}, {"at": [2_591_920, 2_591_980], "gpu_uuid": "G2"}),
        samples(  # MIG instances repeating one counter
            *[
                {"at": [0, 60], "mig_instance": str(i), "mig_profile": "1g.10gb"}
                for i in range(3)
            ]
        ),
    ],
)
def test_the_existing_small_frames_give_one_result_three_ways(frame):
    inventory = [InventoryHost("gpu-a1", "cloud", 1, resource_id="i-a1")]
    config = {"telemetry": TelemetryConfig(), "inventory": inventory}
    whole = cost(frame, **config)
    assert_same(cost(rollup(frame, **config), **config), whole)
    assert_same(cost(by_host_chunks(frame, **config), **config), whole)


# --- against the sample-by-sample reference ---


def test_hours_per_gpu_match_a_sample_by_sample_walk():
    frame = g.month_frame()
    expected = g.reference(frame)["series"]
    per_gpu = cost(by_host_chunks(frame)).per_gpu.set_index(
        ["host", "gpu_uuid", "mig_instance"]
    )
    assert len(per_gpu) == len(expected)
    for key, sums in expected.items():
        row = per_gpu.loc[key]
        assert row["observed_hours"] == pytest.approx(sums["observed"], abs=1e-9)
        assert row["idle_hours"] == pytest.approx(sums["idle"], abs=1e-9)
        assert row["unknown_hours"] == pytest.approx(sums["unknown"], abs=1e-9)


def test_energy_per_host_matches_the_reference():
    frame = g.month_frame()
    kwh = g.reference(frame)["kwh"]
    per_host = cost(by_host_chunks(frame)).per_host.set_index("host")["energy_kwh"]
    for host in ("gpu-a1", "gpu-b1", "stray", "gpu-c1"):
        expected = sum(v for (h, _), v in kwh.items() if h == host)
        assert per_host[host] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert per_host["gpu-b1"] > 0  # the MIG device's counter was counted once


def test_team_money_matches_the_reference_to_1e_9():
    frame = g.month_frame()
    ref = g.reference(frame)
    result = cost(by_host_chunks(frame))
    got = result.allocations.groupby("team")["amount"].sum().to_dict()
    assert got == pytest.approx(_expected_money(ref), rel=0, abs=1e-9)


def _expected_money(ref: dict) -> dict[str, float]:
    """Cloud: cost over observed hours; on-prem: parts over available hours."""
    money: dict[str, float] = {}

    def spread(host: str, amount: float, over_hours: float) -> None:
        busy = {t: h for (hh, t), h in ref["busy"].items() if hh == host and h > 0}
        for team, hours in busy.items():
            money[team] = money.get(team, 0.0) + amount * hours / over_hours
        idle = amount * (over_hours - sum(busy.values())) / over_hours
        money["idle"] = money.get("idle", 0.0) + idle

    observed = {
        host: sum(s["observed"] for k, s in ref["series"].items() if k[0] == host)
        for host in ("gpu-a1", "gpu-c1")
    }
    spread("gpu-a1", 123.45, observed["gpu-a1"])
    money["idle"] += 50.0  # gpu-c1 has cost but no hours in the month: all idle
    kwh = sum(v for (h, _), v in ref["kwh"].items() if h == "gpu-b1")
    onprem = 48_000 / 48 + 48_000 * 0.12 / 12 + kwh * g.ENERGY.pue * 0.25
    spread("gpu-b1", onprem, 4 * 720)
    return money


# --- the roll-up itself ---


def test_usage_has_one_row_per_series_team_job_and_day():
    usage = by_host_chunks(g.month_frame()).usage
    assert not usage.duplicated(KEYS).any()
    days = set(usage.loc[usage["hours"] > 0, "date"])
    assert min(days) >= g.START.date() and max(days) < g.END.date()


def test_a_gpu_seen_only_outside_the_month_stays_listed_with_no_hours():
    result = cost(by_host_chunks(g.month_frame()))
    row = result.per_gpu.set_index("gpu_uuid").loc["GPU-4"]
    assert row["observed_hours"] == 0
    assert row["team"] == "unallocated"


def test_an_empty_frame_rolls_up_to_nothing_and_costs_like_today():
    empty = rollup(empty_frame())
    assert empty.samples == 0 and empty.usage.empty and empty.physical.empty
    assert_same(cost(empty), cost(empty_frame()))


def test_findings_of_one_check_merge_across_chunks():
    # 12 hosts, one GPU each, every sample at 900 W on a 400 W A100; each has a MIG
    # instance without a readable profile (2 samples each).
    rows = []
    for i in range(12):
        rows += g._series(
            f"gpu-{i:02d}",
            f"GPU-{i}",
            [0, 60],
            power_watts=900.0,
            utilization=0.5,
            mig_instance="1",
            gpu_model="NVIDIA A100",
        )
    frame = pd.DataFrame(rows).reindex(columns=g.GPU_COLUMNS)
    frame["energy_joules"] = np.nan
    frame = frame.astype({"energy_joules": "float64", "memory_used_mib": "float64"})
    merged = {f.check: f for f in by_host_chunks(frame).findings}
    assert merged["power_cap"].count == 24
    assert len(merged["power_cap"].examples) == 10
    assert merged["power_cap"].examples[0] == "gpu-00/GPU-0"
    assert "24 energy intervals on 12 GPUs" in merged["power_cap"].message
    assert merged["mig_profile"].count == 24
    assert merged["mig_profile"].message.startswith("24 MIG samples")
