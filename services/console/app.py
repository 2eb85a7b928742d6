"""The console's Flask application: wiring, security headers, CSRF and errors.

Routes live in the *_views.py modules; rules in work_queue.py and kb_search.py;
SQL in store.py; the other services are reached through clients.py.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError

from services.common import config
from services.common.storage.db import make_engine
from services.common.web import front, page_filters, security_headers

from . import (
    audit_views,
    auth,
    auth_views,
    kb_views,
    metrics,
    ops_views,
    reset_views,
    settings,
    supervisor_views,
    two_step_views,
    work_views,
)
from .clients import RouterClient, ServiceUnavailable, TicketsClient
from .store import ConsoleStore

log = logging.getLogger("console")


class Console:
    """What the routes need, one per process; RPC proxies open on first use (after the fork)."""

    def __init__(self, store: ConsoleStore, tickets, router):
        self.store, self.tickets, self.router = store, tickets, router

    def close(self) -> None:
        for client in (self.tickets, self.router):
            client.close()
        self.store.engine.dispose()


def create_app(store: ConsoleStore | None = None, tickets=None, router=None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        MAX_CONTENT_LENGTH=config.max_body_bytes(),
        SESSION_COOKIE_NAME="console_csrf",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure(),
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the browser keeps its CSRF cookie
    )
    app.json.sort_keys = False
    app.extensions["console"] = Console(store or ConsoleStore(make_engine(settings.database_url())),
                                        tickets or TicketsClient(), router or RouterClient())
    csrf = CSRFProtect(app)
    for blueprint in (auth_views.bp, two_step_views.bp, reset_views.bp, audit_views.bp, work_views.bp, kb_views.bp,
                      supervisor_views.bp, ops_views.bp):
        app.register_blueprint(blueprint)
    # The knowledge-base API is called server to server by the web intake (no
    # cookies, no forms); everything else that changes state is a form with a token.
    csrf.exempt(kb_views.api)
    app.register_blueprint(kb_views.api)
    app.before_request(auth.load_user)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(ServiceUnavailable, _unavailable)
    app.register_error_handler(InternalServerError, _internal)
    app.register_error_handler(HTTPException, _http_error)
    page_filters.install(app)
    front.install(app, security_headers.CONSOLE_PAGES, description="console")
    return app


def error_page(status: int, title: str, detail: str):
    if auth.wants_json() or request.path.startswith("/api/"):
        return {"error": title.lower().replace(" ", "_"), "detail": detail}, status
    return render_template("error.html", title=title, detail=detail), status


def _csrf_error(exc: CSRFError):
    return error_page(400, "Form expired", "This form has expired or was not sent from the console. "
                      "Go back, reload the page and try again.")


def _unavailable(exc: ServiceUnavailable):
    """A page that needs the tickets service or the router, when it does not answer."""
    service = exc.service or "tickets"
    metrics.BACKEND_ERRORS.labels(service).inc()
    log.warning("%s unavailable on %s %s: %s", service, request.method, request.path, exc)
    body, status = error_page(503, f"The {service} service is not answering",
                              f"The {service} service did not answer just now; nothing was changed. "
                              "Try again in a minute.")
    return body, status, {"Retry-After": "10"}


def _http_error(exc: HTTPException):
    return error_page(exc.code or 500, exc.name, exc.description or exc.name)


def _internal(exc):
    log.error("unhandled error on %s %s", request.method, request.path,
              exc_info=getattr(exc, "original_exception", None) or exc)
    return error_page(500, "Something went wrong", "Something went wrong on our side. Please try again.")

