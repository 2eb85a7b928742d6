"""A refused call: its answer (the one error shape, with WWW-Authenticate on a
401), the metrics token's check, and how many were refused by service and
reason (a metric every service exports from the default registry). Plain
werkzeug: the Flask apps use it without importing nameko."""

from __future__ import annotations

import hmac
import json
import os

from prometheus_client import Counter
from werkzeug.wrappers import Response

from . import tokens

REFUSED = Counter("complaints_internal_calls_refused", "Internal calls refused for want of a valid credential",
                  ["service", "reason"])


def count(service: str, reason: str) -> None:
    REFUSED.labels(service, reason).inc()


def refusal(status: int, detail: str) -> Response:
    kind = "unauthorized" if status == 401 else "forbidden"
    response = Response(json.dumps({"error": kind, "detail": detail}), status=status, mimetype="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="complaints"'
    return response


def metrics_allowed(authorization: str | None) -> bool:
    wanted = os.environ.get("METRICS_TOKEN")
    if not wanted:
        return True
    given = tokens.bearer(authorization) or ""
    return hmac.compare_digest(given.encode(), wanted.encode())
