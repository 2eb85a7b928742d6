"""The twilio REST client, pointed at TWILIO_API_BASE_URL when that is set.

twilio.rest.Client takes a pluggable http client; ours subclasses the library's
own TwilioHttpClient and only swaps the scheme and host of each URL, so a test
double or a company egress proxy can stand in for Twilio without patching any
internals. Unset, requests go to Twilio as the library builds them.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


class BaseUrlHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str | None = None, timeout: float = 10.0, **kwargs):
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        if self.base_url:
            base = urlsplit(self.base_url)
            parts = urlsplit(url)
            url = urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))
        return super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                               timeout=timeout, allow_redirects=allow_redirects)


def api_base_url() -> str | None:
    return os.environ.get("TWILIO_API_BASE_URL") or None


def client(account_sid: str | None = None, auth_token: str | None = None, base_url: str | None = None,
           timeout: float | None = None) -> Client:
    """TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN unless given; TWILIO_HTTP_TIMEOUT seconds (10)."""
    sid = account_sid or os.environ.get("TWILIO_ACCOUNT_SID", "")
    token = auth_token or os.environ.get("TWILIO_AUTH_TOKEN", "")
    http = BaseUrlHttpClient(base_url or api_base_url(),
                             timeout=timeout or float(os.environ.get("TWILIO_HTTP_TIMEOUT", 10)))
    return Client(sid, token, http_client=http)
