"""The deployments of prefect.yaml on a real Prefect server, with a real worker.

Starts `prefect server start` on loopback, creates the process work pool, runs
`prefect deploy --all` on the project's prefect.yaml without prompts, triggers
`monthly-report` for the demo month through the API and lets one worker run it; then
checks the report on disk. Server and worker are stopped (process groups) at the end.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.prefect_server import PrefectServer, running_server, stop_group

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
MONTH = "2026-10"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("prefect-server")) as running:
        yield running


def _api(server: PrefectServer, work):
    """Run `work(client)` against this server (not the test session's own API)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def call():
        async with get_client() as client:
            return await work(client)

    with temporary_settings({PREFECT_API_URL: server.url}):
        return asyncio.run(call())


@pytest.fixture(scope="module")
def deployed(server, tmp_path_factory):
    """The pool and the deployments of prefect.yaml, for the demo configuration."""
    from flows.synthetic import write_demo

    config = write_demo(tmp_path_factory.mktemp("demo"))
    env = {"FINOPS_PROJECT_DIR": str(REPO), "FINOPS_CONFIG": str(config)}
    server.cli("work-pool", "create", "finops-process", "--type", "process")
    server.cli("--no-prompt", "deploy", "--all", cwd=REPO, timeout=120, **env)
    return config, env


def test_monthly_report_runs_through_a_deployment_and_a_worker(
    server, deployed, tmp_path
):
    config, env = deployed
    deployment = _api(
        server,
        lambda c: c.read_deployment_by_name("monthly-report/monthly-report"),
    )
    _check_deployment(deployment, config)

    out = tmp_path / "out"
    flow_run = _api(server, lambda c: _trigger(c, deployment.id, out))
    worker = server.run_worker_once("finops-process", cwd=REPO, timeout=240, **env)

    state = _api(server, lambda c: c.read_flow_run(flow_run.id)).state
    assert state.is_completed(), (
        f"{state.name}: {state.message}\n{worker.stdout[-3000:]}"
    )
    summary = json.loads((out / MONTH / "summary.json").read_text())
    assert summary["month"] == MONTH
    assert summary["totals"]["total_cost"] > 0
    assert (out / MONTH / "report.pdf").read_bytes().startswith(b"%PDF")


def test_a_backfill_with_an_api_url_runs_the_backfill_deployment(
    server, deployed, tmp_path
):
    config, env = deployed
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "flows.cli",
        "backfill",
        "--from",
        MONTH,
        "--to",
        MONTH,
        "--config",
        str(config),
        "--out",
        str(out),
    ]
    log = tmp_path / "backfill.log"
    with open(log, "w") as sink:
        waiting = subprocess.Popen(
            command,
            cwd=REPO,
            env={**server.env, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for_run(server, "backfill", timeout=120)
            server.run_worker_once("finops-process", cwd=REPO, timeout=240, **env)
            code = waiting.wait(timeout=120)
        finally:
            stop_group(waiting)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert MONTH in text and "first run" in text  # the closing table
    summary = json.loads((out / MONTH / "summary.json").read_text())
    assert summary["month"] == MONTH


def _wait_for_run(server: PrefectServer, deployment: str, timeout: float) -> None:
    async def runs(client):
        found = await client.read_deployment_by_name(f"monthly-report/{deployment}")
        from prefect.client.schemas.filters import DeploymentFilter

        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id={"any_": [found.id]})
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _api(server, runs):
            return
        time.sleep(1)
    pytest.fail(f"no run of {deployment} appeared within {timeout} s")


def _check_deployment(deployment, config: Path) -> None:
    assert deployment.parameters["config_path"] == str(config)
    assert deployment.work_pool_name == "finops-process"
    assert deployment.global_concurrency_limit.limit == 1
    crons = {s.schedule.cron: s for s in deployment.schedules}
    assert set(crons) == {"0 3 3 * *", "0 3 6-28 * *"}
    assert crons["0 3 3 * *"].schedule.timezone == "UTC"
    assert crons["0 3 6-28 * *"].parameters == {"only_if_provisional": True}
    assert deployment.pull_steps[0]["prefect.deployments.steps.set_working_directory"][
        "directory"
    ] == str(REPO)


async def _trigger(client, deployment_id, out: Path):
    return await client.create_flow_run_from_deployment(
        deployment_id,
        parameters={"month": MONTH, "out": str(out), "send": False},
    )
