"""The report's data: one documented dataclass that every template reads.

`build_context(summary, **extras)` takes the month's summary.json content (DESIGN §5)
and the detail the summary does not hold (daily cost, hosts, jobs, findings, notes). The
templates show nothing that is not here, so tests check the numbers in this object and
only look at the PDF for the key figures.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from transforms.money import to_cents

# The five categories of DESIGN §4, then the three that sit beside them.
MAIN_CATEGORIES = ("hardware", "software", "people", "energy", "maintenance")
SIDE_CATEGORIES = ("tax", "credits", "other")

# by_team keys that are not teams; never folded into "other teams".
SPECIAL_TEAMS = ("unallocated", "idle", "people_pooled")

# Teams shown one by one before the rest are summed into "other teams (N)".
TEAM_LIMIT = 12

# Rows of the month PDF's long tables; the rest are counted in a line under the table
# and stay whole in the outputs (recommendations.csv, hosts.csv, run.json). A large
# month has a recommendation per idle GPU and findings per host file: hundreds of rows
# that made the PDF slow to lay out and long to read.
RECOMMENDATION_LIMIT = 20
HOST_LIMIT = 40
FINDING_LIMIT = 25

_EMPTY_SUMMARY: dict[str, Any] = {
    "month": "",
    "currency": "USD",
    "provisional": True,
    "totals": dict.fromkeys(
        ("billed_cost", "effective_cost", "list_cost", "tax", "credits", "total_cost"),
        0.0,
    ),
    "by_category": dict.fromkeys(MAIN_CATEGORIES + SIDE_CATEGORIES, 0.0),
    "by_team": {},
    "gpu": dict.fromkeys(
        (
            "gpu_hours",
            "busy_gpu_hours",
            "idle_gpu_hours",
            "unknown_gpu_hours",
            "available_gpu_hours",
            "utilization",
            "energy_kwh",
            "idle_cost",
        ),
        0.0,
    ),
    "kpis": {},
    "recommendations": [],
    "economics": {
        "plans": [],
        "recommended_plan": None,
        "explanation": "",
        "marginal_note": "",
    },
    "forecast": {"month": "", "cost": None, "last_error": None},
    "fx": {"as_of": "", "rates": {}},
    "invoices": {},
    "data_quality": {"checks": 0, "failed": 0, "warnings": 0, "rows_rejected": 0},
}


@dataclass
class ReportContext:
    """Everything the month report and the team reports show.

    summary: the summary.json content, missing keys filled (numbers 0, lists empty).
    title: the report title from `[report] title`.
    previous_total: total cost of the month before (its last run), None when unknown.
    daily_cost: (YYYY-MM-DD, amount) per day of the month.
    gpu_heatmap: {host, date, utilization (0..1 or None)} per host and day.
    hosts: per-host GPU rows: host, location, gpus, observed_hours, busy_hours,
        idle_hours, utilization, energy_kwh, cost, idle_cost.
    jobs: job, team, busy_gpu_hours, cost.
    findings: Finding.to_dict() rows: severity, source, check, message, count, ...
    notes: method notes (cost view, skipped features, restatements, out-of-period).
    people_note: how people cost was built and what privacy rule pooled.
    changes: what changed since the last run of this month (may be empty).
    team_rows: allocation rows (team, category, source, amount), for team reports.
    budgets: team -> monthly budget from `[teams.NAME] budget` (teams with one).
    team_hosts: optional (team, host, busy_gpu_hours, cost) rows: a team's GPUs.
    """

    summary: dict[str, Any]
    title: str = "AI infrastructure cost"
    previous_total: float | None = None
    daily_cost: list[tuple[str, float]] = field(default_factory=list)
    gpu_heatmap: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    people_note: str = ""
    changes: list[str] = field(default_factory=list)
    team_rows: list[dict[str, Any]] = field(default_factory=list)
    budgets: dict[str, float] = field(default_factory=dict)
    team_hosts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def month(self) -> str:
        return str(self.summary["month"])

    @property
    def currency(self) -> str:
        return str(self.summary["currency"])

    @property
    def status(self) -> str:
        return "PROVISIONAL" if self.summary["provisional"] else "FINAL"

    @property
    def total_cost(self) -> float:
        return float(self.summary["totals"]["total_cost"])

    @property
    def change(self) -> float | None:
        """Total cost minus last month's, None when last month is unknown."""
        if self.previous_total is None:
            return None
        return to_cents(self.total_cost - self.previous_total)

    @property
    def change_share(self) -> float | None:
        if not self.previous_total:
            return None
        return (self.total_cost - self.previous_total) / self.previous_total

    @property
    def main_categories(self) -> list[dict[str, Any]]:
        return self._category_rows(MAIN_CATEGORIES)

    @property
    def side_categories(self) -> list[dict[str, Any]]:
        return self._category_rows(SIDE_CATEGORIES)

    def _category_rows(self, names: tuple[str, ...]) -> list[dict[str, Any]]:
        by_category = self.summary["by_category"]
        total = self.total_cost
        return [
            {
                "name": name,
                "amount": float(by_category.get(name, 0.0)),
                "share": by_category.get(name, 0.0) / total if total else None,
            }
            for name in names
        ]

    @property
    def recommendations(self) -> list[dict[str, Any]]:
        recs = self.summary["recommendations"]
        return sorted(recs, key=lambda r: r.get("rank", len(recs)))

    @property
    def top_recommendations(self) -> list[dict[str, Any]]:
        """The three first-ranked recommendations that carry a saving, for page 1."""
        saving = [r for r in self.recommendations if r.get("monthly_savings")]
        return saving[:3]

    @property
    def recommendations_shown(self) -> list[dict[str, Any]]:
        """The first-ranked recommendations for the PDF's detailed table."""
        return self.recommendations[:RECOMMENDATION_LIMIT]

    @property
    def recommendations_more(self) -> int:
        return max(len(self.summary["recommendations"]) - RECOMMENDATION_LIMIT, 0)

    @property
    def hosts_shown(self) -> list[dict[str, Any]]:
        """Every host, or past HOST_LIMIT the costliest ones, costliest first."""
        if len(self.hosts) <= HOST_LIMIT:
            return self.hosts
        ranked = sorted(self.hosts, key=lambda h: -float(h.get("cost") or 0.0))
        return ranked[:HOST_LIMIT]

    @property
    def hosts_more(self) -> int:
        return max(len(self.hosts) - HOST_LIMIT, 0)

    @property
    def findings_shown(self) -> list[dict[str, Any]]:
        return self.findings[:FINDING_LIMIT]

    @property
    def findings_more(self) -> int:
        return max(len(self.findings) - FINDING_LIMIT, 0)

    @property
    def team_table(self) -> list[dict[str, Any]]:
        return team_table(self.summary["by_team"], self.total_cost)

    @property
    def kpi_rows(self) -> list[dict[str, Any]]:
        return [dict(name=name, **kpi) for name, kpi in self.summary["kpis"].items()]


def team_table(
    by_team: dict[str, float], total: float, limit: int = TEAM_LIMIT
) -> list[dict[str, Any]]:
    """Teams largest first; past `limit` teams the rest sum into "other teams (N)".

    The pseudo-teams (unallocated, idle, people_pooled) always show on their own.
    """
    teams = sorted(
        ((name, amount) for name, amount in by_team.items()),
        key=lambda item: (-item[1], item[0]),
    )
    real = [item for item in teams if item[0] not in SPECIAL_TEAMS]
    shown = real[:limit] + [item for item in teams if item[0] in SPECIAL_TEAMS]
    shown.sort(key=lambda item: (-item[1], item[0]))
    rows = [_team_row(name, amount, total) for name, amount in shown]
    tail = real[limit:]
    if tail:
        amount = to_cents(sum(a for _, a in tail))
        rows.append(_team_row(f"other teams ({len(tail)})", amount, total))
    return rows


def _team_row(name: str, amount: float, total: float) -> dict[str, Any]:
    return {
        "name": name,
        "amount": float(amount),
        "share": amount / total if total else None,
        "special": name in SPECIAL_TEAMS,
    }


def build_context(summary: dict[str, Any], **extras: Any) -> ReportContext:
    """The context of one month's report; `extras` fill the other fields by name."""
    return ReportContext(summary=complete_summary(summary), **extras)


def complete_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A copy of `summary` with every key the templates read present."""
    full = copy.deepcopy(_EMPTY_SUMMARY)
    for key, value in copy.deepcopy(summary).items():
        if isinstance(value, dict) and isinstance(full.get(key), dict):
            full[key].update(value)
        else:
            full[key] = value
    return full
