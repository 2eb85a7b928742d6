"""The credential check on Flask: a whole internal app (`guard`: the email
intake's quarantine and mailboxes; every path but health and metrics), or one
view of a public app (`requires_token`: the console's JSON API for the web intake)."""

from __future__ import annotations

import logging
from functools import wraps

from flask import Flask, g, request

from . import refusals, tokens
from .refusals import metrics_allowed, refusal
from .tokens import READ, WRITE

log = logging.getLogger(__name__)

OPEN_PATHS = ("/health/live", "/health/ready")


def guard(app: Flask, service: str) -> None:
    @app.before_request
    def require_credential():
        if request.path in OPEN_PATHS:
            return None
        if request.path == "/metrics":
            return None if metrics_allowed(request.headers.get("Authorization")) else \
                refusal(401, "metrics need 'Authorization: Bearer <METRICS_TOKEN>'")
        return _check(service)


def requires_token(service: str):
    """A view that answers only a caller with a valid token for `service`."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return _check(service) or view(*args, **kwargs)
        return wrapper
    return decorate


def metrics_view(view):
    """A Flask /metrics view: open, or behind METRICS_TOKEN when it is set."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not metrics_allowed(request.headers.get("Authorization")):
            return refusal(401, "metrics need 'Authorization: Bearer <METRICS_TOKEN>'")
        return view(*args, **kwargs)
    return wrapper


def _check(service: str):
    """None when the request's token lets it through (g.caller is set), else the refusal."""
    scope = READ if request.method in ("GET", "HEAD") else WRITE
    try:
        caller = tokens.verify(tokens.bearer(request.headers.get("Authorization")), service)
        caller.require(scope)
    except tokens.Unauthorized as exc:
        return _refused(service, 401, exc)
    except tokens.Forbidden as exc:
        return _refused(service, 403, exc)
    g.caller = caller
    return None


def _refused(service, status, exc):
    refusals.count(service, "unauthorized" if status == 401 else "forbidden")
    log.warning("%s refused %s %s: %s", service, request.method, request.path, exc)
    return refusal(status, str(exc))
