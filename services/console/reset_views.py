"""Forgotten passwords: "Forgot password" takes a name or an email address and
always answers the same words; the account's address (if it has one) gets a
link with a random single-use token (password_resets.py), good for
CONSOLE_RESET_MINUTES. The link's page sets a new password and ends every
session of the account; the second factor stays as it was.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from . import auth, reset_mail, settings
from .sign_in_rules import account_key
from .store import ConsoleError

bp = Blueprint("reset", __name__)

LINK_GONE = "This link has expired or was already used. Ask for a new one below."


@bp.get("/forgot")
def forgot():
    return render_template("forgot.html", sent=False, error=None, minutes=settings.reset_minutes())


@bp.post("/forgot")
def forgot_post():
    typed = request.form.get("who", "").strip()[:254]
    if not typed:
        return render_template("forgot.html", sent=False, error="Enter your name or your email address.",
                               minutes=settings.reset_minutes()), 400
    store, address = auth.store(), auth.client_address()
    user = store.user_for_reset(typed)
    if user is None:
        store.audit.record("reset_requested", typed[:100], address, "no active account with an email address")
    elif (token := store.resets.issue(user["id"], settings.reset_minutes())) is None:
        store.audit.record("reset_requested", user["name"], address, "asked again within a minute: no new mail")
    else:
        store.audit.record("reset_requested", user["name"], address, "link mailed")
        link = f"{settings.public_url()}{url_for('reset.reset', token=token)}"
        name = user["name"]
        reset_mail.send_later(reset_mail.compose(user, link, settings.reset_minutes()),
                              lambda exc: store.audit.record("reset_mail_failed", name, address,
                                                             type(exc).__name__))
    return render_template("forgot.html", sent=True, error=None, minutes=settings.reset_minutes())


@bp.get("/reset/<token>")
def reset(token):
    if auth.store().resets.valid_user_id(token) is None:
        return _reset_page(token, LINK_GONE, 404)
    return _reset_page(token, None, 200)


@bp.post("/reset/<token>")
def reset_post(token):
    store, address = auth.store(), auth.client_address()
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        return _reset_page(token, "The two passwords differ. Type the same new password twice.", 400)
    try:
        user = store.reset_password(token, password)
    except ConsoleError as exc:
        return _reset_page(token, str(exc), 400)
    except LookupError:
        store.audit.record("reset_refused", None, address, "link unknown, used or expired")
        return _reset_page(token, LINK_GONE, 404)
    store.locks.clear(account_key(user["name"]))
    store.audit.record("reset_done", user["name"], address, "every session ended")
    g.session_ended = bool(request.cookies.get(auth.COOKIE))  # this browser's session, if any, ended too
    flash("Your password is changed, and every session of your account has ended. "
          "Sign in with the new password.", "success")
    return redirect(url_for("auth.signin"))


def _reset_page(token: str, error: str | None, status: int):
    return render_template("reset.html", gone=status == 404, error=error, token=token,
                           min_length=auth.store().min_password), status
