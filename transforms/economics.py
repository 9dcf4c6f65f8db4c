"""Economic models: average against marginal cost, opportunity cost, plan cost-benefit.

DESIGN §4 "Economics" fixes the definitions; this module keeps them apart on purpose:

- average cost = C / Q; marginal cost = dC / dQ between two months or two plans. When Q
  does not change, the marginal cost is undefined (None), never 0 and never the average.
- opportunity cost of a choice = the net benefit of the best alternative given up, where
  doing nothing is always an alternative worth 0; economic profit = net benefit minus
  opportunity cost.
- a plan's payback months = C / (R / horizon_months), undefined when R <= 0.

Every result is plain floats or None, safe to write as JSON. Ratios stay unrounded.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.config import Plan

AVERAGE_LABEL = "average cost per GPU-hour (C / Q, this month)"
MARGINAL_LABEL = "marginal cost per GPU-hour (dC / dQ, against last month)"


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is 0."""
    if denominator == 0:
        return None
    return numerator / denominator


def average_and_marginal(
    cost: float,
    quantity: float,
    previous_cost: float | None,
    previous_quantity: float | None,
) -> dict:
    """Average cost this month and marginal cost against the previous month."""
    average = _ratio(cost, quantity)
    if previous_cost is None or previous_quantity is None:
        marginal = None
        note = "Marginal cost is undefined: there is no previous month to compare with."
    elif quantity == previous_quantity:
        marginal = None
        note = (
            "Marginal cost is undefined: the quantity did not change from the "
            "previous month, so dC / dQ has no denominator."
        )
    else:
        marginal = (cost - previous_cost) / (quantity - previous_quantity)
        note = (
            "Average and marginal cost are different numbers: the average spreads "
            "this month's whole cost over its quantity, the marginal is the cost of "
            "the change in quantity since the previous month."
        )
    return {
        "average_cost": average,
        "average_label": AVERAGE_LABEL,
        "marginal_cost": marginal,
        "marginal_label": MARGINAL_LABEL,
        "note": note,
    }


def idle_opportunity_cost(
    idle_gpu_hours: float, market_gpu_hour: float
) -> float | None:
    """What idle owned or committed GPU-hours could have earned at the market price."""
    if market_gpu_hour <= 0:
        return None
    return idle_gpu_hours * market_gpu_hour


def evaluate_plans(plans: Sequence[Plan]) -> dict:
    """Cost-benefit of each `[[plans]]` entry and the plan to recommend, if any."""
    rows = [_plan_basics(plan) for plan in plans]
    for row in rows:
        others = [other["net_benefit"] for other in rows if other is not row]
        row["opportunity_cost"] = max([0.0, *others])  # doing nothing is worth 0
        row["economic_profit"] = row["net_benefit"] - row["opportunity_cost"]
    marginal_applies = _add_marginal_costs(rows)
    recommended = _recommended(rows)
    return {
        "plans": rows,
        "recommended_plan": recommended["name"] if recommended else None,
        "explanation": _explanation(rows, recommended, marginal_applies),
        "marginal_note": _marginal_note(rows, marginal_applies),
    }


def _plan_basics(plan: Plan) -> dict:
    cost, benefit = float(plan.cost), float(plan.benefit)
    gpus = plan.servers * plan.gpus_per_server
    horizon = plan.horizon_months
    payback = cost / (benefit / horizon) if benefit > 0 and horizon > 0 else None
    return {
        "name": plan.name,
        "servers": plan.servers,
        "gpus_per_server": plan.gpus_per_server,
        "gpus": gpus,
        "cost": cost,
        "benefit": benefit,
        "horizon_months": horizon,
        "cost_per_gpu": _ratio(cost, gpus),
        "cost_benefit_ratio": _ratio(cost, benefit),
        "benefit_cost_ratio": _ratio(benefit, cost),
        "net_benefit": benefit - cost,
        "roi": _ratio(benefit - cost, cost),
        "payback_months": payback,
    }


def _add_marginal_costs(rows: list[dict]) -> bool:
    """Marginal cost per GPU of each plan against the next smaller plan, if any.

    The comparison is between plans only: a plan with no plan of fewer GPUs below it
    has no marginal cost (None). Returns whether any plan has one.
    """
    for row in rows:
        smaller = [o for o in rows if o["gpus"] < row["gpus"]]
        if not smaller:
            row["marginal_cost_per_gpu"] = None
            row["marginal_against"] = None
            continue
        base = max(smaller, key=lambda o: (o["gpus"], -o["cost"]))
        row["marginal_cost_per_gpu"] = (row["cost"] - base["cost"]) / (
            row["gpus"] - base["gpus"]
        )
        row["marginal_against"] = base["name"]
    return any(row["marginal_cost_per_gpu"] is not None for row in rows)


def _recommended(rows: list[dict]) -> dict | None:
    """The plan with the largest positive economic profit; None means do nothing.

    Two plans tied at the best positive net benefit each have an economic profit of 0;
    the cheaper one (then the first name) is chosen: a tie does not mean doing nothing.
    """
    if not rows:
        return None
    best = sorted(rows, key=lambda r: (-r["net_benefit"], r["cost"], r["name"]))[0]
    if best["net_benefit"] <= 0 or best["economic_profit"] < 0:
        return None
    return best


def _explanation(
    rows: list[dict], recommended: dict | None, marginal_applies: bool
) -> str:
    if not rows:
        return (
            "No plans are configured, so there is nothing to choose. "
            "Add [[plans]] to the configuration to compare investments."
        )
    if recommended is None:
        first = (
            "No plan is recommended: none returns more than it costs, so doing "
            "nothing (net benefit 0) is the better choice."
        )
    else:
        first = (
            f"Plan {recommended['name']} is recommended because it has the largest "
            f"economic profit ({recommended['economic_profit']:,.2f}): its net "
            f"benefit of {recommended['net_benefit']:,.2f} beats the best "
            f"alternative given up ({recommended['opportunity_cost']:,.2f})."
        )
    return f"{first} {_marginal_sentence(rows, marginal_applies)}"


def _marginal_sentence(rows: list[dict], marginal_applies: bool) -> str:
    counts = sorted({row["gpus"] for row in rows})
    if len(rows) == 1:
        return (
            "Marginal cost per GPU does not apply because there is only one plan "
            "to compare, and its cost per GPU is an average, not a marginal cost."
        )
    if not marginal_applies or len(counts) == 1:
        return (
            f"Marginal cost per GPU does not apply because every plan buys "
            f"{counts[0]:,} GPUs, so the quantity does not change between them; "
            "compare them by cost per GPU (an average) and net benefit instead."
        )
    return (
        "Marginal cost per GPU applies because the plans buy different numbers of "
        "GPUs: it is the extra cost of each extra GPU over the next smaller plan."
    )


def _marginal_note(rows: list[dict], marginal_applies: bool) -> str:
    if not rows:
        return "No plans: no marginal cost."
    return _marginal_sentence(rows, marginal_applies)
