"""The monthly flow as Prefect deployments: when a scheduled re-run is due, and
running one month through a server's `backfill` deployment.

Schedules (prefect.yaml): the first run of a month is at 03:00 UTC on the 3rd of the
next month, with no month given, so the flow reports the previous month. A bill is
provisional until `[report] final_after_day` of the next month (or while a CUR line has
no InvoiceId), so a follow-up schedule runs every day at 03:00 UTC from the 6th to the
28th with `only_if_provisional = true`: that run rebuilds the previous month while its
report is still provisional and the bill could now be final, and otherwise stops at
once. `rerun_due` is that decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flows import months
from reports.outputs import read_json
from transforms.errors import FinOpsError

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

MONTHLY = "monthly-report/monthly-report"
BACKFILL = "monthly-report/backfill"
# Bound on one month's run through a worker; a backfill stops waiting after this.
RUN_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class Due:
    run: bool
    reason: str


def final_from(month: str, final_after_day: int) -> datetime:
    """The first moment (UTC) at which `month`'s bill counts as final."""
    start = months.shift(month, 1)
    return datetime.strptime(f"{start}-{final_after_day:02d}", "%Y-%m-%d").replace(
        tzinfo=UTC
    )


def rerun_due(
    out: str | Path, month: str, final_after_day: int, now: datetime | None = None
) -> Due:
    """Whether a follow-up (only-if-provisional) run should rebuild `month`."""
    now = now or datetime.now(UTC)
    summary = read_json(Path(out) / month / "summary.json")
    if summary is None:
        return Due(True, f"no report for {month} yet")
    if not summary.get("provisional", False):
        return Due(False, f"{month} is final")
    final = final_from(month, final_after_day)
    if now < final:
        return Due(
            False,
            f"{month} stays provisional until {final:%Y-%m-%d}; a run now would "
            "be provisional again",
        )
    return Due(True, f"{month} is provisional; the bill may be final now")


def run_deployment_month(
    month: str,
    config_path: str,
    out: str | None,
    resend: bool,
    *,
    deployment: str = BACKFILL,
    timeout: float = RUN_TIMEOUT_SECONDS,
) -> str:
    """Trigger one month on the server, wait for a worker to finish it; its state."""
    from prefect.deployments import run_deployment

    parameters: dict = {
        "month": month,
        # The worker runs elsewhere: paths must not depend on this shell's folder.
        "config_path": str(Path(config_path).resolve()),
        "resend": resend,
    }
    if out:
        parameters["out"] = str(Path(out).resolve())
    flow_run: FlowRun = run_deployment(  # type: ignore[assignment] # sync here
        deployment, parameters=parameters, timeout=timeout, tags=["backfill"]
    )
    state = flow_run.state
    if state is None or not state.is_completed():
        name = state.name if state else "unknown"
        message = (state.message or "") if state else ""
        raise FinOpsError(
            f"{month}: run {flow_run.name} ({flow_run.id}) of {deployment} ended "
            f"{name}. {message[:300]} See the run in the Prefect UI."
        )
    return str(state.name)
