"""The sign-in audit for administrators: a read-only list, newest first
(audit_log.py says what each event means)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from . import auth

bp = Blueprint("audit", __name__)
PAGE = 100


@bp.get("/audit")
@auth.requires("audit")
def audit():
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 12 else None
    entries = auth.store().audit.page(before_id, PAGE)
    older = entries[-1]["id"] if len(entries) == PAGE else None
    return render_template("audit.html", entries=entries, older=older, paged=before_id is not None)
