"""What the ticket says about text that could not be kept as sent, in plain Python.

Two cases reach an agent as internal notes on the ticket:
- the contract repaired text no database can hold (NUL, lone surrogates):
  `repair_note` names each field and keeps the original, escaped;
- the complaint could still not be stored (a database refused it for a reason
  nobody foresaw): rather than leave the customer's complaint dead in a queue,
  `last_resort` makes an ASCII-only copy that stores anywhere, and the notes
  carry the error and the whole raw message.
"""

from __future__ import annotations

import json
from dataclasses import replace

from services.common.contract.complaint import ComplaintReceived, Customer, Threading

NOTE_AUTHOR = "system"
# Column widths of the tickets tables; the ASCII copy never exceeds them.
WIDTHS = {"subject": 300, "name": 200, "region": 64, "id": 500, "message_id": 998}


def repair_note(repairs: dict[str, str]) -> str | None:
    if not repairs:
        return None
    lines = [f"- {field}: {original}" for field, original in sorted(repairs.items())]
    return ("Some characters of this message could not be stored (NUL or broken Unicode) and were "
            "replaced by \N{REPLACEMENT CHARACTER}. What the customer sent, escaped:\n" + "\n".join(lines))


def last_resort(complaint: ComplaintReceived, raw: dict, error: str) -> tuple[ComplaintReceived, list[str]]:
    """(an ASCII-only copy of the complaint, the notes that explain it)."""
    c = complaint
    customer = Customer(
        name=_ascii(c.customer.name, WIDTHS["name"]),
        email=c.customer.email if _is_ascii(c.customer.email) else None,
        phone=c.customer.phone, whatsapp=c.customer.whatsapp,
        anonymous=c.customer.anonymous,
    )
    copy = replace(
        c, external_id=_ascii(c.external_id, WIDTHS["id"]), customer=customer,
        subject=_ascii(c.subject, WIDTHS["subject"]), body=_ascii(c.body, None) or "(empty)",
        region=_ascii(c.region, WIDTHS["region"]), attachments=(), extras={}, repairs={},
        threading=Threading(
            in_reply_to=_ascii(c.threading.in_reply_to, WIDTHS["message_id"]),
            references=tuple(_ascii(r, WIDTHS["message_id"]) for r in c.threading.references),
            ticket_reference=_ascii(c.threading.ticket_reference, 32),
            message_id=_ascii(c.threading.message_id, WIDTHS["message_id"])),
    )
    notes = [f"This message could not be stored as it was received ({_ascii(error, 500)}), so it was kept "
             "with every character outside ASCII written as an escape (\\xe9 for an e with an acute accent); "
             "attachments and channel details are in the raw message below.",
             "Raw message as received:\n" + json.dumps(raw, ensure_ascii=True, sort_keys=True, default=repr)]
    if c.customer.email and customer.email is None:
        notes.insert(1, f"The customer's address could not be kept: {_ascii(c.customer.email, None)}")
    return copy, notes


def _ascii(text: str | None, width: int | None) -> str | None:
    if text is None:
        return None
    safe = text.replace("\x00", "\\u0000").encode("ascii", "backslashreplace").decode("ascii")
    return safe[:width] if width else safe


def _is_ascii(text: str | None) -> bool:
    return text is not None and text.isascii() and "\x00" not in text
