"""Reading a month's sources and validating them: shared by the flow and `validate`.

Plain functions (no Prefect), so that `finops validate` runs exactly what the flow's
extract and validate tasks run, without a server.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ingest.billing import BillingLoad, read_billing
from ingest.config import Config
from ingest.payroll import PeopleLoad, read_people
from ingest.telemetry import TelemetryLoad, read_telemetry_chunks
from transforms.gpu import GpuRollup, combine_rollups, rollup_samples

if TYPE_CHECKING:  # Great Expectations takes seconds to import
    from ingest.validation import SourceOutcome

# Samples validated and rolled up at a time: a chunk, not the month, sits in memory.
CHUNK_ROWS = 4_000_000


def load_billing(config: Config, month: str) -> BillingLoad:
    return read_billing(
        config.sources.billing,
        month,
        team_tag=config.allocation.team_tag,
        lookahead_months=config.sources.lookahead_months,
        endpoint_url=config.s3.endpoint_url,
    )


@dataclass
class TelemetryData:
    """A month's telemetry read chunk by chunk: each chunk was checked against the
    telemetry suite and rolled up to GPU-hours as it arrived, then dropped."""

    load: TelemetryLoad  # inputs and the reader's findings; no samples kept
    rollup: GpuRollup
    checks: SourceOutcome

    @property
    def inputs(self) -> list:
        return self.load.inputs

    @property
    def findings(self) -> list:
        return self.load.findings

    @property
    def rows(self) -> int:
        return self.rollup.samples


def stream_telemetry(
    config: Config, month: str, chunk_rows: int = CHUNK_ROWS
) -> TelemetryData | None:
    """Read, check and roll up the month's samples one series-complete chunk at a
    time, so memory holds a chunk or two, never the month.

    A chunk is checked and rolled up on a worker thread while the reader reads the
    next one (Arrow and numpy release the GIL for most of both), one chunk at a time
    so that the roll-ups keep the reader's order."""
    if not config.sources.telemetry:
        return None
    # Great Expectations takes seconds to import: only when telemetry is read.
    from ingest.validation import TelemetryChecks

    checks = TelemetryChecks(config)
    rollups: list[GpuRollup] = []

    def work(chunk: pd.DataFrame) -> None:
        checks.add(chunk)
        rollups.append(
            rollup_samples(
                chunk,
                month=month,
                inventory=config.inventory,
                telemetry=config.telemetry,
            )
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="telemetry") as pool:
        running: list[Future] = []

        def take(chunk: pd.DataFrame) -> None:
            if running:
                running.pop().result()  # the worker's error, if any, stops the read
            running.append(pool.submit(work, chunk))

        load = read_telemetry_chunks(
            config.sources.telemetry,
            month,
            telemetry=config.telemetry,
            endpoint_url=config.s3.endpoint_url,
            on_chunk=take,
            chunk_rows=chunk_rows,
        )
        if running:
            running.pop().result()
    return TelemetryData(load, combine_rollups(rollups), checks.outcome())


def load_people(config: Config, month: str) -> PeopleLoad | None:
    if not config.sources.hr:
        return None
    return read_people(
        config.sources.hr,
        month,
        people=config.people,
        out_dir=config.report.out,
        endpoint_url=config.s3.endpoint_url,
    )


def validate_sources(
    config: Config,
    month: str,
    billing: BillingLoad,
    telemetry: TelemetryData | None,
    people: PeopleLoad | None,
):
    """Every suite over the canonical frames, with what the readers found.

    Telemetry was checked chunk by chunk while it was read: its outcome joins the
    others."""
    # Great Expectations takes seconds to import: only when validation runs.
    from ingest.validation import validate_month

    findings = list(billing.findings)
    for load in (telemetry, people):
        if load is not None:
            findings += load.findings
    return validate_month(
        month=month,
        billing=billing.frame,
        telemetry=None,
        people=people.frame if people else None,
        reader_findings=findings,
        config=config,
        telemetry_checks=telemetry.checks if telemetry else None,
    )
