"""Raw RFC 5322 bytes to the facts a complaint needs, with the stdlib `email`
package (policy.default). Plain Python: no IMAP, broker or database here.

Never raises anything but UnusableEmail: whatever a sender's client got wrong
(encodings, charsets, structure), either the message yields its facts or the
caller gets a reason to quarantine it with. Structure and raw 8-bit headers
are put right first (mime.py), undeclared bytes decoded by one detector
(charsets.py), and every text in the facts is storable in any database (NUL
replaced, and noted). A missing sender is the complaint's problem, not the
message's: a bounce from `<>` has none and is still screened as a bounce.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

from services.common.contract.complaint import LANGUAGE_RE
from services.common.contract.storable_text import is_storable, storable

from .charsets import decode_text
from .htmltext import html_to_text
from .mime import (
    forwarded_block,
    header_text,
    opaque_kind,
    opaque_notice,
    quote_bare_boundary,
    recover_lost_boundaries,
    repair_8bit_headers,
)

MSG_ID = re.compile(r"<[^<>\s]+>")


class _CachedHeaderRegistry(HeaderRegistry):
    """policy.default parses a header again on every access (get_body and the
    content-type helpers read Content-Type a dozen times per message); its
    header objects are immutable, so each (name, value) is parsed once."""

    @lru_cache(maxsize=2048)  # noqa: B019  (one registry for the process, kept on purpose)
    def __call__(self, name, value):
        return super().__call__(name, value)


class _MailPolicy(EmailPolicy):
    """policy.default, except that an unquoted multipart boundary is quoted as
    the header is read, before the parser looks for it (see mime.py)."""

    def header_source_parse(self, sourcelines):
        name, value = super().header_source_parse(sourcelines)
        if name.lower() == "content-type" and "boundary" in value.lower():
            value = quote_bare_boundary(value)
        return name, value


POLICY = _MailPolicy(header_factory=_CachedHeaderRegistry())


class UnusableEmail(ValueError):
    """This message cannot become a complaint; the message says why (for the quarantine)."""


@dataclass(frozen=True)
class AttachmentFacts:
    filename: str
    content_type: str
    size: int
    sha256: str | None      # None when the attachment is over the size limit


@dataclass(frozen=True)
class EmailFacts:
    message_id: str | None
    sender_email: str | None
    sender_name: str | None
    subject: str
    body: str
    body_from_html: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None
    language: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    attachments: tuple[AttachmentFacts, ...]
    content_type: str
    report_type: str | None
    # First value of each header, by lower-cased name, undecoded (for screening).
    headers: dict[str, str] = field(default_factory=dict)
    # What went wrong but was worked around (unknown charset, bad bytes replaced).
    notes: tuple[str, ...] = ()


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID, as '<id@host>', read from the headers only; None when absent."""
    try:
        headers = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        return normalize_message_id(_first_raw(headers, "message-id"))
    except Exception:  # an unreadable header block simply has no usable id
        return None


def normalize_message_id(value) -> str | None:
    if value is None:
        return None
    text = _storable_id(str(value)).strip()
    match = MSG_ID.search(text)
    if match:
        return match.group(0)
    # Some clients omit the angle brackets; keep the id if it is one token.
    token = text.strip("<> \t\r\n")
    return f"<{token}>" if token and not re.search(r"\s", token) else None


def _storable_id(text: str) -> str:
    """An id as sent, spelled so any database stores it: raw 8-bit bytes (kept
    by the parser as surrogate escapes) as UTF-8 or \\xNN, NUL as \\x00. Always
    the same spelling for the same bytes, so a re-read message keeps its key."""
    if is_storable(text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    return data.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _first_raw(msg, name: str) -> str | None:
    return next((value for key, value in msg.raw_items() if key.lower() == name), None)


def parse_email(raw: bytes, max_attachment_bytes: int) -> EmailFacts:
    if not raw or not raw.strip():
        raise UnusableEmail("empty message")
    try:
        msg = BytesParser(policy=POLICY).parsebytes(raw)
        return _facts(msg, max_attachment_bytes)
    except UnusableEmail:
        raise
    except Exception as exc:  # the stdlib parser has bugs on hostile input; quarantine, don't crash
        raise UnusableEmail(f"parser error: {type(exc).__name__}: {exc}") from exc


def _facts(msg: EmailMessage, max_attachment_bytes: int) -> EmailFacts:
    if not msg.keys():
        raise UnusableEmail("not an email: no header lines")
    notes: list[str] = []
    # Ids as sent (before the 8-bit repair), the same spelling message_id_of gives.
    ids = {name: _first_raw(msg, name) or "" for name in ("message-id", "in-reply-to", "references")}
    recover_lost_boundaries(msg, POLICY, notes)
    charsets = [c for c in (p.get_content_charset() for p in msg.walk()) if c]
    repair_8bit_headers(msg, charsets, notes)
    raw_headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        raw_headers.setdefault(name.lower(), str(value))
    sender_name, sender_email = _sender(msg, raw_headers)
    body, from_html, attachments = _content(msg, max_attachment_bytes, notes, charsets)
    subject = _one_line(_decoded(msg, "subject", raw_headers))
    texts = {"subject": subject, "body": body, "sender name": sender_name or ""}
    unstorable = [name for name, text in texts.items() if not is_storable(text)]
    if unstorable:
        notes.append(f"characters no database can store (NUL) replaced by U+FFFD in: {', '.join(unstorable)}")
    return EmailFacts(
        message_id=normalize_message_id(ids["message-id"] or None),
        sender_email=sender_email, sender_name=storable(sender_name or "") or None,
        subject=storable(subject), body=storable(body), body_from_html=from_html,
        in_reply_to=(MSG_ID.findall(_storable_id(ids["in-reply-to"])) or [None])[0],
        references=tuple(MSG_ID.findall(_storable_id(ids["references"]))),
        date=_date(raw_headers.get("date")),
        language=_language(raw_headers.get("content-language")),
        to=_addresses(raw_headers.get("to")), cc=_addresses(raw_headers.get("cc")),
        attachments=tuple(attachments),
        content_type=msg.get_content_type(),
        report_type=(msg.get_param("report-type", header="content-type") or None)
        if msg.get_content_type() == "multipart/report" else None,
        headers=raw_headers, notes=tuple(notes),
    )


# --- headers -------------------------------------------------------------------


def _decoded(msg, name, raw_headers) -> str:
    """The header's text with RFC 2047 words decoded; falls back to a lenient decoder."""
    if name not in raw_headers:
        return ""
    try:
        return str(msg[name] or "")
    except Exception:  # a header policy.default cannot parse: decode it word by word instead
        return _decode_words(raw_headers[name])


def _decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # unknown charset in an encoded word: keep the raw text
        return value


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _sender(msg, raw_headers) -> tuple[str | None, str | None]:
    for name in ("from", "sender", "reply-to"):
        if name not in raw_headers:
            continue
        try:
            for address in msg[name].addresses:
                if "@" in (address.addr_spec or ""):
                    return _one_line(address.display_name or ""), address.addr_spec.strip().lower()
        except Exception:  # unparseable with policy.default: try the classic parser
            pass
        for display, addr in getaddresses([raw_headers[name]]):
            if "@" in addr and " " not in addr.strip():
                return _one_line(_decode_words(display)), addr.strip().lower()
    return None, None


def _addresses(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(storable(addr.lower()) for _, addr in getaddresses([value]) if "@" in addr)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


def _language(value: str | None) -> str | None:
    if not value:
        return None
    first = value.split(",")[0].strip()
    return first if LANGUAGE_RE.fullmatch(first) else None


# --- body and attachments --------------------------------------------------------


def _leaves(part, parent_subtype=None):
    """Every non-multipart part with the subtype of the multipart holding it.
    An attached message (message/rfc822) is one leaf, and so is an encrypted
    multipart: neither is a rendering of this message's own text."""
    if part.get_content_maintype() == "multipart" and part.is_multipart() and opaque_kind(part) is None:
        for child in part.iter_parts():
            yield from _leaves(child, part.get_content_subtype())
    else:
        yield part, parent_subtype


def _content(msg, max_attachment_bytes, notes, charsets) -> tuple[str, bool, list[AttachmentFacts]]:
    try:
        body_part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # a broken structure: look for text among the parts below
        body_part = None
    texts: list[str] = []
    from_html = False
    if body_part is not None:
        from_html = body_part.get_content_subtype() == "html"
        texts.append(_text_of(body_part, notes, charsets))
    attachments: list[AttachmentFacts] = []
    for part, parent in _leaves(msg):
        if part is body_part:
            continue
        disposition = part.get_content_disposition()
        filename = _filename(part)
        inline_text = (part.get_content_type() in ("text/plain", "text/html")
                       and disposition != "attachment" and not filename)
        if inline_text:
            if parent == "alternative" and body_part is not None:
                continue  # another rendering of the body we already took
            texts.append(_text_of(part, notes, charsets))
            from_html = from_html or (body_part is None and part.get_content_subtype() == "html")
            continue
        attachment = _attachment(part, filename, len(attachments) + 1, max_attachment_bytes, notes)
        attachments.append(attachment)
        if part.get_content_type() == "message/rfc822" and part.is_multipart() and part.get_payload():
            # A forwarded message: its words are the complaint as much as ours are.
            inner = part.get_payload()[0]
            text, _, inner_attachments = _content(inner, max_attachment_bytes, notes, charsets)
            texts.append(forwarded_block(inner, text.strip()))
            attachments += inner_attachments
        elif kind := opaque_kind(part):
            texts.append(opaque_notice(kind, part, attachment.filename))
            notes.append(f"{kind} content the intake cannot open, kept as {attachment.filename!r}")
    body = "\n\n".join(t for t in (t.strip() for t in texts) if t)
    return body, from_html, attachments


def _text_of(part, notes, charsets) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    text = decode_text(payload, part.get_content_charset(), notes, charsets)
    return html_to_text(text) if part.get_content_subtype() == "html" else text.replace("\r\n", "\n")


def _filename(part) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a malformed RFC 2231 parameter
        name = None
    return storable(_one_line(name))[:255] if name else None


def _attachment(part, filename, number, limit, notes) -> AttachmentFacts:
    content_type = part.get_content_type()
    if part.is_multipart():
        # An attached message (or a delivery report, or an encrypted multipart):
        # its payload is parsed parts; the attachment is all of them, whole.
        inner = part.get_payload()
        data = b"".join(p.as_bytes(policy=policy.compat32) for p in inner)
        if not filename and content_type == "message/rfc822" and inner:
            filename = (header_text(inner[0], "subject")[:200] or "message") + ".eml"
        elif not filename and content_type == "multipart/encrypted":
            filename = "encrypted-message.asc"
    else:
        data = part.get_payload(decode=True) or b""
    if not filename:
        filename = f"attachment-{number}{mimetypes.guess_extension(content_type) or '.bin'}"
    over = len(data) > limit
    if over:
        notes.append(f"attachment {filename!r} is over the {limit}-byte limit: listed, not hashed")
    return AttachmentFacts(filename=storable(filename), content_type=storable(content_type), size=len(data),
                           sha256=None if over else hashlib.sha256(data).hexdigest())
