"""Task runners (threads or Dask), the source-fingerprint cache, transient retries."""

from __future__ import annotations

import smtplib

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from flows.caching import SourceFingerprint, cached, is_transient, source_key
from flows.runners import task_runner_for
from ingest.config import Config, ReportConfig, RunConfig, SourcesConfig
from transforms.errors import ConfigError, IngestError


def _config(tmp_path, **run) -> Config:
    bills = tmp_path / "bills"
    bills.mkdir(exist_ok=True)
    (bills / "focus.csv").write_text("BilledCost\n1.00\n")
    return Config(
        report=ReportConfig(out=str(tmp_path / "out")),
        run=RunConfig(**run),
        sources=SourcesConfig(billing=[str(bills)]),
    )


# --- task runners -----------------------------------------------------------------


def test_threads_is_the_default_runner(tmp_path):
    assert isinstance(task_runner_for(_config(tmp_path)), ThreadPoolTaskRunner)


def test_a_dask_address_connects_to_that_cluster(tmp_path):
    config = _config(tmp_path, task_runner="dask", dask_address="tcp://10.0.0.5:8786")
    runner = task_runner_for(config)
    assert type(runner).__name__ == "DaskTaskRunner"
    assert runner.address == "tcp://10.0.0.5:8786"  # not contacted until used


def test_a_dask_address_without_a_scheme_is_refused(tmp_path):
    config = _config(tmp_path, task_runner="dask", dask_address="scheduler:8786")
    with pytest.raises(ConfigError, match="must look like tcp://HOST:8786"):
        task_runner_for(config)


@task
def _where(source: str) -> tuple[str, str]:
    from distributed import get_worker

    return source, get_worker().address


@flow
def _three_sources() -> list[tuple[str, str]]:
    futures = [_where.submit(s) for s in ("billing", "telemetry", "hr")]
    return [f.result() for f in futures]


@pytest.mark.slow
def test_dask_runs_the_per_source_tasks_on_a_local_cluster(prefect_server, tmp_path):
    config = _config(tmp_path, task_runner="dask")
    runner = task_runner_for(config, threads_per_worker=2)
    results = _three_sources.with_options(task_runner=runner)()
    assert [source for source, _ in results] == ["billing", "telemetry", "hr"]
    # Every task ran inside a Dask worker (get_worker raises outside one).
    assert all(address.startswith("inproc://") for _, address in results)


# --- cache keyed by the sources' fingerprint -----------------------------------------

PARSED: list[str] = []


@task(cache_policy=SourceFingerprint(kind="billing"), persist_result=True)
def _parse_billing(config: Config, month: str) -> int:
    PARSED.append(month)
    return len(PARSED)


@flow
def _extract(config: Config, month: str) -> int:
    return cached(_parse_billing, config).submit(config, month).result()


def test_the_key_changes_with_a_file_a_setting_or_the_month(tmp_path):
    config = _config(tmp_path)
    key = source_key(config, "2026-10", "billing")
    assert source_key(config, "2026-10", "billing") == key
    assert source_key(config, "2026-09", "billing") != key

    restated = tmp_path / "bills" / "focus.csv"
    restated.write_text("BilledCost\n2.00\n")  # same size, new bytes and mtime
    assert source_key(config, "2026-10", "billing") != key

    newer = source_key(config, "2026-10", "billing")
    (tmp_path / "bills" / "late.csv").write_text("BilledCost\n0.10\n")
    assert source_key(config, "2026-10", "billing") != newer


@pytest.mark.slow
def test_an_unchanged_source_is_not_parsed_again(prefect_server, tmp_path):
    PARSED.clear()
    config = _config(tmp_path)
    assert _extract(config, "2026-10") == 1
    assert _extract(config, "2026-10") == 1  # the persisted result, no parse
    assert PARSED == ["2026-10"]
    assert list((tmp_path / "out" / ".cache").glob("billing-2026-10-*"))

    (tmp_path / "bills" / "focus.csv").write_text("BilledCost\n9.99\n")
    assert _extract(config, "2026-10") == 2  # a restated bill is parsed again
    assert PARSED == ["2026-10", "2026-10"]


# --- retries only on failures that can heal --------------------------------------


def _client_error(code: str, status: int) -> ClientError:
    response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "GetObject")


def _wrapped(cause: BaseException) -> IngestError:
    try:
        raise IngestError("cannot fetch from S3", file="s3://b/k") from cause
    except IngestError as exc:
        return exc


@pytest.mark.parametrize(
    ("failure", "transient"),
    [
        (ConnectionResetError("reset"), True),  # the network dropped
        (TimeoutError("slow"), True),
        (FileNotFoundError("gone"), False),  # retrying will not bring it back
        (PermissionError("denied"), False),
        (_client_error("SlowDown", 503), True),  # S3 throttling
        (_client_error("InternalError", 500), True),
        (_client_error("NoSuchKey", 404), False),
        (_client_error("AccessDenied", 403), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (_wrapped(_client_error("SlowDown", 503)), True),  # reader wraps the cause
        (_wrapped(_client_error("NoSuchKey", 404)), False),
        (IngestError("BilledCost does not parse", file="a.csv"), False),
        (smtplib.SMTPServerDisconnected("closed"), True),
        (smtplib.SMTPResponseException(421, b"try later"), True),
        (smtplib.SMTPAuthenticationError(535, b"bad login"), False),
        (smtplib.SMTPRecipientsRefused({}), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_failures_are_retried(failure, transient):
    assert is_transient(failure) is transient


ATTEMPTS: list[str] = []


@task(retries=2, retry_delay_seconds=0, retry_condition_fn=None)
def _flaky(kind: str) -> str:
    ATTEMPTS.append(kind)
    if kind == "network" and ATTEMPTS.count(kind) == 1:
        raise ConnectionResetError("the first try drops")
    if kind == "parse":
        raise IngestError("BilledCost does not parse", file="a.csv", row=3)
    return "ok"


@pytest.mark.slow
def test_a_dropped_connection_is_retried_and_a_bad_file_is_not(prefect_server):
    from flows.caching import retry_transient

    flaky = _flaky.with_options(retry_condition_fn=retry_transient)
    ATTEMPTS.clear()

    @flow
    def _both() -> str:
        first = flaky("network")
        try:
            flaky("parse")
        except IngestError:
            return first
        return "the parse error was swallowed"

    assert _both() == "ok"
    assert ATTEMPTS.count("network") == 2
    assert ATTEMPTS.count("parse") == 1


def test_the_flow_threads_are_not_dask_threads():
    # Guard for the Dask test above: outside a worker, get_worker raises.
    from distributed import get_worker

    with pytest.raises(ValueError):
        get_worker()


@pytest.mark.slow
def test_the_monthly_flow_reads_its_sources_on_dask_when_configured(
    prefect_server, tmp_path
):
    # The extract subflow picks its runner from [run], so a deployment run started by
    # a worker uses Dask as well; the month comes out the same as with threads.
    import json

    from flows.monthly import monthly_report

    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "focus.csv").write_text(
        "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ChargePeriodStart\n"
        "12.34,10.00,USD,Usage,2026-10-02 00:00:00\n",
        encoding="utf-8",
    )
    totals = {}
    for runner in ("threads", "dask"):
        config = tmp_path / f"{runner}.toml"
        config.write_text(
            f'[report]\nout = "{runner}"\n[run]\ntask_runner = "{runner}"\n'
            '[sources]\nbilling = ["bills/"]\n',
            encoding="utf-8",
        )
        monthly_report(month="2026-10", config_path=str(config), send=False)
        summary = json.loads(
            (tmp_path / runner / "2026-10" / "summary.json").read_text()
        )
        totals[runner] = summary["totals"]
    assert totals["dask"] == totals["threads"]
    assert totals["dask"]["billed_cost"] == 12.34
