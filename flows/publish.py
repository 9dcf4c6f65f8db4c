"""Writing the month's outputs and delivering them: the report and deliver stages."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run

from ingest.config import Config
from reports.context import build_context
from reports.csvsafe import write_csv
from reports.email import Delivery, send_report
from reports.outputs import MonthFolder, clean_stale_staging, month_lock, read_json
from reports.parallel import render_pdfs
from reports.render import slugify
from reports.summary import build_summary, json_safe
from transforms.errors import DeliveryError
from transforms.money import round_preserving_sum, to_cents
from transforms.recommend import recommendations_to_rows
from transforms.schema import TEAM_KEYS_RESERVED

PACKAGES = ("prefect", "pandas", "great-expectations", "weasyprint", "duckdb")


def write_month(
    *, config, month, run_id, started, data, validation, result, timings
) -> dict:
    out = Path(config.report.out)
    with month_lock(out, month):
        clean_stale_staging(out, month)
        folder = MonthFolder(out, month, run_id)
        try:
            paths = _write_all(
                folder,
                config,
                month,
                run_id,
                started,
                data,
                validation,
                result,
                timings,
            )
        except BaseException:
            folder.abort()
            raise
        final = folder.commit()
    return {key: str(final / rel) for key, rel in paths.items()}


def _write_all(
    folder, config, month, run_id, started, data, validation, result, timings
):
    previous_run = read_json(Path(config.report.out) / month / "run.json")
    previous_summary = read_json(Path(config.report.out) / month / "summary.json")
    inputs = _inputs(data)
    summary = build_summary(
        result,
        provisional=_provisional(config, month, data),
        fx={"as_of": config.fx_as_of or None, "rates": config.fx_rates},
        invoices=result.invoices,
        data_quality=_data_quality(validation, result.findings),
        extra={
            "cost_view": data.billing.cost_view,
            "out_of_period": data.billing.out_of_period,
            "restatements": data.billing.restatements,
            "people": _people_summary(result.people),
        },
    )
    changes = what_changed(previous_summary, summary, previous_run, inputs)
    summary["changes_since_last_run"] = changes
    folder.write_json("summary.json", summary)
    hosts = _host_records(result.gpu)
    _write_tables(folder, month, result, summary["by_team"])
    _write_hosts(folder, month, hosts, result.currency)
    for name, html in validation.pages.items():
        folder.write_text(f"data_quality/{name}", html)

    context = build_context(
        summary,
        title=config.report.title,
        previous_total=_previous_total(config, month),
        daily_cost=[(r.date, float(r.cost)) for r in result.daily_cost.itertuples()],
        gpu_heatmap=_records(
            result.gpu.daily.astype({"date": str}), ["host", "date", "utilization"]
        ),
        hosts=hosts,
        jobs=_records(result.gpu.jobs),
        findings=[f.to_dict() for f in validation.findings + result.findings],
        notes=result.notes + _billing_notes(data),
        people_note=result.people.note if result.people else "",
        changes=changes,
        team_rows=_records(rounded_allocation(result.allocation, summary["by_team"])),
        budgets={k: t.budget for k, t in config.teams.items()},
    )
    paths = {"report": "report.pdf", "summary": "summary.json"}
    teams = select_teams(config, summary["by_team"])
    team_paths = {team: f"teams/{slugify(team)}.pdf" for team in teams}
    render_pdfs(
        context,
        folder.path("report.pdf"),
        [(team, folder.path(rel)) for team, rel in team_paths.items()],
    )
    paths.update({f"team:{team}": rel for team, rel in team_paths.items()})

    finished = datetime.now(UTC)
    folder.write_json(
        "run.json",
        {
            "run_id": run_id,
            "month": month,
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "status": "completed",
            "provisional": summary["provisional"],
            "inputs": inputs,
            "findings": [f.to_dict() for f in validation.findings + result.findings],
            "versions": _versions(),
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "delivery": (previous_run or {}).get("delivery")
            if _same_inputs(previous_run, inputs)
            else None,
        },
    )
    return paths


def rounded_allocation(rows: pd.DataFrame, by_team: dict[str, float]) -> pd.DataFrame:
    """Allocation rows in cents that add up to summary.json's rounded team amounts.

    Each team's rows are rounded so they sum to that team's amount in `by_team`,
    which itself sums to the total: the CSV, the summary and the PDFs agree.
    """
    rows = rows.reset_index(drop=True).copy()
    for team, group in rows.groupby("team"):
        keys = [str(i) for i in group.index]
        target = by_team.get(str(team), 0.0)
        parts = round_preserving_sum(
            dict(zip(keys, group.amount, strict=True)), 2, target
        )
        rows.loc[group.index, "amount"] = [parts[k] for k in keys]
    return rows[rows.amount != 0]


def _write_tables(folder: MonthFolder, month: str, result, by_team) -> None:
    rows = rounded_allocation(result.allocation, by_team)
    rows.insert(0, "month", month)
    rows["currency"] = result.currency
    rows = rows[["month", "team", "category", "source", "amount", "currency"]]
    write_csv(rows, folder.path("allocation.csv"))
    rows.to_parquet(folder.path("allocation.parquet"), index=False)

    recs = pd.DataFrame(recommendations_to_rows(result.recommendations))
    if not recs.empty:
        recs["currency"] = result.currency
    write_csv(recs, folder.path("recommendations.csv"))
    jobs = result.gpu.jobs.copy()
    if not jobs.empty:
        jobs["cost"] = jobs["cost"].map(to_cents)
        jobs["busy_gpu_hours"] = jobs["busy_gpu_hours"].round(3)
        jobs["currency"] = result.currency
        write_csv(jobs, folder.path("jobs.csv"))


HOST_COLUMNS = [
    "month", "host", "location", "gpus", "gpu_model", "team", "observed_hours",
    "busy_hours", "idle_hours", "unknown_hours", "available_hours", "utilization",
    "energy_kwh", "cost", "idle_cost", "currency",
]  # fmt: skip


def _write_hosts(folder: MonthFolder, month: str, hosts: list[dict], currency: str):
    """hosts.csv: every host's GPU use and cost (the PDF shows the costliest)."""
    if not hosts:
        return
    frame = pd.DataFrame(hosts).assign(month=month, currency=currency)
    frame = frame[[c for c in HOST_COLUMNS if c in frame.columns]]
    for column in ("cost", "idle_cost"):
        if column in frame:
            frame[column] = frame[column].map(to_cents)
    hours = [c for c in frame.columns if c.endswith("_hours") or c == "energy_kwh"]
    frame[hours] = frame[hours].astype(float).round(3)
    write_csv(frame, folder.path("hosts.csv"))


def select_teams(config: Config, by_team: dict[str, float]) -> list[str]:
    if config.report.team_reports == "none":
        return []
    if config.report.team_reports == "all":
        return [t for t in by_team if t not in TEAM_KEYS_RESERVED]
    return [t for t in config.teams if t in by_team]


def what_changed(
    old: dict | None, new: dict, old_run: dict | None, inputs: list[dict]
) -> list[str]:
    """Plain sentences on what differs from the last run of the same month."""
    if not old:
        return []
    lines = []
    old_inputs = {i["uri"]: i["sha256"] for i in (old_run or {}).get("inputs", [])}
    for item in inputs:
        before = old_inputs.get(item["uri"])
        if before is None:
            lines.append(f"new input {item['uri']}")
        elif before != item["sha256"]:
            lines.append(f"input changed: {item['uri']}")
    for key in ("total_cost", "billed_cost", "effective_cost"):
        a, b = old.get("totals", {}).get(key), new["totals"][key]
        if a is not None and round(a - b, 2) != 0:
            lines.append(f"{key} {a:,.2f} -> {b:,.2f} ({b - a:+,.2f})")
    for key, b in new["by_category"].items():
        a = old.get("by_category", {}).get(key, 0.0)
        if round(a - b, 2) != 0:
            lines.append(f"category {key} {a:,.2f} -> {b:,.2f} ({b - a:+,.2f})")
    return lines


def _same_inputs(previous_run: dict | None, inputs: list[dict]) -> bool:
    if not previous_run:
        return False
    before = sorted((i["uri"], i["sha256"]) for i in previous_run.get("inputs", []))
    return before == sorted((i["uri"], i["sha256"]) for i in inputs)


def _inputs(data) -> list[dict]:
    loads = [data.billing, data.telemetry, data.people]
    return [i.to_dict() for load in loads if load is not None for i in load.inputs]


def _provisional(config: Config, month: str, data) -> bool:
    from flows.months import shift

    final_from = datetime.strptime(
        f"{shift(month, 1)}-{config.report.final_after_day:02d}", "%Y-%m-%d"
    ).replace(tzinfo=UTC)
    return bool(data.billing.provisional) or datetime.now(UTC) < final_from


def _data_quality(validation, later: list) -> dict:
    """Validation's counts plus the warnings the transform found across sources."""
    extra = sum(1 for f in later if f.severity == "warning")
    return {
        "checks": validation.checks,
        "failed": validation.failed,
        "warnings": validation.warnings + extra,
        "rows_rejected": validation.rows_rejected,
    }


def _people_summary(people) -> dict:
    if people is None:
        return {"included": False, "note": "no HR source configured"}
    return {
        "included": not people.suppressed,
        "in_scope": people.in_scope_count,
        "out_of_scope": people.out_of_scope_count,
        "note": people.note,
    }


def _billing_notes(data) -> list[str]:
    notes = [f"Cloud cost view: {data.billing.cost_view}."]
    oop = data.billing.out_of_period or {}
    if oop.get("rows"):
        notes.append(
            f"{oop['rows']:,} billing rows read but dated outside the month "
            f"(billed {oop.get('billed_cost', 0.0):,.2f}) were left out."
        )
    for item in data.billing.restatements or []:
        notes.append(
            f"Restatement of {item['month']}: {item['rows']:,} rows, billed "
            f"{item['billed_cost']:,.2f}; re-run {item['month']} to include them."
        )
    return notes


def _previous_total(config: Config, month: str) -> float | None:
    from flows.months import previous, read_summary

    summary = read_summary(Path(config.report.out), previous(month))
    return float(summary["totals"]["total_cost"]) if summary else None


def _records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    return json_safe(frame.astype(object).where(frame.notna(), None).to_dict("records"))


def _host_records(gpu) -> list[dict]:
    """Per-host rows for the report, with each host's idle cost."""
    return [] if gpu.per_host.empty else _records(gpu.per_host)


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


DELIVERY_RETRIES = 2


@task(
    name="deliver",
    retries=DELIVERY_RETRIES,
    retry_delay_seconds=[5, 20],
    cache_policy=NO_CACHE,
)
def deliver_month(config: Config, month: str, *, send: bool, resend: bool) -> dict:
    """Email the month's reports unless they were already sent (or `resend`)."""
    logger = get_run_logger()
    folder = Path(config.report.out) / month
    run = read_json(folder / "run.json") or {}
    already = (run.get("delivery") or {}).get("sent")
    if config.email is None or not config.email.host:
        return {"sent": False, "reason": "no [email] configured"}
    if not send or (already and not resend):
        logger.info("email: not sent again for %s (use --resend to send)", month)
        return {"sent": bool(already), "reason": "already sent" if already else "off"}
    deliveries = _send_all(config, month, folder)
    run["delivery"] = deliveries
    _replace_json(folder / "run.json", run)
    if not deliveries["sent"] and task_run.run_count <= DELIVERY_RETRIES:
        # The report stays written and run.json says "not sent"; Prefect tries again
        # after a back-off, and the last attempt gives up without failing the run.
        raise DeliveryError(f"{month}: email not sent ({deliveries['error']})")
    return deliveries


def _send_all(config: Config, month: str, folder: Path) -> dict:
    email = config.email
    if email is None:  # deliver_month checked; this keeps the type checker informed
        return {"sent": False, "reason": "no [email] configured"}
    title = f"{config.report.title} - {month}"
    main: Delivery = send_report(
        email=email,
        subject=title,
        body=f"The {month} report is attached.\n",
        attachments=[folder / "report.pdf"],
        recipients=list(email.recipients),
    )
    record = {**vars(main), "teams": {}}
    for team, team_config in config.teams.items():
        pdf = folder / "teams" / f"{slugify(team)}.pdf"
        if team_config.email and pdf.exists():
            sent = send_report(
                email=email,
                subject=f"{title} - {team}",
                body=f"The {month} report of team {team} is attached.\n",
                attachments=[pdf],
                recipients=[team_config.email],
            )
            record["teams"][team] = vars(sent)
    return record


def _replace_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(json_safe(data), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
