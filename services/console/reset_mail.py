"""The password reset mail: its words, and its sending through the system's SMTP
sender (services/common/channels/smtp_out.py, the SMTP_* settings the notifier
uses) on a thread of its own, so the "forgot password" page answers as fast
for a name that has an account as for one that has none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

from services.common.channels import mail_identity, smtp_out

log = logging.getLogger("console")

SUBJECT = "Reset your password for the complaints console"


def compose(user: dict, link: str, minutes: float) -> EmailMessage:
    body = (f"Hello {user['display_name']},\n\n"
            f"Someone, we hope you, asked to reset the password of the console account \"{user['name']}\".\n"
            f"To choose a new password, open this link within {minutes:g} minutes. It works once:\n\n"
            f"{link}\n\n"
            "If you did not ask for this, ignore this mail: your password stays as it is.\n")
    return smtp_out.build(user["email"], SUBJECT, body, {
        "Message-ID": make_msgid(domain=mail_identity.message_id_domain()),
        "Auto-Submitted": "auto-generated"})


def send_later(message: EmailMessage, on_failure: Callable[[Exception], None]) -> threading.Thread:
    """Send on a thread; a failure is logged (without the link) and handed to on_failure."""
    def run():
        try:
            smtp_out.send(smtp_out.from_env(), message)
        except Exception as exc:  # any failure: the person asks again; the page already answered
            log.warning("password reset mail to %s not sent: %s", message["To"], type(exc).__name__)
            on_failure(exc)

    thread = threading.Thread(target=run, name="reset-mail", daemon=True)
    thread.start()
    return thread
