"""Reading the JSON a caller sent: one reader for every JSON body the services
accept (the nameko HTTP APIs through web.json_body, the web intake and the
console through their views), so hostile JSON gets the same clear refusal
everywhere instead of a 500.

Refused, each with a message that says what to change:
- a charset Python does not know, or bytes that are not valid in the charset
  sent (UTF-8 unless the Content-Type names another);
- nesting deeper than MAX_NESTING, found by a linear scan *before* parsing:
  Python's json recurses once per level and would die of RecursionError;
- NaN/Infinity and numbers too large to mean anything here (JSON has no such
  values, and no database column here holds them);
- a key given twice in one object (which one counts would be a guess).

Lone surrogate escapes ("\\ud800") are valid JSON syntax and pass: what no
database can store is the contract's business (common/storable_text.py).
"""

from __future__ import annotations

import codecs
import json
import math
import re

MAX_NESTING = 32
# Signed 64 bits: the widest integer column any service has.
MAX_INTEGER = 2**63 - 1

# One string (possessive, and allowed to run to the end when unterminated, so
# the scan stays linear on any input), or one bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\Z)|[\[{]|[\]}]', re.DOTALL)


class JsonRefused(ValueError):
    """The body cannot be read as JSON; str(exc) tells the caller why."""


def parse(raw: bytes, charset: str | None = None):
    """raw bytes of a body -> the parsed JSON value; raises JsonRefused."""
    text = decode(raw, charset)
    refuse_deep_nesting(text)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                          parse_int=_integer, parse_float=_finite)
    except JsonRefused:
        raise
    except ValueError as exc:  # json.JSONDecodeError names the line and column
        raise JsonRefused(f"body is not valid JSON: {exc}") from None


def decode(raw: bytes, charset: str | None = None) -> str:
    name = (charset or "utf-8").strip().lower()
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):
        raise JsonRefused(f"charset {name[:40]!r} is not one we know; send the body as UTF-8") from None
    try:
        # (bytes.decode itself refuses codecs that are no charset: base64, zlib...)
        # A UTF-8 byte order mark is harmless: take it off rather than refuse.
        return raw.decode("utf-8-sig" if codec.name == "utf-8" else codec.name)
    except LookupError:
        raise JsonRefused(f"charset {name[:40]!r} is not a text encoding; send the body as UTF-8") from None
    except UnicodeError as exc:
        where = f" (byte {exc.object[exc.start]:#04x} at position {exc.start})" \
            if isinstance(exc, UnicodeDecodeError) else ""
        raise JsonRefused(f"body is not valid {codec.name}{where}; send the body as UTF-8") from None


def refuse_deep_nesting(text: str, limit: int = MAX_NESTING) -> None:
    """Raises JsonRefused when arrays/objects nest deeper than limit. Brackets
    inside strings do not count; a body with fewer brackets than the limit is
    not even scanned."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                raise JsonRefused(f"body nests arrays or objects more than {limit} levels deep; "
                                  "send a flatter document")
        elif token in ("]", "}"):
            depth -= 1


def kind(value) -> str:
    """What a parsed JSON value is, in JSON's words: 'an array', 'a string'..."""
    if isinstance(value, bool):
        return "true or false"
    names = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), "null")


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise JsonRefused(f"body gives the key {key[:60]!r} twice in one object; send each key once")
        seen[key] = value
    return seen


def _no_constant(name):
    raise JsonRefused(f"body is not valid JSON: {name} is not a JSON value")


def _integer(digits: str) -> int:
    # Checked on the text, before int() spends time on thousands of digits.
    if len(digits.lstrip("-")) > 19 or abs(int(digits)) > MAX_INTEGER:
        raise JsonRefused(f"body has the number {digits[:30]}{'…' if len(digits) > 30 else ''}, "
                          f"too large; numbers must be between -{MAX_INTEGER} and {MAX_INTEGER}")
    return int(digits)


def _finite(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        raise JsonRefused(f"body has the number {digits[:30]}, too large to be read")
    return value
