"""The month PDF and the team PDFs, rendered side by side.

WeasyPrint runs in one thread, so the team PDFs go to worker processes while this
process renders the month PDF. A worker is a fresh interpreter started as
`python -m reports.pdf_worker`: it imports only the report code, copies none of the
caller's threads (Prefect's logging and event loop), and, unlike a
`multiprocessing` spawn, never re-imports the caller's main script (a script without
an `if __name__ == "__main__"` guard would run again in every worker).

Whatever goes wrong with a worker (it cannot start, it dies, a render fails, it takes
too long, it leaves a PDF out) is retried here, one PDF after another: a failure that
is real then raises in this process with its own message.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reports.context import ReportContext
from reports.render import render_month_pdf, render_team_pdf

log = logging.getLogger(__name__)

# Worker processes beside this one: one per core left. Each costs ~1.5 s to start
# (Python, WeasyPrint, matplotlib), so more workers than cores only add that cost.
WORKERS = max(1, (os.cpu_count() or 2) - 1)
# What the month PDF costs in team PDFs: this process takes fewer teams after it.
MONTH_PDF_IN_TEAM_PDFS = 6
WORKER_TIMEOUT_SECONDS = 600
WORKER_MODULE = "reports.pdf_worker"
PROJECT = Path(__file__).resolve().parents[1]

Targets = Sequence[tuple[str, Path]]


def render_pdfs(
    ctx: ReportContext, month_path: Path, teams: Targets, *, workers: int = WORKERS
) -> None:
    """Write the month PDF at `month_path` and each (team, path) of `teams`."""
    if workers < 1 or not teams:
        render_month_pdf(ctx, month_path)
        _serial(ctx, teams)
        return
    mine, *shares = _lanes(teams, workers)
    with tempfile.TemporaryDirectory(prefix="finops-pdf-") as scratch:
        started = [
            _Worker.start(ctx, share, Path(scratch) / f"w{n}")
            for n, share in enumerate(shares)
            if share
        ]
        try:
            render_month_pdf(ctx, month_path)
            _serial(ctx, mine)
        finally:
            left = [team for worker in started for team in worker.finish()]
    _serial(ctx, left)


def _lanes(teams: Targets, workers: int) -> list[list[tuple[str, Path]]]:
    """Teams for this process (first lane, after the month PDF) and each worker."""
    lanes: list[list[tuple[str, Path]]] = [[] for _ in range(workers + 1)]
    load = [MONTH_PDF_IN_TEAM_PDFS] + [0] * workers
    for team in teams:
        lane = min(range(len(lanes)), key=lambda i: (load[i], -i))
        lanes[lane].append(team)
        load[lane] += 1
    return lanes


@dataclass
class _Worker:
    """One `python -m reports.pdf_worker JOB` process and the teams it renders."""

    share: list[tuple[str, Path]]
    proc: subprocess.Popen | None
    log_path: Path

    @classmethod
    def start(cls, ctx: ReportContext, share: Targets, base: Path) -> _Worker:
        job, log_path = base.with_suffix(".pickle"), base.with_suffix(".log")
        job.write_bytes(pickle.dumps((ctx, [(t, str(p)) for t, p in share])))
        command = [sys.executable, "-m", WORKER_MODULE, str(job)]
        try:
            with log_path.open("wb") as err:
                proc = subprocess.Popen(command, stderr=err, env=_env(), cwd=PROJECT)
        except OSError as exc:
            log.warning("team PDFs: no worker process (%s); rendering in turn", exc)
            proc = None
        return cls(list(share), proc, log_path)

    def finish(self) -> list[tuple[str, Path]]:
        """The teams whose PDF this worker did not write."""
        if self.proc is None:
            return self.share
        try:
            code = self.proc.wait(timeout=WORKER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            log.warning("team PDF worker ran over %ss", WORKER_TIMEOUT_SECONDS)
            return self.share
        if code != 0:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            log.warning("team PDF worker failed: %s", lines[-1] if lines else code)
            return self.share
        return [(t, p) for t, p in self.share if not Path(p).is_file()]


def _env() -> dict[str, str]:
    """This environment, with the project first on the import path."""
    env = dict(os.environ)
    paths = [str(PROJECT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def _serial(ctx: ReportContext, teams: Targets) -> None:
    for team, path in teams:
        render_team_pdf(ctx, team, Path(path))
