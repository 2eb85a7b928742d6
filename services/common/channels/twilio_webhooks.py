"""Only Twilio may call the Twilio webhooks: X-Twilio-Signature checked on every request.

Twilio signs the URL it requested (the public one, e.g.
https://example.com/whatsapp/messages?x=1) plus the POST parameters, with the
account's auth token. Behind a reverse proxy the app sees another URL
(http://127.0.0.1:8002/messages?x=1), so the URL to check is rebuilt from the
configured public base URL and the path and query the app received. Nothing
from the request's Host or X-Forwarded-* headers is trusted for it.

The check itself is the twilio package's RequestValidator (it also accepts the
URL with and without the default port, and JSON bodies signed through
?bodySHA256=). A missing or wrong signature is answered 403 before any route
runs, and counted by the service through `on_reject`.

Twilio signs either form fields or, with ?bodySHA256= in the URL, the raw
body. Any other body (JSON or text without that hash, multipart, ...) cannot
carry a valid signature, so it is refused here without reaching the
validator (which would take the body's text for a dict of fields and fail).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from flask import Flask, Response, request
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator

log = logging.getLogger(__name__)

# Probes and scrapes are not Twilio's; nor are an operator's privacy requests, which
# answer only an operator's bearer token (services/common/privacy/flask_side.py).
UNSIGNED_PATHS = ("/health/live", "/health/ready", "/metrics")
OPERATOR_PREFIX = "/privacy/"
FORM = "application/x-www-form-urlencoded"


def signs_body(query: bytes | str) -> bool:
    """The URL carries ?bodySHA256=: Twilio signed the raw body (a JSON webhook)."""
    query = query.decode("latin-1") if isinstance(query, bytes) else query
    return "bodySHA256" in parse_qs(query)


def public_url(base_url: str, path: str, query: bytes | str = b"") -> str:
    """The URL Twilio requested: the public base, then the path and query the app received.

    'https://example.com/whatsapp' + '/messages' + 'a=1' -> 'https://example.com/whatsapp/messages?a=1'
    """
    query = query.decode("latin-1") if isinstance(query, bytes) else query
    return base_url.rstrip("/") + path + (f"?{query}" if query else "")


class TwilioSignatureCheck:
    def __init__(self, auth_token: str | None, public_base_url: str):
        parts = urlsplit(public_base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"public base URL {public_base_url!r} must be absolute, like https://example.com/voice")
        self.public_base_url = public_base_url.rstrip("/")
        # Without a token nothing can be verified, so everything is refused.
        self._validator = RequestValidator(auth_token) if auth_token else None

    def is_valid(self, path: str, query: bytes | str, params, signature: str | None) -> bool:
        """params: the form fields (a MultiDict keeps repeated names), or the raw
        body as text for a JSON webhook signed through ?bodySHA256=."""
        if self._validator is None or not signature:
            return False
        if isinstance(params, str) and not signs_body(query):
            return False  # a body that is not form fields is signed only through ?bodySHA256=
        return self._validator.validate(public_url(self.public_base_url, path, query), params, signature)

    def check_request(self) -> bool:
        """The current Flask request carries a valid signature."""
        params = request.form if request.mimetype == FORM else request.get_data(cache=True, as_text=True)
        return self.is_valid(request.path, request.query_string, params, request.headers.get(SIGNATURE_HEADER))

    def install(self, app: Flask, on_reject: Callable[[str], None]) -> None:
        """Refuse every unsigned request to `app` (but its probes) with 403; on_reject('bad_signature')."""

        @app.before_request
        def _require_twilio_signature():
            if request.path in UNSIGNED_PATHS or request.path.startswith(OPERATOR_PREFIX) or self.check_request():
                return None
            on_reject("bad_signature")
            log.warning("webhook refused: missing or wrong X-Twilio-Signature",
                        extra={"path": request.path, "signed": SIGNATURE_HEADER in request.headers})
            return Response("Forbidden: this webhook only accepts requests signed by Twilio\n", status=403,
                            mimetype="text/plain")
