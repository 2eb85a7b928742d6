"""Supervisors' pages: the roster with status and vacations, the waiting queue, live chats."""

from __future__ import annotations

from flask import Blueprint, render_template

from . import auth, work_queue
from .clients import ServiceUnavailable
from .work_views import tickets, unavailable

bp = Blueprint("supervisor", __name__)


@bp.get("/roster")
@auth.requires("roster")
def roster():
    try:
        agents = auth.console().router.agents()
    except ServiceUnavailable as exc:
        return unavailable("router", exc)
    return render_template("roster.html", agents=agents)


@bp.get("/waiting")
@auth.requires("waiting")
def waiting():
    try:
        items = auth.console().router.waiting()
    except ServiceUnavailable as exc:
        return unavailable("router", exc)
    return render_template("waiting.html", items=items)


@bp.get("/chats")
@auth.requires("live_chats")
def live_chats():
    try:
        found = tickets().search({"channel": "chat", "status": work_queue.open_statuses(),
                                  "sort": "-updated_at", "per_page": 100})
    except ServiceUnavailable as exc:
        return unavailable("tickets", exc)
    return render_template("chats.html", items=found["items"], total=found["total"])
