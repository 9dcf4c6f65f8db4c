"""A real Prefect server on loopback for tests, and the CLI commands around it.

`running_server(home)` starts `prefect server start` on 127.0.0.1 and a free port with
a private PREFECT_HOME (its own SQLite database), waits for `/api/health`, and always
stops the server's whole process group on the way out. Every wait has a timeout.

Child processes (CLI, worker) get `server.env`: the API URL of this server, analytics
off, prompts off, and no PREFECT_* setting inherited from the test process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PREFECT = str(Path(sys.executable).with_name("prefect"))


@dataclass
class PrefectServer:
    url: str  # http://127.0.0.1:PORT/api
    home: Path
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    def cli(
        self, *args: str, cwd: Path | None = None, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess:
        """Run `prefect ARGS` against this server; raises with its output on failure."""
        done = subprocess.run(
            [PREFECT, *args],
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"`prefect {' '.join(args)}` exited {done.returncode}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def run_worker_once(
        self, pool: str, *, cwd: Path, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess:
        """One polling round of a worker; it waits for the runs it picked up."""
        args = ["worker", "start", "--pool", pool, "--run-once", "--limit", "1"]
        with _group(
            [PREFECT, *args], cwd=cwd, env={**self.env, **env}, log=self.home / "w.log"
        ) as worker:
            code = worker.wait(timeout=timeout)
        text = (self.home / "w.log").read_text(errors="replace")
        return subprocess.CompletedProcess(args, code, text, "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_CLI_PROMPT="false",
        PREFECT_LOGGING_LEVEL="INFO",
        # A fresh home: no profile to migrate, and no colours in captured output.
        PREFECT_CLI_COLORS="false",
        PREFECT_CLI_WRAP_LINES="false",
    )
    return env


@contextlib.contextmanager
def running_server(home: Path, *, timeout: float = 90) -> Iterator[PrefectServer]:
    """A Prefect server on 127.0.0.1; stopped (process group) when the block ends."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = child_env(home, url)
    command = [
        PREFECT,
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-ui",
        "--analytics-off",
        "--log-level",
        "WARNING",
    ]
    log = home / "server.log"
    with _group(command, cwd=home, env=env, log=log) as process:
        server = PrefectServer(url=url, home=home, env=env, process=process, log=log)
        _wait_healthy(server, timeout)
        yield server


@contextlib.contextmanager
def _group(
    command: list[str], *, cwd: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen]:
    """Start a command in its own process group; terminate the group at the end."""
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop_group(process)


def stop_group(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM the process group, then SIGKILL what is still there after `grace`."""
    if process.poll() is not None:
        _kill_leftovers(process.pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    _kill_leftovers(process.pid)


def _kill_leftovers(group: int) -> None:
    # Children (a flow run under a worker) may outlive their parent in the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _wait_healthy(server: PrefectServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"Prefect server at {server.url} not healthy:\n{tail}")
