"""The one message that enters the system: ComplaintReceived.

Every intake builds it, the tickets service consumes it. It is defined here
only; services import it and never re-declare it. Validation collects every
problem with the field it belongs to, so an intake can answer a caller with
all of them at once and a consumer can quarantine with a precise reason.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from services.common.channels.catalogue import CHANNEL_NAMES
from services.common.contract.reference import reference_for
from services.common.contract.storable_text import repair_tree

SCHEMA_VERSION = 1

CHANNELS = CHANNEL_NAMES  # services/common/channels/catalogue.py
CATEGORIES = ("billing", "technical", "delivery", "product", "service", "other")
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
# No whitespace, control characters or U+FFFD (what a repaired byte became) in an address.
EMAIL_RE = re.compile("[^@\\s<>\x00-\x1f\x7f\ufffd]+@[^@\\s<>\x00-\x1f\x7f\ufffd]+\\.[^@\\s<>\x00-\x1f\x7f\ufffd]+")
# Matched whole (fullmatch). E.164: a plus and up to 15 digits.
PHONE_RE = re.compile(r"\+[1-9][0-9]{6,14}")

MAX_SUBJECT = 300
MAX_BODY = 100_000
MAX_NAME = 200
MAX_EXTERNAL_ID = 500
MAX_LANGUAGE = 35  # BCP 47's longest common tags; also the tickets column's width
# Contact details are refused, never repaired: a repaired address reaches somebody else.
IDENTITY_FIELDS = ("customer.email", "customer.phone", "customer.whatsapp")
# Ids must stay distinct after repair: they keep the escaped spelling instead of U+FFFD.
ID_FIELDS = ("external_id", "threading.in_reply_to", "threading.message_id")


class ContractError(ValueError):
    """Raised with every invalid field named: {"customer.email": "not an email address"}."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))


@dataclass(frozen=True)
class Customer:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    whatsapp: str | None = None
    anonymous: bool = False

    def identities(self) -> dict[str, str]:
        """The identities that can match a customer to an existing ticket."""
        return {k: v for k, v in (("email", self.email), ("phone", self.phone),
                                  ("whatsapp", self.whatsapp)) if v}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Threading:
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    # A reference the intake verified itself (tracking token, IVR entry):
    # trusted without matching the customer's identity.
    ticket_reference: str | None = None
    # This message's own id (email Message-ID), so later replies can thread to it.
    message_id: str | None = None


@dataclass(frozen=True)
class ComplaintReceived:
    intake_id: str
    channel: str
    external_id: str
    received_at: str
    customer: Customer
    body: str
    subject: str = ""
    category: str | None = None
    language: str | None = None
    region: str | None = None
    # Where the region came from, for explain and the console: "phone +351 (PT)",
    # "form country PT", "email domain example.pt", "mailbox support-pt", …
    region_source: str | None = None
    attachments: tuple[Attachment, ...] = ()
    threading: Threading = field(default_factory=Threading)
    extras: dict = field(default_factory=dict)
    # Text no database can hold (NUL, lone surrogates) that was replaced by U+FFFD on
    # the way in: {dotted field: the original, ASCII-escaped}. The ticket says so.
    repairs: dict = field(default_factory=dict)
    # The customer asked for this to be handled as a confidential case (a grievance:
    # harassment, discrimination, whistle-blowing): only a named group of agents sees it.
    confidential: bool = False
    schema_version: int = SCHEMA_VERSION

    @property
    def reference(self) -> str:
        """The customer-facing ticket reference, fixed at intake."""
        return reference_for(self.intake_id)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["attachments"] = [dict(a) for a in data["attachments"]]
        data["threading"]["references"] = list(data["threading"]["references"])
        for optional in ("repairs", "region_source", "confidential"):
            if not data[optional]:
                del data[optional]  # the usual case: the wire format stays as it always was
        return data

    @classmethod
    def from_dict(cls, data) -> ComplaintReceived:
        """Build and validate; raises ContractError naming every bad field."""
        if not isinstance(data, dict):
            raise ContractError({"$": "expected a JSON object"})
        data, repairs, text_errors = _storable(data)
        errors: dict[str, str] = {}
        version = data.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            errors["schema_version"] = f"unsupported version {version!r}, expected {SCHEMA_VERSION}"
        customer = _customer(data.get("customer"), errors)
        threading = _threading(data.get("threading"), errors)
        attachments = _attachments(data.get("attachments"), errors)
        complaint = dict(
            intake_id=_intake_id(data.get("intake_id"), errors),
            channel=_choice(data, "channel", CHANNELS, errors, required=True),
            external_id=_text(data, "external_id", MAX_EXTERNAL_ID, errors, required=True),
            received_at=_timestamp(data.get("received_at"), errors),
            body=_text(data, "body", MAX_BODY, errors, required=False) or "",
            subject=_text(data, "subject", MAX_SUBJECT, errors) or "",
            category=_choice(data, "category", CATEGORIES, errors),
            language=_pattern(data, "language", LANGUAGE_RE, "not a language tag like 'en' or 'pt-BR'", errors,
                              limit=MAX_LANGUAGE),
            region=_text(data, "region", 64, errors),
            region_source=_text(data, "region_source", 200, errors),
        )
        complaint["confidential"] = _flag(data, "confidential", errors)
        extras = data.get("extras") or {}
        if not isinstance(extras, dict):
            errors["extras"] = "expected an object"
        else:
            _callback(extras.get("callback"), errors)
        if "body" not in errors and not complaint["body"].strip() and not attachments and not extras:
            errors["body"] = "empty: a complaint needs text, an attachment or a recording"
        errors.update(text_errors)  # said more precisely than "not an email address"
        if errors:
            raise ContractError(errors)
        return cls(customer=customer, threading=threading, attachments=attachments,
                   extras=extras, repairs=repairs, **complaint)


def new_intake_id() -> str:
    return str(uuid.uuid4())


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# --- field validators: each records its problem under the field's dotted name


def _storable(data: dict) -> tuple[dict, dict, dict]:
    """(data with every string made storable, repairs, errors for contact details
    that needed repair). Repairs an earlier hop made (the intake) are kept."""
    earlier = data.get("repairs") or {}
    errors = {}
    if not isinstance(earlier, dict) or not all(isinstance(v, str) for v in earlier.values()):
        errors["repairs"] = "expected an object of field names to escaped text"
        earlier = {}
    data, repairs = repair_tree({k: v for k, v in data.items() if k != "repairs"})
    for name in [n for n in repairs if n in IDENTITY_FIELDS]:
        del repairs[name]
        errors[name] = "contains a character that is not text (NUL or a lone surrogate)"
    for name in [n for n in repairs if n in ID_FIELDS]:
        section, _, key = name.rpartition(".")
        (data[section] if section else data)[key] = repairs.pop(name)
    threading = data.get("threading")
    references = threading.get("references") if isinstance(threading, dict) else None
    for name in [n for n in repairs if n.startswith("threading.references[")]:
        references[int(name[len("threading.references["):-1])] = repairs.pop(name)
    return data, {**earlier, **repairs}, errors


def _text(data, name, limit, errors, required=False, prefix=""):
    value = data.get(name)
    key = prefix + name
    if value is None or value == "":
        if required:
            errors[key] = "required"
        return None
    if not isinstance(value, str):
        errors[key] = "expected a string"
        return None
    if len(value) > limit:
        errors[key] = f"too long ({len(value)} characters, at most {limit})"
        return None
    return value


def _choice(data, name, allowed, errors, required=False):
    value = _text(data, name, 64, errors, required=required)
    if value is not None and value not in allowed:
        errors[name] = f"unknown {name} {value!r}; expected one of {', '.join(allowed)}"
        return None
    return value


def _pattern(data, name, regex, message, errors, prefix="", limit=320):
    value = _text(data, name, limit, errors, prefix=prefix)
    if value is not None and not regex.fullmatch(value):
        errors[prefix + name] = message
        return None
    return value


def _flag(data, name, errors) -> bool:
    value = data.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors[name] = "expected true or false"
        return False
    return value


def _intake_id(value, errors):
    try:
        return str(uuid.UUID(str(value))) if value else _missing(errors, "intake_id")
    except ValueError:
        errors["intake_id"] = "not a UUID"
        return None


def _missing(errors, key):
    errors[key] = "required"
    return None


def _timestamp(value, errors):
    if not value:
        return _missing(errors, "received_at")
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        errors["received_at"] = "not an ISO 8601 timestamp"
        return None
    if parsed.tzinfo is None:
        errors["received_at"] = "needs a timezone offset"
        return None
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


def _customer(value, errors) -> Customer:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        errors["customer"] = "expected an object"
        return Customer()
    p = "customer."
    anonymous = value.get("anonymous", False)
    if not isinstance(anonymous, bool):
        errors[p + "anonymous"] = "expected true or false"
        anonymous = False
    customer = Customer(
        name=_text(value, "name", MAX_NAME, errors, prefix=p),
        email=_pattern(value, "email", EMAIL_RE, "not an email address", errors, prefix=p),
        phone=_pattern(value, "phone", PHONE_RE, "not an E.164 phone number like +351912345678", errors, prefix=p),
        whatsapp=_pattern(value, "whatsapp", PHONE_RE, "not an E.164 number like +351912345678", errors, prefix=p),
        anonymous=anonymous,
    )
    if anonymous and (customer.name or customer.identities()):
        errors["customer.anonymous"] = "an anonymous complaint carries no name or contact"
    return customer


def _threading(value, errors) -> Threading:
    if value is None:
        return Threading()
    if not isinstance(value, dict):
        errors["threading"] = "expected an object"
        return Threading()
    refs = value.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        errors["threading.references"] = "expected a list of message ids"
        refs = []
    return Threading(
        in_reply_to=_text(value, "in_reply_to", 998, errors, prefix="threading."),
        references=tuple(refs[-50:]),
        ticket_reference=_text(value, "ticket_reference", 32, errors, prefix="threading."),
        message_id=_text(value, "message_id", 998, errors, prefix="threading."),
    )


def _callback(value, errors) -> None:
    """extras["callback"], a customer's request to be called back, which the router and
    notifier act on: {"number": E.164, "window_start": ISO 8601 or null, "window_end": ISO 8601 or null}."""
    if value is None:
        return
    p = "extras.callback."
    if not isinstance(value, dict):
        errors["extras.callback"] = "expected an object with number, window_start, window_end"
        return
    number = value.get("number")
    if not isinstance(number, str) or not PHONE_RE.fullmatch(number):
        errors[p + "number"] = "not an E.164 phone number like +351912345678"
    bounds = {}
    for name in ("window_start", "window_end"):
        if value.get(name) is None:
            continue
        try:
            moment = datetime.fromisoformat(str(value[name]))
        except ValueError:
            errors[p + name] = "not an ISO 8601 timestamp"
            continue
        if moment.tzinfo is None:
            errors[p + name] = "needs a timezone offset"
            continue
        bounds[name] = moment
    if len(bounds) == 2 and bounds["window_end"] <= bounds["window_start"]:
        errors[p + "window_end"] = "must be after window_start"


def _attachments(value, errors) -> tuple[Attachment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        errors["attachments"] = "expected a list"
        return ()
    result = []
    for i, item in enumerate(value):
        p = f"attachments[{i}]."
        if not isinstance(item, dict):
            errors[f"attachments[{i}]"] = "expected an object"
            continue
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            errors[p + "size"] = "expected a non-negative integer"
            size = 0
        result.append(Attachment(
            filename=_text(item, "filename", 255, errors, prefix=p) or "",
            content_type=_text(item, "content_type", 255, errors, required=True, prefix=p) or "",
            size=size,
            sha256=_text(item, "sha256", 64, errors, prefix=p),
            url=_text(item, "url", 2000, errors, prefix=p),
        ))
    return tuple(result)
