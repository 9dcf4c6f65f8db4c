"""A realistic fake month for developing and testing the report.

The pipeline that writes `summary.json` is built in parallel; this builder gives the
report the same shape (DESIGN §5) with numbers that hold together: categories and teams
both sum to the total, GPU hours add up, recommendations are ranked by saving.
"""

from __future__ import annotations

from typing import Any

from transforms.money import split_exact

CATEGORIES = {
    "hardware": 182_340.55,
    "software": 21_875.10,
    "people": 96_500.00,
    "energy": 4_210.35,
    "maintenance": 6_125.00,
    "tax": 11_402.18,
    "credits": -2_500.00,
    "other": 312.42,
}

TEAMS = {
    "research": 38,
    "inference": 24,
    "ml-platform": 14,
    "data": 8,
    "vision": 5,
    "speech": 3,
    "unallocated": 3,
    "idle": 4,
    "people_pooled": 1,
}


def category_total() -> float:
    return round(sum(CATEGORIES.values()), 2)


def make_summary(
    month: str = "2026-10",
    *,
    provisional: bool = True,
    extra_teams: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One month's summary.json; `extra_teams` adds weights for more teams."""
    total = category_total()
    weights = dict(TEAMS, **(extra_teams or {}))
    return {
        "month": month,
        "currency": "USD",
        "provisional": provisional,
        "totals": {
            "billed_cost": 219_850.40,
            "effective_cost": total - 96_500.00 - 10_335.35,
            "list_cost": 251_300.00,
            "tax": CATEGORIES["tax"],
            "credits": CATEGORIES["credits"],
            "total_cost": total,
        },
        "by_category": dict(CATEGORIES),
        "by_team": split_exact(total, weights),
        "gpu": _gpu(),
        "kpis": _kpis(),
        "recommendations": _recommendations(),
        "economics": _economics(),
        "forecast": {"month": "2026-11", "cost": 325_400.00, "last_error": 0.042},
        "fx": {"as_of": "2026-10-31", "rates": {"EUR": 1.08}},
        "invoices": {"INV-2026-10-001": 208_448.22, "INV-2026-10-002": 11_402.18},
        "data_quality": {
            "checks": 48,
            "failed": 2,
            "warnings": 3,
            "rows_rejected": 0,
        },
    }


def _gpu() -> dict[str, Any]:
    return {
        "gpu_hours": 11_520.0,
        "busy_gpu_hours": 7_488.0,
        "idle_gpu_hours": 3_840.0,
        "unknown_gpu_hours": 192.0,
        "available_gpu_hours": 11_904.0,
        "utilization": 0.612,
        "energy_kwh": 28_450.125,
        "idle_cost": 41_230.77,
    }


def _kpis() -> dict[str, Any]:
    return {
        "cost_savings_rate": {"value": 0.121, "previous": 0.097, "change": 0.024},
        "gpu_utilization": {"value": 0.612, "previous": 0.58, "change": 0.032},
        "effective_savings_rate": {
            "value": 0.1254,
            "previous": 0.1102,
            "change": 0.0152,
            "formula": "(ListCost - EffectiveCost) / ListCost",
        },
        "cost_per_gpu_hour": {"value": 15.83, "previous": 16.40, "change": -0.57},
        "people_share": {"value": 0.301, "previous": None, "change": None},
    }


def _recommendations() -> list[dict[str, Any]]:
    return [
        {
            "rank": 1,
            "kind": "idle_gpu",
            "target": "gpu-b2 (inference)",
            "monthly_savings": 18_250.40,
            "confidence": "high",
            "evidence": {"idle_share": 0.94, "observed_hours": 744.0},
            "formula": "idle share x monthly GPU cost",
            "assumptions": "the instance can be stopped or downsized",
        },
        {
            "rank": 2,
            "kind": "consolidate",
            "target": "research: gpu-a1, gpu-a2",
            "monthly_savings": 9_720.00,
            "confidence": "medium",
            "evidence": {"utilization": 0.31, "hosts": 2},
            "formula": "hosts freed x host monthly cost",
            "assumptions": "jobs pack to 70 % utilization",
        },
        {
            "rank": 3,
            "kind": "commitment",
            "target": "Amazon EC2 p4d baseline",
            "monthly_savings": 7_012.55,
            "confidence": "medium",
            "evidence": {"baseline_hours": 720, "break_even_months": 7.5},
            "formula": "baseline on-demand cost x 0.30",
            "assumptions": "a 30 % commitment discount",
        },
        {
            "rank": 4,
            "kind": "untagged",
            "target": "unallocated",
            "monthly_savings": 0.0,
            "confidence": "low",
            "evidence": {"rows": 212, "cost": 9_602.31},
            "formula": "none: tagging moves cost to its owner",
            "assumptions": "",
        },
    ]


def _economics() -> dict[str, Any]:
    return {
        "plans": [
            {
                "name": "A",
                "servers": 10,
                "gpus_per_server": 8,
                "gpus": 80,
                "cost": 500_000.0,
                "benefit": 600_000.0,
                "horizon_months": 36,
                "cost_benefit_ratio": 500_000 / 600_000,
                "benefit_cost_ratio": 600_000 / 500_000,
                "net_benefit": 100_000.0,
                "roi": 0.2,
                "cost_per_gpu": 6_250.0,
                "payback_months": 30.0,
                "opportunity_cost": 0.0,
                "economic_profit": 100_000.0,
            },
            {
                "name": "B",
                "servers": 5,
                "gpus_per_server": 16,
                "gpus": 80,
                "cost": 750_000.0,
                "benefit": 700_000.0,
                "horizon_months": 36,
                "cost_benefit_ratio": 750_000 / 700_000,
                "benefit_cost_ratio": 700_000 / 750_000,
                "net_benefit": -50_000.0,
                "roi": -50_000 / 750_000,
                "cost_per_gpu": 9_375.0,
                "payback_months": 750_000 / (700_000 / 36),
                "opportunity_cost": 100_000.0,
                "economic_profit": -150_000.0,
            },
        ],
        "recommended_plan": "A",
        "explanation": (
            "Plan A returns 100,000 more than it costs over 36 months and beats doing "
            "nothing. Plan B loses 50,000 and gives up A's 100,000, an economic loss "
            "of 150,000."
        ),
        "marginal_note": (
            "Both plans buy 80 GPUs, so the quantity does not change between them and "
            "the marginal cost per GPU is undefined; compare average cost per GPU."
        ),
    }


def make_extras(summary: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments `build_context` takes beside the summary."""
    month = summary["month"]
    hosts = ["gpu-a1", "gpu-a2", "gpu-b1", "gpu-b2"]
    days = [f"{month}-{d:02d}" for d in range(1, 32)]
    heatmap = [
        {"host": h, "date": d, "utilization": round(((i * 7 + j * 3) % 10) / 10, 2)}
        for i, h in enumerate(hosts)
        for j, d in enumerate(days)
    ]
    return {
        "title": "AI infrastructure cost",
        "previous_total": 301_254.90,
        "daily_cost": [(d, 10_000.0 + (j % 7) * 250.5) for j, d in enumerate(days)],
        "gpu_heatmap": heatmap,
        "hosts": _hosts(hosts),
        "jobs": _jobs(),
        "findings": _findings(),
        "notes": [
            "Cloud cost is the net amortized view (Net* columns).",
            "3 billing rows dated 2026-09 were restated into September.",
        ],
        "people_note": "People cost covers 41 people in 5 teams; overhead rate 25 %.",
        "changes": ["Total cost rose by 1,204.33 USD since the run of 2026-11-03."],
        "team_rows": _team_rows(summary["by_team"]),
        "budgets": {"research": 120_000.0, "inference": 60_000.0},
    }


def _hosts(hosts: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "host": h,
            "location": "onprem" if h.startswith("gpu-a") else "cloud",
            "gpus": 8,
            "observed_hours": 5_952.0 - i * 120,
            "busy_hours": 3_900.5 - i * 400,
            "idle_hours": 2_051.5 + i * 280,
            "utilization": 0.71 - i * 0.12,
            "energy_kwh": 7_112.25 - i * 300,
            "cost": 41_300.00 + i * 1_000,
            "idle_cost": 8_120.40 + i * 2_500,
        }
        for i, h in enumerate(hosts)
    ]


def _jobs() -> list[dict[str, Any]]:
    return [
        {
            "job": "llama-ft-7b",
            "team": "research",
            "busy_gpu_hours": 2_210.5,
            "cost": 35_020.12,
        },
        {
            "job": "whisper-serve",
            "team": "inference",
            "busy_gpu_hours": 1_804.0,
            "cost": 28_570.00,
        },
        {
            "job": "vit-pretrain",
            "team": "vision",
            "busy_gpu_hours": 640.25,
            "cost": 10_135.77,
        },
    ]


def _findings() -> list[dict[str, Any]]:
    return [
        {
            "severity": "warning",
            "source": "telemetry",
            "check": "placeholder",
            "message": "nvidia-smi.csv: 14 samples hold [N/A] utilization; counted as "
            "unknown, not idle.",
            "file": "nvidia-smi.csv",
            "column": "utilization.gpu",
            "count": 14,
            "examples": [3, 9],
        },
        {
            "severity": "warning",
            "source": "billing",
            "check": "out_of_period",
            "message": "3 rows dated 2026-09 left out of 2026-10.",
            "file": "cur.csv.gz",
            "column": "lineItem/UsageStartDate",
            "count": 3,
            "examples": [],
        },
    ]


def _team_rows(by_team: dict[str, float]) -> list[dict[str, Any]]:
    """Each team's amount split over categories and sources, summing back exactly."""
    shares = {
        ("hardware", "telemetry"): 60,
        ("people", "people"): 30,
        ("software", "billing"): 10,
    }
    rows = []
    for team, amount in by_team.items():
        parts = split_exact(amount, {f"{c}|{s}": w for (c, s), w in shares.items()})
        for key, part in parts.items():
            category, source = key.split("|")
            rows.append(
                {"team": team, "category": category, "source": source, "amount": part}
            )
    return rows
