"""The monthly flow emails its reports once, to the right people (DESIGN §5)."""

from __future__ import annotations

import email
import json
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from flows.monthly import monthly_report, send_existing

pytestmark = pytest.mark.slow

FOCUS = """\
BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ServiceName,ServiceCategory,ProviderName,PublisherName,InvoiceIssuerName,SubAccountId,InvoiceId,Tags
100.00,100.00,100.00,USD,Usage,2026-10-02 00:00:00,2026-10-02 01:00:00,Amazon Elastic Compute Cloud,Compute,AWS,AWS,AWS,1,INV-1,"{""team"": ""research""}"
40.00,40.00,40.00,USD,Usage,2026-10-03 00:00:00,2026-10-03 01:00:00,Amazon Simple Storage Service,Storage,AWS,AWS,AWS,1,INV-1,"{""team"": ""inference""}"
"""


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def write_config(tmp_path, port: int) -> str:
    (tmp_path / "bills").mkdir(exist_ok=True)
    (tmp_path / "bills" / "focus.csv").write_text(FOCUS, encoding="utf-8")
    config = tmp_path / "finops.toml"
    config.write_text(
        f"""
[report]
out = "out"
team_reports = "configured"
[sources]
billing = ["bills/"]
[email]
host = "127.0.0.1"
port = {port}
security = "none"
sender = "finops@example.com"
recipients = ["finance@example.com"]
[teams.research]
email = "research-lead@example.com"
[teams.inference]
""",
        encoding="utf-8",
    )
    return str(config)


def attachments(message) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.iter_attachments()
    }


def test_reports_go_to_finance_and_each_team_gets_only_its_own(
    prefect_server, tmp_path, inbox
):
    handler, port = inbox
    config = write_config(tmp_path, port)
    monthly_report(month="2026-10", config_path=config)

    by_recipient = {tuple(to): message for to, message in handler.messages}
    assert set(by_recipient) == {
        ("finance@example.com",),
        ("research-lead@example.com",),
    }
    main = by_recipient[("finance@example.com",)]
    assert "2026-10" in main["Subject"]
    files = attachments(main)
    assert list(files) == ["report.pdf"]
    assert (
        files["report.pdf"]
        == (tmp_path / "out" / "2026-10" / "report.pdf").read_bytes()
    )
    team = attachments(by_recipient[("research-lead@example.com",)])
    assert list(team) == ["research.pdf"]

    run = json.loads((tmp_path / "out" / "2026-10" / "run.json").read_text())
    assert run["delivery"]["sent"] is True
    assert run["delivery"]["to"] == ["finance@example.com"]


def test_a_rerun_with_the_same_inputs_sends_nothing_and_send_resends(
    prefect_server, tmp_path, inbox
):
    handler, port = inbox
    config = write_config(tmp_path, port)
    monthly_report(month="2026-10", config_path=config)
    first = len(handler.messages)
    monthly_report(month="2026-10", config_path=config)
    assert len(handler.messages) == first  # idempotent: no second email
    send_existing("2026-10", config_path=config)
    assert len(handler.messages) == 2 * first


def test_a_failed_send_keeps_the_report_and_send_retries(
    prefect_server, tmp_path, inbox
):
    handler, port = inbox
    closed = free_port()  # nothing listens here
    config = write_config(tmp_path, closed)
    monthly_report(month="2026-10", config_path=config)
    month = tmp_path / "out" / "2026-10"
    assert (month / "report.pdf").is_file()
    run = json.loads((month / "run.json").read_text())
    assert run["delivery"]["sent"] is False
    assert str(closed) in run["delivery"]["error"]

    config = write_config(tmp_path, port)  # the relay is back
    delivery = send_existing("2026-10", config_path=config)
    assert delivery["sent"] is True
    assert handler.messages


class Busy(Inbox):
    """A relay that answers every message with a temporary failure."""

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), None))
        return "451 4.3.0 try again later"


def test_a_temporary_smtp_failure_is_retried_with_back_off(prefect_server, tmp_path):
    handler = Busy()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = write_config(tmp_path, controller.port)
        monthly_report(month="2026-10", config_path=config)
    finally:
        controller.stop()
    finance = [to for to, _ in handler.messages if to == ["finance@example.com"]]
    assert len(finance) == 3  # the first try and two retries
    run = json.loads((tmp_path / "out" / "2026-10" / "run.json").read_text())
    assert run["delivery"]["sent"] is False
    assert "451" in run["delivery"]["error"]
