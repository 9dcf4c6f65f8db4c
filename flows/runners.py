"""Which task runner the monthly flow uses: threads, or a Dask cluster.

`[run] task_runner = "threads"` (the default) runs the extract tasks on a small thread
pool in the flow's process. `"dask"` runs them on a Dask cluster through prefect-dask:
the cluster at `[run] dask_address` when it is set (`tcp://scheduler:8786`), else a
local in-process cluster, which is only a way to try the option on one machine.
"""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from ingest.config import Config
from transforms.errors import ConfigError

# The three extract tasks (billing, telemetry, HR) run side by side.
THREADS = 3
LOCAL_CLUSTER = {
    "n_workers": 1,
    "threads_per_worker": THREADS,
    # Threads in this process: no ports opened, no pickling of frames.
    "processes": False,
    "dashboard_address": None,
}


def task_runner_for(config: Config, **cluster_kwargs: Any):
    """The task runner `[run]` asks for; `cluster_kwargs` tune a local cluster."""
    if config.run.task_runner == "dask":
        return dask_runner(config.run.dask_address, **cluster_kwargs)
    return ThreadPoolTaskRunner(max_workers=THREADS)


def dask_runner(address: str = "", **cluster_kwargs: Any):
    """A DaskTaskRunner on the cluster at `address`, or on a local cluster."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError(
            '[run] task_runner = "dask" needs the prefect-dask package; install it '
            "with `pip install 'finops-ai-infra[dask]'` or set task_runner = "
            '"threads"'
        ) from exc
    if address:
        if not address.startswith(("tcp://", "tls://", "inproc://")):
            raise ConfigError(
                f"[run] dask_address must look like tcp://HOST:8786; found {address!r}"
            )
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={**LOCAL_CLUSTER, **cluster_kwargs})


def monthly_flow(config: Config):
    """The monthly flow with the task runner of this configuration."""
    from flows.monthly import monthly_report

    return monthly_report.with_options(task_runner=task_runner_for(config))
