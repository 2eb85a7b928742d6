"""Sign-in and sign-out."""

from __future__ import annotations

import logging

from flask import Blueprint, g, redirect, render_template, request, url_for

from . import auth, metrics

log = logging.getLogger("console")
bp = Blueprint("auth", __name__)


@bp.get("/signin")
def signin():
    if g.get("user"):
        return redirect(auth.safe_next(request.args.get("next")))
    return render_template("signin.html", next=request.args.get("next", ""), error=None, name="")


@bp.post("/signin")
def signin_post():
    name = request.form.get("name", "").strip()
    user = auth.console().store.authenticate(name, request.form.get("password", ""))
    if user is None:
        metrics.SIGNINS.labels("failed").inc()
        log.info("sign-in refused", extra={"user": name[:100]})
        return render_template("signin.html", next=request.form.get("next", ""), name=name,
                               error="That name and password do not match. Check them and try again."), 401
    metrics.SIGNINS.labels("ok").inc()
    log.info("signed in", extra={"user": user["name"], "role": user["role"]})
    response = redirect(auth.safe_next(request.form.get("next")))
    auth.start_session(response, user)
    return response


@bp.post("/signout")
def signout():
    response = redirect(url_for("auth.signin"))
    auth.end_session(response)
    return response
