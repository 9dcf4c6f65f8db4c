"""Cross-source checks: telemetry against the bill, inventory and known teams."""

from __future__ import annotations

import pytest

from transforms.crosscheck import (
    CrossSourceContext,
    cross_source_findings,
    split_findings,
)
from transforms.findings import Severity


def context(**changes) -> CrossSourceContext:
    """Everything agrees: 720 GPU-hours observed and billed, known hosts and teams."""
    values = dict(
        gpu_hours_by_host={"gpu-c1": 720.0, "gpu-p1": 300.0},
        billed_gpu_instance_hours={"gpu-c1": 720.0},
        telemetry_hosts={"gpu-c1", "gpu-p1"},
        inventory_hosts={"gpu-c1", "gpu-p1"},
        tag_teams={"research"},
        known_teams={"research", "inference"},
    )
    values.update(changes)
    return CrossSourceContext(**values)


def test_sources_that_agree_give_no_findings():
    assert cross_source_findings(context()) == []


def test_a_gpu_hour_gap_beyond_the_tolerance_warns_with_both_numbers():
    ctx = context(gpu_hours_by_host={"gpu-c1": 600.5})  # 16.6 % short of 720

    [finding] = cross_source_findings(ctx)

    assert finding.severity == Severity.WARNING
    assert finding.check == "gpu_hours_gap"
    assert finding.examples == ["gpu-c1"]
    assert finding.message == (
        "cross-source, host 'gpu-c1': telemetry observed 600.500 GPU-hours but the "
        "bill charges 720.000 GPU instance hours (tolerance 10%). Check the host's "
        "resource_id in [[inventory]] and that its exporter ran all month."
    )


@pytest.mark.parametrize(
    ("observed", "tolerance", "warns"),
    [
        (648.0, 0.1, False),  # exactly 10 % short: inside
        (647.9, 0.1, True),  # just beyond
        (792.0, 0.1, False),  # 10 % over: inside
        (700.0, 0.01, True),  # a tighter tolerance catches 2.8 %
    ],
)
def test_the_tolerance_is_a_share_of_the_billed_hours(observed, tolerance, warns):
    ctx = context(gpu_hours_by_host={"gpu-c1": observed})

    findings = cross_source_findings(ctx, tolerance=tolerance)

    assert bool(findings) is warns


def test_a_billed_host_without_telemetry_warns_with_zero_observed_hours():
    ctx = context(gpu_hours_by_host={})

    [finding] = cross_source_findings(ctx)

    assert "observed 0.000 GPU-hours" in finding.message
    assert "charges 720.000" in finding.message


def test_hosts_not_billed_are_not_compared():
    ctx = context(gpu_hours_by_host={"gpu-c1": 720.0, "gpu-p1": 5.0})

    assert cross_source_findings(ctx) == []


def test_telemetry_hosts_missing_from_the_inventory_warn_once_listing_them():
    ctx = context(telemetry_hosts={"gpu-c1", "gpu-z9", "gpu-a0"})

    [finding] = cross_source_findings(ctx)

    assert (finding.check, finding.count) == ("unknown_host", 2)
    assert finding.examples == ["gpu-a0", "gpu-z9"]
    assert "(gpu-a0, gpu-z9)" in finding.message


def test_long_lists_name_twenty_and_count_the_rest():
    hosts = {f"h{n:02d}" for n in range(25)}
    ctx = context(telemetry_hosts=hosts, inventory_hosts=set())

    [finding] = cross_source_findings(ctx)

    assert finding.count == 25
    assert len(finding.examples) == 20
    assert "h19 and 5 more)" in finding.message


def test_tag_teams_unknown_to_people_and_teams_warn_ignoring_case():
    ctx = context(tag_teams={"Research ", "growth"})

    [finding] = cross_source_findings(ctx)

    assert finding.severity == Severity.WARNING
    assert (finding.check, finding.examples) == ("unknown_team", ["growth"])


def test_project_splits_that_do_not_sum_to_100_percent_block_naming_hashed_ids():
    sums = {"h-1": 100.0, "h-2": 99.5, "h-3": 100.004, "h-4": 120.0}

    [finding] = split_findings(sums, file="splits.csv")

    assert finding.severity == Severity.BLOCKING
    assert finding.examples == ["h-2", "h-4"]
    assert finding.message == (
        "hr file splits.csv: the project splits of 2 person(s) do not sum to 100 % "
        "(h-2, h-4); expected 100 % per person. Fix their rows in the splits file, "
        "then re-run."
    )
    assert "99.5" not in finding.message
