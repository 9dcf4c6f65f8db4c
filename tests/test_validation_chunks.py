"""The telemetry suite run chunk by chunk gives what one run over all samples gives."""

import great_expectations as gx
import numpy as np
import pandas as pd
import pytest

from ingest import validation
from ingest.suites import suspect_rows, telemetry_suite
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


@pytest.mark.parametrize(("head", "per_run"), [(1_000, 10**6), (0, 10**6), (0, 1)])
@pytest.mark.parametrize("sizes", [[9], [3, 3, 3], [3, 6]])
def test_chunks_give_the_findings_and_counts_of_one_run(
    sizes, head, per_run, monkeypatch
):
    """Also when GX sees only the rows that could fail (head: rows always judged),
    gathered over chunks (per_run: gathered rows that make GX run)."""
    monkeypatch.setattr(validation, "JUDGED_HEAD", head)
    monkeypatch.setattr(validation, "JUDGED_PER_RUN", per_run)
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


def test_every_telemetry_expectation_is_understood_by_the_prefilter():
    frame = samples()
    suspect = suspect_rows(frame, telemetry_suite({"gpu-a1": 700.0}))

    assert suspect is not None, "a new expectation type sends every sample to GX"
    # utilization 1.5, the duplicated pair (701 W is one of them), -1 W, a missing
    # timestamp; unknown utilization is in range (GX skips nulls there)
    assert np.flatnonzero(suspect).tolist() == [0, 4, 5, 7, 8]


def test_rows_outside_the_mask_pass_on_a_large_random_frame():
    rng = np.random.default_rng(7)
    frame = pd.concat([samples()] * 400, ignore_index=True)
    frame["gpu_uuid"] = [f"GPU-{i // 3}" for i in range(len(frame))]
    frame["utilization"] = rng.uniform(-0.01, 1.01, len(frame)).round(2)
    frame["power_watts"] = rng.uniform(-2, 702, len(frame)).round(0)
    suite = telemetry_suite({"gpu-a1": 700.0})
    suspect = suspect_rows(frame, suite)

    whole = validate(telemetry=frame)
    clean = frame[~suspect]
    clean_run = validate(telemetry=clean)

    assert 0 < suspect.sum() < len(frame)
    assert [f.check for f in clean_run.findings] == []
    assert {f.check for f in whole.findings} >= {"utilization_range", "power_range"}


def test_a_share_rule_needs_every_row():
    suite = gx.ExpectationSuite(
        name="share",
        expectations=[
            gx.expectations.ExpectColumnValuesToNotBeNull(column="host", mostly=0.9)
        ],
    )

    assert suspect_rows(samples(), suite) is None
