"""`finops backfill`: the monthly flow once per month, in order, with a progress bar.

Open-source Prefect has no backfill command, so a backfill is one monthly run per month.
Each run is idempotent: unchanged inputs give the same outputs and no second email.
"""

from __future__ import annotations

import os

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from flows import months
from transforms.errors import FinOpsError


def backfill(
    first: str, last: str, *, config_path: str, out: str | None, resend: bool
) -> int:
    todo = months.month_range(first, last)
    console = Console()
    rows = []
    with Progress(console=console, transient=False) as progress:
        bar = progress.add_task(f"backfill {first}..{last}", total=len(todo))
        for month in todo:
            progress.update(bar, description=f"backfill {month}")
            rows.append(_one(month, config_path, out, resend))
            progress.advance(bar)
    console.print(_table(rows))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def _one(month: str, config_path: str, out: str | None, resend: bool) -> dict:
    from flows.deployments import run_deployment_month
    from flows.monthly import monthly_report

    try:
        if os.environ.get("PREFECT_API_URL"):
            result = run_deployment_month(month, config_path, out, resend)
        else:
            result = monthly_report(
                month=month, config_path=config_path, out=out, resend=resend
            )
    except FinOpsError as exc:
        return {"month": month, "status": "failed", "error": str(exc)}
    summary = result.get("summary_data") or {}
    return {"month": month, "status": "ok", **summary}


def _table(rows: list[dict]) -> Table:
    table = Table(title="backfill")
    for column in ("month", "status", "total", "change", "note"):
        table.add_column(column)
    previous = None
    for row in rows:
        total = row.get("total_cost")
        change = (
            "" if total is None or previous is None else f"{total - previous:+,.2f}"
        )
        table.add_row(
            row["month"],
            row["status"],
            "" if total is None else f"{total:,.2f}",
            change,
            row.get("error", "")[:80]
            or ("provisional" if row.get("provisional") else ""),
        )
        previous = total if total is not None else previous
    return table
