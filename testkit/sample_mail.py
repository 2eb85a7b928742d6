"""Mail for the email intake's tests and benchmark: the sample messages in
tests/data/email/ (each written for the case it covers) and small plain-text
messages built for one case. Bytes only: no server here."""

from __future__ import annotations

from .paths import TEST_DATA

EMAIL = TEST_DATA / "email"


def sample(name: str) -> bytes:
    """A test message from tests/data/email/, each written for the case it covers
    (every encoding, and the input whose text used to be lost or refused by a
    database: raw 8-bit headers, NUL, odd MIME structure)."""
    return (EMAIL / f"{name}.eml").read_bytes()


def message(*, sender="Ana Lima <ana@example.org>", subject="Charged twice", body="I was charged twice.",
            message_id: str | None = None, headers: dict | None = None) -> bytes:
    """A small plain-text message built for one case (threading, load, ...)."""
    lines = [f"From: {sender}", "To: support@complaints.localhost", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
              "", body, ""]
    return "\r\n".join(lines).encode("utf-8")
