"""Cloud cost to teams: tags, aliases, accounts, shared pools (DESIGN §4)."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.config import AllocationConfig, SharedPool
from tests.billing_frames import billing_frame
from transforms.allocation import allocate_cloud, resolve_teams
from transforms.costs import categorize
from transforms.schema import Focus


def test_tags_are_trimmed_folded_and_aliased_then_accounts_then_unallocated():
    frame = billing_frame(
        [
            {"cost": 1.0, Focus.TeamTag: "  ML-Platform "},  # alias after folding
            {"cost": 1.0, Focus.TeamTag: "Research"},  # folded, no alias
            {"cost": 1.0, Focus.SubAccountId: "111122223333"},  # untagged: by account
            {"cost": 1.0, Focus.TeamTag: "  "},  # blank tag counts as untagged
        ]
    )
    config = AllocationConfig(
        aliases={"ml-platform": "platform"}, accounts={"111122223333": "research"}
    )
    assert resolve_teams(frame, config).tolist() == [
        "platform",
        "research",
        "research",
        "unallocated",
    ]


def _pool_frame():
    return billing_frame(
        [
            {"cost": 30.0, Focus.TeamTag: "a"},
            {"cost": 10.0, Focus.TeamTag: "b"},
            {
                "cost": 8.0,
                Focus.ServiceName: "AWS Data Transfer",
                Focus.ServiceCategory: "Networking",
            },
            {"cost": 2.0},  # untagged, stays unallocated
        ]
    )


@pytest.mark.parametrize(
    ("method", "weights", "busy", "expected"),
    [
        ("even", {}, {}, {"a": 34.0, "b": 14.0}),
        ("proportional", {}, {}, {"a": 36.0, "b": 12.0}),  # 30:10 of 8
        ("fixed", {"a": 25, "b": 75}, {}, {"a": 32.0, "b": 16.0}),
        ("gpu_hours", {}, {"a": 1.0, "b": 3.0}, {"a": 32.0, "b": 16.0}),
    ],
)
def test_shared_pools_split_by_method(method, weights, busy, expected):
    frame = _pool_frame()
    pool = SharedPool(
        name="net", services=["AWS Data Transfer"], method=method, weights=weights
    )
    config = AllocationConfig(shared=[pool])
    result = allocate_cloud(
        frame, categorize(frame, {}), config, busy_hours_by_team=busy
    )
    by_team = result.rows.groupby("team").amount.sum().to_dict()
    assert by_team == pytest.approx({**expected, "unallocated": 2.0})
    assert sum(by_team.values()) == pytest.approx(50.0)


def test_rows_costed_through_gpu_hosts_are_not_allocated_again():
    frame = _pool_frame()
    result = allocate_cloud(
        frame, categorize(frame, {}), AllocationConfig(), skip=pd.Index([0])
    )
    assert result.rows.amount.sum() == pytest.approx(20.0)
    assert "a" not in set(result.rows.team)


def test_coverage_is_on_gross_cost_leaving_out_credits_and_negative_rows():
    frame = billing_frame(
        [
            {"cost": 75.0, Focus.TeamTag: "a"},
            {"cost": 25.0},  # unallocated
            {"cost": -40.0, Focus.ChargeCategory: "Credit", Focus.TeamTag: "a"},
            {"cost": -5.0, Focus.TeamTag: "a"},  # a negative usage row
        ]
    )
    result = allocate_cloud(frame, categorize(frame, {}), AllocationConfig())
    assert result.coverage == pytest.approx(0.75)


def test_an_all_null_arrow_tag_column_falls_back_to_accounts():
    # The real CUR bucket has no team tag at all: the reader's column is Arrow's null
    # type, which pandas could not fill with the account teams.
    import pyarrow as pa

    frame = billing_frame([{"cost": 1.0, Focus.SubAccountId: "42"}, {"cost": 2.0}])
    frame[Focus.TeamTag] = pd.array([None, None], dtype=pd.ArrowDtype(pa.null()))
    config = AllocationConfig(accounts={"42": "research"})
    assert resolve_teams(frame, config).tolist() == ["research", "unallocated"]
