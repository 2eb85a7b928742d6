"""What senders' clients get wrong in MIME structure, put right before the
text is read, and the parts whose text is not simply a text/* leaf: raw 8-bit
headers, bare or lost multipart boundaries, forwarded messages, encrypted and
opaquely signed parts. Plain Python over the stdlib `email` objects.
"""

from __future__ import annotations

import re
from collections import Counter
from email.parser import Parser

from .charsets import decode_header_bytes, decodes, detect

# An unquoted boundary parameter: `boundary=----=_NextPart_000_…` as Outlook
# Express wrote it. policy.default's parameter parser stops at the first "=".
_BARE_BOUNDARY = re.compile(r'(;\s*boundary\s*=\s*)([^"\s;][^\s;]*)', re.IGNORECASE)
# A delimiter line in a multipart body: "--" and the boundary (RFC 2046: 1 to 70 characters).
_DELIMITER = re.compile(r"^--([^\r\n]{1,70}?)(--)?[ \t]*\r?$", re.MULTILINE)
_SURROGATE = re.compile("[\udc80-\udcff]")

ENCRYPTED_TYPES = ("multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime")


def quote_bare_boundary(content_type: str) -> str:
    """The Content-Type with an unquoted boundary quoted, so the parser keeps all of it."""
    return _BARE_BOUNDARY.sub(lambda m: f'{m.group(1)}"{m.group(2)}"', content_type)


def repair_8bit_headers(msg, hints: list[str], notes: list[str]) -> None:
    """Headers sent as raw 8-bit bytes (the stdlib keeps them as surrogate
    escapes, which no database stores) decoded as text, in every part: UTF-8
    when valid (RFC 6532), else the charset detected over all of the message's
    non-UTF-8 header bytes at once (a few words alone are too little to tell)."""
    parts = list(msg.walk())
    legacy_bytes = []
    for part in parts:
        for _, value in part.raw_items():
            if _SURROGATE.search(value):
                data = _bytes(value)
                if not decodes(data, "utf-8"):
                    legacy_bytes.append(data)
    legacy = detect(b" ".join(legacy_bytes), hints) if legacy_bytes else "utf-8"
    for part in parts:
        items = list(part.raw_items())
        if not any(_SURROGATE.search(value) for _, value in items):
            continue
        for name in {name.lower() for name, _ in items}:
            del part[name]
        for name, value in items:
            part.set_raw(name, decode_header_bytes(_bytes(value), legacy) if _SURROGATE.search(value) else value)
    if legacy_bytes:
        notes.append(f"header text in no declared charset: decoded as detected {legacy}")


def recover_lost_boundaries(msg, policy, notes: list[str]) -> None:
    """A multipart whose declared boundary never occurs in its body (a client
    bug, a boundary mangled in transit) is parsed again with the boundary its
    delimiter lines really use, instead of leaving its text unread."""
    for part in list(msg.walk()):
        if part.get_content_maintype() != "multipart" or part.is_multipart():
            continue
        payload = part.get_payload()
        if not isinstance(payload, str):
            continue
        boundary = _used_boundary(payload)
        if boundary is None:
            continue
        header = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\n\n'
        reparsed = Parser(policy=policy).parsestr(header + payload)
        if reparsed.is_multipart():
            recover_lost_boundaries(reparsed, policy, notes)
            part.set_payload(reparsed.get_payload())
            notes.append(f"the declared multipart boundary was not found: read with {boundary!r}")


def _used_boundary(payload: str) -> str | None:
    """The first delimiter that occurs at least twice (an opening and another
    part or the close): a lone "--" line in quoted text is no boundary."""
    seen = Counter(m.group(1) for m in _DELIMITER.finditer(payload))
    for match in _DELIMITER.finditer(payload):
        if seen[match.group(1)] >= 2:
            return match.group(1)
    return None


def forwarded_block(inner, text: str) -> str:
    """A forwarded message's text as mail clients show it, with its sender,
    date and subject, so an agent reads what was forwarded and from whom."""
    lines = ["---------- Forwarded message ----------"]
    for name in ("From", "Date", "Subject", "To"):
        value = header_text(inner, name)
        if value:
            lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n\n" + text


def header_text(msg, name: str) -> str:
    """A header decoded (RFC 2047), on one line; empty when absent or unreadable."""
    try:
        value = msg[name]
    except Exception:  # a header policy.default cannot parse: its raw text still says something
        value = next((v for n, v in msg.raw_items() if n.lower() == name.lower()), "")
    return re.sub(r"\s+", " ", str(value or "")).strip()


def opaque_kind(part) -> str | None:
    """'encrypted' or 'signed' for content the intake cannot open (PGP/MIME or
    S/MIME encryption, S/MIME opaque signatures); None for anything else."""
    content_type = part.get_content_type()
    if content_type not in ENCRYPTED_TYPES:
        return None
    if content_type == "multipart/encrypted":
        return "encrypted"
    smime_type = str(part.get_param("smime-type", "") or "").lower()
    return "signed" if smime_type == "signed-data" else "encrypted" if smime_type != "compressed-data" else None


def opaque_notice(kind: str, part, filename: str) -> str:
    scheme = "PGP/MIME" if part.get_content_type() == "multipart/encrypted" else "S/MIME"
    if kind == "signed":
        return (f"[This message is signed in {scheme}'s opaque form, which the intake does not open: "
                f"its content is kept whole as the attachment {filename!r}.]")
    return (f"[This message is encrypted ({scheme}): the intake cannot read it. It is kept whole as "
            f"the attachment {filename!r}; ask the customer to write again unencrypted, or decrypt it "
            f"from the mailbox.]")


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")

