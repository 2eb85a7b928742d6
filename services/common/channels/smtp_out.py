"""Mail out over SMTP (smtplib), as every service that sends mail sends it: the
notifier (customers, agents) and the console (password reset links).

One set of settings (SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USER,
SMTP_PASSWORD, SMTP_TIMEOUT, SMTP_CA_FILE) and one way to build a message: it
carries the system's loop header (the email intake skips our own mail) and
any Message-ID or threading headers the caller fixed.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from . import mail_identity


@dataclass(frozen=True)
class Smtp:
    host: str = "127.0.0.1"
    port: int = 8025
    security: str = "none"          # none | starttls | tls
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0
    ca_file: str | None = None      # trust this CA (a private one) instead of the system's


def from_env() -> Smtp:
    """The SMTP_* settings, with `make run`'s local mail sink (port 8025) by default."""
    security = os.environ.get("SMTP_SECURITY", "none").lower()
    if security not in ("none", "starttls", "tls"):
        raise ValueError(f"SMTP_SECURITY must be none, starttls or tls, not {security!r}")
    return Smtp(host=os.environ.get("SMTP_HOST", "127.0.0.1"),
                port=int(os.environ.get("SMTP_PORT", 465 if security == "tls" else 8025)),
                security=security, user=os.environ.get("SMTP_USER") or None,
                password=os.environ.get("SMTP_PASSWORD") or None,
                timeout=float(os.environ.get("SMTP_TIMEOUT", 10)),
                ca_file=os.environ.get("SMTP_CA_FILE") or None)


def build(to: str, subject: str, body: str, headers: dict) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_identity.mail_from()
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    for name in ("Message-ID", "In-Reply-To", "References", "Auto-Submitted"):
        if headers.get(name):
            msg[name] = headers[name]
    msg[mail_identity.SYSTEM_HEADER] = mail_identity.system_id()
    msg.set_content(body)
    return msg


def send(config: Smtp, msg: EmailMessage) -> str:
    """Hand the message to the SMTP server; returns its Message-ID. Raises on any
    refusal (smtplib.SMTPRecipientsRefused for a refused recipient)."""
    context = ssl.create_default_context(cafile=config.ca_file)
    if config.security == "tls":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with client:
        if config.security == "starttls":
            client.starttls(context=context)
        if config.user:
            client.login(config.user, config.password or "")
        refused = client.send_message(msg)
        if refused:  # some recipients refused, others accepted: ours is the only one
            raise smtplib.SMTPRecipientsRefused(refused)
    return msg["Message-ID"]
