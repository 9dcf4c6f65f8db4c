"""People cost per team and per project, without exposing anyone's pay (DESIGN §4).

Input: the People frame (`transforms.schema.PEOPLE_COLUMNS`, one row per employee for
the month, hashed ids only, plus optional `split:<key>` percentage columns). Output:
amounts that each aggregate at least `[people] min_group_size` people.

Group protection, in order:
1. a team with at least `min_group_size` people keeps its own line;
2. smaller teams pool into `people_pooled`;
3. a pool still under the limit joins the smallest team at or above it (ties: first
   name in sorted order), which is then labelled "<team> (combined with pooled)";
4. fewer than `min_group_size` people in scope at all: people cost is suppressed, every
   amount is left out and `note` says why.
Projects (from splits) follow the same rules with the pool key `projects_pooled`.
Amounts are rounded to cents with `transforms.money` so that the lines sum exactly to
`total`. Nothing here logs an amount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ingest.config import PeopleConfig
from transforms.errors import DataValidationError
from transforms.findings import Finding, Severity
from transforms.money import round_preserving_sum, split_exact, to_cents

POOLED = "people_pooled"
PROJECTS_POOLED = "projects_pooled"
SPLIT_PREFIX = "split:"
ALLOCATION_COLUMNS = ("team", "category", "source", "amount")
# A person's split percentages may differ from 100 by rounding noise only.
SPLIT_TOLERANCE = 1e-6
MAX_SPLIT_FINDINGS = 20


@dataclass
class PeopleResult:
    allocations: pd.DataFrame
    total: float
    suppressed: bool
    note: str
    in_scope_count: int
    out_of_scope_count: int
    out_of_scope_cost: float | None
    team_headcount: dict[str, int] = field(default_factory=dict)
    combined_labels: dict[str, str] = field(default_factory=dict)
    platform_engineers: int = 0
    projects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["key", "amount"])
    )


@dataclass(frozen=True)
class _Groups:
    """Amounts per shown key, the people behind each, and combined labels."""

    amounts: dict[str, float]
    members: dict[str, set[str]]
    labels: dict[str, str]


def people_costs(
    frame: pd.DataFrame,
    *,
    people: PeopleConfig,
    splits: pd.DataFrame | None = None,
    places: int = 2,
) -> PeopleResult:
    """Team and project people cost for the month, protected by group size.

    `splits` (long: employee_id_hash, key, percent) overrides the frame's
    `split:<key>` columns; percentages must sum to 100 per person, else
    DataValidationError carrying the blocking findings.
    """
    in_scope = frame[frame["team"] != ""]
    out_scope = frame[frame["team"] == ""]
    limit = people.min_group_size
    n_in = in_scope["employee_id_hash"].nunique()
    paid = _paid(in_scope)["employee_id_hash"].nunique()
    headcount = _headcount(in_scope)
    out_count, out_cost, out_note = _out_of_scope(out_scope, limit, places)
    platform = int(in_scope["team"].isin(people.platform_teams).sum())
    if paid < limit:
        return PeopleResult(
            allocations=_empty_allocations(),
            total=0.0,
            suppressed=True,
            note=_suppressed_note(n_in, paid, limit, out_note),
            in_scope_count=n_in,
            out_of_scope_count=out_count,
            out_of_scope_cost=out_cost,
            team_headcount=headcount,
            platform_engineers=platform,
        )
    teams = protect_groups(_members_and_amounts(in_scope), limit, POOLED)
    total = to_cents(float(in_scope["monthly_cost"].sum()), places)
    rounded = round_preserving_sum(teams.amounts, places=places, total=total)
    project_frame = _projects(in_scope, splits, limit, places)
    return PeopleResult(
        allocations=_allocation_frame(rounded),
        total=total,
        suppressed=False,
        note=_note(n_in, headcount, teams, people, out_note),
        in_scope_count=n_in,
        out_of_scope_count=out_count,
        out_of_scope_cost=out_cost,
        team_headcount=headcount,
        combined_labels=teams.labels,
        platform_engineers=platform,
        projects=project_frame,
    )


def protect_groups(
    groups: Mapping[str, tuple[set[str], float]], limit: int, pool_key: str
) -> _Groups:
    """Pool keys under `limit` people; a small pool joins the smallest large key.

    `groups` maps a key to (hashed ids of its people, raw amount). The caller makes
    sure at least `limit` distinct people are present overall.
    """
    large = {k: v for k, v in groups.items() if len(v[0]) >= limit}
    small = {k: v for k, v in groups.items() if len(v[0]) < limit}
    amounts = {k: amount for k, (_, amount) in large.items()}
    members = {k: set(ids) for k, (ids, _) in large.items()}
    labels: dict[str, str] = {}
    if not small:
        return _Groups(amounts, members, labels)
    pool_ids = set().union(*(ids for ids, _ in small.values()))
    pool_amount = sum(amount for _, amount in small.values())
    if len(pool_ids) >= limit:
        amounts[pool_key] = pool_amount
        members[pool_key] = pool_ids
        return _Groups(amounts, members, labels)
    host = min(large, key=lambda k: (len(large[k][0]), k))
    amounts[host] += pool_amount
    members[host] |= pool_ids
    labels[host] = f"{host} (combined with pooled)"
    return _Groups(amounts, members, labels)


def _paid(frame: pd.DataFrame) -> pd.DataFrame:
    """People whose cost is above zero: only they count towards a group's size.

    A team of three where two cost nothing would otherwise show one person's pay.
    """
    return frame[frame["monthly_cost"] > 0]


def _members_and_amounts(frame: pd.DataFrame) -> dict[str, tuple[set[str], float]]:
    grouped = _paid(frame).groupby("team", sort=True)
    return {
        str(team): (set(part["employee_id_hash"]), float(part["monthly_cost"].sum()))
        for team, part in grouped
    }


def _headcount(in_scope: pd.DataFrame) -> dict[str, int]:
    counts = in_scope.groupby("team", sort=True)["employee_id_hash"].nunique()
    return {str(k): int(v) for k, v in counts.items()}


def _out_of_scope(
    out_scope: pd.DataFrame, limit: int, places: int
) -> tuple[int, float | None, str]:
    count = int(out_scope["employee_id_hash"].nunique())
    if count == 0:
        return 0, None, "no employees out of scope"
    if _paid(out_scope)["employee_id_hash"].nunique() < limit:
        note = (
            f"{count} employees out of scope (departments not in "
            f"[people.departments]); their cost is not shown because fewer than "
            f"{limit} people are in that group"
        )
        return count, None, note
    cost = to_cents(float(out_scope["monthly_cost"].sum()), places)
    note = (
        f"{count} employees out of scope (departments not in [people.departments]), "
        f"costing {cost:,.2f} a month, left out"
    )
    return count, cost, note


def _suppressed_note(n_in: int, paid: int, limit: int, out_note: str) -> str:
    who = f"{n_in} people are in scope"
    if paid != n_in:
        who += f" and only {paid} of them have a cost this month"
    return (
        f"People cost left out of this report: {who}, fewer than min_group_size "
        f"({limit}), so no amount could be shown without exposing someone's pay; "
        f"{out_note}."
    )


def _note(
    n_in: int,
    headcount: dict[str, int],
    teams: _Groups,
    people: PeopleConfig,
    out_note: str,
) -> str:
    parts = [
        f"People cost of {n_in} people in {len(headcount)} teams, fully loaded "
        f"with an overhead rate of {people.overhead_rate:.1%}",
        f"every amount covers at least {people.min_group_size} people",
    ]
    if POOLED in teams.amounts:
        parts.append(
            f"teams under {people.min_group_size} people are pooled into {POOLED}"
        )
    for label in teams.labels.values():
        parts.append(f"teams too small to pool are shown as {label}")
    parts.append(out_note)
    return "; ".join(parts) + "."


def _allocation_frame(amounts: Mapping[str, float]) -> pd.DataFrame:
    rows = [(team, "people", "people", amount) for team, amount in amounts.items()]
    return pd.DataFrame(rows, columns=list(ALLOCATION_COLUMNS))


def _empty_allocations() -> pd.DataFrame:
    frame = pd.DataFrame(columns=list(ALLOCATION_COLUMNS))
    return frame.astype({"amount": "float64"})


# --- Project splits -------------------------------------------------------------


def split_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).startswith(SPLIT_PREFIX)]


def splits_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's `split:<key>` columns as a long table (blank cells dropped)."""
    columns = split_columns(frame)
    if not columns:
        return pd.DataFrame(columns=["employee_id_hash", "key", "percent"])
    long = frame.melt(
        id_vars=["employee_id_hash"],
        value_vars=columns,
        var_name="key",
        value_name="percent",
    )
    long = long.dropna(subset=["percent"])
    long["key"] = long["key"].str.removeprefix(SPLIT_PREFIX)
    return long.reset_index(drop=True)


def check_splits(long: pd.DataFrame) -> list[Finding]:
    """A BLOCKING finding per person whose split percentages do not sum to 100."""
    sums = long.groupby("employee_id_hash", sort=True)["percent"].sum()
    wrong = sums[(sums - 100).abs() > SPLIT_TOLERANCE]
    findings = [_split_finding(str(k), float(v)) for k, v in wrong.items()]
    if len(findings) > MAX_SPLIT_FINDINGS:
        rest = len(findings) - MAX_SPLIT_FINDINGS
        findings = findings[:MAX_SPLIT_FINDINGS]
        findings.append(
            Finding(
                Severity.BLOCKING,
                "hr",
                "split_sum",
                f"{rest} more employees have project splits that do not sum to "
                "100 %; fix the splits and re-run",
                count=rest,
            )
        )
    return findings


def _split_finding(id_hash: str, total: float) -> Finding:
    hint = " (write percentages, not fractions)" if abs(total - 1) < 1e-6 else ""
    return Finding(
        Severity.BLOCKING,
        "hr",
        "split_sum",
        f"project splits of employee {id_hash} sum to {total:g} %, expected "
        f"100 %{hint}; fix the splits for this id and re-run",
        count=1,
        examples=[id_hash],
    )


def split_person(
    amount: float, percents: Mapping[str, float], places: int = 2
) -> dict[str, float]:
    """One amount split by percentages, summing back exactly (DESIGN §4 ties)."""
    return split_exact(amount, percents, places=places)


def _projects(
    in_scope: pd.DataFrame,
    splits: pd.DataFrame | None,
    limit: int,
    places: int,
) -> pd.DataFrame:
    long = splits_from_frame(in_scope) if splits is None else splits
    findings = check_splits(long)
    if findings:
        raise DataValidationError(
            f"{len(findings)} employees have project splits that do not sum to 100 %",
            findings,
        )
    raw = _project_shares(in_scope, long)
    groups = protect_groups(raw, limit, PROJECTS_POOLED)
    total = float(in_scope["monthly_cost"].sum())
    if not groups.amounts or total == 0:
        return pd.DataFrame(columns=["key", "amount"])
    amounts = split_exact(total, groups.amounts, places=places)
    return pd.DataFrame(sorted(amounts.items()), columns=["key", "amount"])


def _project_shares(
    in_scope: pd.DataFrame, long: pd.DataFrame
) -> dict[str, tuple[set[str], float]]:
    """Key -> (people, raw amount); a person without splits counts for their team.

    Only people with a cost above zero and shares above 0 % are members of a key.
    """
    paid = _paid(in_scope).set_index("employee_id_hash")
    cost, team = paid["monthly_cost"], paid["team"]
    # A 0 % share adds nobody to a project: it must not count towards its size.
    long = long[long["employee_id_hash"].isin(cost.index) & (long["percent"] > 0)]
    shares: dict[str, tuple[set[str], float]] = {}
    for row in long.itertuples(index=False):
        amount = float(cost[row.employee_id_hash]) * float(row.percent) / 100
        _add(shares, str(row.key), row.employee_id_hash, amount)
    unsplit = set(cost.index) - set(long["employee_id_hash"])
    for id_hash in sorted(unsplit):
        _add(shares, str(team[id_hash]), id_hash, float(cost[id_hash]))
    return shares


def _add(
    shares: dict[str, tuple[set[str], float]], key: str, id_hash: str, amount: float
) -> None:
    ids, total = shares.get(key, (set(), 0.0))
    shares[key] = (ids | {id_hash}, total + amount)


# --- Charge-back and KPIs -------------------------------------------------------


def charge_back(
    allocations: pd.DataFrame,
    *,
    source_teams: list[str],
    weights: dict[str, float],
    places: int = 2,
) -> pd.DataFrame:
    """Move the people amount of `source_teams` onto the weighted teams.

    Used for a `[[allocation.shared]]` pool with categories = ["people"]; weights
    are, for `method = "gpu_hours"`, each team's busy GPU-hours. Moved parts sum
    back exactly (transforms.money). With no positive weight nothing moves.
    """
    positive = {k: float(v) for k, v in weights.items() if v > 0}
    moving = allocations["team"].isin(source_teams) & (
        allocations["category"] == "people"
    )
    if not positive or not moving.any():
        return allocations.copy()
    amount = float(allocations.loc[moving, "amount"].sum())
    parts = split_exact(amount, positive, places=places)
    added = pd.DataFrame(
        [(team, "people", "people", part) for team, part in parts.items()],
        columns=list(ALLOCATION_COLUMNS),
    )
    kept = allocations.loc[~moving, list(ALLOCATION_COLUMNS)]
    merged = pd.concat([kept, added], ignore_index=True)
    summed = merged.groupby(["team", "category", "source"], sort=True)["amount"]
    return summed.sum().reset_index()


def people_kpis(
    result: PeopleResult, *, busy_gpu_hours: float, total_cost: float, gpus: int
) -> dict[str, float | None]:
    """People KPIs; None when a ratio is undefined or people cost is suppressed."""
    cost = None if result.suppressed else result.total
    return {
        "people_cost_per_busy_gpu_hour": _ratio(cost, busy_gpu_hours),
        "gpus_per_platform_engineer": _ratio(gpus, result.platform_engineers),
        "people_share": _ratio(cost, total_cost),
    }


def _ratio(numerator: float | None, denominator: float) -> float | None:
    if numerator is None or not denominator or denominator <= 0:
        return None
    return float(numerator) / float(denominator)


# --- Privacy of HR findings -----------------------------------------------------

_HASH = re.compile(r"[0-9a-f]{16}")
_ROW_EXAMPLE = re.compile(r"row \d+(?: \(id [0-9a-f]{16}\))?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def hr_finding_safe(finding: Finding) -> bool:
    """True when an HR finding holds only counts, row numbers and hashed ids.

    Examples must be row numbers, hashed ids, or "row N (id HASH)". In the message,
    every number must be the finding's count, a row number of its examples, part of
    a hashed id, or a percentage ("... 90 %"); the file and column are ignored.
    """
    if not all(_safe_example(e) for e in finding.examples):
        return False
    text = finding.message
    for part in (finding.file, finding.column):
        if part:
            text = text.replace(part, " ")
    text = _HASH.sub(" ", text)
    text = re.sub(r"\d+(?:\.\d+)?\s?%", " ", text)
    allowed = {str(finding.count)} | _example_rows(finding.examples)
    return all(n in allowed for n in _NUMBER.findall(text))


def _safe_example(example: int | str) -> bool:
    if isinstance(example, int):
        return True
    return bool(_HASH.fullmatch(example) or _ROW_EXAMPLE.fullmatch(example))


def _example_rows(examples: list[int | str]) -> set[str]:
    rows = set()
    for example in examples:
        if isinstance(example, int):
            rows.add(str(example))
        else:
            rows.update(re.findall(r"row (\d+)", example))
    return rows
