"""Looking for a person where the system keeps things, as a data-protection audit would:
every row of every table (through SQL, so PostgreSQL too), the bytes of every file
under a folder (SQLite files and their write-ahead logs included, stored files, logs),
and mail in the SMTP sink. Independent of services/common/privacy: its own simple
matching (the address in any case; the phone's national digits once separators are
taken out, which covers every spelling; the name in any case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from sqlalchemy import MetaData, select

SEPARATORS = re.compile(rb"[\s.\-()/+]")


@dataclass(frozen=True)
class Person:
    email: str
    phone: str   # E.164
    name: str

    @property
    def national_digits(self) -> str:
        return phonenumbers.national_significant_number(phonenumbers.parse(self.phone, None))

    def found_in(self, data: bytes | str) -> list[str]:
        """Which of the person's identifiers the data holds (text, or bytes read as UTF-8
        and as Latin-1, JSON-escaped unicode undone)."""
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
        lowered = raw.lower()
        found = []
        if self.email.lower().encode() in lowered or self.email.lower().replace("@", "%40").encode() in lowered:
            found.append("email")
        if self.national_digits.encode() in SEPARATORS.sub(b"", raw):
            found.append("phone")
        if any(self.name.lower().encode(enc) in lowered for enc in ("utf-8", "latin-1")) or \
                self.name.lower().encode("ascii", "backslashreplace").replace(b"\\x", b"\\u00") in lowered:
            found.append("name")
        return found


def database_rows(engine) -> dict[str, str]:
    """table -> the text of all its rows."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return {name: "\n".join(repr(tuple(r)) for r in conn.execute(select(table)))
                for name, table in metadata.tables.items()}


def in_database(person: Person, engine) -> dict[str, list[str]]:
    """table -> the identifiers its rows hold (tables holding none left out)."""
    return {t: found for t, text in database_rows(engine).items() if (found := person.found_in(text))}


def in_files(person: Person, folder: Path) -> dict[str, list[str]]:
    """file (relative) -> the identifiers its bytes hold."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and (found := person.found_in(path.read_bytes())):
            out[str(path.relative_to(folder))] = found
    return out
