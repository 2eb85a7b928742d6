"""Text that every database we support can store, and what was changed to get it.

A JSON body may carry a lone surrogate (`"\\ud800"`), mail decoded with
`surrogateescape` carries them too, and PostgreSQL refuses NUL in text that
SQLite takes. Such text must be repaired where it enters (the contract, an
intake's own records), never discovered unstorable after the customer was told
"received". The repair swaps each unstorable character for U+FFFD and keeps
the original as an ASCII escape (`\\ud800`, `\\u0000`), which stores anywhere.
"""

from __future__ import annotations

import json
import re

REPLACEMENT = "\ufffd"
# NUL (PostgreSQL text cannot hold it) and UTF-16 surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def storable(text: str) -> str:
    """`text` with every unstorable character replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def escaped(text: str) -> str:
    """An ASCII-only, storable spelling of `text` that keeps every character (JSON escapes)."""
    return json.dumps(text)[1:-1]


def repair_tree(value, path: str = "", repairs: dict[str, str] | None = None):
    """(value with every string made storable, {dotted path: escaped original}).

    Walks dicts (keys too) and lists; a key that needed repair is named by its
    repaired spelling."""
    repairs = {} if repairs is None else repairs
    if isinstance(value, str):
        if not is_storable(value):
            repairs[path or "$"] = escaped(value)
            return storable(value), repairs
        return value, repairs
    if isinstance(value, dict):
        clean = {}
        for key, item in value.items():
            name = storable(key) if isinstance(key, str) else key
            if isinstance(key, str) and name != key:
                repairs[_join(path, name) + " (key)"] = escaped(key)
            clean[name] = repair_tree(item, _join(path, name), repairs)[0]
        return clean, repairs
    if isinstance(value, (list, tuple)):
        return [repair_tree(item, f"{path}[{i}]", repairs)[0] for i, item in enumerate(value)], repairs
    return value, repairs


def _join(path: str, name) -> str:
    return f"{path}.{name}" if path else str(name)
