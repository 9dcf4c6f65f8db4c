"""KPIs of DESIGN §4: values, last month's values, changes, and JSON safety."""

from __future__ import annotations

import json

import pytest

from transforms.kpis import KPIS, compute_kpis

CURRENT = {
    "recommended_savings": 1_500.0,
    "total_cost": 30_000.0,
    "gpu_utilization": 0.42,
    "busy_gpu_hours": 2_000.0,
    "available_gpu_hours": 5_000.0,
    "energy_kwh": 1_234.5,
    "energy_cost": 185.175,
    "list_cost": 20_000.0,
    "effective_cost": 16_000.0,
    "allocated_gross": 27_000.0,
    "gross": 30_000.0,
    "people_cost": 9_000.0,
    "gpu_hours": 4_000.0,
    "platform_engineers": 2,
    "gpus": 16,
}


def _values(kpis: dict) -> dict:
    return {name: kpi["value"] for name, kpi in kpis.items()}


def test_every_kpi_from_hand_worked_numbers():
    values = _values(compute_kpis(CURRENT, None))

    assert values == {
        "cost_savings_rate": pytest.approx(1_500 / 30_000),  # 0.05
        "gpu_utilization": 0.42,
        "capacity_utilization": pytest.approx(0.4),  # 2,000 / 5,000
        "energy_kwh": 1_234.5,
        "energy_cost": 185.175,
        "effective_savings_rate": pytest.approx(0.2),  # (20,000 - 16,000) / 20,000
        "allocation_coverage": pytest.approx(0.9),
        "cost_per_gpu_hour": pytest.approx(7.5),  # 30,000 / 4,000
        "cost_per_busy_gpu_hour": pytest.approx(15.0),
        "people_cost_per_busy_gpu_hour": pytest.approx(4.5),
        "people_share": pytest.approx(0.3),
        "gpus_per_platform_engineer": pytest.approx(8.0),
    }


def test_effective_savings_rate_prints_its_formula():
    kpi = compute_kpis(CURRENT, None)["effective_savings_rate"]

    assert kpi["formula"] == "(ListCost - EffectiveCost) / ListCost"


def test_previous_and_change_come_from_last_months_summary():
    previous = {"kpis": {"capacity_utilization": {"value": 0.25}, "people_share": {}}}

    kpis = compute_kpis(CURRENT, previous)

    assert kpis["capacity_utilization"]["previous"] == 0.25
    assert kpis["capacity_utilization"]["change"] == pytest.approx(0.15)
    assert kpis["people_share"]["previous"] is None
    assert kpis["people_share"]["change"] is None


def test_without_a_previous_summary_nothing_changes():
    kpis = compute_kpis(CURRENT, None)

    assert all(k["previous"] is None and k["change"] is None for k in kpis.values())


@pytest.mark.parametrize(
    ("name", "zeroed"),
    [
        ("cost_savings_rate", "total_cost"),
        ("effective_savings_rate", "list_cost"),  # no cloud list price
        ("allocation_coverage", "gross"),
        ("cost_per_busy_gpu_hour", "busy_gpu_hours"),
        ("gpus_per_platform_engineer", "platform_engineers"),  # no platform team
    ],
)
def test_division_by_zero_gives_none(name, zeroed):
    kpis = compute_kpis({**CURRENT, zeroed: 0}, None)

    assert kpis[name]["value"] is None


def test_missing_and_non_finite_inputs_give_json_safe_none():
    current = {**CURRENT, "energy_kwh": float("nan"), "gpus": float("inf")}
    del current["people_cost"]

    kpis = compute_kpis(current, {"kpis": {"energy_kwh": {"value": float("nan")}}})

    assert kpis["energy_kwh"]["value"] is None
    assert kpis["gpus_per_platform_engineer"]["value"] is None
    assert kpis["people_share"]["value"] is None
    json.dumps(kpis, allow_nan=False)


def test_numpy_numbers_come_out_as_plain_floats():
    import numpy as np

    kpis = compute_kpis({**CURRENT, "gpus": np.int64(16)}, None)

    assert type(kpis["gpus_per_platform_engineer"]["value"]) is float
    assert set(kpis) == set(KPIS)


def test_savings_may_be_given_under_their_longer_name():
    current = {**CURRENT, "recommended_monthly_savings": 3_000.0}
    del current["recommended_savings"]

    kpi = compute_kpis(current, None)["cost_savings_rate"]

    assert kpi["value"] == pytest.approx(0.1)  # 3,000 / 30,000
