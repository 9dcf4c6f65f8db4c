"""One month's numbers from the canonical frames: the transform stage in one call.

`compute_month` is pure: frames and configuration in, a `MonthResult` out. It converts
currencies, categorizes cloud rows, costs GPU hosts, allocates to teams, adds people,
and derives totals, KPIs, economics and recommendations. Rounding happens only when the
summary is written (reports/summary.py).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import pandas as pd

from ingest.config import Config
from transforms import allocation as alloc
from transforms.costs import by_category, categorize, cloud_totals, convert_currency
from transforms.crosscheck import CrossSourceContext, cross_source_findings
from transforms.distinct import per_distinct
from transforms.economics import average_and_marginal, evaluate_plans
from transforms.findings import Finding, Severity
from transforms.forecast import forecast_next_month
from transforms.gpu import GpuResult, GpuRollup, gpu_costs
from transforms.kpis import compute_kpis
from transforms.people import PeopleResult, charge_back, people_costs
from transforms.recommend import Recommendation, RecommendationInputs, recommend
from transforms.schema import CATEGORIES, TEAM_KEYS_RESERVED, Focus


@dataclass
class MonthResult:
    month: str
    currency: str
    totals: dict[str, float]
    by_category: dict[str, float]
    by_team: dict[str, float]
    allocation: pd.DataFrame  # team, category, source, amount
    gpu: GpuResult
    people: PeopleResult | None
    recommendations: list[Recommendation]
    kpis: dict
    economics: dict
    forecast: dict
    daily_cost: pd.DataFrame  # date, cost
    coverage: float | None
    invoices: dict[str, float] = field(default_factory=dict)  # billed, report currency
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compute_month(
    *,
    month: str,
    config: Config,
    billing: pd.DataFrame,
    samples: pd.DataFrame | GpuRollup,
    people: pd.DataFrame | None,
    previous_summary: dict | None = None,
    history: list[tuple[str, float]] | None = None,
) -> MonthResult:
    currency = config.report.currency
    billing = convert_currency(billing, currency, config.fx_rates)
    category = categorize(billing, config.categories)
    gpu = gpu_costs(
        samples,
        billing,
        month=month,
        inventory=config.inventory,
        telemetry=config.telemetry,
        energy=config.energy,
    )
    cloud = alloc.allocate_cloud(
        billing,
        category,
        config.allocation,
        skip=gpu.matched_billing,
        busy_hours_by_team=gpu.team_busy_hours,
    )
    people_result = _people(people, config)
    rows = _allocation_rows(cloud.rows, gpu, people_result, config)
    totals, categories = _totals(billing, category, gpu, people_result)
    by_team = _by_team(rows)
    findings = _allocation_findings(cloud) + _cross_source(config, billing, gpu, cloud)

    billing = billing.assign(team=cloud.team.values, category=category.values)
    daily = _daily_cost(billing)
    hist = list(history or [])
    forecast = forecast_next_month(
        [*hist, (month, totals["total_cost"])],
        month,
        previous_forecast=(previous_summary or {}).get("forecast"),
    )
    recs = recommend(
        RecommendationInputs(
            month=month,
            currency=currency,
            per_gpu=gpu.per_gpu,
            per_host=gpu.per_host,
            billing=billing,
            daily_cost=_daily_by_service_team(billing),
            budgets={k: t.budget for k, t in config.teams.items()},
            team_costs=by_team,
            forecast=forecast,
            config=config.recommendations,
            prices=config.prices,
            energy=config.energy,
        )
    )
    economics = evaluate_plans(config.plans)
    economics["gpu_hour_cost"] = average_and_marginal(
        totals["total_cost"],
        gpu.summary["gpu_hours"],
        _prev(previous_summary, "totals", "total_cost"),
        _prev(previous_summary, "gpu", "gpu_hours"),
    )
    kpis = compute_kpis(
        _kpi_inputs(totals, gpu, people_result, cloud, billing, category, recs),
        previous_summary,
    )
    return MonthResult(
        month=month,
        currency=currency,
        totals=totals,
        by_category=categories,
        by_team=by_team,
        allocation=rows,
        gpu=gpu,
        people=people_result,
        recommendations=recs,
        kpis=kpis,
        economics=economics,
        forecast=forecast,
        daily_cost=daily,
        coverage=cloud.coverage,
        invoices=_invoices(billing),
        findings=findings + list(gpu.findings),
        notes=_notes(people_result),
    )


def _people(frame: pd.DataFrame | None, config: Config) -> PeopleResult | None:
    if frame is None:
        return None
    return people_costs(frame, people=config.people)


def _allocation_rows(
    cloud_rows: pd.DataFrame,
    gpu: GpuResult,
    people: PeopleResult | None,
    config: Config,
) -> pd.DataFrame:
    parts = [cloud_rows, gpu.allocations]
    if people is not None and not people.suppressed:
        people_rows = people.allocations
        for pool in config.allocation.shared:
            if "people" in pool.categories and pool.source_teams:
                weights = _people_pool_weights(pool, cloud_rows, gpu)
                people_rows = charge_back(
                    people_rows, source_teams=pool.source_teams, weights=weights
                )
        parts.append(people_rows)
    rows = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    if rows.empty:
        return pd.DataFrame(columns=alloc.ALLOCATION_COLUMNS)
    rows = rows.groupby(["team", "category", "source"], as_index=False).amount.sum()
    return rows[alloc.ALLOCATION_COLUMNS]


def _people_pool_weights(pool, cloud_rows: pd.DataFrame, gpu: GpuResult) -> dict:
    direct = cloud_rows[~cloud_rows.team.isin(TEAM_KEYS_RESERVED)]
    direct_by_team = direct.groupby("team").amount.sum().to_dict()
    return alloc.pool_weights(pool, direct_by_team, gpu.team_busy_hours)


def _totals(
    billing: pd.DataFrame,
    category: pd.Series,
    gpu: GpuResult,
    people: PeopleResult | None,
) -> tuple[dict[str, float], dict[str, float]]:
    totals = cloud_totals(billing, category)
    categories = by_category(billing, category)
    for key in ("hardware", "energy", "maintenance"):
        categories[key] += float(gpu.onprem.get(key, 0.0))
    people_total = 0.0 if people is None or people.suppressed else people.total
    categories["people"] += people_total
    totals["people"] = people_total
    totals["onprem"] = float(sum(gpu.onprem.values()))
    totals["total_cost"] = sum(categories[k] for k in CATEGORIES)
    return totals, categories


def _invoices(billing: pd.DataFrame) -> dict[str, float]:
    """Billed cost per invoice id, after conversion to the report currency."""
    ids = billing[Focus.InvoiceId].astype("string").fillna("")
    sums = billing[Focus.BilledCost].fillna(0.0).groupby(ids.to_numpy()).sum()
    return {str(k): float(v) for k, v in sums.items()}


def _by_team(rows: pd.DataFrame) -> dict[str, float]:
    """Amount per team; teams whose rows net to nothing are left out of the list."""
    sums = rows.groupby("team").amount.sum()
    out = {str(k): float(v) for k, v in sums.items() if abs(v) >= 0.005}
    for key in TEAM_KEYS_RESERVED:
        out.setdefault(key, 0.0)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _daily_cost(billing: pd.DataFrame) -> pd.DataFrame:
    if billing.empty:
        return pd.DataFrame(columns=["date", "cost"])
    day = billing[Focus.ChargePeriodStart].dt.floor("D")
    daily = billing[Focus.EffectiveCost].fillna(0.0).groupby(day).sum()
    daily.index = daily.index.strftime("%Y-%m-%d")
    return daily.rename("cost").rename_axis("date").reset_index()


def _daily_by_service_team(billing: pd.DataFrame) -> pd.DataFrame:
    columns = ["date", "service", "team", "cost"]
    if billing.empty:
        return pd.DataFrame(columns=columns)
    keys = pd.DataFrame(
        {
            "date": billing[Focus.ChargePeriodStart].dt.floor("D"),
            "service": per_distinct(
                billing[Focus.ServiceName], lambda u: u.fillna("(none)").astype(str)
            ),
            "team": billing["team"],
            "cost": billing[Focus.EffectiveCost].fillna(0.0),
        }
    )
    daily = keys.groupby(["date", "service", "team"], as_index=False).cost.sum()
    daily["date"] = daily["date"].dt.strftime("%Y-%m-%d")
    return daily


def _kpi_inputs(totals, gpu, people, cloud, billing, category, recs) -> dict:
    effective = billing[Focus.EffectiveCost].fillna(0.0)
    gross_mask = (category != "credits") & (effective > 0)
    gross = float(effective[gross_mask].sum())
    coverage = cloud.coverage or 0.0
    return {
        "recommended_savings": sum(r.monthly_savings for r in recs),
        "total_cost": totals["total_cost"],
        "gpu_utilization": gpu.summary["utilization"],
        "busy_gpu_hours": gpu.summary["busy_gpu_hours"],
        "available_gpu_hours": gpu.summary["available_gpu_hours"],
        "gpu_hours": gpu.summary["gpu_hours"],
        "energy_kwh": gpu.summary["energy_kwh"],
        "energy_cost": float(gpu.onprem.get("energy", 0.0)),
        "list_cost": totals["list_cost"],
        "effective_cost": totals["effective_cost"],
        "gross": gross,
        "allocated_gross": gross * coverage,
        "people_cost": totals["people"],
        "platform_engineers": people.platform_engineers if people else 0,
        "gpus": 0 if gpu.per_host.empty else int(gpu.per_host["gpus"].sum()),
    }


def _allocation_findings(cloud: alloc.CloudAllocation) -> list[Finding]:
    if not cloud.unknown_tag_values:
        return []
    shown = ", ".join(cloud.unknown_tag_values[:10])
    more = len(cloud.unknown_tag_values) - 10
    return [
        Finding(
            severity=Severity.INFO,
            source="billing",
            check="team_tag_values",
            message=(
                f"{len(cloud.unknown_tag_values)} team tag values are used as team "
                f"names as they are (no [allocation.aliases] entry): {shown}"
                + (f" and {more} more" if more > 0 else "")
            ),
            count=len(cloud.unknown_tag_values),
        )
    ]


def _cross_source(
    config: Config, billing: pd.DataFrame, gpu: GpuResult, cloud
) -> list[Finding]:
    """Telemetry against the bill, and tag teams against the configured teams.

    Telemetry hosts missing from the inventory are reported by the GPU transform.
    """
    known = set(config.people.departments.values()) | set(config.teams)
    tag_teams = set(cloud.team.unique()) - {alloc.UNALLOCATED}
    tag_teams = {t for t in tag_teams if not t.startswith("pool:")}
    context = CrossSourceContext(
        gpu_hours_by_host=dict(
            zip(gpu.per_host["host"], gpu.per_host["observed_hours"], strict=True)
        )
        if not gpu.per_host.empty
        else {},
        billed_gpu_instance_hours=_billed_gpu_hours(config, billing),
        telemetry_hosts=set(),
        inventory_hosts=set(),
        tag_teams=tag_teams if known else set(),
        known_teams=known,
    )
    return cross_source_findings(context)


def _billed_gpu_hours(config: Config, billing: pd.DataFrame) -> dict[str, float]:
    """Instance-hours billed for each cloud host, times its GPUs."""
    quantity = billing[Focus.ConsumedQuantity]
    unit_column = next(
        (c for c in ("PricingUnit", "ConsumedUnit") if c in billing.columns), None
    )
    if unit_column is not None:  # without a unit, a matched instance row is hourly
        unit = billing[unit_column].astype("string").str.strip().str.casefold()
        hourly = unit.isin(["hours", "hrs", "hour"]) | unit.isna()
        quantity = quantity.where(hourly.fillna(True).to_numpy(dtype=bool))
    ids = billing[Focus.ResourceId].astype("string")
    billed = {}
    for host in config.inventory:
        if host.location != "cloud" or not (host.resource_id or host.resource_pattern):
            continue
        if host.resource_id:
            mask = ids == host.resource_id
        else:
            mask = ids.map(
                lambda v, p=host.resource_pattern: fnmatch.fnmatchcase(str(v), p),
                na_action="ignore",
            )
        mask = mask.fillna(False).astype(bool)
        billed[host.host] = float(quantity[mask].fillna(0.0).sum()) * host.gpus
    return billed


def _notes(people: PeopleResult | None) -> list[str]:
    """Method notes for the report; the people note has a place of its own."""
    if people is None:
        return ["No HR source configured: people cost is not included."]
    return []


def _prev(summary: dict | None, *keys: str) -> float | None:
    value = summary
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None
