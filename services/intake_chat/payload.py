"""The request body -> a plain dict of fields, whatever the content type.

Only the transport is handled here (content types, JSON syntax, sizes);
form.py judges the fields themselves.
"""

from __future__ import annotations

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream

from services.common.web import json_input

JSON_TYPE = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
ACCEPTED_TYPES = (JSON_TYPE, *FORM_TYPES)


class BadPayload(ValueError):
    """The body cannot be read as a complaint at all (400 or 415)."""

    def __init__(self, status: int, reason: str, detail: str):
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


def is_form(request) -> bool:
    return request.mimetype in FORM_TYPES


def read_fields(request) -> dict:
    """Raises BadPayload, or werkzeug's RequestEntityTooLarge (413) while reading."""
    if request.mimetype == JSON_TYPE:
        return _json_fields(request)
    if is_form(request):
        # Reading the form enforces MAX_CONTENT_LENGTH, chunked bodies included.
        fields = {name: request.form.get(name) for name in request.form}
        _refuse_truncated(request)
        names = [f.filename for f in request.files.values() if f.filename]
        if names:
            fields["attachments"] = names  # form.py refuses them with a field error
        return fields
    shown = request.mimetype or "none"
    raise BadPayload(415, "unsupported_media_type",
                     f"content type {shown} is not accepted; send one of {', '.join(ACCEPTED_TYPES)}")


def _json_fields(request) -> dict:
    raw = request.get_data(cache=True)
    _refuse_truncated(request)
    if not raw.strip():
        raise BadPayload(400, "bad_json", "the body is empty; send the complaint as a JSON object")
    try:
        data = json_input.parse(raw, request.mimetype_params.get("charset"))
    except json_input.JsonRefused as exc:
        raise BadPayload(400, "bad_json", str(exc)) from None
    if not isinstance(data, dict):
        raise BadPayload(400, "bad_json", f"body must be a JSON object, not {json_input.kind(data)}")
    return data


def _refuse_truncated(request) -> None:
    """A chunked body (no Content-Length) is cut at MAX_CONTENT_LENGTH by
    Werkzeug, which raises only on a *further* read: a complaint cut short
    must be refused, never stored half. A body of exactly the limit counts as
    too large, since it cannot be told apart from a longer one."""
    stream = request.stream
    if request.content_length is None and isinstance(stream, LimitedStream) and stream.is_exhausted:
        raise RequestEntityTooLarge()
