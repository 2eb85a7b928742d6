"""Each published description (docs/openapi/<service>.yaml) lists exactly the routes its
service registers, read from the service itself (the nameko class's @http entrypoints,
the Flask app's URL map), so a route added, renamed or removed without its description
fails here. The pages of the console and the web intake are for people in a browser,
not part of an API: they are named below, so a new page is a decision too.

Nothing is started: the Flask apps are built with stand-ins for what they would call.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
import yaml
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.web.handlers import HttpRequestHandler

from services.common import registry
from services.common.storage.db import make_engine
from services.common.web.api_description import PATH, described, file_of
from services.common.web.nameko_front import WebFront

METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")

# Routes that answer pages (or their static files), not the JSON API.
PAGES = {
    "console": {("GET", "/"), ("GET", "/signin"), ("POST", "/signin"), ("POST", "/signout"), ("GET", "/queue"),
                ("GET", "/tickets"), ("GET", "/tickets/{ref}"), ("GET", "/tickets/{ref}/conversation.json"),
                ("POST", "/tickets/{ref}/reply"), ("POST", "/tickets/{ref}/change"),
                ("POST", "/tickets/{ref}/assign"), ("POST", "/tickets/{ref}/notes"), ("GET", "/kb"),
                ("GET", "/kb/new"), ("POST", "/kb/new"), ("GET", "/roster"), ("GET", "/waiting"), ("GET", "/chats"),
                # the two-step sign-in, password reset and audit pages
                ("GET", "/signin/code"), ("POST", "/signin/code"), ("GET", "/two-step/setup"),
                ("POST", "/two-step/setup"), ("GET", "/account"), ("POST", "/account/two-step/off"),
                ("GET", "/forgot"), ("POST", "/forgot"), ("GET", "/reset/{token}"), ("POST", "/reset/{token}"),
                ("GET", "/audit"), ("POST", "/tickets/{ref}/confidential")},
    "intake_chat": {("GET", "/"), ("GET", "/complaints/new"), ("GET", "/chat"), ("GET", "/complaints/{ref}/survey")},
}


def openapi_path(rule: str) -> str:
    """werkzeug's /notifications/<int(max=9):row_id> -> OpenAPI's /notifications/{row_id}."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def described_routes(service: str) -> set[tuple[str, str]]:
    spec = yaml.safe_load(file_of(service).read_text())
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item
            if method.upper() in METHODS}


def nameko_routes(service: str) -> set[tuple[str, str]]:
    cls = next(c for _, c in inspect.getmembers(importlib.import_module(f"services.{service}.service"),
                                                inspect.isclass) if getattr(c, "name", None) == service)
    routes = {(method.upper(), openapi_path(entrypoint.url))
              for _, function in inspect.getmembers(cls, inspect.isfunction)
              for entrypoint in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ())
              if isinstance(entrypoint, HttpRequestHandler) for method in entrypoint.method.split(",")}
    if any(isinstance(value, WebFront) for value in vars(cls).values()):
        routes.add(("GET", PATH))
    return routes


def flask_app(service: str, tmp_path):
    if service == "console":
        from services.console.app import create_app
        from services.console.store import ConsoleStore
        return create_app(ConsoleStore(make_engine(f"sqlite:///{tmp_path / 'console.db'}")), object(), object())
    if service == "intake_chat":
        from services.intake_chat.app import create_app
        return create_app(publisher=object(), tickets=object(), knowledge_base=object())
    if service == "intake_email":
        from services.intake_email.app import create_app
        return create_app(object())
    raise AssertionError(f"no way to build {service}'s Flask app here: add it")


def flask_routes(app) -> set[tuple[str, str]]:
    routes = {(method, openapi_path(rule.rule)) for rule in app.url_map.iter_rules()
              if rule.endpoint != "static" for method in rule.methods if method in METHODS}
    served = {}
    app.wsgi_app({"PATH_INFO": PATH, "REQUEST_METHOD": "GET"}, lambda status, headers, exc=None: served.update(
        status=status))
    if served.get("status", "").startswith("200"):
        routes.add(("GET", PATH))
    return routes


def registered_routes(service: str, tmp_path) -> set[tuple[str, str]]:
    if registry.get(service).kind == registry.NAMEKO:
        return nameko_routes(service)
    return flask_routes(flask_app(service, tmp_path)) - PAGES.get(service, set())


@pytest.mark.parametrize("service", described())
def test_the_description_lists_exactly_the_routes_the_service_registers(service, tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    registered, published = registered_routes(service, tmp_path), described_routes(service)
    assert {"missing from the description": registered - published,
            "described but not registered": published - registered} == \
           {"missing from the description": set(), "described but not registered": set()}


def test_every_nameko_service_publishes_a_description():
    """Each has an HTTP API (at least its operators' endpoints), so each describes it."""
    assert {s.name for s in registry.SERVICES if s.kind == registry.NAMEKO} <= set(described())


def test_the_comparison_reads_werkzeug_rules_as_openapi_paths():
    assert openapi_path("/agents/<name>/vacations/<int(max=2147483647):vacation_id>") == \
        "/agents/{name}/vacations/{vacation_id}"
    assert openapi_path("/tickets/<reference>") == "/tickets/{reference}"
