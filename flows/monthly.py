"""The monthly flow: extract, validate, transform, report, deliver.

Each stage is a Prefect task; retries live on the I/O tasks only (reading sources,
sending mail). The month's folder appears all at once (reports/outputs.py) and a failed
run leaves the last good one in place.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import months, sources
from flows.caching import SourceFingerprint, cached, retry_transient
from flows.deployments import rerun_due
from flows.publish import deliver_month, write_month
from flows.runners import task_runner_for
from flows.sources import TelemetryData
from ingest.billing import BillingLoad
from ingest.config import Config, load_config
from ingest.payroll import PeopleLoad
from ingest.telemetry import empty_frame
from ingest.validation import ValidationResult
from transforms.errors import DataValidationError
from transforms.findings import blocking
from transforms.gpu import GpuRollup
from transforms.month import MonthResult, compute_month


@dataclass
class Extracted:
    billing: BillingLoad
    telemetry: TelemetryData | None
    people: PeopleLoad | None


@task(
    name="extract-billing",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_transient,
    cache_policy=SourceFingerprint(kind="billing"),
    persist_result=True,
)
def extract_billing(config: Config, month: str) -> BillingLoad:
    load = sources.load_billing(config, month)
    get_run_logger().info(
        "billing: %s lines (%s rows) for %s from %s files",
        load.lines,
        len(load.frame),
        month,
        len(load.inputs),
    )
    return load


@task(
    name="extract-telemetry",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_transient,
    cache_policy=SourceFingerprint(kind="telemetry"),
    persist_result=True,
)
def extract_telemetry(config: Config, month: str) -> TelemetryData | None:
    """Samples are checked and rolled up chunk by chunk as they are read."""
    data = sources.stream_telemetry(config, month)
    if data is None:
        return None
    get_run_logger().info(
        "telemetry: %s samples from %s files", data.rows, len(data.inputs)
    )
    return data


# Payroll is never cached on disk: its result holds each person's pay.
@task(
    name="extract-hr",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def extract_people(config: Config, month: str) -> PeopleLoad | None:
    load = sources.load_people(config, month)
    if load is None:
        return None
    get_run_logger().info(
        "hr: %s employees from %s files", len(load.frame), len(load.inputs)
    )
    return load


@flow(name="extract-sources")
def extract_sources(config: Config, month: str) -> Extracted:
    """Read the three independent sources side by side on the task runner."""
    futures = [
        cached(extract_billing, config).submit(config, month),
        cached(extract_telemetry, config).submit(config, month),
        extract_people.submit(config, month),
    ]
    billing, telemetry, people = (future.result() for future in futures)
    return Extracted(billing=billing, telemetry=telemetry, people=people)


@task(name="validate", cache_policy=NO_CACHE)
def validate(config: Config, month: str, data: Extracted) -> ValidationResult:
    result = sources.validate_sources(
        config, month, data.billing, data.telemetry, data.people
    )
    get_run_logger().info(
        "validation: %s checks, %s failed, %s warnings",
        result.checks,
        result.failed,
        result.warnings,
    )
    return result


@task(name="transform", cache_policy=NO_CACHE)
def transform(config: Config, month: str, data: Extracted) -> MonthResult:
    out = Path(config.report.out)
    previous = months.read_summary(out, months.previous(month))
    result = compute_month(
        month=month,
        config=config,
        billing=data.billing.frame,
        samples=_samples(data.telemetry),
        people=data.people.frame if data.people else None,
        previous_summary=previous,
        history=months.cost_history(out, before=month),
    )
    get_run_logger().info(
        "transform: total %.2f %s, %s recommendations",
        result.totals["total_cost"],
        result.currency,
        len(result.recommendations),
    )
    return result


def _kept(config: Config, month: str) -> str:
    """What a stopped run leaves: the month's last good report, or nothing yet."""
    if (Path(config.report.out) / month / "report.pdf").exists():
        return "the last good report is kept"
    return "no report was written"


def _samples(data: TelemetryData | None) -> pd.DataFrame | GpuRollup:
    return empty_frame() if data is None else data.rollup


@flow(name="monthly-report", log_prints=False)
def monthly_report(
    month: str | None = None,
    config_path: str = "finops.toml",
    out: str | None = None,
    send: bool = True,
    resend: bool = False,
    only_if_provisional: bool = False,
) -> dict:
    """Build, write and deliver one month's report (default: the previous month).

    `only_if_provisional` (the follow-up schedule) rebuilds the month only while its
    report is provisional and the bill may be final by now (flows/deployments.py).
    """
    month = month or months.previous_month_utc()
    months.check(month)
    config = load_config(config_path)
    if out:
        config = months.with_out(config, out)
    if only_if_provisional:
        due = rerun_due(config.report.out, month, config.report.final_after_day)
        get_run_logger().info("follow-up run: %s", due.reason)
        if not due.run:
            return {"skipped": due.reason}
    return run_month(config, month, send=send, resend=resend)


def run_month(config: Config, month: str, *, send: bool, resend: bool) -> dict:
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    timings: dict[str, float] = {}

    clock = time.perf_counter()
    # A subflow, so that [run] task_runner applies to deployment runs too.
    extract = extract_sources.with_options(task_runner=task_runner_for(config))
    data = extract(config, month)
    timings["ingest"] = time.perf_counter() - clock

    clock = time.perf_counter()
    validation = validate(config, month, data)
    timings["validate"] = time.perf_counter() - clock
    stop = blocking(validation.findings)
    if stop:
        logger.error("validation: %s blocking findings; nothing written", len(stop))
        raise DataValidationError(
            f"{month}: {len(stop)} blocking findings; {_kept(config, month)}. "
            f"First: {stop[0].message}",
            findings=stop,
        )

    clock = time.perf_counter()
    result = transform(config, month, data)
    timings["transform"] = time.perf_counter() - clock

    clock = time.perf_counter()
    written = write_month(
        config=config,
        month=month,
        run_id=run_id,
        started=started,
        data=data,
        validation=validation,
        result=result,
        timings=timings,
    )
    timings["report"] = time.perf_counter() - clock
    delivery = deliver_month(config, month, send=send, resend=resend)
    logger.info("report: %s", written["report"])
    summary = months.read_summary(Path(config.report.out), month) or {}
    brief = {
        "total_cost": summary.get("totals", {}).get("total_cost"),
        "provisional": summary.get("provisional"),
    }
    return {**written, "delivery": delivery, "timings": timings, "summary_data": brief}


@flow(name="send-report")
def send_existing(
    month: str, config_path: str = "finops.toml", out: str | None = None
) -> dict:
    """Email a report that is already written (after a failed or skipped send)."""
    months.check(month)
    config = load_config(config_path)
    if out:
        config = months.with_out(config, out)
    if not (Path(config.report.out) / month / "report.pdf").exists():
        from transforms.errors import FinOpsError

        raise FinOpsError(
            f"no report for {month} in {config.report.out}; run "
            f"`finops run --month {month}` first"
        )
    return deliver_month(config, month, send=True, resend=True)
