"""Two-step sign-in: setting up an authenticator app (the key as a QR code, as
text and as an otpauth:// link, confirmed by a first code), the recovery codes
shown once, and the account page where an agent may turn it on or off.

Supervisors and administrators (CONSOLE_TOTP_REQUIRED_ROLES) who have no app
yet come here straight after their password, and are signed in only once it
is set up. The codes themselves are checked in second_factors.py.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import Forbidden

from services.common.time.clock import now

from . import auth, settings, totp
from .sign_in_rules import totp_required
from .store import ENROL

bp = Blueprint("two_step", __name__)


def _who() -> tuple[dict | None, bool]:
    """(the user setting up, whether they are halfway through signing in)."""
    if g.get("user"):
        return g.user, False
    return auth.halfway_user(ENROL), True


@bp.get("/two-step/setup")
def setup():
    user, halfway = _who()
    if user is None:
        return redirect(url_for("auth.signin"))
    if user["has_totp"]:
        flash("Two-step sign-in is already set up for you.", "info")
        return redirect(url_for("two_step.account"))
    return _setup_page(user, halfway, request.args.get("next", ""), None, 200)


@bp.post("/two-step/setup")
def setup_post():
    user, halfway = _who()
    next_path = request.form.get("next", "")
    if user is None:
        flash("Sign in with your name and password first.", "info")
        return redirect(url_for("auth.signin", next=next_path))
    if user["has_totp"]:
        return redirect(url_for("two_step.account"))
    codes = auth.store().second_factors.confirm(user["id"], request.form.get("code", "")[:100], now())
    if codes is None:
        return _setup_page(user, halfway, next_path,
                           "That code is not right. Enter the 6-digit code your app shows now for this "
                           "account (it changes every 30 seconds).", 400)
    auth.store().audit.record("totp_enrolled", user["name"], auth.client_address())
    user = {**user, "has_totp": True}
    continue_to = auth.safe_next(next_path) if halfway else url_for("two_step.account")
    page = make_response(render_template("recovery_codes.html", codes=codes, continue_to=continue_to))
    if halfway:
        return auth.finish_sign_in(user, "password and new two-step sign-in", page)
    return auth.start_session(page, user)  # more proof of who this is: a new session value


@bp.get("/account")
@auth.signed_in
def account():
    user = g.user
    return render_template("account.html", required=totp_required(user["role"], settings.totp_required_roles()),
                           codes_left=auth.store().second_factors.recovery_codes_left(user["id"])
                           if user["has_totp"] else 0, error=None)


@bp.post("/account/two-step/off")
@auth.signed_in
def turn_off():
    user = g.user
    if totp_required(user["role"], settings.totp_required_roles()):
        raise Forbidden(f"As {user['role']} you sign in with two steps; an administrator can reset them "
                        "if your phone is lost.")
    store = auth.store()
    if not user["has_totp"]:
        return redirect(url_for("two_step.account"))
    if store.second_factors.check(user["id"], request.form.get("code", "").strip()[:100], now()) is None:
        page = render_template("account.html", required=False, error="That code is not right, or was already used.",
                               codes_left=store.second_factors.recovery_codes_left(user["id"]))
        return page, 400
    store.second_factors.remove(user["id"])
    store.audit.record("totp_removed", user["name"], auth.client_address())
    flash("Two-step sign-in is off: you sign in with your password alone.", "success")
    return auth.start_session(redirect(url_for("two_step.account")), {**user, "has_totp": False})


def _setup_page(user: dict, halfway: bool, next_path: str, error: str | None, status: int):
    secret = auth.store().second_factors.setup_secret(user["id"])
    uri = totp.setup_uri(secret, user["name"], settings.totp_issuer())
    return render_template("two_step_setup.html", secret=totp.grouped(secret), uri=uri, qr=totp.qr_svg(uri),
                           halfway=halfway, required=auth.must_enrol(user), next=next_path, error=error), status
