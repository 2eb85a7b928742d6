"""Every JSON API fuzzed from the OpenAPI description it publishes (GET /openapi.yaml,
the file in docs/openapi/), against the real services, with an operator's token.

schemathesis generates requests from each operation's description, valid ones
and invalid ones, and every answer must be: no 5xx, no stack trace and no
exception class name, a status the description lists, of the content type it
lists, matching the schema it gives; and an operation that needs a token must
refuse a request without one.

Bounded: FUZZ_EXAMPLES examples per operation and mode (default 50: about a minute
and a half for all of them); `make fuzz` raises it.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import uuid

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from services.common.storage.db import make_engine
from services.common.web.api_description import file_of
from services.console.store import ConsoleStore
from testkit import api
from testkit.every_service import JSON_APIS, EveryService
from testkit.paths import ROOT
from testkit.postgres import postgres_database
from testkit.rabbit import Rabbit
from testkit.waiting import wait_for

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 50))

# What gives away the insides: a Python trace, a file and line, a built-in exception's or a
# database driver's class name, a library's module path.
EXCEPTION_NAMES = sorted(name for name, value in vars(builtins).items()
                         if isinstance(value, type) and issubclass(value, BaseException) and
                         name.endswith(("Error", "Exception")))
INSIDES = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"
                     r"|\b(sqlalchemy|psycopg2|werkzeug|nameko|kombu|eventlet)\.[a-z_]+"
                     r"|\b(" + "|".join(EXCEPTION_NAMES + ["OperationalError", "IntegrityError", "DataError",
                                                           "ProgrammingError", "InterfaceError"]) + r")\b")


# Fields that report, to an operator with a token, why something outside failed: the
# notifier's outbox keeps the error of a send ("ConnectionRefusedError: ..."), on purpose.
DIAGNOSTIC_FIELDS = {"last_error"}


def shown(text: str) -> str:
    """The answer as a client reads it, less the operators' diagnostic fields."""
    try:
        data = json.loads(text)
    except ValueError:
        return text

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in DIAGNOSTIC_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(data), ensure_ascii=False)


@schemathesis.check
def no_insides(ctx, response, case):
    """No stack trace, file path or exception class in any answer."""
    found = INSIDES.search(shown(response.text or ""))
    if found:
        raise AssertionError(f"the answer shows the service's insides: {found.group(0)!r}")


HOP_BY_HOP = {"transfer-encoding", "content-length", "connection", "keep-alive", "te", "trailer", "upgrade",
              "expect", "host"}

CHECKS = [not_a_server_error, no_insides, status_code_conformance, content_type_conformance,
          response_schema_conformance, ignored_auth]


@pytest.fixture(scope="module")
def apis(tmp_path_factory):
    """The services on PostgreSQL, the database of production, and the stricter about what it stores."""
    rabbit = Rabbit(f"test-{uuid.uuid4().hex[:12]}")
    rabbit.create()
    database_url, drop = postgres_database()
    tmp = tmp_path_factory.mktemp("fuzz")
    # Without the web intake's rate limits: one address sends thousands of posts here (the limits
    # have their own tests, tests/integration/intake_chat/test_abuse_protection.py).
    running = EveryService(tmp, rabbit, names=JSON_APIS, database_url=database_url, RATE_LIMIT_ENABLED="0")
    try:
        running.start()
        running.known = seed(running)
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        rabbit.delete()
        drop()


def seed(running) -> dict:
    """A roster, a ticket and a knowledge-base article, through the services' own doors, so
    that a second round of requests, on things that exist, gets past the 404s -> the path
    (and query) values that name them."""
    roster = (ROOT / "samples" / "roster.json").read_bytes()
    api.post(f"{running.url('router')}/roster", data=roster, headers={"Content-Type": "application/json"},
             timeout=30).raise_for_status()
    sent = requests.post(f"{running.url('intake_chat')}/complaints", timeout=30,
                         json={"name": "Ana", "email": "ana@example.org", "body": "My parcel is late"}).json()
    reference = sent["reference"]
    wait_for(lambda: api.get(f"{running.url('tickets')}/tickets/{reference}", timeout=5).status_code == 200,
             timeout=60, message="the seeded ticket")
    store = ConsoleStore(make_engine(running.database_urls["console"]))
    try:
        article = store.add_article(author="sam", title="Where is my parcel?", body="Parcels take 3 days.",
                                    category="delivery", language="en")
    finally:
        store.engine.dispose()
    # An erasure request (of somebody who never wrote), so its status page exists.
    erasure = api.post(f"{running.url('tickets')}/privacy/erasures", json={"email": "nobody@example.org"},
                       timeout=30).json()
    return {"reference": reference, "ref": reference, "token": sent["tracking_token"], "name": "ana",
            "article_id": article["id"], "row_id": 1, "vacation_id": 1, "item_id": 1,
            "request_id": erasure["request_id"]}


def fuzz(operation, base_url: str, mode: GenerationMode, known: dict | None = None) -> str | None:
    """None when every example passed, else what failed (Hypothesis's shrunk example).
    known: path values of things that exist (and their tracking token) instead of generated ones."""
    session = requests.Session()
    fixed = {}
    if known is not None:
        fixed["path_parameters"] = {name: known[name] for name in path_names(operation)}
        if any(p.name == "token" for p in operation.query):
            fixed["query"] = {"token": known["token"]}

    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    def run(case):
        # Headers of the connection, not of the request: a garbled Transfer-Encoding is refused by
        # the HTTP server itself (eventlet's, gunicorn's) before any of our code sees it.
        for name in [h for h in (case.headers or {}) if h.lower() in HOP_BY_HOP]:
            del case.headers[name]
        case.call_and_validate(base_url=base_url, session=session, headers=api.headers(), checks=CHECKS,
                               timeout=30)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            return None  # nothing in the operation to get wrong (no parameter, no body)
        raise
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis's report, with a curl line to reproduce it
        where = " on things that exist" if known else ""
        return f"{operation.label} ({mode.value}{where}): {exc}"
    return None


def path_names(operation) -> list[str]:
    return re.findall(r"\{(\w+)\}", operation.path)


@pytest.mark.parametrize("service", JSON_APIS)
def test_no_answer_is_a_server_error_a_stack_trace_or_off_the_published_description(apis, service):
    base_url = apis.url(service)
    served = requests.get(f"{base_url}/openapi.yaml", timeout=10)
    assert served.status_code == 200
    assert yaml.safe_load(served.text) == yaml.safe_load(file_of(service).read_text())
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.yaml")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.append(fuzz(operation, base_url, mode))
            if path_names(operation):
                failures.append(fuzz(operation, base_url, mode, apis.known))
    failures = [f for f in failures if f]
    assert not failures, f"{len(failures)} operations of {service} failed:\n\n" + "\n\n".join(failures)
