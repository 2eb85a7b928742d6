"""The credential check on Flask: a whole internal app (`guard`: the email
intake's quarantine and mailboxes; every path but health and metrics), or one
view of a public app (`requires_token`: the console's JSON API for the web intake)."""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, request

from . import refusals, tokens

OPEN_PATHS = ("/health/live", "/health/ready")


def guard(app: Flask, service: str) -> None:
    @app.before_request
    def require_credential():
        if request.path in OPEN_PATHS:
            return None
        if request.path == "/metrics":
            return refusals.metrics_refusal(request.headers.get("Authorization"))
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
        return refusals.metrics_refusal(request.headers.get("Authorization")) or view(*args, **kwargs)
    return wrapper


def _check(service: str):
    """None when the request's token lets it through (g.caller is set), else the refusal."""
    try:
        g.caller = tokens.authorize(tokens.bearer(request.headers.get("Authorization")), service,
                                    tokens.scope_of(request.method))
    except (tokens.Unauthorized, tokens.Forbidden) as exc:
        refusals.refused(service, exc, request.method, request.path)
        return refusals.answer(exc)
    return None
