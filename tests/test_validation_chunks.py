"""The telemetry suite run chunk by chunk gives what one run over all samples gives."""

import pandas as pd
import pytest

from ingest.validation import TelemetryChecks, validate_month
from tests.test_validation import MONTH, billing_frame, inventory, telemetry_frame


def samples() -> pd.DataFrame:
    """Four GPUs on two hosts, with broken values in three of them."""
    parts = []
    for host, uuid in [("gpu-a1", "GPU-1"), ("gpu-a1", "GPU-2"), ("gpu-b1", "GPU-3")]:
        part = telemetry_frame()
        part["host"], part["gpu_uuid"] = host, uuid
        part["source_file"] = f"{host}.prom"
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame.loc[0, "utilization"] = 1.5
    frame.loc[4, "power_watts"] = 701.0  # over gpu-a1's cap
    frame.loc[7, "power_watts"] = -1.0
    frame.loc[8, "timestamp"] = pd.NaT
    frame.loc[5, "timestamp"] = frame.loc[4, "timestamp"]  # a duplicate sample
    return frame


def validate(telemetry=None, telemetry_checks=None):
    return validate_month(
        month=MONTH,
        billing=billing_frame(),
        telemetry=telemetry,
        people=None,
        reader_findings=[],
        config=inventory(700),
        telemetry_checks=telemetry_checks,
    )


@pytest.mark.parametrize("sizes", [[9], [3, 3, 3], [6, 3], [3, 6]])
def test_chunks_give_the_findings_and_counts_of_one_run(sizes):
    frame = samples()
    whole = validate(telemetry=frame)
    checks = TelemetryChecks(inventory(700))
    start = 0
    for size in sizes:
        checks.add(frame.iloc[start : start + size])
        start += size

    chunked = validate(telemetry_checks=checks.outcome())

    assert checks.rows == 9 and checks.chunks == len(sizes)
    assert [f.message for f in chunked.findings] == [f.message for f in whole.findings]
    assert [f.examples for f in chunked.findings] == [
        f.examples for f in whole.findings
    ]
    assert (chunked.checks, chunked.failed, chunked.rows_rejected) == (
        whole.checks,
        whole.failed,
        whole.rows_rejected,
    )
    assert chunked.pages["telemetry.html"] == whole.pages["telemetry.html"]
    assert {f.check for f in chunked.findings} >= {
        "utilization_range",
        "power_over_cap",
        "unparsed_value",
    }


def test_no_chunk_at_all_is_a_month_without_samples():
    outcome = TelemetryChecks(inventory(700)).outcome()

    assert outcome.rows == 0
    assert [f.check for f in outcome.findings] == ["no_rows_for_month"]
