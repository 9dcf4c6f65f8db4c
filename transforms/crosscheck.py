"""Checks across sources: does telemetry agree with the bill, inventory and teams?

Pure functions of small summaries the flow computes from the canonical frames and the
configuration. Every finding here is a warning (DESIGN §7: unknown tags or hosts).

`billed_gpu_instance_hours` must be in GPU-hours, like `gpu_hours_by_host`: the caller
multiplies an instance's billed hours by its GPU count from the inventory, so the two
numbers compare as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transforms.findings import Finding, Severity

MAX_EXAMPLES = 20


@dataclass
class CrossSourceContext:
    """Inputs for the cross-source checks."""

    gpu_hours_by_host: dict[str, float]  # telemetry observed GPU-hours per host
    billed_gpu_instance_hours: dict[str, float]  # billed, for cloud-mapped hosts
    telemetry_hosts: set[str]
    inventory_hosts: set[str]
    tag_teams: set[str]  # teams found in billing tags after aliasing
    known_teams: set[str]  # [people.departments] values and [teams.*]


def cross_source_findings(
    ctx: CrossSourceContext, *, tolerance: float = 0.1
) -> list[Finding]:
    """Warnings for GPU-hour gaps beyond `tolerance` (a share of the billed hours),
    telemetry hosts missing from the inventory, and tag teams nobody configured."""
    findings = [
        gap
        for host in sorted(ctx.billed_gpu_instance_hours)
        if (gap := _gpu_hours_gap(ctx, host, tolerance)) is not None
    ]
    findings += _unknown_hosts(ctx.telemetry_hosts, ctx.inventory_hosts)
    findings += _unknown_teams(ctx.tag_teams, ctx.known_teams)
    return findings


def _gpu_hours_gap(ctx: CrossSourceContext, host: str, tolerance: float):
    billed = float(ctx.billed_gpu_instance_hours[host])
    observed = float(ctx.gpu_hours_by_host.get(host, 0.0))
    if billed == observed:
        return None
    if billed > 0 and abs(observed - billed) / billed <= tolerance:
        return None
    message = (
        f"cross-source, host {host!r}: telemetry observed {observed:.3f} GPU-hours "
        f"but the bill charges {billed:.3f} GPU instance hours (tolerance "
        f"{tolerance:.0%}). Check the host's resource_id in [[inventory]] and that "
        "its exporter ran all month."
    )
    return Finding(
        Severity.WARNING,
        "cross-source",
        "gpu_hours_gap",
        message,
        column="gpu_hours",
        count=1,
        examples=[host],
    )


def _unknown_hosts(telemetry: set[str], inventory: set[str]) -> list[Finding]:
    unknown = sorted(telemetry - inventory)
    if not unknown:
        return []
    message = (
        f"cross-source: {len(unknown)} telemetry host(s) are not in [[inventory]] "
        f"({_names(unknown)}); their GPU-hours carry no cost. Add them to "
        "[[inventory]] or map them with [telemetry.hosts]."
    )
    return [_listing("unknown_host", "host", message, unknown)]


def _unknown_teams(tag_teams: set[str], known: set[str]) -> list[Finding]:
    folded = {_fold(t) for t in known}
    unknown = sorted(t for t in tag_teams if _fold(t) not in folded)
    if not unknown:
        return []
    message = (
        f"cross-source: {len(unknown)} team(s) in billing tags are unknown to "
        f"[people.departments] and [teams.*] ({_names(unknown)}). Add an alias in "
        "[allocation.aliases] or a [teams.NAME] table."
    )
    return [_listing("unknown_team", "team", message, unknown)]


def _fold(name: str) -> str:
    return name.strip().casefold()


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_EXAMPLES])
    more = len(names) - MAX_EXAMPLES
    return f"{shown} and {more} more" if more > 0 else shown


def _listing(check: str, column: str, message: str, names: list[str]) -> Finding:
    return Finding(
        Severity.WARNING,
        "cross-source",
        check,
        message,
        column=column,
        count=len(names),
        examples=list(names[:MAX_EXAMPLES]),
    )


def split_findings(
    percent_by_id: Mapping[str, float], *, file: str = "", tolerance: float = 0.01
) -> list[Finding]:
    """Blocking (DESIGN §7): people whose project splits do not sum to 100 %.

    `percent_by_id` maps a hashed id to the sum of that person's split percentages;
    the finding names hashed ids only, never a split or pay."""
    wrong = sorted(
        i for i, total in percent_by_id.items() if abs(total - 100) > tolerance
    )
    if not wrong:
        return []
    where = f"hr file {file}" if file else "hr"
    message = (
        f"{where}: the project splits of {len(wrong)} person(s) do not sum to "
        f"100 % ({_names(wrong)}); expected 100 % per person. Fix their rows in "
        "the splits file, then re-run."
    )
    return [
        Finding(
            Severity.BLOCKING,
            "hr",
            "split_sum",
            message,
            file=file,
            column="percent",
            count=len(wrong),
            examples=list(wrong[:MAX_EXAMPLES]),
        )
    ]
