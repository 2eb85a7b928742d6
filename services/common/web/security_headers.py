"""Security headers on every answer of every service: pages, JSON, probes,
metrics, 404s and error answers alike.

One WSGI wrapper (`wrap`) sets them where no route can forget them: the Flask
apps get it from services/common/web/front.py (one line in each factory),
nameko's web server from services/common/web/nameko_front.py. What each page
set may load is its Policy below; the pages load only their own scripts and
stylesheets, with no inline script or style (tests/unit/test_security_headers.py
keeps the templates that way), so no nonce is needed.

HSTS_SECONDS (default 0: off, for plain-HTTP local runs) turns on
Strict-Transport-Security for answers served over HTTPS, directly or behind a
proxy that says so in X-Forwarded-Proto.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Browser features none of our pages uses, refused to them and to anything they embed.
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), payment=(), usb=()")


@dataclass(frozen=True)
class Policy:
    """What one set of answers may load (its Content-Security-Policy), and what a
    link followed from it tells the next site (its Referrer-Policy)."""

    csp: str
    referrer: str = "no-referrer"


# Pages: their own scripts, stylesheets and images, fetch() to their own origin,
# forms posted to their own origin; never framed, no <base>, no plugins.
_PAGES = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
          "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'")

# The customers' pages (web form, chat, tracking): tracking links carry their
# token in the query, so no Referer is ever sent on.
CUSTOMER_PAGES = Policy(csp=_PAGES, referrer="no-referrer")
# The console (agents, supervisors): its own links keep the Referer, nothing outside.
CONSOLE_PAGES = Policy(csp=_PAGES, referrer="same-origin")
# JSON APIs: an answer opened in a browser runs and loads nothing.
JSON_API = Policy(csp="default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox")

# The headers this module owns: a route's own value for one of them is replaced.
OWNED = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options",
         "permissions-policy", "cross-origin-opener-policy", "cross-origin-resource-policy",
         "strict-transport-security")


def hsts_seconds() -> int:
    """HSTS_SECONDS: how long a browser must keep to HTTPS (0, the default, sends no HSTS)."""
    value = os.environ.get("HSTS_SECONDS", "0").strip() or "0"
    seconds = int(value)
    if seconds < 0:
        raise ValueError(f"HSTS_SECONDS must be 0 (off) or a number of seconds, not {value}")
    return seconds


def headers_for(policy: Policy, https: bool, hsts: int = 0) -> list[tuple[str, str]]:
    """The security headers of one answer (pure: no request, no environment)."""
    headers = [
        ("Content-Security-Policy", policy.csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", policy.referrer),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    if https and hsts > 0:
        headers.append(("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"))
    return headers


def secured(headers: list[tuple[str, str]], policy: Policy, https: bool, hsts: int = 0) -> list[tuple[str, str]]:
    """An answer's headers with ours in place. Cache-Control: no-store unless the route
    chose a caching of its own (static files): every other answer is dynamic, and
    many are personal (a ticket, a tracking page, an agent's queue)."""
    kept = [(name, value) for name, value in headers if name.lower() not in OWNED]
    if not any(name.lower() == "cache-control" for name, _ in kept):
        kept.append(("Cache-Control", "no-store"))
    return kept + headers_for(policy, https, hsts)


def is_https(environ) -> bool:
    """Served over HTTPS: by this server, or by a proxy in front of it (X-Forwarded-Proto).
    Trusting the proxy's header here is safe: at worst a client makes its own browser keep to HTTPS."""
    forwarded = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
    return environ.get("wsgi.url_scheme") == "https" or forwarded == "https"


def wrap(wsgi_app, policy: Policy):
    """wsgi_app with the security headers on every answer it gives."""
    hsts = hsts_seconds()  # read once, at start: a bad value stops the start, not a request

    def app(environ, start_response):
        https = is_https(environ)

        def start(status, headers, exc_info=None):
            return start_response(status, secured(headers, policy, https, hsts), exc_info)

        return wsgi_app(environ, start)

    return app
