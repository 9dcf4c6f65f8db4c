"""Resource tags in AWS CUR: which columns hold them and how the team tag is found.

Legacy slash headers keep a tag key as written (`resourceTags/user:team`), so keys that
differ only in `:` or `/` stay two tags. Athena snake_case (`resource_tags_user_team`)
and CUR 2.0 (`resource_tags` map) fold every key to lower snake case, so two keys that
fold to the same name cannot be told apart: that is reported as a collision and the
first column (or map entry) wins. `noTags/...` columns are not tags.

`team_tag = "team"` finds `user:team`, `team`, `user_team` (any dialect).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pandas as pd

from ingest.billing_common import NULL_TEXTS, Tally, compact_json

SLASH_PREFIX = "resourceTags/"
SNAKE_PREFIX = "resource_tags_"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def snake_key(key: str) -> str:
    """Athena's and CUR 2.0's folding: 'user:CostCenter' -> 'user_cost_center'."""
    return _NOT_WORD.sub("_", _CAMEL.sub("_", key.strip()).lower()).strip("_")


def team_keys(team_tag: str, folded: bool) -> list[str]:
    keys = [team_tag, f"user:{team_tag}"]
    if folded:
        keys = [snake_key(k) for k in keys]
    return keys


@dataclass
class TagColumns:
    """Tag columns of one header: source column -> tag key, and the collisions."""

    columns: dict[str, str] = field(default_factory=dict)
    collisions: dict[str, list[str]] = field(default_factory=dict)
    folded: bool = False

    def column_for(self, team_tag: str) -> str | None:
        by_key = {key: column for column, key in self.columns.items()}
        for key in team_keys(team_tag, self.folded):
            if key in by_key:
                return by_key[key]
        return None


def find_tag_columns(header: list[str], fmt: str) -> TagColumns:
    """Tag columns of a CUR header; `header` as read (duplicates allowed)."""
    from ingest.billing_io import unique_names

    tags = TagColumns(folded=fmt in ("cur-athena", "cur-2.0"))
    seen: dict[str, list[str]] = {}
    for name, column in zip(header, unique_names(header), strict=True):
        key = _tag_key(name, tags.folded)
        if key is None:
            continue
        seen.setdefault(key, []).append(name)
        if len(seen[key]) == 1:
            tags.columns[column] = key
    tags.collisions = {k: v for k, v in seen.items() if len(v) > 1}
    return tags


def _tag_key(name: str, folded: bool) -> str | None:
    if name.startswith(SLASH_PREFIX):
        key = name[len(SLASH_PREFIX) :]
        return snake_key(key) if folded else key
    if name.startswith(SNAKE_PREFIX):
        return name[len(SNAKE_PREFIX) :]
    return None


def cur2_tags(
    chunk: pd.DataFrame, team_tag: str, tally: Tally
) -> tuple[pd.Series, pd.Series]:
    """CUR 2.0 `resource_tags` (a map, or JSON text in CSV) -> compact JSON, team."""
    values = chunk["resource_tags"]
    wanted = team_keys(team_tag, folded=True)
    results = values.map(lambda v: _fold_mapping(v, wanted))
    compact = results.map(lambda r: r[0]).astype("object")
    team = results.map(lambda r: r[1]).astype("object")
    clash = results.map(lambda r: r[2])
    hit = clash.astype(bool)
    tally.record(
        "tag_key_collision",
        "resource_tags",
        "tag keys that stay distinct after folding to snake case",
        chunk["_row"][hit],
        clash[hit].map(", ".join),
    )
    return compact, team


def _fold_mapping(value: object, wanted: list[str]) -> tuple:
    mapping = _as_mapping(value)
    folded: dict[str, str] = {}
    clashes: list[str] = []
    for key, tag_value in mapping.items():
        name = snake_key(str(key))
        if name in folded:
            clashes.append(str(key))
            continue
        folded[name] = tag_value
    team = next((folded[k] for k in wanted if folded.get(k) is not None), None)
    return compact_json(folded), None if team is None else str(team), clashes


def _as_mapping(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):  # a map read as (key, value) pairs
        return dict(value)
    if not isinstance(value, str) or value.strip() in NULL_TEXTS:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
