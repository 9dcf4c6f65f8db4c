"""People cost per team and project, charge-back and KPIs (DESIGN §4 "People")."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.config import PeopleConfig
from transforms.errors import DataValidationError
from transforms.findings import Severity
from transforms.people import (
    POOLED,
    charge_back,
    check_splits,
    people_costs,
    people_kpis,
    split_person,
)


def frame(rows: list[tuple[str, str, float]], **splits: list[float]) -> pd.DataFrame:
    """People frame from (hashed id, team, monthly cost); splits as columns."""
    data = pd.DataFrame(rows, columns=["employee_id_hash", "team", "monthly_cost"])
    data["department"] = data["team"].str.upper()
    data["basis"] = "salaried"
    data["period"] = ""
    for key, values in splits.items():
        data[f"split:{key}"] = values
    return data


def team(name: str, costs: list[float], prefix: str = "") -> list[tuple]:
    return [(f"{prefix or name}{i}", name, c) for i, c in enumerate(costs)]


def amounts(result) -> dict[str, float]:
    return result.allocations.set_index("team")["amount"].to_dict()


def test_teams_at_or_above_the_limit_keep_their_own_line():
    data = frame(
        team("research", [1000.10, 2000.20, 3000.30]) + team("infra", [5.0] * 4)
    )
    result = people_costs(data, people=PeopleConfig())
    assert amounts(result) == {"infra": 20.0, "research": 6000.6}
    assert result.total == 6020.6
    assert result.team_headcount == {"infra": 4, "research": 3}
    assert set(result.allocations["category"]) == {"people"}
    assert set(result.allocations["source"]) == {"people"}
    assert not result.suppressed


def test_small_teams_pool_into_people_pooled():
    data = frame(
        team("research", [100.0] * 3) + team("solo", [7.0]) + team("pair", [11.0, 13.0])
    )
    result = people_costs(data, people=PeopleConfig())
    assert amounts(result) == {"research": 300.0, POOLED: 31.0}
    assert result.combined_labels == {}


def test_a_pool_under_the_limit_joins_the_smallest_team_at_or_above_it():
    data = frame(
        team("big", [100.0] * 5) + team("small", [50.0] * 3) + team("solo", [7.0])
    )
    result = people_costs(data, people=PeopleConfig())
    assert amounts(result) == {"big": 500.0, "small": 157.0}
    assert result.combined_labels == {"small": "small (combined with pooled)"}
    assert "small (combined with pooled)" in result.note


def test_fewer_people_in_scope_than_the_limit_suppresses_people_cost():
    data = frame(team("research", [100.0, 200.0]) + team("", [1.0] * 5, prefix="o"))
    result = people_costs(data, people=PeopleConfig())
    assert result.suppressed
    assert result.total == 0
    assert result.allocations.empty
    assert result.projects.empty
    assert "2 people are in scope, fewer than min_group_size (3)" in result.note


def test_out_of_scope_cost_is_shown_only_for_a_large_enough_group():
    in_scope = team("research", [100.0] * 3)
    large = people_costs(
        frame(in_scope + team("", [10.004] * 3, prefix="o")), people=PeopleConfig()
    )
    assert (large.out_of_scope_count, large.out_of_scope_cost) == (3, 30.01)
    assert "3 employees out of scope" in large.note
    small = people_costs(
        frame(in_scope + team("", [10.0] * 2, prefix="o")), people=PeopleConfig()
    )
    assert (small.out_of_scope_count, small.out_of_scope_cost) == (2, None)
    assert "their cost is not shown" in small.note


def test_team_lines_sum_exactly_to_the_total_in_cents():
    costs = [1000 / 3, 1000 / 3, 1000 / 3, 0.005, 0.005, 0.005]
    data = frame(team("a", costs[:3]) + team("b", costs[3:]))
    result = people_costs(data, people=PeopleConfig())
    assert result.total == 1000.02  # 1000.015 at full precision
    assert round(result.allocations["amount"].sum(), 2) == result.total


def test_platform_engineers_count_people_in_platform_teams():
    data = frame(team("platform", [1.0] * 4) + team("research", [1.0] * 3))
    result = people_costs(data, people=PeopleConfig(platform_teams=["platform"]))
    assert result.platform_engineers == 4


def test_the_tie_rule_of_design_splits_1_002_as_0_331_0_330_0_341():
    parts = split_person(1.002, {"a": 33, "b": 33, "c": 34}, places=3)
    assert parts == {"a": 0.331, "b": 0.330, "c": 0.341}
    assert round(sum(parts.values()), 3) == 1.002


def test_projects_split_costs_and_sum_back_to_the_total():
    # Three people split 33/33/34 over three projects; three more are unsplit.
    data = frame(
        team("research", [1000.0, 2000.0, 3000.0]) + team("infra", [10.0] * 3),
        llm=[33, 33, 33, None, None, None],
        eval=[33, 33, 33, None, None, None],
        data=[34, 34, 34, None, None, None],
    )
    result = people_costs(data, people=PeopleConfig())
    projects = result.projects.set_index("key")["amount"].to_dict()
    assert projects == {"data": 2040.0, "eval": 1980.0, "infra": 30.0, "llm": 1980.0}
    assert round(sum(projects.values()), 2) == result.total


def test_projects_with_few_people_are_pooled():
    data = frame(
        team("research", [100.0] * 4),
        solo_project=[100, None, None, None],
    )
    result = people_costs(data, people=PeopleConfig())
    projects = result.projects.set_index("key")["amount"].to_dict()
    # The solo project (1 person) pools; the pool joins "research", now 3 people.
    assert projects == {"research": 400.0}


def test_splits_not_summing_to_100_raise_with_a_blocking_finding():
    data = frame(team("research", [100.0] * 3), llm=[50, 100, 100])
    with pytest.raises(DataValidationError) as caught:
        people_costs(data, people=PeopleConfig())
    (finding,) = caught.value.findings
    assert finding.severity == Severity.BLOCKING
    assert finding.examples == ["research0"]
    assert "sum to 50 %" in finding.message


def test_check_splits_accepts_rounding_noise_only():
    long = pd.DataFrame(
        {
            "employee_id_hash": ["a", "a", "a", "b", "b"],
            "key": ["x", "y", "z", "x", "y"],
            "percent": [33.33, 33.33, 33.34, 50, 49.9],
        }
    )
    assert [f.examples for f in check_splits(long)] == [["b"]]


def test_charge_back_moves_platform_people_cost_by_weights_exactly():
    allocations = pd.DataFrame(
        [
            ("platform", "people", "people", 1000.0),
            ("research", "people", "people", 500.0),
            ("research", "hardware", "billing", 42.0),
        ],
        columns=["team", "category", "source", "amount"],
    )
    moved = charge_back(
        allocations,
        source_teams=["platform"],
        weights={"research": 2.0, "inference": 1.0, "idle": 0.0},
    )
    people = moved[moved["category"] == "people"]
    assert people.set_index("team")["amount"].to_dict() == {
        "inference": 333.33,
        "research": 500.0 + 666.67,
    }
    assert round(moved["amount"].sum(), 2) == 1542.0
    assert "platform" not in set(moved["team"])


def test_charge_back_without_weights_changes_nothing():
    allocations = pd.DataFrame(
        [("platform", "people", "people", 10.0)],
        columns=["team", "category", "source", "amount"],
    )
    kept = charge_back(allocations, source_teams=["platform"], weights={})
    assert kept.equals(allocations)


def test_people_kpis():
    data = frame(team("platform", [1000.0] * 4) + team("research", [500.0] * 4))
    result = people_costs(data, people=PeopleConfig(platform_teams=["platform"]))
    kpis = people_kpis(result, busy_gpu_hours=600.0, total_cost=24000.0, gpus=32)
    assert kpis == {
        "people_cost_per_busy_gpu_hour": 10.0,
        "gpus_per_platform_engineer": 8.0,
        "people_share": 0.25,
    }


def test_people_kpis_are_none_when_undefined_or_suppressed():
    data = frame(team("research", [500.0] * 3))
    result = people_costs(data, people=PeopleConfig())
    kpis = people_kpis(result, busy_gpu_hours=0.0, total_cost=0.0, gpus=8)
    assert kpis == dict.fromkeys(
        ["people_cost_per_busy_gpu_hour", "gpus_per_platform_engineer", "people_share"]
    )
    suppressed = people_costs(frame(team("x", [1.0])), people=PeopleConfig())
    kpis = people_kpis(suppressed, busy_gpu_hours=10.0, total_cost=100.0, gpus=8)
    assert kpis["people_share"] is None
    assert kpis["people_cost_per_busy_gpu_hour"] is None
