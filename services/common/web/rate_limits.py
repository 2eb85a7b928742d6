"""Rate limits for the public Flask apps: Flask-Limiter built from the
environment, keys that say whom a request counts against, and one place
where a refusal is counted and answered. The web intake uses it
(services/intake_chat/abuse.py says which endpoint gets which rule); any
other public Flask intake can do the same:

    limits = RateLimits(app, "intake_chat", answer=..., on_limited=..., on_fallback=...)
    limits.apply("intake.submit", Rule("per_address", "20/minute;200/hour", client_address))

Environment (README, Configuration):

- RATE_LIMIT_ENABLED: 0 turns every limit off (load tests, which post from
  one address on purpose); default 1.
- RATE_LIMIT_STORAGE_URI: `memory://` (default) counts in each process, so
  each gunicorn worker and each replica allows the full limit; `redis://host:
  6379/0` keeps one count for all of them. Query parameters go to the Redis
  client (`?socket_timeout=1`); both timeouts default to 0.5 s here, so a
  Redis that hangs costs a request half a second once, not five.
- RATE_LIMIT_KEY_PREFIX: prefix of the storage keys (default: the app's name),
  for installations or tests that share one Redis.
- TRUSTED_PROXY_HOPS: how many proxies in front of the app add themselves to
  X-Forwarded-For (werkzeug's ProxyFix); default 0, the socket's address is the
  client's. Set it to the real number: with too many, a client picks its own
  address by sending the header.

When the storage does not answer, each process goes on with the same limits in
its own memory (Flask-Limiter's in-memory fallback) and asks the storage again
after 1, 2, 4, ... 32 seconds: an unreachable Redis never fails a request, it
only makes the counts per process for a while, and `on_fallback` counts each
request decided that way.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, g, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

DEFAULT_STORAGE_URI = "memory://"
# Redis client timeouts (seconds) unless the URI names its own.
STORAGE_TIMEOUT_SECONDS = 0.5
REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")
# A person's IPv6 network is a /64: one subscriber can use any of its 2^64
# addresses, so they all count as one client.
IPV6_CLIENT_PREFIX = 64


class _QuietBreaches(logging.Filter):
    """Flask-Limiter logs every refusal at INFO: a flood would flood the log too.
    Refusals are counted (on_limited) instead; its warnings (storage lost) and
    recoveries still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("ratelimit ")


_QUIET_BREACHES = _QuietBreaches()


class RateLimitConfigError(ValueError):
    """A limit or setting in the environment is unreadable: the app refuses to start."""


@dataclass(frozen=True)
class Rule:
    """One limit on an endpoint.

    name:   says which limit in the metrics and the answers (`per_address`).
    limits: Flask-Limiter's notation, `20/minute;200/hour`; empty: the rule is off.
    key:    whom a request counts against; None or "" means the rule does not
            apply to that request (an anonymous complaint has no customer key).
    shared: one count across every endpoint the rule is applied to, instead of
            one per endpoint.
    scope:  what separates the counts of two rules with the same name (default: the name).
    """

    name: str
    limits: str
    key: Callable[[], str | None]
    shared: bool = False
    scope: str | None = None


@dataclass(frozen=True)
class Refusal:
    """What the answer to a refused request needs."""

    rule: Rule
    endpoint: str
    limit: str            # the limit that was reached, readable: "20 per 1 minute"
    retry_after: int      # seconds until it lets a request through again


def limits_setting(name: str, default: str) -> str:
    """A limit from the environment (`20/minute;200/hour`; empty turns it off),
    checked now: Flask-Limiter would only read it at the first request."""
    value = os.environ.get(name, default).strip()
    if value:
        try:
            parse_many(value)
        except ValueError as exc:
            raise RateLimitConfigError(f"{name}={value!r} is not a rate limit like '20/minute;200/hour' "
                                       f"({exc})") from None
    return value


def count_setting(name: str, default: int) -> int:
    """A whole number >= 0 from the environment."""
    raw = os.environ.get(name, str(default)).strip()
    if not raw.isdigit():
        raise RateLimitConfigError(f"{name}={raw!r} is not a whole number >= 0")
    return int(raw)


def enabled() -> bool:
    return os.environ.get("RATE_LIMIT_ENABLED", "1").strip().lower() not in ("0", "false", "no", "off")


def storage_uri() -> str:
    return os.environ.get("RATE_LIMIT_STORAGE_URI", "").strip() or DEFAULT_STORAGE_URI


def storage_options(uri: str) -> dict:
    """Short Redis timeouts unless the URI sets its own (its query wins in redis-py)."""
    if uri.split("://", 1)[0] in REDIS_SCHEMES:
        return {"socket_connect_timeout": STORAGE_TIMEOUT_SECONDS, "socket_timeout": STORAGE_TIMEOUT_SECONDS}
    return {}


def check_settings() -> None:
    """The settings every app shares; raises RateLimitConfigError. For a start-up check before forking."""
    count_setting("TRUSTED_PROXY_HOPS", 0)
    uri = storage_uri()
    if "://" not in uri:
        raise RateLimitConfigError(f"RATE_LIMIT_STORAGE_URI={uri!r} is not a URI like memory:// or "
                                   "redis://host:6379/0")


# --- whom a request counts against ------------------------------------------------


def client_group(address: str | None) -> str | None:
    """The client an address belongs to: an IPv4 address itself, an IPv6
    address its /64 (an IPv4-mapped one its IPv4 address)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(ip)


def client_address() -> str | None:
    """The client of this request (after TRUSTED_PROXY_HOPS), grouped by client_group."""
    return client_group(request.remote_addr)


def pseudonym(kind: str, value: str, secret: str) -> str:
    """A storage key for a customer identity (an email, a phone number) that does
    not show it: whoever reads Redis cannot tell whose counts they are."""
    digest = hmac.new(secret.encode(), f"rate-limit {kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:32]}"


# --- the limiter -----------------------------------------------------------------


def trust_proxies(app: Flask) -> int:
    """Take the client's address from X-Forwarded-For when TRUSTED_PROXY_HOPS proxies are in front."""
    hops = count_setting("TRUSTED_PROXY_HOPS", 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)
    return hops


class RateLimits:
    """The limiter of one app, and the rules applied to its endpoints.

    answer(refusal) -> Response: how the app says no (a 429 with Retry-After).
    on_limited(endpoint, rule_name): a refusal, to count.
    on_fallback(): a request decided on the in-memory fallback, to count.
    """

    def __init__(self, app: Flask, name: str, answer: Callable[[Refusal], Response],
                 on_limited: Callable[[str, str], None] | None = None,
                 on_fallback: Callable[[], None] | None = None):
        check_settings()
        self.app = app
        self.enabled = enabled()
        self.proxy_hops = trust_proxies(app)
        self.storage_uri = storage_uri()
        self._answer, self._on_limited, self._on_fallback = answer, on_limited, on_fallback
        self.rules: dict[str, list[Rule]] = {}
        self.limiter = Limiter(
            key_func=client_address, app=app, storage_uri=self.storage_uri,
            storage_options=storage_options(self.storage_uri),
            key_prefix=os.environ.get("RATE_LIMIT_KEY_PREFIX", "").strip() or name,
            strategy="fixed-window", in_memory_fallback_enabled=True,
            # Anything else going wrong in the limiter lets the request through (logged), never a 500.
            swallow_errors=True, headers_enabled=False, enabled=self.enabled)
        self._primary = self.limiter.limiter if self.enabled else None
        logging.getLogger("flask-limiter").addFilter(_QUIET_BREACHES)  # once, however many apps
        app.register_error_handler(RateLimitExceeded, self._refused)
        app.after_request(self._count_fallback)

    def apply(self, endpoint: str, *rules: Rule) -> None:
        """Wrap the endpoint's view so each rule (that is not off) is checked before it runs."""
        view = self.app.view_functions[endpoint]
        for rule in rules:
            if not rule.limits:
                continue
            self.rules.setdefault(endpoint, []).append(rule)
            options = dict(key_func=_keyed(rule), exempt_when=_not_applicable(rule), on_breach=self._breached(rule))
            if rule.shared:
                limit = self.limiter.shared_limit(rule.limits, rule.scope or rule.name, **options)
            else:
                limit = self.limiter.limit(rule.limits, scope=rule.scope or rule.name, **options)
            view = limit(view)
        self.app.view_functions[endpoint] = view

    def _breached(self, rule: Rule):
        def on_breach(limit: RequestLimit) -> None:
            g.rate_limit_refusal = Refusal(rule, request.endpoint or "", str(limit.limit),
                                           retry_after_seconds(limit))
            if self._on_limited:
                self._on_limited(request.endpoint or "", rule.name)
        return on_breach

    def _refused(self, exc: RateLimitExceeded) -> Response:
        refusal = g.get("rate_limit_refusal") or Refusal(Rule("unknown", "", lambda: None), request.endpoint or "",
                                                         str(exc.limit.limit), exc.limit.limit.get_expiry())
        response = self._answer(refusal)
        response.status_code = 429
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response

    def on_fallback(self) -> bool:
        """True while this process counts in its own memory because the storage did not answer."""
        return self.enabled and self.limiter.limiter is not self._primary

    def _count_fallback(self, response: Response) -> Response:
        if self._on_fallback and request.endpoint in self.rules and self.on_fallback():
            self._on_fallback()
        return response


def retry_after_seconds(limit: RequestLimit) -> int:
    """Seconds until the window of the limit reached lets a request through
    (the whole window when the storage cannot say)."""
    try:
        return max(1, math.ceil(limit.reset_at - time.time()))
    except Exception:  # the storage went away between the refusal and this question
        return limit.limit.get_expiry()


def _keyed(rule: Rule) -> Callable[[], str]:
    """The rule's key, worked out once per request (exempt_when asks first).
    Never raises: Flask-Limiter takes any exception from a key for a storage failure."""
    def key() -> str:
        cache = g.setdefault("rate_limit_keys", {})
        if rule not in cache:
            try:
                cache[rule] = rule.key() or ""
            except Exception:
                log.exception("rate-limit key %s failed; the rule is skipped for this request", rule.name)
                cache[rule] = ""
        return cache[rule]
    return key


def _not_applicable(rule: Rule) -> Callable[[], bool]:
    key = _keyed(rule)
    return lambda: not key()
