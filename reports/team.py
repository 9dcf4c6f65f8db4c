"""One team's slice of the month: what its own PDF shows.

Built from the month's ReportContext, so a team report never shows a number the month
report does not hold. People cost appears only when the allocation gave the team a
people row, which the people stage does only for groups of at least `min_group_size`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from reports.context import ReportContext
from transforms.money import to_cents


@dataclass
class TeamView:
    """team: its name; amount: its by_team amount; rows: its allocation rows;
    by_category / by_source: those rows summed; hosts and jobs: its GPU use;
    people: its people cost, None when pooled or left out; budget: None when unset;
    recommendations: those whose target or evidence names the team.
    """

    team: str
    amount: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    by_category: dict[str, float] = field(default_factory=dict)
    by_source: dict[str, float] = field(default_factory=dict)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    people: float | None = None
    budget: float | None = None
    recommendations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def budget_left(self) -> float | None:
        return None if self.budget is None else to_cents(self.budget - self.amount)

    @property
    def budget_used(self) -> float | None:
        return self.amount / self.budget if self.budget else None

    @property
    def busy_gpu_hours(self) -> float:
        return sum(float(j.get("busy_gpu_hours") or 0) for j in self.jobs)


def team_view(ctx: ReportContext, team: str) -> TeamView:
    rows = [r for r in ctx.team_rows if r.get("team") == team]
    people = [r for r in rows if r.get("category") == "people"]
    return TeamView(
        team=team,
        amount=float(ctx.summary["by_team"].get(team, 0.0)),
        rows=rows,
        by_category=_sum_by(rows, "category"),
        by_source=_sum_by(rows, "source"),
        hosts=[h for h in ctx.team_hosts if h.get("team") == team],
        jobs=[j for j in ctx.jobs if j.get("team") == team],
        people=to_cents(sum(r["amount"] for r in people)) if people else None,
        budget=ctx.budgets.get(team),
        recommendations=[r for r in ctx.recommendations if _names(r, team)],
    )


def _sum_by(rows: list[dict[str, Any]], key: str) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for row in rows:
        sums[str(row.get(key, ""))] += float(row.get("amount") or 0)
    ordered = sorted(sums.items(), key=lambda item: (-item[1], item[0]))
    return {name: to_cents(amount) for name, amount in ordered}


def _names(recommendation: dict[str, Any], team: str) -> bool:
    """A recommendation concerns a team when its target or evidence names it.

    The name must stand as a word: team "data" is not named by "database".
    """
    target = str(recommendation.get("target", ""))
    evidence = recommendation.get("evidence") or {}
    word = re.compile(rf"(?<![\w-]){re.escape(team)}(?![\w-])", re.IGNORECASE)
    return bool(word.search(target)) or evidence.get("team") == team
