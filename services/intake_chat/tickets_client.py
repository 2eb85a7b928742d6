"""Asking the tickets service (nameko RPC) for what a customer may see.

One RPC proxy per thread, opened on first use after gunicorn forked and
dropped after any failure, so a broken connection or a late reply to a timed
out call never leaks into the next request.
"""

from __future__ import annotations

import logging
import threading
import warnings

from services.common import config

with warnings.catch_warnings():
    # nameko imports eventlet, which warns about its own deprecation; this
    # process never runs eventlet (the standalone proxy is plain blocking I/O).
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from nameko.exceptions import RpcTimeout, UnknownService
    from nameko.standalone.rpc import ServiceRpcProxy

log = logging.getLogger(__name__)


class TicketsUnavailable(RuntimeError):
    """No answer from the tickets service: not running, too slow, or the broker is away."""


class TicketsClient:
    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None):
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.timeout = config.rpc_timeout() if timeout is None else timeout
        self._local = threading.local()

    def get_public_view(self, reference: str) -> dict | None:
        """The ticket as its customer may see it, or None if it does not exist (yet).
        Raises TicketsUnavailable when no answer came within the timeout."""
        try:
            return self._proxy().get_public_view(reference)
        except (RpcTimeout, UnknownService) as exc:
            self._drop()
            raise TicketsUnavailable(f"the tickets service did not answer: {type(exc).__name__}") from exc
        except Exception as exc:  # broker down, connection reset, an error inside tickets
            log.warning("tickets RPC failed: %s: %s", type(exc).__name__, exc)
            self._drop()
            raise TicketsUnavailable(f"the tickets service could not be asked: {type(exc).__name__}") from exc

    def close(self) -> None:
        self._drop()

    def _proxy(self):
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            runner = ServiceRpcProxy("tickets", {"AMQP_URI": self.amqp_uri}, timeout=self.timeout)
            proxy = runner.start()
            self._local.runner, self._local.proxy = runner, proxy
        return proxy

    def _drop(self) -> None:
        runner = getattr(self._local, "runner", None)
        self._local.runner = self._local.proxy = None
        if runner is not None:
            try:
                runner.stop()
            except Exception:  # closing a broken connection may fail any way
                pass
