"""Sign-in (the password, then a code from the authenticator app when the user
has one) and sign-out. Setting up the app is two_step_views.py; forgotten
passwords reset_views.py; the rules (locks, who needs a code) sign_in_rules.py.

Failed passwords and codes count against the name typed and the client
address; a lock is checked before the password, so a locked name learns
nothing more, and looks the same whether or not anyone has that name.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for

from services.common.time.clock import now

from . import auth, metrics
from .sign_in_rules import account_key, address_key
from .store import ENROL, SECOND_FACTOR

log = logging.getLogger("console")
bp = Blueprint("auth", __name__)
bp.after_app_request(auth.forget_ended_session)

WRONG_PASSWORD = "That name and password do not match. Check them and try again."
WRONG_CODE = ("That code is not right, or was already used. Enter the code your app shows now "
              "(it changes every 30 seconds), or one of your recovery codes.")


@bp.get("/signin")
def signin():
    if g.get("user"):
        return redirect(auth.safe_next(request.args.get("next")))
    return _signin_page(request.args.get("next", ""), "", None, 200)


@bp.post("/signin")
def signin_post():
    name = request.form.get("name", "").strip()[:100]
    password = request.form.get("password", "")
    next_path = request.form.get("next", "")
    if not name or not password:
        return _signin_page(next_path, name, "Enter your name and your password.", 400)
    store, address = auth.store(), auth.client_address()
    keys = [account_key(name), address_key(address)]
    until = store.locks.locked_until(keys, now())
    if until:
        store.audit.record("signin_locked", name, address)
        metrics.SIGNINS.labels("failed").inc()
        return _locked(next_path, name, until)
    user = store.authenticate(name, password)
    if user is None:
        return _failed("signin_failed", name, keys, next_path, WRONG_PASSWORD)
    if user["has_totp"]:
        return auth.start_session(redirect(auth.step_url(SECOND_FACTOR, next_path)), user, SECOND_FACTOR)
    if auth.must_enrol(user):
        return auth.start_session(redirect(auth.step_url(ENROL, next_path)), user, ENROL)
    log.info("signed in", extra={"user": user["name"], "role": user["role"]})
    return auth.finish_sign_in(user, "password", redirect(auth.safe_next(next_path)))


@bp.get("/signin/code")
def code():
    if auth.halfway_user(SECOND_FACTOR) is None:
        return redirect(url_for("auth.signin", next=request.args.get("next", "")))
    return _code_page(request.args.get("next", ""), None, 200)


@bp.post("/signin/code")
def code_post():
    user = auth.halfway_user(SECOND_FACTOR)
    next_path = request.form.get("next", "")
    if user is None:
        flash("Sign in with your name and password first.", "info")
        return redirect(url_for("auth.signin", next=next_path))
    typed = request.form.get("code", "").strip()[:100]
    if not typed:
        return _code_page(next_path, "Enter the code from your authenticator app.", 400)
    store, address = auth.store(), auth.client_address()
    keys = [account_key(user["name"]), address_key(address)]
    until = store.locks.locked_until(keys, now())
    if until:
        store.audit.record("signin_locked", user["name"], address)
        return auth.end_session(_locked(next_path, user["name"], until))
    how = store.second_factors.check(user["id"], typed, now())
    if how is None:
        return _failed("code_failed", user["name"], keys, next_path, WRONG_CODE, halfway=True)
    if how == "recovery":
        left = store.second_factors.recovery_codes_left(user["id"])
        store.audit.record("recovery_code_used", user["name"], address, f"{left} left")
        flash(f"You signed in with a recovery code: it cannot be used again, and you have {left} left. "
              "If your phone is lost, ask an administrator to reset your two-step sign-in.", "info")
    log.info("signed in", extra={"user": user["name"], "role": user["role"]})
    return auth.finish_sign_in(user, f"password and {'recovery code' if how == 'recovery' else 'app code'}",
                               redirect(auth.safe_next(next_path)))


@bp.post("/signout")
def signout():
    user = g.get("user") or (g.halfway[0] if g.get("halfway") else None)
    if user:
        auth.store().audit.record("signout", user["name"], auth.client_address())
    return auth.end_session(redirect(url_for("auth.signin")))


def _failed(event: str, name: str, keys: list[str], next_path: str, message: str, halfway: bool = False):
    store, address = auth.store(), auth.client_address()
    metrics.SIGNINS.labels("failed").inc()
    log.info("sign-in refused", extra={"user": name, "step": event})
    store.audit.record(event, name, address)
    until = store.locks.record_failure(keys, now())
    if until:
        store.audit.record("lockout", name, address, f"until {until.isoformat(timespec='seconds')}")
        response = _locked(next_path, name, until)
        return auth.end_session(response) if halfway else response
    if halfway:
        return _code_page(next_path, message, 401)
    return _signin_page(next_path, name, message, 401)


def _locked(next_path: str, name: str, until):
    response = _signin_page(next_path, name, auth.lock_message(until), 429)
    response.headers["Retry-After"] = str(max(1, int((until - now()).total_seconds())))
    return response


def _signin_page(next_path: str, name: str, error: str | None, status: int):
    return make_response(render_template("signin.html", next=next_path, name=name, error=error), status)


def _code_page(next_path: str, error: str | None, status: int):
    return make_response(render_template("signin_code.html", next=next_path, error=error), status)
