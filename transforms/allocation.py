"""Cloud cost to teams: tags, aliases, accounts and shared pools (DESIGN §4).

A row's team is its team tag, trimmed and case-folded, looked up in
`[allocation.aliases]`; an untagged row falls back to `[allocation.accounts]` by sub-
account; else `unallocated`. Rows matched by a `[[allocation.shared]]` pool are split
among teams by the pool's method. Rows already costed through a GPU host (inventory) are
left out here: the GPU transform allocates them by GPU use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.config import AllocationConfig, SharedPool
from transforms.schema import Focus

UNALLOCATED = "unallocated"
ALLOCATION_COLUMNS = ["team", "category", "source", "amount"]


@dataclass
class CloudAllocation:
    rows: pd.DataFrame  # team, category, source, amount (full precision)
    team: pd.Series  # per billing row: team, pool name for pooled rows, or unallocated
    coverage: float | None  # allocated gross / gross; None when gross is 0
    unknown_tag_values: list[str]  # folded tag values no alias maps (for findings)


def fold(value: object) -> str:
    return str(value).strip().casefold()


def resolve_teams(frame: pd.DataFrame, config: AllocationConfig) -> pd.Series:
    """The team of each row from its tag, the aliases, then its sub-account.

    Works on the distinct values only, so ten million rows cost a few factorizations.
    """
    aliases = {fold(k): v for k, v in config.aliases.items()}
    accounts = {str(k).strip(): v for k, v in config.accounts.items()}
    by_tag = _map_distinct(
        frame[Focus.TeamTag], lambda v: aliases.get(fold(v), fold(v))
    )
    by_account = _map_distinct(
        frame[Focus.SubAccountId], lambda v: accounts.get(str(v).strip())
    )
    team = np.where(by_tag != None, by_tag, by_account)  # noqa: E711 - elementwise
    team = np.where(team != None, team, UNALLOCATED)  # noqa: E711 - elementwise
    return pd.Series(team, index=frame.index, dtype=object).astype(str)


def _map_distinct(column: pd.Series, mapping) -> np.ndarray:
    """`mapping` applied once per distinct non-blank value; None where none."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    mapped = [None if str(value).strip() == "" else mapping(value) for value in uniques]
    table = np.array([*mapped, None], dtype=object)  # code -1 (null) -> None
    return table[codes]


def pool_mask(frame: pd.DataFrame, pool: SharedPool) -> pd.Series:
    """Rows a shared pool claims: any of its services, accounts or tag matches."""
    mask = pd.Series(False, index=frame.index)
    if pool.services:
        mask |= frame[Focus.ServiceName].isin(pool.services)
    if pool.accounts:
        mask |= frame[Focus.SubAccountId].astype("string").isin(pool.accounts)
    if pool.tags:
        mask |= (
            frame[Focus.Tags]
            .map(lambda text: _tags_match(text, pool.tags), na_action="ignore")
            .fillna(False)
            .astype(bool)
        )
    return mask


def _tags_match(text: str, wanted: Mapping[str, str]) -> bool:
    try:
        tags = json.loads(text)
    except (TypeError, ValueError):
        return False
    return all(str(tags.get(k, "")).strip() == v for k, v in wanted.items())


def allocate_cloud(
    frame: pd.DataFrame,
    category: pd.Series,
    config: AllocationConfig,
    *,
    skip: pd.Index | None = None,
    busy_hours_by_team: Mapping[str, float] | None = None,
) -> CloudAllocation:
    """Allocate every billing row not in `skip` to a team, pools split by method."""
    team = resolve_teams(frame, config)
    keep = ~frame.index.isin(skip if skip is not None else pd.Index([]))
    amount = frame[Focus.EffectiveCost].fillna(0.0)
    pooled = pd.Series(False, index=frame.index)
    pool_of = pd.Series("", index=frame.index)
    for pool in config.shared:
        mask = pool_mask(frame, pool) & ~pooled & keep
        pool_of[mask] = pool.name
        pooled |= mask

    direct = keep & ~pooled
    direct_rows = _sum_rows(team[direct], category[direct], amount[direct])
    direct_by_team = (
        direct_rows[direct_rows.team != UNALLOCATED].groupby("team").amount.sum()
    )
    pool_rows = [
        _split_pool(
            pool,
            category[pool_of == pool.name],
            amount[pool_of == pool.name],
            direct_by_team,
            busy_hours_by_team or {},
        )
        for pool in config.shared
    ]
    rows = pd.concat([direct_rows, *pool_rows], ignore_index=True)
    rows = rows.groupby(["team", "category", "source"], as_index=False).amount.sum()
    team_out = team.where(~pooled, "pool:" + pool_of)
    return CloudAllocation(
        rows=rows[ALLOCATION_COLUMNS],
        team=team_out,
        coverage=_coverage(amount[keep], category[keep], team_out[keep]),
        unknown_tag_values=_unaliased(frame, config),
    )


def _sum_rows(team: pd.Series, category: pd.Series, amount: pd.Series) -> pd.DataFrame:
    grouped = (
        pd.DataFrame({"team": team, "category": category, "amount": amount})
        .groupby(["team", "category"], as_index=False)
        .amount.sum()
    )
    grouped["source"] = "billing"
    return grouped


def pool_weights(
    pool: SharedPool,
    direct_by_team: Mapping[str, float],
    busy_hours_by_team: Mapping[str, float],
) -> dict[str, float]:
    """The weight of each team in a shared pool, by the pool's method."""
    if pool.method == "fixed":
        return {k: float(v) for k, v in pool.weights.items()}
    if pool.method == "gpu_hours":
        return {k: float(v) for k, v in busy_hours_by_team.items() if v > 0}
    positive = {k: float(v) for k, v in direct_by_team.items() if v > 0}
    if pool.method == "even":
        return dict.fromkeys(positive, 1.0)
    return positive


def _split_pool(
    pool: SharedPool,
    category: pd.Series,
    amount: pd.Series,
    direct_by_team: Mapping[str, float],
    busy_hours_by_team: Mapping[str, float],
) -> pd.DataFrame:
    per_category = amount.groupby(category).sum()
    weights = pool_weights(pool, direct_by_team, busy_hours_by_team)
    total_weight = sum(weights.values())
    if per_category.empty:
        return pd.DataFrame(columns=ALLOCATION_COLUMNS)
    if total_weight <= 0:
        # Nobody to share with: the pool stays unallocated rather than vanish.
        weights, total_weight = {UNALLOCATED: 1.0}, 1.0
    records = [
        (team, cat, "billing", value * weight / total_weight)
        for cat, value in per_category.items()
        for team, weight in weights.items()
    ]
    return pd.DataFrame(records, columns=ALLOCATION_COLUMNS)


def _coverage(amount: pd.Series, category: pd.Series, team: pd.Series) -> float | None:
    gross_mask = (category != "credits") & (amount > 0)
    gross = float(amount[gross_mask].sum())
    if gross == 0:
        return None
    allocated = float(amount[gross_mask & (team != UNALLOCATED)].sum())
    return allocated / gross


def _unaliased(frame: pd.DataFrame, config: AllocationConfig) -> list[str]:
    tags = pd.Series(frame[Focus.TeamTag].dropna().unique())
    values = tags.astype(str).str.strip().str.casefold()
    distinct = set(values.unique()) - {""}
    aliases = {fold(k) for k in config.aliases}
    return sorted(distinct - aliases)
