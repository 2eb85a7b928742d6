"""The Flask application: wiring, limits, error answers and response headers.

Routes live in views.py, field rules in form.py, rate limits and the honeypot
in abuse.py; this module only assembles them with the publisher, the tickets
client and the ledger of idempotency keys (ledger.py, on the intake's own
database); each is injectable for tests.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from services.common import config
from services.common.channels.regions import RegionMap
from services.common.messaging.publisher import ComplaintPublisher
from services.common.storage.db import make_engine
from services.common.web import front, page_filters, security_headers

from . import abuse, chat_views, customer_views, metrics, replies, views
from .kb_client import KnowledgeBaseClient
from .ledger import Ledger, keep_days
from .tickets_client import TicketsClient, TicketsUnavailable

log = logging.getLogger("intake_chat")


class Intake:
    """What the routes need, one per process. The publisher's connection is
    opened on first use, so it is made in the gunicorn worker, never inherited
    across a fork."""

    def __init__(self, publisher, tickets, secret: str, base_url: str, knowledge_base=None,
                 regions: RegionMap | None = None, ledger: Ledger | None = None):
        self._publisher = publisher
        self.ledger = ledger
        self.regions = regions or RegionMap()
        self.knowledge_base = knowledge_base or KnowledgeBaseClient()
        self._lock = threading.Lock()
        self.tickets = tickets
        self.secret = secret
        self.base_url = base_url

    @property
    def publisher(self):
        with self._lock:
            if self._publisher is None:
                self._publisher = ComplaintPublisher(config.amqp_uri())
            return self._publisher

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
        close = getattr(self.tickets, "close", None)
        if close:
            close()
        if self.ledger is not None:
            self.ledger.engine.dispose()


def create_app(publisher=None, tickets=None, knowledge_base=None, engine=None) -> Flask:
    app = Flask(__name__)
    # Werkzeug refuses a larger Content-Length at once, and stops a chunked
    # body (gunicorn sets wsgi.input_terminated) as soon as it passes the limit.
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes()
    app.config["MAX_FORM_MEMORY_SIZE"] = config.max_body_bytes()
    app.json.sort_keys = False
    # A wrong REGION_BY_COUNTRY or REGION_BY_EMAIL_DOMAIN stops the start (RegionMapError), not a complaint.
    regions = RegionMap.from_env()
    # A wrong IDEMPOTENCY_KEY_DAYS stops the start too. The engine connects on first use.
    ledger = Ledger(engine if engine is not None else make_engine(config.database_url("intake_chat")), keep_days())
    app.extensions["intake_chat"] = Intake(publisher, tickets if tickets is not None else TicketsClient(),
                                           config.tracking_secret(), config.public_base_url(), knowledge_base,
                                           regions, ledger)
    for blueprint in (views.bp, customer_views.bp, chat_views.bp):
        app.register_blueprint(blueprint)
    # A wrong INTAKE_RATE_LIMIT_* or RATE_LIMIT_* stops the start (RateLimitConfigError), like the region map.
    abuse.install(app)
    app.register_error_handler(TicketsUnavailable, views.tickets_unavailable)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(InternalServerError, _internal)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_drain_body)
    page_filters.install(app)
    front.install(app, security_headers.CUSTOMER_PAGES, description="intake_chat")
    return app


def _too_large(exc):
    metrics.rejected("too_large")
    limit = config.max_body_bytes()
    detail = f"the request is larger than {limit} bytes; shorten the complaint"
    if replies.wants_html():
        return replies.form_page(notice=f"Your complaint is too long to send (over {limit // 1024} KiB). "
                                        "Please shorten it and try again.", status=413)
    return replies.json_error(413, "too_large", detail)


def _http_error(exc: HTTPException):
    kind = (exc.name or "error").lower().replace(" ", "_")
    return replies.error(exc.code or 500, kind, exc.name, exc.description or exc.name)


def _internal(exc):
    log.error("unhandled error on %s %s", request.method, request.path,
              exc_info=getattr(exc, "original_exception", None) or exc)
    return replies.error(500, "internal", "Something went wrong",
                         "Something went wrong on our side; nothing you sent was kept. Please try again.")


def _drain_body(response):
    """Read what is left of a body the app answered without reading (a 415).
    Otherwise gunicorn's threaded worker discards the rest itself and then
    blocks one of its few threads waiting for a next request on that idle
    keep-alive connection, which also holds up a graceful stop. Bounded by
    MAX_CONTENT_LENGTH: a body over it (413) is left unread."""
    length = request.content_length
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if length or request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        if length is None or length <= limit:
            try:
                request.stream.exhaust()
            except (HTTPException, OSError):  # over the limit after all, or the client went away
                pass
    return response

