"""Where a complaint comes from: a region derived from what the channel says.

The router routes by region and the notifier keeps quiet hours by region; an
intake fills `region` and `region_source` of ComplaintReceived from the first
of these that speaks (each intake picks the order that fits its channel):

- a phone number (caller, WhatsApp or SMS sender): its calling code's country,
  e.g. +351 → PT ("phone +351 (PT)");
- a country the customer chose (the web form's country selector: "form country PT");
- the sender's email domain, from REGION_BY_EMAIL_DOMAIN, else a two-letter
  country-code top-level domain that is not used generically (.pt yes, .io no);
- the entry point's own region (a mailbox, a Twilio number) from its settings.

A country becomes a region through REGION_BY_COUNTRY ("PT=iberia,ES=iberia");
a country not listed there is its own region, written in lower case (PT → "pt").
Plain Python and the phonenumbers library; no I/O beyond reading the environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import phonenumbers

# Country-code domains that are sold and used worldwide: they say nothing about the sender.
GENERIC_CCTLDS = frozenset({"ai", "co", "fm", "gg", "io", "la", "ly", "me", "nu", "sh", "so", "tk", "to", "tv",
                            "ws", "cc", "ac", "am", "im", "gd"})
COUNTRY_RE = re.compile(r"[A-Za-z]{2}")
MAX_SOURCE = 200


@dataclass(frozen=True)
class RegionGuess:
    region: str
    source: str  # what said so, shown in explain and the console


class RegionMapError(ValueError):
    """A REGION_BY_* setting that cannot be read; the message names the bad entry."""


@dataclass(frozen=True)
class RegionMap:
    by_country: dict[str, str] = field(default_factory=dict)       # "PT" -> "iberia"
    by_email_domain: dict[str, str] = field(default_factory=dict)  # "example.pt" -> "pt"

    @classmethod
    def from_env(cls, environ=os.environ) -> RegionMap:
        countries = {}
        for country, region in _pairs(environ.get("REGION_BY_COUNTRY", ""), "REGION_BY_COUNTRY"):
            if not COUNTRY_RE.fullmatch(country):
                raise RegionMapError(f"REGION_BY_COUNTRY: {country!r} is not a two-letter country code")
            countries[country.upper()] = region
        domains = {k.lower(): v for k, v in _pairs(environ.get("REGION_BY_EMAIL_DOMAIN", ""),
                                                   "REGION_BY_EMAIL_DOMAIN")}
        return cls(countries, domains)

    def region_of_country(self, country: str) -> str:
        return self.by_country.get(country.upper(), country.lower())

    def for_country(self, country: str | None, said_by: str) -> RegionGuess | None:
        """`said_by` names who chose the country, e.g. "form country"."""
        if not country or not COUNTRY_RE.fullmatch(country.strip()):
            return None
        country = country.strip().upper()
        return RegionGuess(self.region_of_country(country), _source(f"{said_by} {country}"))

    def for_phone(self, number: str | None, said_by: str = "phone") -> RegionGuess | None:
        """An E.164 number's country: the number's own (+1 684 is American Samoa) or the
        calling code's main one when the number is outside every known range."""
        country, code = phone_country(number)
        if not country:
            return None
        return RegionGuess(self.region_of_country(country), _source(f"{said_by} +{code} ({country})"))

    def for_email(self, address: str | None) -> RegionGuess | None:
        domain = (address or "").rpartition("@")[2].strip().lower().rstrip(".")
        if not domain:
            return None
        parts = domain.split(".")
        for i in range(len(parts) - 1):  # mail.example.pt matches a rule for example.pt
            suffix = ".".join(parts[i:])
            if suffix in self.by_email_domain:
                return RegionGuess(self.by_email_domain[suffix], _source(f"email domain {suffix}"))
        tld = parts[-1]
        if len(parts) > 1 and COUNTRY_RE.fullmatch(tld) and tld not in GENERIC_CCTLDS:
            country = "GB" if tld == "uk" else tld.upper()
            return RegionGuess(self.region_of_country(country), _source(f"email domain .{tld}"))
        return None

    @staticmethod
    def configured(region: str | None, said_by: str) -> RegionGuess | None:
        """An entry point's own region from its settings, e.g. said_by="mailbox support-pt"."""
        return RegionGuess(region.strip().lower(), _source(said_by)) if region and region.strip() else None


def phone_country(number: str | None) -> tuple[str | None, int | None]:
    """(ISO country, calling code) of an E.164 number; (None, None) if unreadable."""
    if not number:
        return None, None
    try:
        parsed = phonenumbers.parse(number.strip().removeprefix("whatsapp:"), None)
    except phonenumbers.NumberParseException:
        return None, None
    country = phonenumbers.region_code_for_number(parsed) or \
        phonenumbers.region_code_for_country_code(parsed.country_code)
    if not country or country == "ZZ" or country == "001":  # non-geographic (+800, +882 …)
        return None, parsed.country_code
    return country, parsed.country_code


def first(*guesses: RegionGuess | None) -> RegionGuess | None:
    return next((g for g in guesses if g is not None), None)


def _source(text: str) -> str:
    return text[:MAX_SOURCE]


def _pairs(text: str, name: str) -> list[tuple[str, str]]:
    pairs = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise RegionMapError(f"{name}: {entry!r} is not KEY=region")
        pairs.append((key.strip(), value.strip().lower()))
    return pairs
