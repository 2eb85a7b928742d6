"""Idempotency keys bound to their content, as the routes use them.

    with idempotency.claimed(complaint, country):
        publish(complaint)

claims the client's key (form.client_key) for this content before the publish,
keeps it once the broker confirmed, and gives it up when the publish failed.
Raises KeyReused when the key came first with other content (the route answers
409, counted in complaints_intake_idempotency_conflicts_total) and
LedgerUnavailable when the ledger's database does not answer (the route
answers 503 with Retry-After, as for an unconfirmed publish: a complaint is
never published with a key nobody checked). The rules are in fingerprint.py
and ledger.py.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from flask import current_app

from . import countries, form, metrics
from .fingerprint import COMPLAINT, MESSAGE, complaint_content, fingerprint, message_content
from .ledger import KeyReused, LedgerUnavailable

__all__ = ["KeyReused", "LedgerUnavailable", "claimed", "conflict_detail"]

log = logging.getLogger("intake_chat")

# The name the client gave the key, by (channel, kind), for the 409's detail.
KEY_NAMES = {("web", COMPLAINT): "submission_id", ("chat", COMPLAINT): "chat_id"}


@contextmanager
def claimed(complaint, country: str | None = None):
    """`country`: the one the customer chose (part of a new complaint's content)."""
    key = form.client_key(complaint)
    if key is None:   # no key sent: every post is a complaint of its own, nothing to bind
        yield
        return
    kind = MESSAGE if complaint.threading.ticket_reference else COMPLAINT
    content = message_content(complaint) if kind == MESSAGE else complaint_content(complaint, countries.known(country))
    intake = current_app.extensions["intake_chat"]
    try:
        claim = intake.ledger.claim(complaint.channel, kind, key, fingerprint(kind, content, intake.secret),
                                    complaint.reference)
    except KeyReused:
        metrics.conflict(complaint.channel)
        log.warning("idempotency key reused with different content: refused",
                    extra={"channel": complaint.channel, "kind": kind, "reference": complaint.reference})
        raise
    except LedgerUnavailable as exc:
        metrics.rejected("database_unavailable", complaint.channel)
        log.warning("complaint not accepted: %s", exc, exc_info=exc.__cause__,
                    extra={"intake_id": complaint.intake_id})
        raise
    if claim.token is None:
        metrics.duplicate(complaint.channel)
    try:
        yield
    except BaseException:
        _quietly("give up", intake.ledger.release, claim)
        raise
    _quietly("keep", intake.ledger.confirm, claim)


def conflict_detail(exc: KeyReused) -> str:
    """What a program is told with the 409."""
    name = KEY_NAMES.get((exc.channel, exc.kind), "message_id")
    thing = "message" if exc.kind == MESSAGE else "chat" if exc.channel == "chat" else "complaint"
    return (f"this {name} was already used for a different {thing}; a retry must send exactly the same "
            f"content, and a new {thing} needs a new {name} (a fresh UUID)")


def _quietly(what: str, action, claim) -> None:
    """After the publish the answer is decided: a ledger failure now is logged, not answered.
    (A key not given up refuses other content with 409; one not kept still holds its content.)"""
    try:
        action(claim)
    except Exception as exc:  # noqa: BLE001  (any database failure; the complaint's fate is already known)
        log.warning("could not %s the idempotency key: %s", what, type(exc).__name__,
                    extra={"channel": claim.channel, "kind": claim.kind})
