"""The countries a customer can choose on the web form and the chat, and the
one their browser suggests.

The list is the data file countries.tsv beside this module (ISO code, name,
sorted by name): the regions the phonenumbers library knows, so a chosen
country and a phone number speak the same codes. Which region a country
belongs to is services/common/channels/regions.py's business, not this one's.
Plain Python, no Flask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

DATA_FILE = Path(__file__).with_name("countries.tsv")
SUBTAG_RE = re.compile(r"[A-Za-z]{2}")


def _load() -> tuple[tuple[str, str], ...]:
    rows = []
    for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, _, name = line.partition("\t")
            rows.append((code, name))
    return tuple(rows)


COUNTRIES: tuple[tuple[str, str], ...] = _load()   # (code, name), in the order the selector shows them
CODES = frozenset(code for code, _ in COUNTRIES)


def known(code: str | None) -> str | None:
    """The ISO code in upper case when it is one of the list; None otherwise."""
    code = (code or "").strip().upper()
    return code if code in CODES else None


def from_languages(tags: Iterable[str]) -> str | None:
    """The country of the first language tag that names one, from Accept-Language
    (best first): "pt-PT" -> "PT", "zh-Hant-TW" -> "TW"; "en" and "es-419" (a
    numeric region) say nothing."""
    for tag in tags:
        # Subtags after the language: a script (4 letters) may come before the region.
        for subtag in re.split(r"[-_]", tag)[1:3]:
            if SUBTAG_RE.fullmatch(subtag):
                code = known(subtag)
                if code:
                    return code
                break
    return None
