"""Deliver reports by SMTP, as `[email]` says (DESIGN §5).

security = "starttls" (default) or "ssl": certificates are checked with
`ssl.create_default_context()` (the system's trusted authorities, host name checked).
security = "none": plain SMTP, for a relay on the same machine or network; no password
is ever sent that way. The password comes from the environment variable `password_env`
names, never from the file. Every network step has a timeout.

`send_report` never raises for a delivery failure: it returns a Delivery with
`sent=False` and an error that names the server and what went wrong, never the password,
so the report stays written and `finops send --month` can retry.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from ingest.config import EmailConfig

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0


@dataclass
class Delivery:
    """What happened to one message: stored in run.json `delivery`."""

    sent: bool
    when: str
    to: list[str] = field(default_factory=list)
    error: str = ""


def send_report(
    *,
    email: EmailConfig,
    subject: str,
    body: str,
    attachments: list[Path],
    recipients: list[str],
    ca_file: str | Path | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Delivery:
    """Send one message with the attachments to `recipients`.

    `ca_file` adds a certificate authority to trust (a PEM file), for a relay with a
    private CA and for tests with a self-signed server. The host name and certificate
    are still checked; by default only the system's authorities are trusted.
    """
    when = _now()
    to = list(recipients)
    if not to:
        return Delivery(False, when, to, "no recipients: set [email] recipients")
    password = os.environ.get(email.password_env, "") if email.username else ""
    try:
        problem = _check(email, password)
        if problem:
            return Delivery(False, when, to, problem)
        message = _message(email.sender, to, subject, body, attachments)
        _deliver(email, password, message, to, _context(ca_file), timeout)
    except (smtplib.SMTPException, OSError) as exc:
        error = _describe(email, exc, password)
        log.warning("email not sent: %s", error)
        return Delivery(False, when, to, error)
    log.info("sent %r to %s recipients via %s", subject, len(to), email.host)
    return Delivery(True, when, to, "")


def _check(email: EmailConfig, password: str) -> str:
    """A configuration problem that stops sending, or "" when there is none."""
    if not email.host:
        return "no SMTP server: set [email] host"
    if not email.sender:
        return "no sender: set [email] sender"
    if email.username and email.security == "none":
        return (
            '[email] security = "none" would send the password unencrypted; '
            'use "starttls" or "ssl", or remove username for a local relay'
        )
    if email.username and not password:
        return (
            f"the environment variable {email.password_env} is not set; "
            "export it with the SMTP password for "
            f"{email.username} ([email] password_env)"
        )
    return ""


def _message(
    sender: str, to: list[str], subject: str, body: str, attachments: list[Path]
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    for path in attachments:
        path = Path(path)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        main, sub = kind.split("/", 1)
        message.add_attachment(
            path.read_bytes(), maintype=main, subtype=sub, filename=path.name
        )
    return message


def _context(ca_file: str | Path | None) -> ssl.SSLContext:
    if ca_file is None:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=str(ca_file))


def _deliver(
    email: EmailConfig,
    password: str,
    message: EmailMessage,
    to: list[str],
    context: ssl.SSLContext,
    timeout: float,
) -> None:
    if email.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            email.host, email.port, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(email.host, email.port, timeout=timeout)
    with client:
        if email.security == "starttls":
            client.starttls(context=context)
        if email.username:
            client.login(email.username, password)
        client.send_message(message, from_addr=email.sender, to_addrs=to)


def _describe(email: EmailConfig, exc: Exception, password: str) -> str:
    """The failure in one line, naming the server; the password never appears."""
    text = f"{type(exc).__name__}: {exc}"
    if password:
        text = text.replace(password, "***")
    return (
        f"could not send through {email.host}:{email.port} "
        f"({email.security}): {text}; the report is kept, retry with "
        "`finops send --month`"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
