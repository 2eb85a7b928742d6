"""Who a data subject is, and where they are mentioned. Plain Python (and phonenumbers).

A person is recognised by their email addresses (compared in lower case), their
phone numbers (E.164, however they were written: "+351 912 345 678",
"00351912345678", "whatsapp:+351912345678" are one number) and their names. An
email or a phone identifies a person; a name alone does not (many people share
one), so names are only scrubbed from text already known to be about the person.

    subject = Subject.given(email="Ana@Example.org", phone="+351 912 345 678", name="Ana Lima")
    subject.owns("whatsapp:+351912345678")        True: an address of theirs
    subject.mentioned_in("call +351 912-345-678")  True: their email or phone in a text
    subject.scrub("Dear Ana Lima, ...")            "Dear [erased], ..."
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import phonenumbers

from services.common.contract.events import SubjectIdentifiers

ERASED = "[erased]"
MAX_NAME = 200
# What may stand between the digits of a phone number written by a person.
_SEP = r"[\s.\-/()]*"
# Name parts shorter than this are not scrubbed alone ("Li" would eat half a text).
_MIN_NAME_PART = 3


class SubjectError(ValueError):
    """Identifiers that cannot be read; `errors` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))


def normalise_email(value: str) -> str:
    email = value.strip().lower().removeprefix("mailto:")
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() or c in "<>@" for c in local + domain):
        raise ValueError(f"{value!r} is not an email address")
    return email


def normalise_phone(value: str) -> str:
    """E.164 ("+351912345678") from how a person or a channel wrote it."""
    raw = re.sub(r"[\s.\-/()]", "", value.strip())
    for prefix in ("whatsapp:", "tel:", "sms:"):
        raw = raw.removeprefix(prefix)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not raw.startswith("+"):
        raw = "+" + raw  # no country to assume: the number must carry its calling code
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number with its country code, like +351912345678") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{value!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_name(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())[:MAX_NAME]


def _values(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v for v in value if v.strip()]
    raise TypeError("expected a text or a list of texts")


def _unique(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


@dataclass(frozen=True)
class Subject:
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    @classmethod
    def given(cls, email=None, phone=None, name=None) -> Subject:
        """From what a request gave (each a text or a list of texts); SubjectError names
        every field that cannot be read."""
        errors: dict[str, str] = {}
        found: dict[str, list[str]] = {"email": [], "phone": [], "name": []}
        for field, value, normalise in (("email", email, normalise_email), ("phone", phone, normalise_phone),
                                        ("name", name, normalise_name)):
            try:
                found[field] = [normalise(v) for v in _values(value)]
            except (TypeError, ValueError) as exc:
                errors[field] = str(exc)
        if errors:
            raise SubjectError(errors)
        return cls(_unique(found["email"]), _unique(found["phone"]), _unique(found["name"]))

    @classmethod
    def of(cls, identifiers: SubjectIdentifiers) -> Subject:
        """From an event's identifiers (normalised again: an event is input too)."""
        return cls.given(list(identifiers.emails), list(identifiers.phones), list(identifiers.names))

    def identifiers(self) -> SubjectIdentifiers:
        return SubjectIdentifiers(self.emails, self.phones, self.names)

    def plus(self, emails=(), phones=(), names=()) -> Subject:
        """This person with more of their identifiers (found on their tickets); unreadable ones are left out."""
        def readable(values, normalise):
            out = []
            for v in values:
                try:
                    out.append(normalise(v))
                except ValueError:
                    pass
            return out
        return Subject(_unique([*self.emails, *readable(emails, normalise_email)]),
                       _unique([*self.phones, *readable(phones, normalise_phone)]),
                       _unique([*self.names, *readable(names, normalise_name)]))

    @property
    def identifies(self) -> bool:
        """An email or a phone: enough to find the person's records."""
        return bool(self.emails or self.phones)

    # --- recognising ----------------------------------------------------------------------

    @cached_property
    def addresses(self) -> frozenset[str]:
        return frozenset(self.emails + self.phones)

    def owns(self, value: str | None) -> bool:
        """An address (email, phone, WhatsApp "whatsapp:+…") that is one of theirs."""
        if not value:
            return False
        for normalise in (normalise_email, normalise_phone) if "@" in value else (normalise_phone,):
            try:
                return normalise(value) in self.addresses
            except ValueError:
                continue
        return False

    def mentioned_in(self, text: str | bytes | None) -> bool:
        """Their email or phone, however spelled, somewhere in the text (or bytes, read as
        UTF-8 with anything else taken as Latin-1)."""
        if not text:
            return False
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace") + "\n" + text.decode("latin-1")
        return any(p.search(text) for p in self._identifying)

    def named_in(self, text: str | None) -> bool:
        """One of their full names in the text."""
        return bool(text) and any(p.search(text) for p in self._full_names)

    def scrub(self, text, replacement: str = ERASED):
        """The text with their emails, phones, full names and name parts replaced."""
        if not isinstance(text, str) or not text:
            return text
        for pattern in self._scrubbed:
            text = pattern.sub(replacement, text)
        return text

    def scrub_deep(self, value, erase_keys: frozenset[str] = frozenset()):
        """A JSON-like value with every text scrubbed, and the texts under `erase_keys`
        (free text the person wrote: "body", "comment") replaced whole."""
        if isinstance(value, dict):
            return {k: (ERASED if k in erase_keys and isinstance(v, str) and v else
                        self.scrub_deep(v, erase_keys)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_deep(v, erase_keys) for v in value]
        return self.scrub(value)

    @cached_property
    def _identifying(self) -> tuple[re.Pattern, ...]:
        return tuple(_email_pattern(e) for e in self.emails) + tuple(_phone_pattern(p) for p in self.phones)

    @cached_property
    def _full_names(self) -> tuple[re.Pattern, ...]:
        return tuple(_words_pattern(n.split()) for n in self.names)

    @cached_property
    def _scrubbed(self) -> tuple[re.Pattern, ...]:
        parts = _unique(p for n in self.names for p in n.split() if len(p) >= _MIN_NAME_PART)
        return self._identifying + self._full_names + tuple(_words_pattern([p]) for p in parts)


def _email_pattern(email: str) -> re.Pattern:
    local, _, domain = email.partition("@")
    # As written in a text, a header or a URL (%40), never inside a longer address.
    return re.compile(rf"(?<![\w.+\-]){re.escape(local)}(?:@|%40){re.escape(domain)}(?![\w\-]|\.\w)",
                      re.IGNORECASE)


def _phone_pattern(e164: str) -> re.Pattern:
    """The number however written: with +, 00 or no calling code, a national trunk 0,
    spaces, dots, dashes or brackets between the digits."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.national_significant_number(number)
    code = _SEP.join(str(number.country_code))
    digits = _SEP.join(national)
    return re.compile(rf"(?<!\d)(?:(?:\+|00)?{_SEP}{code}{_SEP})?(?:0{_SEP})?{digits}(?!\d)")


def _words_pattern(words: list[str]) -> re.Pattern:
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


REQUEST_FIELDS = ("email", "phone", "name", "references")


def read_request(body) -> tuple[Subject, tuple[str, ...]]:
    """An export's or an erasure's JSON body -> (the person, the references of tickets
    named as theirs). SubjectError names every field that is wrong; a name alone is
    refused (it identifies nobody)."""
    from services.common.contract.reference import normalize_reference

    if not isinstance(body, dict):
        raise SubjectError({"$": "expected a JSON object with email, phone, name and/or references"})
    errors = {k: f"unknown field; expected {', '.join(REQUEST_FIELDS)}" for k in body if k not in REQUEST_FIELDS}
    subject = Subject()
    try:
        subject = Subject.given(body.get("email"), body.get("phone"), body.get("name"))
    except SubjectError as exc:
        errors.update(exc.errors)
    references: list[str] = []
    try:
        for value in _values(body.get("references")):
            reference = normalize_reference(value)
            if reference is None:
                errors["references"] = f"{value!r} is not a ticket reference like C-7K3M9QX2AB"
            else:
                references.append(reference)
    except TypeError as exc:
        errors["references"] = str(exc)
    if not errors and not subject.identifies and not references:
        errors["email"] = "give an email or a phone (a name alone identifies nobody), or references"
    if errors:
        raise SubjectError(errors)
    return subject, _unique(references)


_ANY_EMAIL = re.compile(r"[\w.+\-]+(?:@|%40)[\w\-]+(?:\.[\w\-]+)+")
# International numbers (+ or 00 first, separators allowed) and long runs of digits;
# not dates, times or short ids.
_ANY_PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\d(?:[\s.\-()]?\d){6,15}|\d{9,15})(?!\w)")


def redact(text: str | None) -> str | None:
    """Any email address or phone number in a text masked, whoever's: for log lines that
    carry a remote error (an SMTP refusal names its recipient), which no erasure reaches."""
    if not text:
        return text
    return _ANY_PHONE.sub("[phone]", _ANY_EMAIL.sub("[email]", text))
