"""The front of a nameko service's HTTP side, declared once on the service:

    class TicketsService:
        web_front = WebFront()

Every answer then carries the security headers (security_headers.JSON_API),
GET /openapi.yaml serves docs/openapi/<service>.yaml, and the answers nameko
gives by itself keep our one error shape {"error", "detail"}: a URL no
entrypoint has (werkzeug's HTML 404/405 page), and an exception no handler
mapped (nameko's text "Error: KeyError: 'x'", naming the exception's class,
which a caller has no business seeing; nameko has logged it with its trace).

How: nameko's @http entrypoints share one WebServer per service (a
SharedExtension keyed by its class). Dependencies are bound before
entrypoints, so the SecuredWebServer of WebFront, keyed as a WebServer, is
the one every @http entrypoint of the service finds and uses.
"""

from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from services.common import web

from . import front, security_headers

log = logging.getLogger(__name__)


def _plain(response):
    """nameko's own answer to an exception (HttpRequestHandler.response_from_exception)
    in our shape, without the exception's class or text."""
    if response.status_code < 400 or response.mimetype != "text/plain" or \
            not response.get_data().startswith(b"Error: "):
        return response
    if response.status_code >= 500:
        return web.json_response({"error": "internal", "detail": "something went wrong on our side; "
                                  "it is logged, please try again"}, response.status_code)
    return web.json_response({"error": "bad_request", "detail": "the request does not fit this endpoint"},
                             response.status_code)


class JsonWsgiApp(WsgiApp):
    """nameko's WsgiApp (nameko/web/server.py), answering its own errors in JSON."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = _plain(provider.handle_request(request))
        except HTTPException as exc:
            response = web.http_error(exc)
        return response(environ, start_response)


class SecuredWebServer(WebServer):
    @property
    def sharing_key(self):
        return WebServer  # the key every @http entrypoint's server is found by

    def get_wsgi_app(self):
        return front.wrap(JsonWsgiApp(self), security_headers.JSON_API, description=self.container.service_name)


class WebFront(DependencyProvider):
    """Declare on a nameko service with @http entrypoints (see the module's docstring)."""

    server = SecuredWebServer()

    def setup(self):
        if not isinstance(self.server, SecuredWebServer):
            raise RuntimeError("WebFront was bound after an @http entrypoint: its security headers would be "
                               "missing; declare it on the service class")

    def get_dependency(self, worker_ctx):
        return None
