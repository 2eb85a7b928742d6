"""Supervisors' pages: the roster with status and vacations, the waiting queue, live chats."""

from __future__ import annotations

from flask import Blueprint, render_template

from . import auth, work_queue
from .work_views import router, tickets

bp = Blueprint("supervisor", __name__)


@bp.get("/roster")
@auth.requires("roster")
def roster():
    return render_template("roster.html", agents=router().agents())


@bp.get("/waiting")
@auth.requires("waiting")
def waiting():
    return render_template("waiting.html", items=router().waiting())


@bp.get("/chats")
@auth.requires("live_chats")
def live_chats():
    found = tickets().search({"channel": "chat", "status": work_queue.open_statuses(),
                              "sort": "-updated_at", "per_page": 100})
    return render_template("chats.html", items=found["items"], total=found["total"])
