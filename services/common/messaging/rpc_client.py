"""Calling a nameko service's RPC from a plain (non-eventlet) process: the
web intakes and the agent console under gunicorn's threaded workers.

One standalone RPC proxy per thread, opened on first use (after gunicorn
forked) and dropped after any transport failure, so a broken connection or a
late reply to a timed-out call never leaks into the next request. An error
raised *inside* the remote service (a refused status change, an unknown
ticket) is a normal answer: it comes back as RemoteCallError with the remote
exception's type and message, and the connection is kept.

Every call presents the calling service's own token (services/common/auth),
naming the agent it is made for when there is one (`call_as`).
"""

from __future__ import annotations

import copy
import logging
import threading
import warnings

from services.common import config

with warnings.catch_warnings():
    # nameko imports eventlet, which warns about its own deprecation; these
    # processes never run eventlet (the standalone proxy is plain blocking I/O).
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
    from nameko.standalone.rpc import ServiceRpcProxy

    from services.common.auth.tokens import ServiceCredentials
    from services.common.contract.errors import CALLER_ERRORS

log = logging.getLogger(__name__)


class ServiceUnavailable(RuntimeError):
    """No answer from the service: not running, too slow, or the broker is away."""

    def __init__(self, message: str, service: str | None = None):
        super().__init__(message)
        self.service = service


class RemoteCallError(RuntimeError):
    """The service answered with an error: kind is the remote exception's class
    name (NotFound, Conflict, Invalid from services/common/contract/errors.py, or
    another that the service raised), detail its message."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


class RpcClient:
    unavailable = ServiceUnavailable

    def __init__(self, service: str, caller: str, amqp_uri: str | None = None, timeout: float | None = None):
        """`service` is called by `caller`, the name of the service this client runs in."""
        self.service = service
        self.credentials = ServiceCredentials(caller)
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.timeout = config.rpc_timeout() if timeout is None else timeout
        self._local = threading.local()

    agent: dict | None = None

    def acting_for(self, agent: dict | None):
        """This client, calling for `agent` (sharing its connections)."""
        bound = copy.copy(self)
        bound.agent = agent
        return bound

    def call(self, method: str, *args, **kwargs):
        return self.call_as(self.agent, method, *args, **kwargs)

    def call_as(self, agent: dict | None, method: str, *args, **kwargs):
        """The call made for `agent` ({"name", "role", "groups"}, as the console signed them in)."""
        try:
            proxy = self._proxy()
            # The standalone proxy sends its worker context's data as the message's headers;
            # nameko's key for a caller's token is "auth_token".
            self._local.runner._worker_ctx.data["auth_token"] = self.credentials.token(self.service, agent)
            return getattr(proxy, method)(*args, **kwargs)
        except CALLER_ERRORS as exc:  # the kernel's typed errors (NotFound, Conflict, Invalid)
            raise RemoteCallError(type(exc).__name__, str(exc)) from None
        except RemoteError as exc:
            raise RemoteCallError(exc.exc_type or "RemoteError", exc.value or str(exc)) from None
        except (RpcTimeout, UnknownService) as exc:
            self._drop()
            raise self.unavailable(f"the {self.service} service did not answer: {type(exc).__name__}",
                                   self.service) from exc
        except Exception as exc:  # broker down, connection reset
            log.warning("%s RPC %s failed: %s: %s", self.service, method, type(exc).__name__, exc)
            self._drop()
            raise self.unavailable(f"the {self.service} service could not be asked: {type(exc).__name__}",
                                   self.service) from exc

    def close(self) -> None:
        self._drop()

    def _proxy(self):
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            runner = ServiceRpcProxy(self.service, {"AMQP_URI": self.amqp_uri}, timeout=self.timeout)
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
