"""Who is signed in, and what they may open.

The session cookie carries a random value (HttpOnly, SameSite=Lax; Secure with
CONSOLE_COOKIE_SECURE=1) whose hash is looked up in console_sessions. A page
asked for without a session redirects to sign-in; a JSON endpoint answers 401;
a page the role does not allow answers 403.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, jsonify, redirect, request, url_for
from werkzeug.exceptions import Forbidden

from . import settings, work_queue

COOKIE = "console_session"


def console():
    return current_app.extensions["console"]


def load_user() -> None:
    g.user = console().store.session_user(request.cookies.get(COOKIE))


def start_session(response, user: dict) -> None:
    token = console().store.open_session(user["id"], settings.session_hours())
    response.set_cookie(COOKIE, token, max_age=int(settings.session_hours() * 3600), httponly=True,
                        samesite="Lax", secure=settings.cookie_secure(), path="/")


def end_session(response) -> None:
    console().store.close_session(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/")


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
            return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def requires(action: str):
    """Signed in, with a role that allows the action (see work_queue.allowed)."""
    def decorate(view):
        @wraps(view)
        @signed_in
        def wrapper(*args, **kwargs):
            if not work_queue.allowed(g.user["role"], action):
                raise Forbidden("This page is for supervisors.")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def safe_next(target: str | None) -> str:
    """Only a path on this site: never send a signed-in agent to another host."""
    if not target:
        return url_for("work.my_queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("work.my_queue")
    return target
