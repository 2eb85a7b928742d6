"""Who is signed in, and what they may open.

The session cookie carries a random value (HttpOnly; SameSite=Lax, or Strict
with CONSOLE_COOKIE_SAMESITE; Secure with CONSOLE_COOKIE_SECURE=1) whose hash
is looked up in console_sessions. A session is signed in, or halfway: the
password was right and a code from an authenticator app (second_factor) or
setting one up (enrol) comes next. Every step up gets a new session value, so
a value seen before signing in opens nothing after.

A page asked for without a session redirects to sign-in (halfway: to the
step still to do); a JSON endpoint answers 401; a page the role does not allow
answers 403. A session ends after CONSOLE_SESSION_HOURS, or sooner after
CONSOLE_SESSION_IDLE_MINUTES without a request.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode, urlsplit

from flask import current_app, flash, g, jsonify, redirect, request, url_for
from werkzeug.exceptions import Forbidden

from services.common.time.clock import now

from . import metrics, settings, work_queue
from .sign_in_rules import account_key, address_key, totp_required
from .store import ENROL, SECOND_FACTOR, SIGNED_IN

COOKIE = "console_session"
# How long the step between the password and the code may take.
HALFWAY_HOURS = 10 / 60


def console():
    return current_app.extensions["console"]


def store():
    return console().store


def load_user() -> None:
    g.user, g.halfway, g.session_ended = None, None, False
    token = request.cookies.get(COOKIE)
    if not token:
        return
    found = store().session(token, settings.session_idle_minutes())
    if found is None:
        g.session_ended = True  # expired, idle too long, or ended elsewhere: the cookie goes too
        return
    user, stage = found
    if stage == SIGNED_IN and must_enrol(user):
        stage = ENROL  # the role has come to need a second factor since this sign-in
    if stage == SIGNED_IN:
        g.user = user
    else:
        g.halfway = (user, stage)


def must_enrol(user: dict) -> bool:
    return totp_required(user["role"], settings.totp_required_roles()) and not user["has_totp"]


def halfway_user(stage: str) -> dict | None:
    """The user halfway through signing in at this stage, if that is where this browser is."""
    return g.halfway[0] if g.get("halfway") and g.halfway[1] == stage else None


def start_session(response, user: dict, stage: str = SIGNED_IN):
    """A new session value for this browser; the one it had (if any) is ended."""
    store().close_session(request.cookies.get(COOKIE))
    hours = settings.session_hours() if stage == SIGNED_IN else HALFWAY_HOURS
    token = store().open_session(user["id"], hours, stage)
    response.set_cookie(COOKIE, token, max_age=int(hours * 3600), httponly=True,
                        samesite=settings.cookie_samesite(), secure=settings.cookie_secure(), path="/")
    g.cookie_set = True
    return response


def end_session(response):
    store().close_session(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/", samesite=settings.cookie_samesite(), secure=settings.cookie_secure())
    g.cookie_set = True
    return response


def forget_ended_session(response):
    """After each request: a cookie whose session is over is deleted from the browser."""
    if g.get("session_ended") and not g.get("cookie_set"):
        response.delete_cookie(COOKIE, path="/", samesite=settings.cookie_samesite(),
                               secure=settings.cookie_secure())
    return response


def finish_sign_in(user: dict, how: str, response):
    """Every step done: a signed-in session, the name's failures forgotten, the audit told."""
    address = client_address()
    store().locks.clear(account_key(user["name"]))
    store().locks.forgive_failures(address_key(address))
    store().audit.record("signin", user["name"], address, how)
    metrics.SIGNINS.labels("ok").inc()
    return start_session(response, user)


def step_url(stage: str, next_path: str | None) -> str:
    """Where a browser halfway through signing in goes next."""
    target = url_for("auth.code") if stage == SECOND_FACTOR else url_for("two_step.setup")
    return f"{target}?{urlencode({'next': next_path})}" if next_path else target


def lock_message(until) -> str:
    """Says the sign-in is temporarily locked and until when; the same whether or not the name exists."""
    seconds = max(1, int((until - now()).total_seconds()))
    minutes = (seconds + 59) // 60
    wait = f"about {minutes} minute{'s' if minutes != 1 else ''}"
    return (f"Signing in is temporarily locked after too many failed tries with this name or from this "
            f"network. Try again after {until:%H:%M:%S} UTC (in {wait}), or reset your password.")


def client_address() -> str:
    """The client's address: with CONSOLE_PROXY_HOPS=n, the one the n-th proxy from
    us saw (its X-Forwarded-For entry); never a value the client could choose alone."""
    hops = settings.proxy_hops()
    if hops:
        seen = [p.strip() for p in ",".join(request.headers.getlist("X-Forwarded-For")).split(",") if p.strip()]
        if len(seen) >= hops:
            return seen[-hops][:64]
    return (request.remote_addr or "unknown")[:64]


def wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best_match(
        ["text/html", "application/json"], default="text/html") == "application/json"


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            if wants_json():
                response = jsonify({"error": "unauthorized", "detail": "sign in first"})
                response.status_code = 401
                return response
            next_path = request.full_path.rstrip("?")
            if g.get("halfway"):
                return redirect(step_url(g.halfway[1], next_path))
            if g.get("session_ended"):
                flash("Your session has ended. Sign in again to go on.", "info")
            return redirect(url_for("auth.signin", next=next_path))
        return view(*args, **kwargs)
    return wrapper


def requires(action: str):
    """Signed in, with a role that allows the action (see work_queue.allowed)."""
    def decorate(view):
        @wraps(view)
        @signed_in
        def wrapper(*args, **kwargs):
            if not work_queue.allowed(g.user["role"], action):
                raise Forbidden("This page is for administrators." if action in work_queue.ADMIN_ONLY
                                else "This page is for supervisors.")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def safe_next(target: str | None) -> str:
    """Only a path on this site: never send a signed-in agent to another host."""
    if not target:
        return url_for("work.my_queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("work.my_queue")
    return target
