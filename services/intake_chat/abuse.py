"""Abuse protection of the public web intake: which rate limit guards which
endpoint, whom a request counts against, the honeypot, and how a refusal is
answered. The limiter itself (storage, fallback, proxies) is the kernel's
services/common/web/rate_limits.py.

Defaults a person never reaches and a script does at once:

- per client address, on every endpoint that takes a post (new complaints,
  chats, messages, follow-up choices, surveys, article feedback), each with
  its own count: INTAKE_RATE_LIMIT_PER_ADDRESS, 20 a minute and 200 an hour;
- per customer (the complaint's email, and its phone number), whatever the
  address, over the form and the chat together: INTAKE_RATE_LIMIT_PER_CUSTOMER,
  5 a minute and 30 an hour;
- chats opened per client address: CHAT_SESSIONS_PER_ADDRESS_PER_HOUR, 30.

An empty limit (or 0 chats) turns that rule off. Limits are checked before the
honeypot, so a flood of filled honeypots is also refused with 429 once it is a flood.
"""

from __future__ import annotations

import functools
import logging

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from services.common.web import rate_limits
from services.common.web.rate_limits import Refusal, Rule, client_address

# Not metrics at import: __main__ checks these settings before the metrics
# directory is set up, and prometheus_client must not be imported before that.
from . import form, payload, replies

log = logging.getLogger("intake_chat")

PER_ADDRESS_DEFAULT = "20/minute;200/hour"
PER_CUSTOMER_DEFAULT = "5/minute;30/hour"
CHAT_SESSIONS_DEFAULT = 30

COMPLAINTS, CHAT = "intake.submit", "chat.start_chat"
FOLLOW_UPS = ("customer.add_message", "customer.follow_up", "customer.answer_survey", "chat.suggestion_feedback")
# Per endpoint: what was sent too often, and what a person may be sure of when told to wait.
SENT = {
    COMPLAINTS: ("complaints", "The complaints you sent before this page were received: follow each one "
                               "with the reference and tracking link you were given."),
    CHAT: ("chats", "The chats you started before were received: follow each one with its tracking link."),
    "customer.add_message": ("messages", "The messages you sent before this page were received and are on "
                                         "your complaint."),
    "customer.follow_up": ("changes", "Your earlier choice of how we follow up was saved."),
    "customer.answer_survey": ("answers", "Your earlier answer to the survey was saved."),
    "chat.suggestion_feedback": ("answers", "Your earlier answers were saved."),
}
FROM_CUSTOMER = "this email address or phone number"
FROM_ADDRESS = "your connection"


def rules() -> dict[str, Rule]:
    """The rules, from the environment; raises RateLimitConfigError."""
    per_customer = rate_limits.limits_setting("INTAKE_RATE_LIMIT_PER_CUSTOMER", PER_CUSTOMER_DEFAULT)
    chats = rate_limits.count_setting("CHAT_SESSIONS_PER_ADDRESS_PER_HOUR", CHAT_SESSIONS_DEFAULT)
    return {
        "per_address": Rule("per_address", rate_limits.limits_setting("INTAKE_RATE_LIMIT_PER_ADDRESS",
                                                                      PER_ADDRESS_DEFAULT), client_address),
        # Two counts, so that changing the phone number under one email (or the reverse) gains nothing.
        "by_email": Rule("per_customer", per_customer, lambda: customer_key("email"), shared=True,
                         scope="per_customer_email"),
        "by_phone": Rule("per_customer", per_customer, lambda: customer_key("phone"), shared=True,
                         scope="per_customer_phone"),
        "chat_sessions": Rule("chat_sessions", f"{chats}/hour" if chats else "", client_address),
    }


def check_settings() -> None:
    """Every setting read, before gunicorn forks: one clear line instead of every worker failing."""
    rate_limits.check_settings()
    rules()


def install(app: Flask) -> rate_limits.RateLimits:
    """The honeypot on the complaint and chat posts, and the rate limits around every post."""
    from . import metrics

    for endpoint, channel in ((COMPLAINTS, "web"), (CHAT, "chat")):
        app.view_functions[endpoint] = _honeypot_guard(app.view_functions[endpoint], channel)
    rule = rules()
    limits = rate_limits.RateLimits(app, "intake_chat", answer=refused, on_limited=metrics.rate_limited,
                                    on_fallback=metrics.rate_limit_fallback)
    limits.apply(COMPLAINTS, rule["per_address"], rule["by_email"], rule["by_phone"])
    limits.apply(CHAT, rule["per_address"], rule["chat_sessions"], rule["by_email"], rule["by_phone"])
    for endpoint in FOLLOW_UPS:
        limits.apply(endpoint, rule["per_address"])
    for endpoint, applied in limits.rules.items():  # every series from the start: a rate() sees 0, not nothing
        for each in applied:
            metrics.RATE_LIMITED.labels(endpoint, each.name)
    return limits


# --- whom a request counts against ---------------------------------------------------------


def posted_fields() -> dict | None:
    """The fields as the view will read them; None when they cannot be read (the view then says why)."""
    try:
        return payload.read_fields(request)
    except (payload.BadPayload, HTTPException):
        return None


def customer_key(kind: str) -> str | None:
    """The complaint's email or phone number, as form.py will keep it, under a
    pseudonym; None for an anonymous complaint or one without it."""
    fields = posted_fields()
    if not fields or str(fields.get("anonymous", "")).strip().lower() in form.TRUE:
        return None
    value = fields.get(kind)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip().lower() if kind == "email" else form.tidy_phone(value.strip())
    return rate_limits.pseudonym(kind, value, current_app.extensions["intake_chat"].secret)


# --- the honeypot -------------------------------------------------------------------------


def _honeypot_guard(view, channel: str):
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        fields = posted_fields()
        if fields and form.honeypot_filled(fields):
            from . import metrics

            metrics.honeypot(channel)
            log.info("post refused: the honeypot field was filled", extra={"channel": channel})
            return _honeypot_refused(fields)
        return view(*args, **kwargs)
    return guarded


def _honeypot_refused(fields: dict) -> Response:
    """422, said plainly: a person whose browser filled the hidden field keeps what they wrote."""
    if replies.wants_html():
        values = {k: v for k, v in fields.items() if k != form.HONEYPOT_FIELD}
        return replies.form_page(values, status=422, notice=(
            "Your complaint was not sent: a hidden field that must stay empty was filled in. Programs that "
            "send complaints automatically fill it; sometimes a browser's autofill or an extension does. "
            "Check your complaint below and send it again."))
    return replies.json_error(422, "honeypot", f"the field {form.HONEYPOT_FIELD!r} must be left empty: it is "
                              "hidden from people, and only automated posts fill it",
                              fields={form.HONEYPOT_FIELD: "leave this field empty"})


# --- the answer to a refused request ------------------------------------------------------


def refused(refusal: Refusal) -> Response:
    """429 (Retry-After is added by the limiter): JSON for programs, a page a person understands for a browser."""
    what, received = SENT.get(refusal.endpoint, ("requests", ""))
    source = FROM_CUSTOMER if refusal.rule.name == "per_customer" else FROM_ADDRESS
    title = f"Too many {what} from {source}"
    if not replies.wants_html():
        # The chat page shows this detail to a person: minutes once the wait is long.
        wait = f"{refusal.retry_after} seconds" if refusal.retry_after < 120 else wait_text(refusal.retry_after)
        return replies.json_error(429, "rate_limited", f"{title.lower()} (at most {refusal.limit}); "
                                  f"try again in {wait}")
    unsent = request.form.get("body") if payload.is_form(request) else None
    html = render_template("limited.html", title=title, wait=wait_text(refusal.retry_after), received=received,
                           unsent=unsent, what=what)
    return Response(html, status=429, mimetype="text/html")


def wait_text(seconds: int) -> str:
    """How long to wait, for a person, in whole minutes ('a minute' at least;
    the fixed window's reset is a second past the minute, so 61 s is a minute)."""
    minutes = max(1, round(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"
