"""GET /openapi.yaml: a service's published description of its JSON API
(docs/openapi/<service>.yaml, OpenAPI 3.1), open like the health probes, so a
client, a gateway or the fuzz test (tests/integration/common/test_fuzz_apis.py)
reads the description of the very version it talks to.
"""

from __future__ import annotations

from services.common.config import ROOT

PATH = "/openapi.yaml"
FOLDER = ROOT / "docs" / "openapi"
CONTENT_TYPE = "application/yaml; charset=utf-8"


def file_of(service: str):
    return FOLDER / f"{service}.yaml"


def described() -> tuple[str, ...]:
    """The services that publish a description of a JSON API."""
    return tuple(sorted(path.stem for path in FOLDER.glob("*.yaml")))


def serve(wsgi_app, service: str):
    """wsgi_app, answering GET/HEAD /openapi.yaml itself. The file is read once, at
    start: a service whose description is missing does not start."""
    body = file_of(service).read_bytes()

    def app(environ, start_response):
        if environ.get("PATH_INFO") != PATH:
            return wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Content-Type", "application/json"), ("Allow", "GET, HEAD")])
            return [b'{"error": "method_not_allowed", "detail": "the description is read with GET"}']
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body] if environ["REQUEST_METHOD"] == "GET" else []

    return app
