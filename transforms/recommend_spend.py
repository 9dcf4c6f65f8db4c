"""Recommendations about spend: commitment, commitment_underused, untagged, anomaly,
budget and forecast.

A commitment's baseline is a low percentile of the on-demand cost per charge period
(hour, or day when the bill is daily) over the whole month, missing periods counted as
0: a workload absent for more than a tenth of the month has no baseline. Anomalies use
the modified z-score 0.6745 x (x - median) / MAD of each service and team's daily cost
(Iglewicz and Hoaglin); when MAD is 0 the mean absolute deviation x 1.253314 stands in.
"""

from __future__ import annotations

import pandas as pd

from transforms.recommend_types import (
    Recommendation,
    RecommendationInputs,
    has_columns,
    number,
)

ON_DEMAND = {"standard", "on-demand", "ondemand", "on demand"}
COMMITTABLE_SERVICE_CATEGORIES = {"Compute", "AI and Machine Learning"}
BASELINE_PERCENTILE = 0.10
COMMITMENT_TERM_MONTHS = 12
MIN_ANOMALY_DAYS = 7
MAD_SCALE = 0.6745
MEAN_AD_SCALE = 1.253314

BILLING_COLUMNS = ("ChargePeriodStart", "EffectiveCost", "ChargeCategory")


def _month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    return start, start + pd.DateOffset(months=1)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index)
    return frame[column].fillna("").astype(str).str.strip()


def commitments(inputs: RecommendationInputs) -> list[Recommendation]:
    """Services with a steady on-demand baseline worth committing to."""
    billing = inputs.billing
    needed = (*BILLING_COLUMNS, "PricingCategory", "ServiceName")
    if not has_columns(billing, needed):
        return []
    rows = billing[_on_demand_mask(billing)]
    recs = []
    for service, group in rows.groupby(_text(rows, "ServiceName"), sort=True):
        rec = _commitment_for(str(service), group, inputs)
        if rec is not None:
            recs.append(rec)
    return recs


def _on_demand_mask(billing: pd.DataFrame) -> pd.Series:
    usage = _text(billing, "ChargeCategory") == "Usage"
    on_demand = _text(billing, "PricingCategory").str.lower().isin(ON_DEMAND)
    uncovered = _text(billing, "CommitmentDiscountId") == ""
    service_category = _text(billing, "ServiceCategory")
    if (service_category != "").any():
        eligible = service_category.isin(COMMITTABLE_SERVICE_CATEGORIES)
    else:
        eligible = _text(billing, "category") == "hardware"
    return usage & on_demand & uncovered & eligible


def _hourly_baseline(
    group: pd.DataFrame, month: str
) -> tuple[float, str, pd.Series, float]:
    start, end = _month_bounds(month)
    starts = pd.to_datetime(group["ChargePeriodStart"], utc=True)
    # A row that stands for several lines is a daily roll-up of a large bill
    # (ingest/README_billing.md): its start is its first hour, not midnight.
    lines = group.get("x_LineCount", pd.Series(1, index=group.index))
    daily = bool((starts == starts.dt.floor("D")).all() or (lines > 1).any())
    freq, hours_per_period = ("D", 24) if daily else ("h", 1)
    cost = pd.to_numeric(group["EffectiveCost"], errors="coerce").fillna(0.0)
    per_period = cost.groupby(starts.dt.floor(freq)).sum()
    grid = pd.date_range(start, end, freq=freq, inclusive="left")
    series = per_period.reindex(grid, fill_value=0.0)
    low = float(series.quantile(BASELINE_PERCENTILE, interpolation="lower"))
    hours_in_month = (end - start) / pd.Timedelta(hours=1)
    return low / hours_per_period, "day" if daily else "hour", series, hours_in_month


def _commitment_for(
    service: str, group: pd.DataFrame, inputs: RecommendationInputs
) -> Recommendation | None:
    hourly, granularity, series, hours = _hourly_baseline(group, inputs.month)
    if hourly <= 0:
        return None
    discount = inputs.prices.commitment_discount
    committed = hourly * hours
    on_demand = float(series.sum())
    evidence = {
        "on_demand_cost": on_demand,
        "baseline_per_hour": hourly,
        "baseline_percentile": BASELINE_PERCENTILE,
        "granularity": granularity,
        "periods_with_usage_share": float((series > 0).mean()),
        "commitment_per_month": committed,
        "coverage_of_on_demand": committed / on_demand if on_demand else None,
        "commitment_discount": discount,
        "term_months": COMMITMENT_TERM_MONTHS,
        "break_even_months": COMMITMENT_TERM_MONTHS * (1 - discount),
        "break_even_usage_share": 1 - discount,
    }
    return Recommendation(
        kind="commitment",
        target=service,
        evidence=evidence,
        monthly_savings=committed * discount,
        formula="baseline per hour x hours in month x commitment_discount",
        assumptions=(
            f"Commit to the {BASELINE_PERCENTILE:.0%} percentile of on-demand cost "
            f"per {granularity} at the assumed [prices] commitment_discount, for a "
            f"{COMMITMENT_TERM_MONTHS}-month term. It pays off if the baseline "
            "runs at least break_even_months of the term (or the committed usage "
            "stays above break_even_usage_share). One month of history; instances "
            "also listed as idle or to consolidate may be part of the baseline."
        ),
        confidence="medium",
    )


def underused_commitments(inputs: RecommendationInputs) -> list[Recommendation]:
    """Commitments with unused cost (CommitmentDiscountStatus "Unused")."""
    billing = inputs.billing
    if not has_columns(billing, ("EffectiveCost", "CommitmentDiscountStatus")):
        return []
    status = _text(billing, "CommitmentDiscountStatus").str.lower()
    ids = _text(billing, "CommitmentDiscountId").replace("", "(no commitment id)")
    cost = pd.to_numeric(billing["EffectiveCost"], errors="coerce").fillna(0.0)
    unused = cost[status == "unused"].groupby(ids[status == "unused"]).sum()
    used = cost[status == "used"].groupby(ids[status == "used"]).sum()
    recs = []
    for commitment, amount in unused.sort_index().items():
        if amount <= 0:
            continue
        used_cost = float(used.get(commitment, 0.0))
        recs.append(_underused(str(commitment), float(amount), used_cost))
    return recs


def _underused(commitment: str, unused: float, used: float) -> Recommendation:
    return Recommendation(
        kind="commitment_underused",
        target=commitment,
        evidence={
            "unused_cost": unused,
            "used_cost": used,
            "utilization": used / (used + unused) if used + unused > 0 else None,
        },
        monthly_savings=unused,
        formula='sum of EffectiveCost of rows with CommitmentDiscountStatus "Unused"',
        assumptions=(
            "The unused part recurs every month until the commitment is exchanged, "
            "resized at renewal or filled with eligible work moved onto it."
        ),
        confidence="medium",
    )


def untagged(inputs: RecommendationInputs) -> list[Recommendation]:
    """Spend that no team owns: tag it, so that someone can act on it."""
    billing = inputs.billing
    if not has_columns(billing, ("EffectiveCost", "ChargeCategory", "team")):
        return []
    cost = pd.to_numeric(billing["EffectiveCost"], errors="coerce").fillna(0.0)
    category = _text(billing, "ChargeCategory")
    gross = (cost > 0) & ~category.isin(["Credit", "Tax"])
    loose = gross & (_text(billing, "team") == "unallocated")
    amount = float(cost[loose].sum())
    if amount <= 0:
        return []
    by_service = cost[loose].groupby(_text(billing, "ServiceName")[loose]).sum()
    top = by_service.sort_values(ascending=False).head(3)
    return [
        Recommendation(
            kind="untagged",
            target="unallocated",
            evidence={
                "unallocated_cost": amount,
                "rows": int(loose.sum()),
                "share_of_gross": amount / float(cost[gross].sum()),
                "top_services": {str(k or "(none)"): float(v) for k, v in top.items()},
            },
            monthly_savings=0.0,
            formula="none: tagging saves nothing by itself",
            assumptions=(
                "Unallocated gross cost (credits, tax and negative rows left out). "
                "Once tagged, its owner can act on it; any saving shows up then."
            ),
            confidence="low",
        )
    ]


def anomalies(inputs: RecommendationInputs) -> list[Recommendation]:
    """Days whose cost for a service and team is a robust outlier on the high side."""
    daily = inputs.daily_cost
    if not has_columns(daily, ("date", "service", "team", "cost")):
        return []
    frame = daily.assign(
        cost=pd.to_numeric(daily["cost"], errors="coerce").fillna(0.0),
        date=pd.to_datetime(daily["date"]).dt.strftime("%Y-%m-%d"),
    )
    sums = frame.groupby(["service", "team", "date"], sort=True)["cost"].sum()
    recs = []
    for (service, team), series in sums.groupby(level=["service", "team"]):
        rec = _anomaly(str(service), str(team), series.droplevel([0, 1]), inputs)
        if rec is not None:
            recs.append(rec)
    return recs


def robust_z(series: pd.Series) -> pd.Series | None:
    """Modified z-scores, or None when the series has no spread at all."""
    median = float(series.median())
    deviation = (series - median).abs()
    mad = float(deviation.median())
    if mad > 0:
        return MAD_SCALE * (series - median) / mad
    mean_ad = float(deviation.mean())
    if mean_ad == 0:
        return None
    return (series - median) / (MEAN_AD_SCALE * mean_ad)


def _anomaly(
    service: str, team: str, series: pd.Series, inputs: RecommendationInputs
) -> Recommendation | None:
    if len(series) < MIN_ANOMALY_DAYS:
        return None
    scores = robust_z(series)
    if scores is None:
        return None
    flagged = scores[scores > inputs.config.anomaly_threshold]
    if flagged.empty:
        return None
    median = float(series.median())
    days = {
        day: {"cost": float(series[day]), "z": float(flagged[day])}
        for day in flagged.index
    }
    excess = sum(v["cost"] - median for v in days.values())
    return Recommendation(
        kind="anomaly",
        target=f"{service} / {team}",
        evidence={
            "median_daily_cost": median,
            "days_checked": len(series),
            "threshold": inputs.config.anomaly_threshold,
            "days": days,
            "excess_over_median": excess,
        },
        monthly_savings=excess,
        formula="sum over flagged days of (daily cost - median daily cost)",
        assumptions=(
            "Robust z-score above the threshold on the high side; the excess would "
            "not recur once its cause (a runaway job, a misconfiguration) is fixed."
        ),
        confidence="medium",
        team=team,
    )


def budgets(
    inputs: RecommendationInputs, found: list[Recommendation]
) -> list[Recommendation]:
    """Teams over their monthly budget; saving = the excess not already covered."""
    recs = []
    for team, budget in sorted(inputs.budgets.items()):
        spent = number(inputs.team_costs.get(team))
        if budget <= 0 or spent <= budget:
            continue
        excess = spent - budget
        covered = sum(r.monthly_savings for r in found if r.team == team)
        recs.append(
            Recommendation(
                kind="budget",
                target=team,
                evidence={
                    "team_cost": spent,
                    "budget": float(budget),
                    "excess": excess,
                    "over_budget_share": excess / budget,
                    "covered_by_other_lines": covered,
                },
                monthly_savings=max(excess - covered, 0.0),
                formula="max(team cost - budget - savings of this team's other "
                "lines, 0)",
                assumptions=(
                    "The team must cut the excess to meet its budget; what the "
                    "other lines for this team already save is not counted twice."
                ),
                confidence="high",
                team=team,
            )
        )
    return recs


def forecast(inputs: RecommendationInputs) -> list[Recommendation]:
    """Next month's cost, carrying no saving, with its last error when known."""
    result = inputs.forecast
    if not result or result.get("cost") is None:
        return []
    last = result.get("last_error") or {}
    confidence = _forecast_confidence(last.get("error_pct"))
    evidence = {"forecast_cost": number(result["cost"]), "method": result["method"]}
    evidence.update({f"last_{k}": v for k, v in last.items()})
    return [
        Recommendation(
            kind="forecast",
            target=str(result["month"]),
            evidence=evidence,
            monthly_savings=0.0,
            formula=str(result.get("method", "")),
            assumptions="A forecast to plan with, not a saving.",
            confidence=confidence,
        )
    ]


def _forecast_confidence(error_pct: float | None) -> str:
    """high within 10 % of last month's actual, medium within 25 %, else low."""
    if error_pct is None:
        return "low"
    if abs(error_pct) <= 10:
        return "high"
    return "medium" if abs(error_pct) <= 25 else "low"
