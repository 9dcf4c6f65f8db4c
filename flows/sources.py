"""Reading a month's sources and validating them: shared by the flow and `validate`.

Plain functions (no Prefect), so that `finops validate` runs exactly what the flow's
extract and validate tasks run, without a server.
"""

from __future__ import annotations

from ingest.billing import BillingLoad, read_billing
from ingest.config import Config
from ingest.payroll import PeopleLoad, read_people
from ingest.telemetry import TelemetryLoad, read_telemetry


def load_billing(config: Config, month: str) -> BillingLoad:
    return read_billing(
        config.sources.billing,
        month,
        team_tag=config.allocation.team_tag,
        lookahead_months=config.sources.lookahead_months,
        endpoint_url=config.s3.endpoint_url,
    )


def load_telemetry(config: Config, month: str) -> TelemetryLoad | None:
    if not config.sources.telemetry:
        return None
    return read_telemetry(
        config.sources.telemetry,
        month,
        telemetry=config.telemetry,
        endpoint_url=config.s3.endpoint_url,
    )


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
    telemetry: TelemetryLoad | None,
    people: PeopleLoad | None,
):
    """Every suite over the canonical frames, with what the readers found."""
    # Great Expectations takes seconds to import: only when validation runs.
    from ingest.validation import validate_month

    findings = list(billing.findings)
    for load in (telemetry, people):
        if load is not None:
            findings += load.findings
    return validate_month(
        month=month,
        billing=billing.frame,
        telemetry=telemetry.frame if telemetry else None,
        people=people.frame if people else None,
        reader_findings=findings,
        config=config,
    )
