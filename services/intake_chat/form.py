"""What a customer typed (JSON or form fields) -> a validated ComplaintReceived.

Plain Python, no Flask: the routes hand over a dict of fields and get back a
complaint or a FormInvalid naming each bad field by the name the customer
used (`email`, not the contract's `customer.email`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

from services.common.channels.regions import RegionGuess, RegionMap, first
from services.common.contract.complaint import ComplaintReceived, ContractError, new_intake_id, utc_now_iso

from . import countries

CHANNEL = "web"
TEXT_FIELDS = ("name", "email", "phone", "subject", "body", "category", "language", "country", "submission_id")

# The contract's dotted names -> the names of the form's inputs.
INPUT_NAMES = {
    "customer.name": "name",
    "customer.email": "email",
    "customer.phone": "phone",
    "customer.anonymous": "anonymous",
    "external_id": "submission_id",
}

# An idempotency key shared by two customers would merge their complaints
# (tickets deduplicates on channel + external_id), so refuse the trivial ones
# ("1", "test"); a UUID is what clients should send.
SUBMISSION_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{8,128}")

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off", "")

# The honeypot: an input on the form and the chat that people never see or
# reach (hidden from sight, screen readers and the keyboard, its label says to
# leave it empty) and that programs filling every input fill.
HONEYPOT_FIELD = "website"


class FormInvalid(ValueError):
    """Every bad field, keyed by input name: {"email": "not an email address"}."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))


def honeypot_filled(fields: dict) -> bool:
    """True when the hidden field came back with anything in it (an empty one, or none, is a person)."""
    value = fields.get(HONEYPOT_FIELD)
    if value is None or value is False:
        return False
    return bool(value.strip()) if isinstance(value, str) else True


def intake_id_for(submission_id: str, secret: str) -> str:
    """The same submission id always gives the same intake id, hence the same
    reference: a browser retry or a double click is told the reference of the
    first attempt, and tickets folds the duplicate into one ticket.

    uuid5 over a namespace derived from the server's secret, not a public one:
    otherwise anyone could grind submission ids offline until one maps to a
    stranger's reference, and this endpoint would hand them its tracking token.
    """
    namespace = uuid.UUID(bytes=hmac.new(secret.encode(), b"intake_chat submission", hashlib.sha256).digest()[:16])
    return str(uuid.uuid5(namespace, submission_id))


def client_key(complaint: ComplaintReceived) -> str | None:
    """The idempotency key its client sent, as it is kept in external_id: the
    submission or chat id, or "<reference>:<message_id>" for a further message.
    None when none was sent (parse then uses the random intake id): every such
    post is a complaint of its own."""
    return None if complaint.external_id == complaint.intake_id else complaint.external_id


def new_submission_id() -> str:
    """A fresh idempotency key, one per rendering of the form."""
    return uuid.uuid4().hex


def parse(fields: dict, secret: str, channel: str = CHANNEL, require_contact: bool = True,
          regions: RegionMap | None = None) -> ComplaintReceived:
    """Build the complaint the customer sent; raises FormInvalid naming every bad field.

    The web chat (channel "chat") starts with the same fields, but a contact is
    optional there: the customer is answered on the chat page itself.
    `regions` turns the country, phone or email into the complaint's region."""
    errors: dict[str, str] = {}
    text = {name: _text(fields.get(name), name, errors) for name in TEXT_FIELDS}
    if text["country"] and not countries.known(text["country"]):
        errors["country"] = "choose a country from the list (an ISO code such as PT), or leave it empty"
    anonymous = _flag(fields.get("anonymous"), errors)
    # "This is a confidential grievance": only the team's confidential group will see it.
    confidential = _flag(fields.get("confidential"), errors, "confidential")
    if anonymous:
        # Whatever was typed into the contact fields is dropped, not stored.
        text.update(name=None, email=None, phone=None)
    else:
        text["phone"] = tidy_phone(text["phone"])
        if require_contact and not text["email"] and not text["phone"] and "email" not in errors \
                and "phone" not in errors:
            errors["email"] = "give an email address or a phone number so we can answer, or choose to stay anonymous"
    if fields.get("attachments"):
        errors["attachments"] = "files cannot be attached here yet; describe the problem in the text"
    if text["language"]:
        primary, _, rest = text["language"].partition("-")
        text["language"] = primary.lower() + ("-" + rest if rest else "")

    submission_id = text["submission_id"]
    if submission_id is None:
        intake_id = new_intake_id()
        submission_id = intake_id
    elif SUBMISSION_ID_RE.fullmatch(submission_id):
        # Per channel: the same id in a chat and on the form are two complaints.
        intake_id = intake_id_for(submission_id if channel == CHANNEL else f"{channel}:{submission_id}", secret)
    else:
        errors["submission_id"] = "use a random id of 8 to 128 letters, digits, '-', '_', '.' or ':' (a UUID is best)"
        intake_id, submission_id = new_intake_id(), "invalid"

    data = {
        "schema_version": 1,
        "intake_id": intake_id,
        "channel": channel,
        "external_id": submission_id,
        "received_at": utc_now_iso(),
        "customer": {"name": text["name"], "email": text["email"], "phone": text["phone"],
                     "anonymous": anonymous},
        "subject": text["subject"],
        "body": text["body"],
        "category": text["category"],
        "language": text["language"],
        "confidential": confidential,
    }
    suggested = fields.get("country_suggested")
    guess = region_of(text["country"], text["phone"], text["email"], regions or RegionMap(),
                      suggested if isinstance(suggested, str) else None)
    if guess:
        data.update(region=guess.region, region_source=guess.source)
    try:
        complaint = ComplaintReceived.from_dict(data)
    except ContractError as exc:
        for key, message in exc.errors.items():
            errors.setdefault(INPUT_NAMES.get(key, key), message)
    if errors:
        raise FormInvalid(errors)
    return complaint


def region_of(country: str | None, phone: str | None, email: str | None, regions: RegionMap,
              suggested: str | None = None) -> RegionGuess | None:
    """The country the customer chose beats the phone number's, which beats the
    email domain's: a choice is what they said, a number or domain a clue.

    `suggested`: the country the page preselected from the browser's language.
    Left as it was, it is the weakest clue (an en-US browser is no proof of
    living in the US), counted after the phone and the email."""
    country = countries.known(country)
    if country and country == countries.known(suggested):
        return first(regions.for_phone(phone), regions.for_email(email),
                     regions.for_country(country, "browser's country"))
    return first(regions.for_country(country, "form country"), regions.for_phone(phone), regions.for_email(email))


def follow_up(reference: str, fields: dict, secret: str, channel: str) -> ComplaintReceived:
    """A customer's further message on their own ticket (the tracking page's form,
    or a chat message). The reference was verified by its tracking token, so it
    threads there without any identity. `message_id` is the client's id of the
    message: sent twice (a browser retry), it is the same complaint with the
    same intake id and external id, and tickets keeps it once."""
    errors: dict[str, str] = {}
    body = _text(fields.get("body"), "body", errors)
    message_id = _text(fields.get("message_id") or fields.get("submission_id"), "message_id", errors)
    if not body and "body" not in errors:
        errors["body"] = "write your message first"
    if message_id is None or not SUBMISSION_ID_RE.fullmatch(message_id):
        errors["message_id"] = "use a random id of 8 to 128 letters, digits, '-', '_', '.' or ':' (a UUID is best)"
    if errors:
        raise FormInvalid(errors)
    # Scoped by the reference: another customer's id can never fold into this one.
    external_id = f"{reference}:{message_id}"
    data = {
        "schema_version": 1,
        "intake_id": intake_id_for(f"{channel}:{external_id}", secret),
        "channel": channel,
        "external_id": external_id,
        "received_at": utc_now_iso(),
        "customer": {},
        "body": body,
        "threading": {"ticket_reference": reference},
    }
    try:
        return ComplaintReceived.from_dict(data)
    except ContractError as exc:
        raise FormInvalid({INPUT_NAMES.get(k, k): v for k, v in exc.errors.items()}) from None


def _text(value, name, errors) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = "expected text"
        return None
    # Blank and whitespace-only inputs mean "not given".
    return value.strip() or None


def _flag(value, errors, name="anonymous") -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    errors[name] = "expected true or false"
    return False


def tidy_phone(value: str | None) -> str | None:
    """'+351 912 345 678', '(+351) 912-345-678' or '00351912345678' -> '+351912345678'.
    Anything else is left as typed for the contract to reject with its message."""
    if value is None:
        return None
    compact = re.sub(r"[\s().-]", "", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if re.fullmatch(r"\+[0-9]+", compact) else value
