"""Bytes to text for mail: the declared charset when there is one, otherwise
one detector for everything undeclared (bodies without a charset, raw 8-bit
headers): UTF-8 first (RFC 6532 makes it the charset of 8-bit headers, and
most undeclared mail today is UTF-8), then charset-normalizer.

Detection on a few words is ambiguous: charset-normalizer often rates several
charsets equally well for a short subject. Those ties are broken by what the
message itself declares elsewhere (its text parts' charsets), then by
Windows-1252, the charset most undeclared 8-bit Western mail is in. Plain
Python: no IMAP, broker or database here.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

import charset_normalizer

# Labels mail clients use for encodings Python knows under another name, or
# for which a superset decodes what they really send (as browsers do).
CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949", "iso-8859-8-i": "iso-8859-8", "unicode-1-1-utf-7": "utf-7",
    "x-sjis": "cp932", "windows-31j": "cp932",
    # Windows-1252 is a superset of Latin-1 for every printable character.
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
}
# A label that says nothing about 8-bit bytes: they are undeclared, detect them.
UNDECLARED = ("", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown")
# Breaks a tie between equally likely charsets when the message declares none.
TIE_BREAK = "cp1252"


def codec_name(label: str | None) -> str | None:
    """Python's name for a charset label (after the aliases), or None when it is
    not a text encoding Python knows."""
    label = (label or "").strip().strip('"').lower()
    try:
        info = codecs.lookup(CHARSET_ALIASES.get(label, label))
    except LookupError:
        return None
    return info.name if info._is_text_encoding else None


def detect(data: bytes, hints: Iterable[str] = ()) -> str:
    """The charset `data` (undeclared bytes) is most likely in, as a Python codec name."""
    if data.isascii():
        return "ascii"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    preferred = [c for c in (codec_name(h) for h in hints) if c not in (None, "ascii", "utf-8")]
    preferred.append(TIE_BREAK)
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return preferred[0]
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    for wanted in preferred:
        for match in tied:
            if wanted in {codec_name(c) for c in match.could_be_from_charset}:
                return wanted
    return codec_name(best.encoding) or TIE_BREAK


def decode_text(payload: bytes, charset: str | None, notes: list[str], hints: Iterable[str] = ()) -> str:
    """Bytes in the declared charset; undeclared bytes detected; an unknown or
    wrong label still gives readable text, and `notes` says what was guessed."""
    label = (charset or "").strip().strip('"').lower()
    if label in UNDECLARED:
        codec = detect(payload, hints)
    else:
        codec = codec_name(label)
        if codec is None:
            codec = detect(payload, hints)
            notes.append(f"unknown charset {label!r}: decoded as detected {codec}")
        elif codec == "cp1252" and not decodes(payload, codec):
            codec = "latin-1"   # the five bytes Windows-1252 leaves undefined are Latin-1 controls
    try:
        return payload.decode(codec)
    except UnicodeDecodeError:
        notes.append(f"bytes not valid in charset {label or codec!r} were replaced")
        return payload.decode(codec, errors="replace")


def decode_header_bytes(data: bytes, legacy: str) -> str:
    """A raw 8-bit header: UTF-8 when it is valid UTF-8 (RFC 6532), else the
    message's detected legacy charset, with what still does not fit replaced."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(legacy, errors="replace")


def decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
        return True
    except UnicodeDecodeError:
        return False
