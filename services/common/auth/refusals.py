"""A refused call: its answer (the one error shape, with WWW-Authenticate on a
401), the metrics token's check, and how many were refused by service and
reason (a metric every service exports from the default registry). Plain
werkzeug: the Flask apps use it without importing nameko."""

from __future__ import annotations

import hmac
import json
import logging
import os

from prometheus_client import Counter
from werkzeug.wrappers import Response

from . import tokens

log = logging.getLogger("services.common.auth")
METRICS_REFUSED = "metrics need 'Authorization: Bearer <METRICS_TOKEN>'"

REFUSED = Counter("complaints_internal_calls_refused", "Internal calls refused for want of a valid credential",
                  ["service", "reason"])


def refused(service: str, exc: Exception, method: str, what: str) -> None:
    """Count and log a refused call (tokens.Unauthorized or tokens.Forbidden)."""
    REFUSED.labels(service, _reason(exc)).inc()
    log.warning("%s refused %s %s: %s", service, method, what, exc)


def answer(exc: Exception) -> Response:
    """The HTTP answer to a refused call: 401 without a valid token, 403 for one not allowed this."""
    return refusal(401 if _reason(exc) == "unauthorized" else 403, str(exc))


def _reason(exc: Exception) -> str:
    return "unauthorized" if isinstance(exc, tokens.Unauthorized) else "forbidden"


def refusal(status: int, detail: str) -> Response:
    kind = "unauthorized" if status == 401 else "forbidden"
    response = Response(json.dumps({"error": kind, "detail": detail}), status=status, mimetype="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="complaints"'
    return response


def metrics_refusal(authorization: str | None) -> Response | None:
    """None when /metrics may answer (open, or the METRICS_TOKEN given), else the 401."""
    return None if metrics_allowed(authorization) else refusal(401, METRICS_REFUSED)


def metrics_allowed(authorization: str | None) -> bool:
    wanted = os.environ.get("METRICS_TOKEN")
    if not wanted:
        return True
    given = tokens.bearer(authorization) or ""
    return hmac.compare_digest(given.encode(), wanted.encode())
