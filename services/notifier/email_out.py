"""Email over SMTP: the notifier builds and sends its mail with the system's one
SMTP sender (services/common/channels/smtp_out.py, shared with the console).

Every message carries the Message-ID fixed when the outbox row was written, so
a message retried after a crash is the same message to the customer's mail client.
"""

from services.common.channels.smtp_out import build, send

__all__ = ["build", "send"]
