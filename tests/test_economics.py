"""Economics as DESIGN §4 defines it, checked against hand-worked numbers."""

from __future__ import annotations

import json

import pytest

from ingest.config import Plan
from transforms.economics import (
    average_and_marginal,
    evaluate_plans,
    idle_opportunity_cost,
)

PLAN_A = Plan(name="A", servers=10, gpus_per_server=8, cost=500_000, benefit=600_000)
PLAN_B = Plan(name="B", servers=5, gpus_per_server=16, cost=750_000, benefit=700_000)


def _by_name(result: dict) -> dict[str, dict]:
    return {row["name"]: row for row in result["plans"]}


def test_the_worked_check_recommends_plan_a():
    result = evaluate_plans([PLAN_A, PLAN_B])

    assert result["recommended_plan"] == "A"


def test_the_worked_check_gives_each_plans_numbers():
    plans = _by_name(evaluate_plans([PLAN_A, PLAN_B]))
    a, b = plans["A"], plans["B"]

    assert (a["gpus"], b["gpus"]) == (80, 80)
    # Ratios unrounded: 500/600 and 750/700.
    assert a["cost_benefit_ratio"] == 500_000 / 600_000
    assert b["cost_benefit_ratio"] == 750_000 / 700_000
    assert round(a["cost_benefit_ratio"], 3) == 0.833
    assert round(b["cost_benefit_ratio"], 3) == 1.071
    assert a["benefit_cost_ratio"] == 1.2
    assert (a["net_benefit"], b["net_benefit"]) == (100_000, -50_000)
    assert (a["cost_per_gpu"], b["cost_per_gpu"]) == (6_250, 9_375)
    assert a["roi"] == pytest.approx(0.2)
    assert b["roi"] == pytest.approx(-50_000 / 750_000)


def test_opportunity_cost_is_the_best_alternative_given_up():
    plans = _by_name(evaluate_plans([PLAN_A, PLAN_B]))

    # B gives up A (net 100,000); A gives up B (net -50,000) or doing nothing (0).
    assert plans["B"]["opportunity_cost"] == 100_000
    assert plans["B"]["economic_profit"] == -150_000
    assert plans["A"]["opportunity_cost"] == 0
    assert plans["A"]["economic_profit"] == 100_000


def test_payback_months_is_cost_over_monthly_benefit():
    plans = _by_name(evaluate_plans([PLAN_A, PLAN_B]))

    # 500,000 / (600,000 / 36) = 30 months; 750,000 / (700,000 / 36) = 38.571...
    assert plans["A"]["payback_months"] == pytest.approx(30.0)
    assert plans["B"]["payback_months"] == pytest.approx(750_000 * 36 / 700_000)


def test_payback_is_undefined_without_benefit():
    plan = Plan(name="C", servers=1, gpus_per_server=8, cost=100, benefit=0)

    row = evaluate_plans([plan])["plans"][0]

    assert row["payback_months"] is None
    assert row["cost_benefit_ratio"] is None


def test_same_gpu_count_means_no_marginal_cost_per_gpu():
    result = evaluate_plans([PLAN_A, PLAN_B])

    assert [row["marginal_cost_per_gpu"] for row in result["plans"]] == [None, None]
    assert "80 GPUs" in result["marginal_note"]
    assert "does not apply" in result["marginal_note"]


def test_marginal_cost_per_gpu_against_the_next_smaller_plan():
    small = Plan(name="S", servers=5, gpus_per_server=8, cost=300_000, benefit=0)

    plans = _by_name(evaluate_plans([PLAN_A, small]))

    # (500,000 - 300,000) / (80 - 40) = 5,000 per extra GPU; the average is 6,250.
    assert plans["A"]["marginal_cost_per_gpu"] == 5_000
    assert plans["A"]["cost_per_gpu"] == 6_250
    assert plans["S"]["marginal_cost_per_gpu"] is None


def test_explanation_is_two_sentences_naming_the_choice_and_marginal_cost():
    text = evaluate_plans([PLAN_A, PLAN_B])["explanation"]

    sentences = [s for s in text.split(". ") if s]
    assert len(sentences) == 2
    assert sentences[0].startswith("Plan A is recommended")
    assert "Marginal cost per GPU does not apply" in sentences[1]


def test_no_plan_with_a_positive_profit_means_doing_nothing():
    result = evaluate_plans([PLAN_B])

    assert result["recommended_plan"] is None
    assert result["explanation"].startswith("No plan is recommended")
    assert result["plans"][0]["opportunity_cost"] == 0  # doing nothing
    assert result["plans"][0]["economic_profit"] == -50_000


def test_no_plans_at_all():
    result = evaluate_plans([])

    assert result["plans"] == []
    assert result["recommended_plan"] is None


def test_plans_result_is_json_safe():
    text = json.dumps(evaluate_plans([PLAN_A, PLAN_B]), allow_nan=False)

    assert '"recommended_plan": "A"' in text


def test_average_and_marginal_are_different_labelled_numbers():
    # This month 12,000 for 1,000 GPU-hours; last month 10,000 for 900.
    result = average_and_marginal(12_000, 1_000, 10_000, 900)

    assert result["average_cost"] == 12.0
    assert result["marginal_cost"] == 20.0  # 2,000 more for 100 more GPU-hours
    assert result["average_label"] != result["marginal_label"]


def test_marginal_cost_is_undefined_when_quantity_does_not_change():
    result = average_and_marginal(12_000, 1_000, 10_000, 1_000)

    assert result["marginal_cost"] is None
    assert result["average_cost"] == 12.0
    assert "did not change" in result["note"]


def test_marginal_cost_is_undefined_without_a_previous_month():
    result = average_and_marginal(12_000, 1_000, None, None)

    assert result["marginal_cost"] is None


def test_average_cost_is_undefined_for_zero_quantity():
    assert average_and_marginal(50, 0, None, None)["average_cost"] is None


def test_idle_opportunity_cost_at_market_price():
    # 120 idle GPU-hours at 2.50 an hour.
    assert idle_opportunity_cost(120, 2.5) == 300.0


def test_no_market_price_means_no_opportunity_cost():
    assert idle_opportunity_cost(120, 0.0) is None
