"""What every service's HTTP front adds around its own routes, in one place:
the security headers on every answer (security_headers.py) and, for a service
with a JSON API, its description at GET /openapi.yaml (api_description.py).

A Flask app factory says so in one line:

    front.install(app, security_headers.CONSOLE_PAGES, description="console")

nameko services declare `web_front = WebFront()` (nameko_front.py).
"""

from __future__ import annotations

from . import api_description, security_headers


def wrap(wsgi_app, policy: security_headers.Policy, description: str | None = None):
    if description:
        wsgi_app = api_description.serve(wsgi_app, description)
    return security_headers.wrap(wsgi_app, policy)


def install(app, policy: security_headers.Policy, description: str | None = None) -> None:
    """Wraps the Flask app's WSGI callable: even an answer no view or error handler
    made (a routing 404, a 413 while reading) gets the headers."""
    app.wsgi_app = wrap(app.wsgi_app, policy, description)
