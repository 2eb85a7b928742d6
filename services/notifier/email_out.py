"""Email over SMTP (smtplib): the message as the notifier sends it, and the sending.

Every message carries the system's loop header (the email intake skips our own
mail) and the Message-ID fixed when the outbox row was written, so a message
retried after a crash is the same message to the customer's mail client.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from services.common.channels import mail_identity

from .settings import Smtp


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
