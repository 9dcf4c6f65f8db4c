"""`finops validate`: the extract and validate stages alone, with exit codes.

0: nothing blocks (warnings are printed); 1: blocking findings; 2: cannot run (bad
configuration, unreadable source).
"""

from __future__ import annotations

from ingest.billing import read_billing
from ingest.config import load_config
from ingest.payroll import read_people
from ingest.telemetry import read_telemetry
from transforms.findings import blocking


def validate_only(month: str, config_path: str) -> int:
    from flows.months import check

    check(month)
    config = load_config(config_path)
    # Great Expectations takes seconds to import: only once the configuration is good.
    from ingest.validation import blocking_table, validate_month

    billing = read_billing(
        config.sources.billing,
        month,
        team_tag=config.allocation.team_tag,
        lookahead_months=config.sources.lookahead_months,
        endpoint_url=config.s3.endpoint_url,
    )
    findings = list(billing.findings)
    telemetry = people = None
    if config.sources.telemetry:
        telemetry = read_telemetry(
            config.sources.telemetry,
            month,
            telemetry=config.telemetry,
            endpoint_url=config.s3.endpoint_url,
        )
        findings += telemetry.findings
    if config.sources.hr:
        people = read_people(
            config.sources.hr,
            month,
            people=config.people,
            out_dir=config.report.out,
            endpoint_url=config.s3.endpoint_url,
        )
        findings += people.findings
    result = validate_month(
        month=month,
        billing=billing.frame,
        telemetry=telemetry.frame if telemetry else None,
        people=people.frame if people else None,
        reader_findings=findings,
        config=config,
    )
    print(blocking_table(result))
    return 1 if blocking(result.findings) else 0
