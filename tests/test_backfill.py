"""Backfills: months in order, idempotent re-runs, restated bills, killed runs, locks;
and when the follow-up schedule rebuilds a provisional month."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from flows.backfill import MonthRow, backfill, month_row, table
from flows.deployments import rerun_due
from reports.outputs import RunLocked, month_lock

REPO = Path(__file__).resolve().parents[1]
MONTH = "2026-10"
# Fields of summary.json that may differ between two runs of the same inputs.
RUN_SPECIFIC = {"changes_since_last_run"}


def _summary(folder: Path, **fields) -> None:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(fields))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the follow-up schedule's decision (pure) ----------------------------------------


@pytest.mark.parametrize(
    ("written", "now", "due", "why"),
    [
        # the 3rd's run failed or never happened: the follow-up makes the report
        (None, "2026-11-06T03:00", True, "no report for 2026-10 yet"),
        # final already: nothing to do
        (False, "2026-11-06T03:00", False, "2026-10 is final"),
        # provisional, and the bill can be final now (final_after_day 5)
        (True, "2026-11-06T03:00", True, "may be final now"),
        # provisional, but before the 5th a re-run would be provisional again
        (True, "2026-11-04T23:59", False, "until 2026-11-05"),
    ],
)
def test_a_follow_up_run_rebuilds_only_a_provisional_month(
    tmp_path, written, now, due, why
):
    if written is not None:
        _summary(tmp_path / MONTH, provisional=written)
    decision = rerun_due(tmp_path, MONTH, final_after_day=5, now=_at(now))
    assert decision.run is due
    assert why in decision.reason


def test_the_final_day_is_configurable(tmp_path):
    _summary(tmp_path / MONTH, provisional=True)
    now = _at("2026-11-06T03:00")
    assert rerun_due(tmp_path, MONTH, final_after_day=10, now=now).run is False
    assert rerun_due(tmp_path, MONTH, final_after_day=6, now=now).run is True


# --- the closing table (pure) ----------------------------------------------------


def test_the_closing_table_lists_months_totals_and_change():
    rows = [
        MonthRow("2026-08", "ok", 1000.0, "USD", changes=None),
        MonthRow("2026-09", "failed", error="2026-09: 1 blocking findings"),
        MonthRow("2026-10", "ok", 1250.5, "USD", provisional=True, changes=2),
    ]
    console = Console(record=True, width=140)
    console.print(table(rows))
    text = console.export_text()
    lines = {line.split()[1]: line for line in text.splitlines() if "2026-" in line}
    assert "1,000.00 USD" in lines["2026-08"] and "first run" in lines["2026-08"]
    assert "failed" in lines["2026-09"] and "blocking" in lines["2026-09"]
    # change is against the last month with a total: 1250.50 - 1000.00
    assert "+250.50" in lines["2026-10"]
    assert "2 changes" in lines["2026-10"] and "provisional" in lines["2026-10"]


def test_a_month_row_reads_the_folder(tmp_path):
    _summary(
        tmp_path / MONTH,
        currency="USD",
        provisional=False,
        totals={"total_cost": 12.34},
        changes_since_last_run=["input changed: bills/a.csv"],
    )
    (tmp_path / MONTH / "run.json").write_text(json.dumps({"delivery": {"sent": True}}))
    (tmp_path / "history" / MONTH / "run-1").mkdir(parents=True)
    row = month_row(tmp_path, MONTH)
    assert (row.total, row.changes, row.emailed) == (12.34, 1, True)


# --- the demo month, end to end ----------------------------------------------------


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller

    from tests.prefect_server import free_port

    received: list = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield "127.0.0.1", controller.port, received
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def first_run(prefect_server, tmp_path_factory, smtp):
    """The demo month with email on, reported and emailed once (shared, read-only)."""
    from flows.synthetic import write_demo

    base = tmp_path_factory.mktemp("backfill-demo")
    config = write_demo(base)
    host, port, _ = smtp
    with open(config, "a", encoding="utf-8") as handle:
        handle.write(
            f'\n[email]\nhost = "{host}"\nport = {port}\nsecurity = "none"\n'
            'sender = "finops@example.com"\nrecipients = ["cfo@example.com"]\n'
        )
    console = Console(record=True, width=140)
    code = backfill(
        MONTH, MONTH, config_path=str(config), out=None, resend=False, console=console
    )
    assert code == 0, console.export_text()
    return base, config.name, console.export_text()


@pytest.fixture
def demo(first_run):
    """The first run's folder, put back as it was (same paths, mtimes kept)."""
    base, name, _ = first_run
    pristine = base.with_name(base.name + "-pristine")
    if not pristine.exists():
        shutil.copytree(base, pristine)
    shutil.rmtree(base)
    shutil.copytree(pristine, base)
    return base / name, base / "report"


def _stable(summary_path: Path) -> dict:
    data = json.loads(summary_path.read_text())
    return {k: v for k, v in data.items() if k not in RUN_SPECIFIC}


def _reports_to(received, address: str) -> int:
    return sum(1 for envelope in received if address in envelope.rcpt_tos)


def _count_parses(monkeypatch) -> list[str]:
    import flows.sources

    calls: list[str] = []
    real = flows.sources.read_billing

    def counting(*args, **kwargs):
        calls.append(args[1] if len(args) > 1 else kwargs.get("month"))
        return real(*args, **kwargs)

    monkeypatch.setattr(flows.sources, "read_billing", counting)
    return calls


@pytest.mark.slow
def test_a_backfill_twice_gives_the_same_outputs_and_one_email(
    first_run, demo, smtp, monkeypatch
):
    config, out = demo
    emails = smtp[2]
    assert _reports_to(emails, "cfo@example.com") == 1  # the first run sent it
    assert "first run" in first_run[2]
    first = _stable(out / MONTH / "summary.json")
    parses = _count_parses(monkeypatch)

    console = Console(record=True, width=140)
    code = backfill(
        MONTH, MONTH, config_path=str(config), out=None, resend=False, console=console
    )
    assert code == 0
    assert _stable(out / MONTH / "summary.json") == first
    summary = json.loads((out / MONTH / "summary.json").read_text())
    assert summary["changes_since_last_run"] == []
    assert _reports_to(emails, "cfo@example.com") == 1  # no second email
    assert len(list((out / "history" / MONTH).iterdir())) == 1
    assert "unchanged" in console.export_text()
    assert parses == []  # the unchanged bill was not parsed again

    backfill(MONTH, MONTH, config_path=str(config), out=None, resend=True)
    assert _reports_to(emails, "cfo@example.com") == 2  # asked for: sent again
    assert parses == []


@pytest.mark.slow
def test_a_restated_bill_says_what_changed_and_keeps_the_old_report(demo, monkeypatch):
    config, out = demo
    parses = _count_parses(monkeypatch)
    before = json.loads((out / MONTH / "summary.json").read_text())
    old_run = json.loads((out / MONTH / "run.json").read_text())["run_id"]

    bill = config.parent / "inputs" / "billing" / f"focus-{MONTH}.csv"
    billed = _restate(bill, add=125.40)
    assert backfill(MONTH, MONTH, config_path=str(config), out=None, resend=False) == 0

    assert parses == [MONTH]  # the changed bill was parsed again
    after = json.loads((out / MONTH / "summary.json").read_text())
    assert after["totals"]["billed_cost"] == round(billed, 2)
    assert (
        round(after["totals"]["billed_cost"] - before["totals"]["billed_cost"], 2)
        == 125.40
    )
    changes = after["changes_since_last_run"]
    assert any("input changed" in line and bill.name in line for line in changes)
    assert any(line.startswith("billed_cost") for line in changes)
    kept = out / "history" / MONTH / old_run / "summary.json"
    assert json.loads(kept.read_text()) == before


def _restate(bill: Path, add: float) -> float:
    """Add `add` to the first usage line's BilledCost; the new independent total."""
    with open(bill, newline="") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    first = next(r for r in rows if r["ChargeCategory"] == "Usage")
    first["BilledCost"] = f"{float(first['BilledCost']) + add:.2f}"
    with open(bill, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return sum(float(r["BilledCost"] or 0) for r in rows)


@pytest.mark.slow
def test_a_run_killed_while_writing_leaves_the_last_good_report(demo, tmp_path):
    config, out = demo
    good = {p.name: p.read_bytes() for p in (out / MONTH).iterdir() if p.is_file()}

    run = _cli_run(config, tmp_path)
    try:
        staging = _wait_for(out, f".staging-{MONTH}-*/summary.json", run)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        _kill(run)
    assert not (staging.parent / "run.json").exists()  # it died midway
    assert staging.parent.exists()  # a stale staging folder is left
    now = {p.name: p.read_bytes() for p in (out / MONTH).iterdir() if p.is_file()}
    assert now == good

    backfill(MONTH, MONTH, config_path=str(config), out=None, resend=False)
    assert not list(out.glob(f".staging-{MONTH}-*"))  # the next run cleaned it


def _cli_run(config: Path, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    command = [
        sys.executable,
        "-m",
        "flows.cli",
        "run",
        "--month",
        MONTH,
        "--config",
        str(config),
        "--no-email",
    ]
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(out: Path, pattern: str, run: subprocess.Popen, timeout=240) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(out.glob(pattern))
        if found:
            return found[0]
        if run.poll() is not None:
            pytest.fail(f"the run ended ({run.returncode}) before {pattern} appeared")
        time.sleep(0.02)
    pytest.fail(f"{pattern} did not appear within {timeout} s")


def _kill(run: subprocess.Popen) -> None:
    if run.poll() is None:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)


@pytest.mark.slow
def test_a_second_run_of_a_month_in_progress_is_refused(demo):
    from flows.monthly import monthly_report

    config, out = demo
    good = (out / MONTH / "summary.json").read_bytes()
    with month_lock(out, MONTH), pytest.raises(RunLocked, match="in progress"):
        monthly_report(month=MONTH, config_path=str(config), send=False)
    assert (out / MONTH / "summary.json").read_bytes() == good
    assert not list(out.glob(f".staging-{MONTH}-*"))


@pytest.mark.slow
def test_the_follow_up_schedule_run_skips_a_final_month(demo):
    from flows.monthly import monthly_report

    config, out = demo
    summary_path = out / MONTH / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["provisional"] = False  # as a run after the final day writes it
    summary_path.write_text(json.dumps(summary))
    result = monthly_report(
        month=MONTH, config_path=str(config), send=False, only_if_provisional=True
    )
    assert result == {"skipped": "2026-10 is final"}
    assert json.loads(summary_path.read_text()) == summary  # nothing rebuilt
