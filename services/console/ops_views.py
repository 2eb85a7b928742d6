"""Health and metrics, open to the orchestrator and Prometheus (no sign-in)."""

from __future__ import annotations

import pika
from flask import Blueprint, jsonify

from services.common import config, web
from services.common.auth.flask_guard import metrics_view

from . import auth, metrics

bp = Blueprint("ops", __name__)


@bp.get("/health/live")
def live():
    return jsonify({"status": "ok"})


@bp.get("/health/ready")
def ready():
    return web.readiness({"database": auth.console().store.ping, "broker": _broker})


@bp.get("/metrics")
@metrics_view
def prometheus():
    return metrics.render()


def _broker() -> None:
    params = pika.URLParameters(config.amqp_uri())
    params.socket_timeout = params.blocked_connection_timeout = 2
    params.connection_attempts = 1
    pika.BlockingConnection(params).close()
