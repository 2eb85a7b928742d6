"""What is not a complaint: the system's own mail, bounces, auto-replies and
bulk mail. Each is skipped with a reason and recorded, never silently dropped.
Plain Python over the parsed facts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.common.channels import mail_identity

from .parsing import EmailFacts

# The null address `<>` (RFC 5321: only delivery reports and other automatic
# replies use it), as in `From: MAILER DAEMON <>`.
NULL_ADDRESS = re.compile(r"<\s*>")
OWN_MAIL, BOUNCE, AUTO_REPLY, BULK = "own_mail", "bounce", "auto_reply", "bulk"
REASONS = (OWN_MAIL, BOUNCE, AUTO_REPLY, BULK)


@dataclass(frozen=True)
class Skip:
    reason: str      # one of REASONS (a metric label)
    detail: str      # which header or address decided it


def skip_reason(facts: EmailFacts) -> Skip | None:
    h = facts.headers
    system = h.get(mail_identity.SYSTEM_HEADER.lower(), "").strip()
    if system and system == mail_identity.system_id():
        return Skip(OWN_MAIL, f"{mail_identity.SYSTEM_HEADER}: {system}")
    if facts.sender_email in mail_identity.own_addresses():
        return Skip(OWN_MAIL, f"sent from the system's own address {facts.sender_email}")

    local_part = (facts.sender_email or "").partition("@")[0]
    if local_part == "mailer-daemon":
        return Skip(BOUNCE, f"from {facts.sender_email}")
    if not facts.sender_email and NULL_ADDRESS.search(h.get("from", "")):
        return Skip(BOUNCE, f"null sender address (From: {h['from'].strip()})")
    if facts.content_type == "multipart/report" and (facts.report_type or "").lower() == "delivery-status":
        return Skip(BOUNCE, "multipart/report; report-type=delivery-status")
    if "x-failed-recipients" in h:
        return Skip(BOUNCE, "X-Failed-Recipients header")

    auto_submitted = h.get("auto-submitted", "").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return Skip(AUTO_REPLY, f"Auto-Submitted: {auto_submitted}")
    for name in ("x-autoreply", "x-autorespond", "x-autoresponse"):
        if name in h and h[name].strip().lower() not in ("no", "false", "0"):
            return Skip(AUTO_REPLY, f"{name}: {h[name].strip()}")
    if facts.content_type == "multipart/report":
        return Skip(AUTO_REPLY, f"multipart/report; report-type={facts.report_type or 'unknown'}")
    if h.get("return-path", "").strip() == "<>":
        return Skip(AUTO_REPLY, "null envelope sender (Return-Path: <>)")

    precedence = h.get("precedence", "").strip().lower()
    if precedence == "auto_reply":
        return Skip(AUTO_REPLY, "Precedence: auto_reply")
    if precedence in ("bulk", "list", "junk"):
        return Skip(BULK, f"Precedence: {precedence}")
    return None
