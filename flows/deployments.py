"""Running the monthly flow through a Prefect server's deployment (for backfills)."""

from __future__ import annotations

from prefect.deployments import run_deployment

DEPLOYMENT = "monthly-report/monthly-report"


def run_deployment_month(
    month: str, config_path: str, out: str | None, resend: bool
) -> dict:
    """Trigger one month on the server and wait for it; the worker does the work."""
    parameters = {"month": month, "config_path": config_path, "resend": resend}
    if out:
        parameters["out"] = out
    flow_run = run_deployment(DEPLOYMENT, parameters=parameters, timeout=3600)
    state = flow_run.state
    if state is None or not state.is_completed():
        from transforms.errors import FinOpsError

        name = state.name if state else "unknown"
        raise FinOpsError(f"{month}: deployment run {flow_run.id} ended {name}")
    return {"summary_data": {}}
