"""Logging set-up shared by every service.

LOG_FORMAT=json gives one JSON object a line (for Loki/ELK), with the fields a
caller passed in `extra` (reference, intake_id, ...); the default is readable
text with those fields appended. Message bodies and secrets are never logged.
"""

import json
import logging
import os
import sys

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.as_json = as_json

    def format(self, record):
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if self.as_json:
            entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                     "message": record.getMessage(), **fields}
            if record.exc_info:
                entry["exception"] = self.formatException(record.exc_info)
            return json.dumps(entry, default=str)
        text = super().format(record)
        if fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return text


def setup(service: str) -> logging.Logger:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter(os.environ.get("LOG_FORMAT", "text") == "json"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    for noisy in ("kombu", "pika", "nameko", "alembic", "twilio"):  # twilio: a line per request, its URL
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # amqp warns about a publisher confirm that arrives while a pooled channel closes.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    return logging.getLogger(service)
