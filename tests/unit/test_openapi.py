"""The published OpenAPI descriptions (docs/openapi/<service>.yaml): valid OpenAPI 3.1,
one error shape, the bearer scheme, and the answers every protected or body-taking
operation can give. That each lists exactly the routes its service registers is
tests/integration/common/test_openapi_routes.py (it needs the services' frameworks).
"""

from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate

from services.common.web.api_description import FOLDER, described

JSON_APIS = described()
METHODS = ("get", "put", "post", "patch", "delete")


def load(service: str) -> dict:
    return yaml.safe_load((FOLDER / f"{service}.yaml").read_text())


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def protected(spec, op) -> bool:
    return bool(op.get("security", spec.get("security")))


def problems(spec: dict) -> list[str]:
    """What breaks the house rules, as '<METHOD> <path>: <what>'."""
    found = []
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        codes = set(op["responses"])
        if protected(spec, op) and not {"401", "403"} <= codes:
            found.append(f"{where}: needs a token but does not list 401 and 403")
        if "requestBody" in op and not {"400", "413"} <= codes:
            found.append(f"{where}: takes a body but does not list 400 and 413")
        for code, response in op["responses"].items():
            content = resolve(spec, response).get("content", {})
            if code[0] in "45" and code != "503" and "application/json" in content:
                schema = resolve(spec, content["application/json"]["schema"])
                required = set(schema.get("required", ()))
                for part in schema.get("allOf", ()):
                    required |= set(resolve(spec, part).get("required", ()))
                if not {"error", "detail"} <= required:
                    found.append(f"{where}: its {code} is not the {{error, detail}} shape")
    return found


@pytest.mark.parametrize("service", JSON_APIS)
def test_each_description_is_valid_openapi_3_1(service):
    spec = load(service)
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises with the place of the first problem


@pytest.mark.parametrize("service", JSON_APIS)
def test_each_description_keeps_the_error_shape_and_lists_refusals_and_body_errors(service):
    assert problems(load(service)) == []


@pytest.mark.parametrize("service", [s for s in JSON_APIS if s != "intake_chat"])
def test_internal_apis_declare_the_bearer_scheme_and_leave_only_probes_open(service):
    spec = load(service)
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    open_paths = {path for path, _, op in operations(spec) if not protected(spec, op)}
    assert open_paths == {"/health/live", "/health/ready", "/metrics", "/openapi.yaml"}


def test_the_rules_catch_a_protected_operation_without_refusals_and_an_error_of_another_shape():
    spec = {"security": [{"bearer": []}], "paths": {"/x": {"post": {
        "requestBody": {"content": {}},
        "responses": {"200": {"description": "ok"},
                      "404": {"description": "no", "content": {"application/json": {"schema": {
                          "type": "object", "required": ["message"]}}}}}}}}}
    assert problems(spec) == ["POST /x: needs a token but does not list 401 and 403",
                              "POST /x: takes a body but does not list 400 and 413",
                              "POST /x: its 404 is not the {error, detail} shape"]
