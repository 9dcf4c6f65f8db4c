"""Email delivery against a real SMTP server on loopback (aiosmtpd).

The server runs inside each test on 127.0.0.1 and a free port; STARTTLS uses a
self-signed certificate made here, trusted by the client through `ca_file` only.
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import logging
import socket
import ssl
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ingest.config import EmailConfig
from reports.email import send_report

pytestmark = pytest.mark.slow

PASSWORD = "s3cret-Pa55-do-not-print"
PDF_BYTES = b"%PDF-1.7\n% a tiny stand-in for the report\n%%EOF\n"


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def accept_password(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"right"
    return AuthResult(success=ok, handled=False)  # False: the server sends 535


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pdf(tmp_path) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(PDF_BYTES)
    return path


@pytest.fixture
def plain_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert.pem, key.pem)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(certificate):
    cert_path, key_path = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=accept_password,
        auth_require_tls=True,
    )
    controller.start()
    yield inbox, controller.port
    controller.stop()


def config(port: int, **changes) -> EmailConfig:
    values = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "finops@example.com",
        "password_env": "FINOPS_TEST_SMTP_PASSWORD",
    }
    return EmailConfig(**(values | changes))


def test_plain_relay_delivers_subject_recipients_and_the_pdf(plain_server, pdf):
    inbox, port = plain_server
    to = ["finance@example.com", "platform@example.com"]

    delivery = send_report(
        email=config(port),
        subject="AI infrastructure cost 2026-10",
        body="The report is attached.",
        attachments=[pdf],
        recipients=to,
    )

    assert delivery.sent, delivery.error
    assert delivery.to == to and delivery.error == ""
    [(rcpt, message)] = inbox.messages
    assert rcpt == to
    assert message["Subject"] == "AI infrastructure cost 2026-10"
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "report.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == PDF_BYTES


def test_starttls_with_a_trusted_ca_logs_in_and_delivers(
    tls_server, certificate, pdf, monkeypatch
):
    inbox, port = tls_server
    monkeypatch.setenv("FINOPS_TEST_SMTP_PASSWORD", "right")
    email_config = config(port, security="starttls", username="finops")

    delivery = send_report(
        email=email_config,
        subject="research 2026-10",
        body="Your team's report.",
        attachments=[pdf],
        recipients=["research-lead@example.com"],
        ca_file=certificate[0],
    )

    assert delivery.sent, delivery.error
    [(rcpt, message)] = inbox.messages
    assert rcpt == ["research-lead@example.com"]
    [part] = list(message.iter_attachments())
    assert part.get_content() == PDF_BYTES


def test_starttls_refuses_an_untrusted_certificate_by_default(tls_server, pdf):
    inbox, port = tls_server

    delivery = send_report(
        email=config(port, security="starttls"),
        subject="s",
        body="b",
        attachments=[pdf],
        recipients=["a@example.com"],
    )

    assert not delivery.sent
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.error
    assert inbox.messages == []


def test_a_wrong_password_never_appears_in_the_error_or_logs(
    tls_server, certificate, pdf, monkeypatch, caplog
):
    _, port = tls_server
    monkeypatch.setenv("FINOPS_TEST_SMTP_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)

    delivery = send_report(
        email=config(port, security="starttls", username="finops"),
        subject="s",
        body="b",
        attachments=[pdf],
        recipients=["a@example.com"],
        ca_file=certificate[0],
    )

    assert not delivery.sent
    assert "SMTPAuthenticationError" in delivery.error
    assert PASSWORD not in delivery.error
    assert PASSWORD not in caplog.text


def test_a_closed_port_returns_not_sent_without_raising(pdf):
    delivery = send_report(
        email=config(free_port()),
        subject="s",
        body="b",
        attachments=[pdf],
        recipients=["a@example.com"],
        timeout=5,
    )

    assert delivery.sent is False
    assert "ConnectionRefusedError" in delivery.error
    assert "127.0.0.1" in delivery.error


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "finops", "security": "starttls"}, "FINOPS_TEST_SMTP_PASSWORD"),
        ({"username": "finops"}, "unencrypted"),  # never a password in clear
        ({"host": ""}, "set [email] host"),
    ],
)
def test_configuration_problems_are_reported_before_connecting(
    changes, message, pdf, monkeypatch
):
    monkeypatch.delenv("FINOPS_TEST_SMTP_PASSWORD", raising=False)
    if changes.get("security") != "starttls" and "username" in changes:
        monkeypatch.setenv("FINOPS_TEST_SMTP_PASSWORD", PASSWORD)

    delivery = send_report(
        email=config(free_port(), **changes),
        subject="s",
        body="b",
        attachments=[pdf],
        recipients=["a@example.com"],
    )

    assert not delivery.sent
    assert message in delivery.error
    assert PASSWORD not in delivery.error


def test_implicit_ssl_delivers_with_a_trusted_ca(certificate, pdf):
    cert_path, key_path = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), ssl_context=context
    )
    controller.start()
    try:
        delivery = send_report(
            email=config(controller.port, security="ssl"),
            subject="ssl",
            body="b",
            attachments=[pdf],
            recipients=["a@example.com"],
            ca_file=cert_path,
        )
    finally:
        controller.stop()

    assert delivery.sent, delivery.error
    assert [rcpt for rcpt, _ in inbox.messages] == [["a@example.com"]]
