"""`finops backfill`: the monthly flow once per month, in order, with a progress bar.

Open-source Prefect has no backfill command, so a backfill is one monthly run per month:
in this process when `PREFECT_API_URL` is unset, else through the server's `backfill`
deployment (a worker does the work; the outputs folder must be one both can read).
Each run is idempotent: unchanged inputs give the same outputs and no second email
unless `resend`; a month whose inputs changed states what changed since its last run.
A failed month is listed and the backfill goes on with the next one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from flows import months
from ingest.config import Config, load_config
from reports.outputs import read_json
from transforms.errors import FinOpsError


@dataclass
class MonthRow:
    month: str
    status: str  # ok, failed
    total: float | None = None
    currency: str = ""
    provisional: bool = False
    changes: int | None = None  # None: the month's first run
    emailed: bool = False
    error: str = ""


def backfill(
    first: str,
    last: str,
    *,
    config_path: str,
    out: str | None,
    resend: bool,
    console: Console | None = None,
) -> int:
    """Run every month from `first` to `last`; 0 when all succeeded, else 1."""
    todo = months.month_range(first, last)
    config = load_config(config_path)
    if out:
        config = months.with_out(config, out)
    console = console or Console()
    rows = []
    with _progress(console) as progress:
        bar = progress.add_task(f"backfill {first}..{last}", total=len(todo))
        for month in todo:
            progress.update(bar, description=f"month {month}")
            rows.append(_one(month, config, config_path, out, resend))
            progress.advance(bar)
    console.print(table(rows))
    return 0 if all(row.status == "ok" for row in rows) else 1


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def through_server() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


def _one(
    month: str, config: Config, config_path: str, out: str | None, resend: bool
) -> MonthRow:
    try:
        if through_server():
            from flows.deployments import run_deployment_month

            run_deployment_month(month, config_path, out, resend)
        else:
            from flows.runners import monthly_flow

            monthly_flow(config)(
                month=month, config_path=config_path, out=out, resend=resend
            )
    except FinOpsError as exc:
        return MonthRow(month, "failed", error=str(exc))
    return month_row(Path(config.report.out), month)


def month_row(out: Path, month: str) -> MonthRow:
    """What the month's folder says after its run."""
    summary = read_json(out / month / "summary.json") or {}
    run = read_json(out / month / "run.json") or {}
    delivery = run.get("delivery") or {}
    return MonthRow(
        month=month,
        status="ok",
        total=summary.get("totals", {}).get("total_cost"),
        currency=summary.get("currency", ""),
        provisional=bool(summary.get("provisional")),
        changes=len(summary.get("changes_since_last_run") or [])
        if (out / "history" / month).is_dir()
        else None,
        emailed=bool(delivery.get("sent")),
    )


def table(rows: list[MonthRow]) -> Table:
    """The closing table: month, status, total, change on the month before."""
    result = Table(title="backfill")
    for column in ("month", "status", "total", "change", "since last run", "note"):
        result.add_column(column, justify="right" if column == "total" else "left")
    previous = None
    for row in rows:
        result.add_row(
            row.month,
            row.status,
            "" if row.total is None else f"{row.total:,.2f} {row.currency}",
            _change(previous, row.total),
            _since(row),
            _note(row),
        )
        previous = row.total if row.total is not None else previous
    return result


def _change(previous: float | None, total: float | None) -> str:
    if total is None or previous is None:
        return ""
    return f"{total - previous:+,.2f}"


def _since(row: MonthRow) -> str:
    if row.status != "ok":
        return ""
    if row.changes is None:
        return "first run"
    return f"{row.changes} changes" if row.changes else "unchanged"


def _note(row: MonthRow) -> str:
    if row.error:
        return row.error[:100]
    notes = ["provisional"] if row.provisional else []
    if row.emailed:
        notes.append("emailed")
    return ", ".join(notes)
