"""`finops validate`: the extract and validate stages alone, with exit codes.

0: nothing blocks (warnings are printed); 1: blocking findings; 2: cannot run (bad
configuration, unreadable source).
"""

from __future__ import annotations

from flows import sources
from flows.months import check
from ingest.config import load_config
from transforms.findings import blocking


def validate_only(month: str, config_path: str) -> int:
    check(month)
    config = load_config(config_path)
    billing = sources.load_billing(config, month)
    telemetry = sources.stream_telemetry(config, month)
    people = sources.load_people(config, month)
    result = sources.validate_sources(config, month, billing, telemetry, people)

    from ingest.validation import blocking_table

    print(blocking_table(result))
    return 1 if blocking(result.findings) else 0
