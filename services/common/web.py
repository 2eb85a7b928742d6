"""JSON over nameko's @http entrypoints: one error shape for every service,
{"error": <kind>, "detail": <what is wrong>}."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response


class BadRequest(ValueError):
    pass


def json_response(payload, status=200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def respond(work, errors, created=False) -> Response:
    """Run work(); map the exceptions listed in errors ((type, status, kind), ...) to answers."""
    try:
        return json_response(work(), 201 if created else 200)
    except tuple(e for e, _, _ in errors) as exc:
        status, kind = next((s, k) for e, s, k in errors if isinstance(exc, e))
        return json_response({"error": kind, "detail": str(exc)}, status)


def json_body(request, expect=dict):
    if request.mimetype != "application/json":
        raise BadRequest("send JSON with Content-Type: application/json")
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if body is None and expect is dict:
        body = {}
    if not isinstance(body, expect):
        raise BadRequest(f"body must be a JSON {'object' if expect is dict else 'array or object'}")
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
