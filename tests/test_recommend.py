"""Recommendations of DESIGN §4: each kind fires on a small hand-worked input, with the
saving worked out in the test, and stays silent where it must not fire."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ingest.config import EnergyConfig, PricesConfig
from transforms.money import to_cents
from transforms.recommend import (
    RecommendationInputs,
    recommend,
    recommendations_to_rows,
    total_monthly_savings,
)

MONTH = "2026-10"  # 31 days, 744 hours


def gpu(**values) -> dict:
    row = {
        "host": "gpu-c1",
        "gpu_uuid": "GPU-1",
        "mig_instance": "",
        "weight": 1.0,
        "observed_hours": 100.0,
        "busy_hours": 50.0,
        "idle_hours": 50.0,
        "unknown_hours": 0.0,
        "utilization": 0.5,
        "energy_kwh": 30.0,
        "team": "research",
        "location": "cloud",
        "cost": 400.0,
        "idle_cost": 200.0,
    }
    return row | values


def host(**values) -> dict:
    row = {
        "host": "gpu-c1",
        "location": "cloud",
        "gpus": 8,
        "gpu_model": "H100",
        "team": "research",
        "cost": 8_000.0,
        "observed_hours": 800.0,
        "busy_hours": 800.0,
        "idle_hours": 0.0,
        "available_hours": 5_952.0,
        "utilization": 1.0,
        "energy_kwh": 1_000.0,
        "energy_cost": 0.0,
        "power_cap_watts": 0.0,
        "mean_power_watts": 0.0,
    }
    return row | values


def run(**fields) -> list:
    return recommend(RecommendationInputs(month=MONTH, currency="USD", **fields))


def only(recs: list, kind: str) -> list:
    return [r for r in recs if r.kind == kind]


def cents(rec) -> float:
    return to_cents(rec.monthly_savings)


# idle_gpu


def test_an_idle_cloud_gpu_saves_its_idle_share_of_cost():
    # 95 of 100 observed hours idle; the GPU costs 400.00: 0.95 x 400 = 380.00.
    recs = run(per_gpu=pd.DataFrame([gpu(idle_hours=95.0, busy_hours=5.0)]))

    (rec,) = only(recs, "idle_gpu")
    assert rec.target == "gpu-c1/GPU-1"
    assert cents(rec) == 380.00
    assert rec.evidence["idle_share"] == 0.95
    assert rec.confidence == "high"


def test_an_idle_onprem_gpu_saves_its_idle_energy_and_shows_opportunity_cost():
    row = gpu(
        host="gpu-p1",
        location="onprem",
        observed_hours=200.0,
        idle_hours=190.0,
        busy_hours=10.0,
        energy_kwh=50.0,
    )
    recs = run(
        per_gpu=pd.DataFrame([row]),
        energy=EnergyConfig(price_per_kwh=0.2, pue=1.5),
        prices=PricesConfig(market_gpu_hour=2.0),
    )

    (rec,) = only(recs, "idle_gpu")
    # 50 kWh x 190/200 idle x PUE 1.5 x 0.20 = 14.25; 190 idle h x 2.00 = 380.00.
    assert cents(rec) == 14.25
    assert rec.evidence["opportunity_cost"] == 380.0
    assert rec.monthly_savings < rec.evidence["opportunity_cost"]  # not added


def test_a_mig_instance_is_its_own_target():
    row = gpu(mig_instance="3g.40gb-1", idle_hours=99.0, busy_hours=1.0)

    (rec,) = only(run(per_gpu=pd.DataFrame([row])), "idle_gpu")

    assert rec.target == "gpu-c1/GPU-1/3g.40gb-1"


@pytest.mark.parametrize(
    "row",
    [
        gpu(idle_hours=80.0, busy_hours=20.0),  # busy 20 %: under idle_share 0.9
        gpu(observed_hours=20.0, idle_hours=20.0),  # idle but under 24 h observed
        gpu(idle_hours=5.0, busy_hours=5.0, unknown_hours=90.0),  # unknown is busy
    ],
)
def test_a_busy_or_barely_seen_gpu_is_not_idle(row):
    assert only(run(per_gpu=pd.DataFrame([row])), "idle_gpu") == []


# consolidate


def test_an_underused_cloud_host_frees_the_gpus_its_work_does_not_need():
    # 8 GPUs x 100 h; 140 busy h at 70 % fit on ceil(140 / 70) = 2 GPUs: 6 freed,
    # each 8,000 / 8 = 1,000.00, so 6,000.00.
    recs = run(per_host=pd.DataFrame([host(busy_hours=140.0, utilization=0.175)]))

    (rec,) = only(recs, "consolidate")
    assert rec.evidence["gpus_needed"] == 2
    assert rec.evidence["gpus_freed"] == 6
    assert cents(rec) == 6_000.00


def test_an_underused_onprem_host_saves_the_energy_of_the_freed_gpus():
    # 4 GPUs x 100 h, 50 busy h fit on 1 GPU: 3 of 4 freed, 3/4 x 100.00 energy.
    row = host(
        host="gpu-p1",
        location="onprem",
        gpus=4,
        observed_hours=400.0,
        busy_hours=50.0,
        energy_cost=100.0,
    )

    (rec,) = only(run(per_host=pd.DataFrame([row])), "consolidate")

    assert cents(rec) == 75.00


def test_a_well_used_host_is_not_consolidated():
    # 500 busy of 800: ceil(500 / 70) = 8 GPUs needed, none freed.
    recs = run(per_host=pd.DataFrame([host(busy_hours=500.0)]))

    assert only(recs, "consolidate") == []


def test_a_host_with_an_idle_gpu_is_not_also_consolidated():
    recs = run(
        per_gpu=pd.DataFrame([gpu(idle_hours=95.0, busy_hours=5.0)]),
        per_host=pd.DataFrame([host(busy_hours=140.0)]),
    )

    assert [r.kind for r in recs] == ["idle_gpu"]
    assert total_monthly_savings(recs) == pytest.approx(380.0)


# power_cap


def _onprem(**values) -> dict:
    return host(host="gpu-p1", location="onprem", **values)


def test_a_host_drawing_over_its_cap_saves_the_energy_above_it():
    row = _onprem(power_cap_watts=300.0, mean_power_watts=400.0, energy_kwh=1_000.0)
    recs = run(
        per_host=pd.DataFrame([row]),
        energy=EnergyConfig(price_per_kwh=0.1, pue=1.2),
    )

    (rec,) = only(recs, "power_cap")
    # 1,000 kWh x (1 - 300/400) = 250 kWh above the cap; x 1.2 PUE x 0.10 = 30.00.
    assert rec.evidence["excess_kwh"] == 250.0
    assert cents(rec) == 30.00


def test_a_host_far_below_its_cap_may_lower_it_but_saves_no_energy():
    row = _onprem(power_cap_watts=400.0, mean_power_watts=150.0)

    (rec,) = only(run(per_host=pd.DataFrame([row])), "power_cap")

    # 150 W x 1.25 = 187.5, rounded up to 190 W; 8 GPUs x (400 - 190) W freed.
    assert rec.evidence["suggested_cap_watts"] == 190
    assert rec.evidence["rack_watts_freed"] == 1_680
    assert rec.monthly_savings == 0.0
    assert rec.confidence == "low"


@pytest.mark.parametrize(
    "row",
    [
        _onprem(power_cap_watts=400.0, mean_power_watts=300.0),  # normal draw
        host(power_cap_watts=300.0, mean_power_watts=400.0),  # cloud: not ours
        _onprem(power_cap_watts=0.0, mean_power_watts=400.0),  # no cap known
    ],
)
def test_no_power_cap_line_for_normal_cloud_or_uncapped_hosts(row):
    assert only(run(per_host=pd.DataFrame([row])), "power_cap") == []


# commitment


def _hourly_bill(costs_by_hour) -> pd.DataFrame:
    start = pd.Timestamp(f"{MONTH}-01", tz="UTC")
    rows = [
        {
            "ChargePeriodStart": start + pd.Timedelta(hours=h),
            "EffectiveCost": cost,
            "ChargeCategory": "Usage",
            "PricingCategory": "Standard",
            "CommitmentDiscountId": None,
            "ServiceName": "Amazon EC2",
            "ServiceCategory": "Compute",
            "ResourceId": "i-1",
        }
        for h, cost in enumerate(costs_by_hour)
        if cost
    ]
    return pd.DataFrame(rows)


def test_a_steady_on_demand_baseline_is_a_commitment_candidate():
    # 2.00 every hour of October's 744, with spikes to 50.00 in 20 hours.
    costs = [50.0 if h % 37 == 0 else 2.0 for h in range(744)]

    (rec,) = only(run(billing=_hourly_bill(costs)), "commitment")

    # Baseline 2.00/h x 744 h = 1,488.00 committed; x 0.30 discount = 446.40.
    assert rec.target == "Amazon EC2"
    assert rec.evidence["baseline_per_hour"] == 2.0
    assert cents(rec) == 446.40
    assert rec.evidence["break_even_months"] == pytest.approx(8.4)  # 12 x 0.7


def test_a_daily_bill_gives_the_same_hourly_baseline():
    start = pd.Timestamp(f"{MONTH}-01", tz="UTC")
    bill = _hourly_bill([1.0]).iloc[[0] * 31].reset_index(drop=True)
    bill["ChargePeriodStart"] = [start + pd.Timedelta(days=d) for d in range(31)]
    bill["EffectiveCost"] = 48.0  # 2.00 an hour, billed by day

    (rec,) = only(run(billing=bill), "commitment")

    assert rec.evidence["granularity"] == "day"
    assert cents(rec) == 446.40


def test_a_bill_rolled_up_by_day_gives_the_same_hourly_baseline():
    """A large bill's daily roll-up starts at its first hour, not at midnight."""
    costs = [0.0] * 5 + [2.0] * 739  # the resource starts at 05:00 on the 1st
    hourly = _hourly_bill(costs)
    day = hourly["ChargePeriodStart"].dt.floor("D")
    rolled = hourly.groupby(day, as_index=False).agg(
        ChargePeriodStart=("ChargePeriodStart", "min"),
        EffectiveCost=("EffectiveCost", "sum"),
        x_LineCount=("EffectiveCost", "size"),
    )
    for column in hourly.columns.difference(rolled.columns):
        rolled[column] = hourly[column].iloc[0]

    (by_hour,) = only(run(billing=hourly), "commitment")
    (by_day,) = only(run(billing=rolled), "commitment")

    assert rolled["ChargePeriodStart"].iloc[0].hour == 5
    assert by_day.evidence["granularity"] == "day"
    # the short first day (19 hours, 38.00) is the lowest of 31 days, not the 5th
    # percentile (the second lowest, 48.00 a day): 2.00 an hour either way
    assert by_day.evidence["baseline_per_hour"] == by_hour.evidence["baseline_per_hour"]
    assert by_day.evidence["baseline_per_hour"] == 2.0
    assert cents(by_day) == cents(by_hour) == 446.40


def test_a_spiky_workload_is_no_commitment_candidate():
    # 8 busy hours a day at 10.00, nothing the other 16: no steady baseline.
    costs = [10.0 if h % 24 < 8 else 0.0 for h in range(744)]

    assert only(run(billing=_hourly_bill(costs)), "commitment") == []


def test_usage_already_under_a_commitment_is_not_committed_again():
    bill = _hourly_bill([2.0] * 744)
    bill["CommitmentDiscountId"] = "sp-1"

    assert only(run(billing=bill), "commitment") == []


# commitment_underused


def _commitment_rows(statuses_and_costs) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "ChargePeriodStart": pd.Timestamp(f"{MONTH}-0{i + 1}", tz="UTC"),
                "EffectiveCost": cost,
                "ChargeCategory": "Usage",
                "CommitmentDiscountId": "sp-1",
                "CommitmentDiscountStatus": status,
            }
            for i, (status, cost) in enumerate(statuses_and_costs)
        ]
    )


def test_unused_commitment_cost_is_the_saving():
    bill = _commitment_rows([("Unused", 120.5), ("Unused", 30.0), ("Used", 900.0)])

    (rec,) = only(run(billing=bill), "commitment_underused")

    # 120.50 + 30.00 unused; used 900 of 1,050.50.
    assert rec.target == "sp-1"
    assert cents(rec) == 150.50
    assert rec.evidence["utilization"] == pytest.approx(900 / 1_050.5, abs=1e-6)


def test_a_fully_used_commitment_gets_no_line():
    bill = _commitment_rows([("Used", 900.0), ("Used", 100.0)])

    assert only(run(billing=bill), "commitment_underused") == []


# untagged


def _tagged_bill(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "EffectiveCost": cost,
                "ChargeCategory": category,
                "ServiceName": service,
                "team": team,
            }
            for team, category, service, cost in rows
        ]
    )


def test_unallocated_spend_is_listed_with_no_saving_and_low_confidence():
    bill = _tagged_bill(
        [
            ("unallocated", "Usage", "Amazon S3", 300.0),
            ("research", "Usage", "Amazon EC2", 700.0),
            ("unallocated", "Credit", "Amazon EC2", -50.0),  # credits left out
            ("unallocated", "Tax", "Tax", 20.0),  # tax cannot be tagged
        ]
    )

    (rec,) = only(run(billing=bill), "untagged")

    assert rec.evidence["unallocated_cost"] == 300.0
    assert rec.evidence["share_of_gross"] == 0.3  # 300 / (300 + 700)
    assert rec.monthly_savings == 0.0
    assert rec.confidence == "low"


def test_fully_tagged_spend_gets_no_untagged_line():
    bill = _tagged_bill([("research", "Usage", "Amazon EC2", 700.0)])

    assert only(run(billing=bill), "untagged") == []


# anomaly


def _daily(costs) -> pd.DataFrame:
    dates = pd.date_range(f"{MONTH}-01", periods=len(costs), freq="D")
    return pd.DataFrame(
        {"date": dates, "service": "Amazon EC2", "team": "research", "cost": costs}
    )


NORMAL_DAYS = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0, 10.0, 11.0, 9.0]


def test_a_spike_day_is_an_anomaly_saving_its_excess_over_the_median():
    # Median 10, MAD 1: z = 0.6745 x 90 / 1 = 60.7 > 3.5; excess 100 - 10 = 90.00.
    (rec,) = only(run(daily_cost=_daily([*NORMAL_DAYS, 100.0])), "anomaly")

    assert rec.target == "Amazon EC2 / research"
    assert list(rec.evidence["days"]) == ["2026-10-10"]
    assert rec.evidence["days"]["2026-10-10"]["z"] == pytest.approx(60.705)
    assert cents(rec) == 90.00


def test_a_normal_day_is_no_anomaly():
    # 13 is 3 above the median: z = 0.6745 x 3 = 2.02, under 3.5.
    assert only(run(daily_cost=_daily([*NORMAL_DAYS, 13.0])), "anomaly") == []


def test_a_cheap_day_is_no_anomaly():
    assert only(run(daily_cost=_daily([*NORMAL_DAYS, 0.0, 0.0])), "anomaly") == []


# budget


def test_a_team_over_budget_saves_the_excess():
    recs = run(budgets={"research": 1_000.0}, team_costs={"research": 1_250.0})

    (rec,) = only(recs, "budget")
    assert rec.target == "research"
    assert cents(rec) == 250.00


def test_a_budget_line_does_not_count_again_what_other_lines_save():
    # research is 250 over; its idle GPU already saves 0.95 x 100 = 95: 155.00 left.
    recs = run(
        per_gpu=pd.DataFrame([gpu(idle_hours=95.0, busy_hours=5.0, cost=100.0)]),
        budgets={"research": 1_000.0},
        team_costs={"research": 1_250.0},
    )

    (rec,) = only(recs, "budget")
    assert cents(rec) == 155.00
    assert total_monthly_savings(recs) == pytest.approx(250.0)


@pytest.mark.parametrize(
    ("budgets", "team_costs"),
    [
        ({"research": 1_000.0}, {"research": 999.99}),  # under budget
        ({"research": 0.0}, {"research": 5_000.0}),  # 0 means no budget
    ],
)
def test_a_team_under_or_without_a_budget_gets_no_budget_line(budgets, team_costs):
    assert only(run(budgets=budgets, team_costs=team_costs), "budget") == []


# forecast, ranking and output


def test_the_forecast_carries_no_saving():
    forecast = {
        "month": "2026-11",
        "cost": 1_234.5,
        "method": "naive: next month repeats the last month",
        "last_error": {"month": "2026-10", "error_pct": 5.0},
    }

    (rec,) = only(run(forecast=forecast), "forecast")

    assert rec.target == "2026-11"
    assert rec.monthly_savings == 0.0
    assert rec.evidence["forecast_cost"] == 1_234.5
    assert rec.confidence == "high"


def test_recommendations_are_ranked_by_saving():
    recs = run(
        per_gpu=pd.DataFrame([gpu(idle_hours=95.0, busy_hours=5.0)]),  # 380.00
        per_host=pd.DataFrame([host(host="gpu-c2", busy_hours=140.0)]),  # 6,000.00
        budgets={"research": 1_000.0},
        team_costs={"research": 10_000.0},  # 9,000 over, 6,380 covered: 2,620.00
    )

    assert [(r.rank, r.kind, cents(r)) for r in recs] == [
        (1, "consolidate", 6_000.00),
        (2, "budget", 2_620.00),
        (3, "idle_gpu", 380.00),
    ]
    assert total_monthly_savings(recs) == pytest.approx(9_000.0)


def test_rows_are_json_safe_with_money_in_cents():
    row = gpu(idle_hours=np.float64(95.0), busy_hours=math.nan, cost=np.float32(1 / 3))
    recs = run(per_gpu=pd.DataFrame([row]), forecast=None)

    (out,) = recommendations_to_rows(recs, currency="USD")

    assert list(out) == [
        "rank",
        "kind",
        "target",
        "monthly_savings",
        "currency",
        "confidence",
        "evidence",
        "formula",
        "assumptions",
    ]
    assert out["monthly_savings"] == to_cents(0.95 / 3)  # 0.32
    evidence = json.loads(out["evidence"])
    assert evidence["busy_hours"] is None  # unknown, and NaN never reaches output
    json.dumps([r.to_dict() for r in recs], allow_nan=False)


def test_nothing_to_recommend_on_empty_inputs():
    assert run() == []


@pytest.mark.real_data
def test_the_focus_sample_runs_end_to_end(real_data):
    """FOCUS 1.0 sample (FinOps Foundation, CC BY 4.0): one month, no team tags."""
    bill = pd.read_csv(real_data / "focus" / "focus_sample.csv")
    bill["ChargePeriodStart"] = pd.to_datetime(bill["ChargePeriodStart"], utc=True)
    bill["team"] = "unallocated"

    recs = recommend(
        RecommendationInputs(month="2024-09", currency="USD", billing=bill)
    )

    # Independent sum: positive rows that are neither credit nor tax.
    gross = bill[
        (bill.EffectiveCost > 0) & ~bill.ChargeCategory.isin(["Credit", "Tax"])
    ]
    (loose,) = only(recs, "untagged")
    assert to_cents(loose.evidence["unallocated_cost"]) == to_cents(
        gross.EffectiveCost.sum()
    )
    # Every commitment saves at most the discount on its service's on-demand cost.
    for rec in only(recs, "commitment"):
        assert rec.monthly_savings <= 0.30 * rec.evidence["on_demand_cost"] + 1e-9
    assert only(recs, "commitment_underused") == []  # the sample's 4 rows are Used
    json.dumps([r.to_dict() for r in recs], allow_nan=False)


@pytest.mark.parametrize(
    ("error_pct", "confidence"),
    [(5.0, "high"), (-20.0, "medium"), (40.0, "low"), (None, "low")],
)
def test_forecast_confidence_follows_last_months_error(error_pct, confidence):
    forecast = {
        "month": "2026-11",
        "cost": 10.0,
        "method": "naive",
        "last_error": None if error_pct is None else {"error_pct": error_pct},
    }

    (rec,) = run(forecast=forecast)

    assert rec.confidence == confidence
