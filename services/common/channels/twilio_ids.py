"""What Twilio's ids look like (MessageSid, CallSid, RecordingSid, ...). Plain Python.

A webhook's id becomes a primary key: anything that cannot be one of Twilio's
ids (NUL, 300 characters, spaces) is refused with a 400 naming the field,
rather than discovered by the database (PostgreSQL refuses NUL and values
longer than the column).
"""

from __future__ import annotations

import re

# Two letters and 32 hex digits; a little leeway for formats to come, none for
# what no id column (64 characters) could hold.
SID_RE = re.compile(r"[A-Za-z]{2}[0-9A-Za-z]{1,62}")


def is_sid(value: str | None) -> bool:
    return bool(value) and SID_RE.fullmatch(value) is not None
