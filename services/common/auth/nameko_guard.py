"""Credentials on a nameko service's entrypoints, checked before a worker starts.

    @guarded_http("PATCH", "/tickets/<reference>")    401/403 JSON without a valid token
    @guarded_rpc()                                     the caller gets Unauthorized back
    @metrics_http("GET", "/metrics")                   open, or behind METRICS_TOKEN
    caller: Caller = CallerOf()                        who called (in a guarded worker)
    tickets = CredentialedRpcProxy("tickets")          presents this service's token

A refused call never reaches the service's code, so it changes nothing. Reads
need the "read" scope, everything else "write" (an RPC says which it is).
"""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.messaging import HeaderEncoder
from nameko.rpc import MethodProxy, Rpc, RpcProxy, ServiceProxy
from nameko.web.handlers import HttpRequestHandler

from . import refusals, tokens
from .tokens import WRITE, Caller

ENVIRON_KEY = "complaints.caller"
CONTEXT_KEY = "verified_caller"   # set only by a guarded entrypoint, from the token it checked
TOKEN_KEY = "auth_token"          # nameko's own key for a caller's token in the message headers


class GuardedHttp(HttpRequestHandler):
    def __init__(self, method, url, scope=None, **kwargs):
        self.scope = scope or tokens.scope_of(method)
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        service = self.container.service_name
        try:
            caller = tokens.authorize(tokens.bearer(request.headers.get("Authorization")), service, self.scope)
        except (tokens.Unauthorized, tokens.Forbidden) as exc:
            refusals.refused(service, exc, request.method, request.path)
            return refusals.answer(exc)
        request.environ[ENVIRON_KEY] = caller
        return super().handle_request(request)


guarded_http = GuardedHttp.decorator


class GuardedRpc(Rpc):
    def __init__(self, scope=WRITE, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def handle_message(self, body, message):
        service = self.container.service_name
        headers = self.unpack_message_headers(message)
        try:
            caller = tokens.authorize(headers.get(TOKEN_KEY), service, self.scope)
        except (tokens.Unauthorized, tokens.Forbidden) as exc:
            refusals.refused(service, exc, "RPC", self.method_name)
            # Answered (and acked) without a worker: the caller gets the error back.
            self.rpc_consumer.handle_result(message, None, (type(exc), exc, None))
            return
        message.headers.pop(self._get_header_name(TOKEN_KEY), None)
        message.headers[self._get_header_name(CONTEXT_KEY)] = _claims(caller)
        super().handle_message(body, message)

    _get_header_name = HeaderEncoder._get_header_name


guarded_rpc = GuardedRpc.decorator


def _claims(caller: Caller) -> dict:
    return {"subject": caller.subject, "scopes": sorted(caller.scopes), "agent": caller.agent,
            "role": caller.role, "groups": list(caller.groups)}


class CallerOf(DependencyProvider):
    """The verified caller of a guarded entrypoint's worker (None in any other worker,
    where a header of that name proves nothing)."""

    def get_dependency(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, GuardedHttp):
            return worker_ctx.args[0].environ.get(ENVIRON_KEY)
        if isinstance(entrypoint, GuardedRpc):
            claims = worker_ctx.data.get(CONTEXT_KEY) or {}
            return Caller(claims["subject"], frozenset(claims.get("scopes") or ()), claims.get("agent"),
                          claims.get("role"), tuple(claims.get("groups") or ())) if claims else None
        return None


class _CredentialedMethodProxy(MethodProxy):
    def __init__(self, credentials, *args, **kwargs):
        self.credentials = credentials
        super().__init__(*args, **kwargs)

    def get_message_headers(self, worker_ctx):
        headers = super().get_message_headers(worker_ctx)
        # Never pass on who called us: this service calls as itself.
        headers.pop(self._get_header_name(CONTEXT_KEY), None)
        headers[self._get_header_name(TOKEN_KEY)] = self.credentials.token(self.service_name)
        return headers


class _CredentialedServiceProxy(ServiceProxy):
    def __init__(self, credentials, *args, **kwargs):
        self.credentials = credentials
        super().__init__(*args, **kwargs)

    def __getattr__(self, name):
        return _CredentialedMethodProxy(self.credentials, self.worker_ctx, self.service_name, name,
                                        self.reply_listener, **self.options)


class CredentialedRpcProxy(RpcProxy):
    """nameko's RpcProxy, calling with this service's own token."""

    def setup(self):
        super().setup()
        self.credentials = tokens.ServiceCredentials(self.container.service_name)

    def get_dependency(self, worker_ctx):
        return _CredentialedServiceProxy(self.credentials, worker_ctx, self.target_service,
                                         self.rpc_reply_listener, **self.options)


class MetricsHttp(HttpRequestHandler):
    """/metrics: open, unless METRICS_TOKEN is set; then it wants that bearer token."""

    def handle_request(self, request):
        return refusals.metrics_refusal(request.headers.get("Authorization")) or super().handle_request(request)


metrics_http = MetricsHttp.decorator
