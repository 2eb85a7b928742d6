"""JSON over nameko's @http entrypoints: one error shape for every service,
{"error": <kind>, "detail": <what is wrong>}.

Bodies are read here with the limits the Flask apps have (MAX_BODY_BYTES,
json_input's refusals), since nameko's server has none of its own.
"""

from __future__ import annotations

import json

from werkzeug.exceptions import HTTPException, LengthRequired
from werkzeug.wrappers import Response

from services.common import config
from services.common.web import json_input


class BadRequest(ValueError):
    pass


def json_response(payload, status=200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def respond(work, errors, created=False) -> Response:
    """Run work(); map the exceptions listed in errors ((type, status, kind), ...) to answers,
    and werkzeug's HTTP errors raised while reading the body (413, 411) to theirs."""
    try:
        return json_response(work(), 201 if created else 200)
    except tuple(e for e, _, _ in errors) as exc:
        status, kind = next((s, k) for e, s, k in errors if isinstance(exc, e))
        return json_response({"error": kind, "detail": str(exc)}, status)
    except HTTPException as exc:
        return http_error(exc)


def http_error(exc: HTTPException) -> Response:
    """werkzeug's HTTP error (a 404 of the URL map, a 413 while reading) in our shape, with
    its own headers (Allow on a 405)."""
    kind = (exc.name or "error").lower().replace(" ", "_")
    response = json_response({"error": kind, "detail": exc.description or exc.name}, exc.code or 400)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def path_text(value: str, what: str) -> str:
    """A name or reference from the URL path. No name or reference holds a control
    character, and PostgreSQL refuses NUL in any query (a 500): refused here (400)."""
    bad = next((c for c in value if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        raise BadRequest(f"the {what} in the URL contains the control character U+{ord(bad):04X}, "
                         f"which no {what} has")
    return value


def raw_body(request) -> bytes:
    """The body's bytes, at most MAX_BODY_BYTES (else RequestEntityTooLarge, 413).

    Eventlet's server does not mark chunked bodies as terminated, so werkzeug
    would read one as empty: refused (411) rather than taken as nothing."""
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower() \
            and not request.environ.get("wsgi.input_terminated"):
        raise LengthRequired("send the body with a Content-Length header, not chunked")
    request.max_content_length = config.max_body_bytes()
    return request.get_data(cache=True)


def text_body(request) -> str:
    """The body as text, in the charset its Content-Type names (UTF-8 by default); raises BadRequest."""
    try:
        return json_input.decode(raw_body(request), request.mimetype_params.get("charset"))
    except json_input.JsonRefused as exc:
        raise BadRequest(str(exc)) from None


def json_body(request, expect=dict):
    """The body as JSON (an object by default; an empty body is {}); raises BadRequest,
    or werkzeug's 413/411 (see raw_body)."""
    if request.mimetype != "application/json":
        raise BadRequest("send JSON with Content-Type: application/json")
    raw = raw_body(request)
    try:
        body = json_input.parse(raw, request.mimetype_params.get("charset")) if raw.strip() else None
    except json_input.JsonRefused as exc:
        raise BadRequest(str(exc)) from None
    if body is None and expect is dict:
        body = {}
    if not isinstance(body, expect):
        wanted = "an object" if expect is dict else "an array or an object"
        raise BadRequest(f"body must be {wanted} in JSON, not {json_input.kind(body)}")
    return body


def readiness(probes: dict) -> Response:
    """200 when every probe (a callable that raises on failure) passes, else 503, naming each."""
    checks = {}
    for name, probe in probes.items():
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure makes the service not ready; say which
            checks[name] = f"failed: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return json_response({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)
