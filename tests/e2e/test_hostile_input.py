"""Hostile input on every public HTTP endpoint of every service, over real HTTP
to the services as `make run` starts them (one whole system for the module, on
PostgreSQL, the stricter of the two databases, with its dependencies all up so
a 503 cannot hide a bug): whatever arrives, the answer is never a 5xx, and a
4xx says in words what is wrong.

The routes are read from the applications themselves (Flask url maps, the
nameko services' @http entrypoints), so a new endpoint is fuzzed without
anyone remembering to add it. Each gets a fixed corpus of hostile bodies,
content types, queries, path values and methods, then random ones from
hypothesis. Requests to the Twilio webhooks are signed, as Twilio signs them,
so they reach the routes instead of stopping at the signature check.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import sys
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from services.common import config
from services.common.contract.reference import tracking_token
from testkit import api
from testkit.ports import free_port
from testkit.postgres import postgres_database
from testkit.processes import ServiceProcess
from testkit.rabbit import Rabbit
from testkit.whole_system import SUPERVISOR, System

AUTH_TOKEN = "hostile-test-twilio-token-0123456789"
PUBLIC = {"intake_whatsapp": "https://example.com/whatsapp", "intake_voice": "https://example.com/voice"}
EXTRA = ("notifier", "intake_email", "intake_whatsapp", "intake_voice")
LIMIT = config.max_body_bytes()
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# --- the system ---------------------------------------------------------------------------------


@dataclass
class Endpoint:
    service: str
    method: str
    rule: str  # werkzeug syntax: /tickets/<reference>

    def __str__(self):
        return f"{self.service} {self.method} {self.rule}"


class Hostile(System):
    """testkit/whole_system.py's system (tickets, router, console, intake_chat) plus every other HTTP service."""

    def __init__(self, tmp, rabbit):
        super().__init__(tmp, rabbit, TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_WHATSAPP_URL=PUBLIC["intake_whatsapp"],
                         PUBLIC_VOICE_URL=PUBLIC["intake_voice"], INTAKE_WHATSAPP_WORKERS=1,
                         INTAKE_VOICE_WORKERS=1, INTAKE_CHAT_WORKERS=1, RPC_TIMEOUT_SECONDS=10,
                         # Hostile input reaches the views (a 429 would stop it first); the limiter still reads it.
                         INTAKE_RATE_LIMIT_PER_ADDRESS="1000000/minute",
                         INTAKE_RATE_LIMIT_PER_CUSTOMER="1000000/minute")
        self.ports.update({name: free_port() for name in EXTRA})
        self.databases = {name: postgres_database() for name in self.ports}

    def env(self, name) -> dict:
        return {**super().env(name), "DATABASE_URL": self.databases[name][0]}

    def stop(self):
        super().stop()
        for _, drop in self.databases.values():
            drop()

    def start(self):
        super().start()
        for name in EXTRA:
            proc = ServiceProcess(name, self.env(name), [sys.executable, "-m", f"services.{name}"],
                                  f"{self.url(name)}/health/live", self.tmp / f"{name}.log")
            self.procs[name] = proc
            proc.start(timeout=90)
        return self

    def sign_in(self) -> dict:
        """Headers of a signed-in supervisor, CSRF token included, for every console request."""
        session = requests.Session()
        page = session.get(f"{self.url('console')}/signin", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        resp = session.post(f"{self.url('console')}/signin", timeout=30,
                            data={"name": SUPERVISOR[0], "password": SUPERVISOR[1], "csrf_token": token})
        assert resp.status_code == 200, resp.text
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        return {"Cookie": cookies, "X-CSRFToken": token}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    rabbit = Rabbit(f"test-{uuid.uuid4().hex[:12]}")
    rabbit.create()
    running = Hostile(tmp_path_factory.mktemp("hostile"), rabbit)
    try:
        running.start()
        running.load_roster()
        running.seeded = running.complain(category="billing")
        running.wait_ticket(running.seeded["reference"])
        running.console_headers = running.sign_in()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        rabbit.delete()


@pytest.fixture(scope="module")
def endpoints(hostile) -> list[Endpoint]:
    found = []
    for service, rules in routes(hostile).items():
        for rule, methods in rules:
            # DELETE last: it may remove what the other methods of the route work on.
            for method in sorted(methods - {"OPTIONS"}, key=lambda m: (m == "DELETE", m)):
                found.append(Endpoint(service, method, rule))
    return found


def routes(hostile) -> dict[str, list[tuple[str, set]]]:
    """Every route of every service, from the applications themselves."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        for key, value in hostile.env("intake_chat").items():
            monkeypatch.setenv(key, value)
        return {**flask_routes(), **nameko_routes()}
    finally:
        monkeypatch.undo()


def flask_routes():
    from services.console.app import create_app as console_app
    from services.intake_chat.app import create_app as chat_app
    from services.intake_email.app import create_app as email_app
    from services.intake_voice.app import create_app as voice_app
    from services.intake_whatsapp.app import create_app as whatsapp_app

    nothing = SimpleNamespace(engine=None, close=lambda: None)
    apps = {"intake_chat": chat_app(publisher=nothing, tickets=nothing, knowledge_base=nothing),
            "console": console_app(store=nothing, tickets=nothing, router=nothing),
            "intake_email": email_app(nothing),
            "intake_whatsapp": whatsapp_app(publisher=nothing, engine=create_engine("sqlite://")),
            "intake_voice": voice_app(publisher=nothing, engine=create_engine("sqlite://"))}
    return {name: [(r.rule, set(r.methods)) for r in app.url_map.iter_rules()] for name, app in apps.items()}


def nameko_routes():
    from nameko.web.handlers import HttpRequestHandler

    from services.notifier.service import NotifierService
    from services.router.service import RouterService
    from services.tickets.service import TicketsService

    found = {}
    for name, cls in (("tickets", TicketsService), ("router", RouterService), ("notifier", NotifierService)):
        by_rule: dict[str, set] = {}
        for attr in vars(cls).values():
            for entrypoint in getattr(attr, "nameko_entrypoints", ()):
                if isinstance(entrypoint, HttpRequestHandler):
                    by_rule.setdefault(entrypoint.url, set()).add(entrypoint.method)
        found[name] = list(by_rule.items())
    return found


# --- requests -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def path_for(hostile, endpoint: Endpoint, hostile_value: str | None = None) -> str:
    """The rule with real values (the seeded ticket, a roster agent), or one hostile value everywhere."""
    ref = hostile.seeded["reference"]
    real = {"ref": ref, "reference": ref, "name": "ana", "filename": "app.css"}

    def value(match):
        if hostile_value is not None:
            return hostile_value
        converter, arg = match.group(1), match.group(2)
        return "1" if converter == "int" else real.get(arg, "x")

    path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", value, endpoint.rule)
    if endpoint.service == "intake_chat" and "<ref>" in endpoint.rule and hostile_value is None:
        path += f"?token={quote(tracking_token(ref, 'browser-test-tracking-secret'))}"
    return path


def send(hostile, endpoint: Endpoint, path: str, body: bytes = b"", content_type: str | None = None,
         how: dict | None = None, method: str | None = None) -> Answer:
    """how: {"chunked": True} sends the body chunked, {"headers": {...}} adds headers,
    {"signature": "as form"} signs a Twilio request as if its body were form fields."""
    method, how = method or endpoint.method, how or {}
    chunked = how.get("chunked", False)
    headers = {"Accept": "application/json"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if endpoint.service == "console" and endpoint.rule != "/signout":
        headers.update(hostile.console_headers)
    elif endpoint.service not in PUBLIC:
        headers.update(api.headers())  # past the credential check, to the code that reads the input
    if endpoint.service in PUBLIC:
        path, headers["X-Twilio-Signature"] = twilio_signed(endpoint.service, path, body, content_type,
                                                            how.get("signature"))
    headers.update(how.get("headers", {}))
    url = urlsplit(hostile.url(endpoint.service))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
            conn.request(method, path, body=iter([body]), headers=headers, encode_chunked=True)
        else:
            conn.request(method, path, body=body if body or method in BODY_METHODS else None, headers=headers)
    except OSError:
        pass  # the server may answer (413) and close before the whole body is sent: read what it said
    try:
        resp = conn.getresponse()
        return Answer(resp.status, resp.getheader("Content-Type") or "", resp.read())
    except (OSError, http.client.HTTPException) as exc:
        return Answer(599, "", f"no answer: the connection broke ({type(exc).__name__})".encode())
    finally:
        conn.close()


def twilio_signed(service: str, path: str, body: bytes, content_type: str | None,
                  signature: str | None = None) -> tuple[str, str]:
    """(path, X-Twilio-Signature) as Twilio would send them: form fields signed as
    parameters, any other body through ?bodySHA256= (twilio_webhooks.py)."""
    validator = RequestValidator(AUTH_TOKEN)
    text = body.decode("utf-8", "replace")
    if signature == "as form":
        return path, validator.compute_signature(PUBLIC[service] + path, {})
    if (content_type or "").split(";")[0].strip() == "application/x-www-form-urlencoded":
        params = MultiDict(parse_qsl(text, keep_blank_values=True))
    else:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        path += ("&" if "?" in path else "?") + f"bodySHA256={digest}"
        params = {}
    return path, validator.compute_signature(PUBLIC[service] + path, params)


# --- what a good answer is ----------------------------------------------------------------------


def problem(endpoint: Endpoint, method: str, answer: Answer) -> str | None:
    """Why this answer breaks the promise, or None."""
    if answer.status >= 500:
        return f"answered {answer.status}"
    if 400 <= answer.status < 500 and method != "HEAD" and not readable(answer):
        return f"answered {answer.status} without a readable message"
    return None


def readable(answer: Answer) -> bool:
    text = answer.body.decode("utf-8", "replace")
    if "json" in answer.content_type:
        try:
            data = json.loads(text)
        except ValueError:
            return False
        text = str(data.get("detail") or data.get("error") or "") if isinstance(data, dict) else ""
    text = re.sub(r"<[^>]*>", " ", text)
    return "Traceback" not in text and len(re.findall(r"[A-Za-z]{2,}", text)) >= 2


def shown(failures: list[str]) -> str:
    return f"{len(failures)} answers broke the promise:\n" + "\n".join(failures[:60])


# --- the fixed corpus ---------------------------------------------------------------------------


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
BODIES = [
    ("json nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, JSON),
    ("object nested 50,000 deep", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
    ("broken json", b'{"name": "Ana", "body": ', JSON),
    ("invalid utf-8", b'{"body": "\xff\xfe\xc0 complaint", "name": "\xed\xa0\x80"}', JSON),
    ("unknown charset", b'{"body": "My parcel never arrived"}', "application/json; charset=foo"),
    ("charset that is no text encoding", b'{"body": "x"}', "application/json; charset=base64"),
    ("utf-16 without saying so", '{"body": "Não chegou"}'.encode("utf-16"), JSON),
    ("huge integer", b'{"body": "x", "rating": 1' + b"0" * 5000 + b', "max_load": 1' + b"0" * 30 + b"}", JSON),
    ("huge float", b'{"body": "x", "rating": 1e999, "max_load": -1e999}', JSON),
    ("NaN", b'{"body": "x", "rating": NaN, "helped": Infinity}', JSON),
    ("array", b'[{"body": "x"}, 1, "two"]', JSON),
    ("string", b'"just a string"', JSON),
    ("number", b"42", JSON),
    ("null", b"null", JSON),
    ("duplicate keys", b'{"body": "first", "body": "second", "name": "a", "name": "b"}', JSON),
    ("empty json", b"", JSON),
    ("lone surrogate escapes", b'{"body": "\\ud800 broken", "name": "\\udfff", "subject": "\\ud83d"}', JSON),
    ("nul characters", b'{"body": "a\\u0000b", "name": "\\u0000", "email": "a\\u0000@example.org"}', JSON),
    ("wrong types in every field", json.dumps({
        "name": ["x"], "body": {"a": 1}, "email": 5, "phone": True, "subject": 1.5, "category": [], "language": {},
        "rating": "five", "comment": ["x"], "helped": "yes", "assignee": 7, "expected_assignee": [],
        "status": [], "priority": {}, "actor": {}, "skills": "billing", "regions": 5, "languages": "pt",
        "max_load": "many", "starts_at": 5, "ends_at": [], "note": {}, "channel": 1, "address": [],
        "chat_id": {}, "submission_id": 3, "message_id": [], "token": 1, "query": {}, "agents": "x"}).encode(), JSON),
    ("out of range values", json.dumps({
        "rating": 99, "max_load": -5, "starts_at": "9999-99-99T99:99", "ends_at": "0000-00-00", "status": "nonsense",
        "priority": "x" * 300, "category": "\u0000", "language": "xx" * 100, "assignee": "nobody-at-all",
        "body": "x" * 100_000, "name": "\u202e" * 50, "email": "@" * 300, "phone": "+" + "9" * 60}).encode(), JSON),
    ("oversized", b'{"body": "' + b"a" * LIMIT + b'"}', JSON),
    ("oversized form", b"body=" + b"a" * LIMIT, FORM),
    ("hostile form", b"name=%ff%fe&body=%00&body=twice&rating=99999999999999999999999&%zz=1&helped=maybe"
                     b"&channel=%ED%A0%80&address=%00&status=%00&assignee=&token=%ff", FORM),
    ("webhook fields with hostile values", b"CallSid=CA" + b"0" * 32 + b"&MessageSid=SM" + b"1" * 32
     + b"&AccountSid=%00&From=%ED%A0%80&To=whatsapp%3A&Body=%00%ff&ProfileName=" + b"x" * 3000
     + b"&NumMedia=99999999999999999999&MediaUrl0=javascript%3Aalert(1)&MediaContentType0=%00"
     + b"&Digits=12345678901234567890123&SpeechResult=%ED%A0%80&CallStatus=%00&RecordingUrl=file%3A%2F%2F%2Fetc"
     + b"&RecordingStatus=completed&RecordingDuration=-99999999999999999999&TranscriptionText=%00"
     + b"&TranscriptionStatus=%ff&MessageStatus=%00&ErrorCode=%ED%A0%80&Caller=%2B&attempt=-1", FORM),
    ("form with unknown charset", b"body=hello&name=x", FORM + "; charset=foo"),
    ("multipart without end", b'--xx\r\nContent-Disposition: form-data; name="body"\r\n\r\nabc',
     "multipart/form-data; boundary=xx"),
    ("multipart without boundary", b"body=x", "multipart/form-data"),
    ("multipart with a file", b'--xx\r\nContent-Disposition: form-data; name="file"; filename="../../x.exe"\r\n'
                              b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02\r\n--xx--\r\n",
     "multipart/form-data; boundary=xx"),
    ("csv garbage", b"name,skills\n\xff\xfe,\x00\n" + b'"' * 1000, "text/csv"),
    ("plain text", b"I was charged twice", "text/plain"),
    ("xml", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "x">]><a>&x;</a>', "application/xml"),
    ("malformed content type", b'{"body": "x"}', 'application/json; charset="utf-8'),
    ("semicolons for a content type", b'{"body": "x"}', ";;;"),
    ("no content type", b'{"body": "x"}', None),
    ("json sent chunked", b'{"body": "sent in chunks"}', JSON, {"chunked": True}),
    ("oversized chunked", b'{"body": "' + b"a" * LIMIT + b'"}', JSON, {"chunked": True}),
    ("json signed as if it were a form", b'{"Body": "x"}', JSON, {"signature": "as form"}),
    ("hostile headers", b'{"body": "x"}', JSON, {"headers": {
        "Accept": "text/html;q=abc, */*;q=-1, application/json;q=nan", "Accept-Language": "\xff;q=2, *;q=x",
        "X-Agent": b"\xed\xa0\x80", "X-Forwarded-For": "not an address", "Host": "evil.example:99999",
        "If-Modified-Since": "yesterday", "Range": "bytes=999999999999999999999-", "Expect": "100-continue"}}),
    ("hostile cookies", b"", None, {"headers": {"Cookie": "console_session=\xff%00; console_csrf=garbage.!.x"}}),
]
QUERIES = [
    ("lone surrogates and NULs in the query", "token=%ED%A0%80&q=%ED%A0%80%00abc&status=%ED%B0%80&category=%00"
     "&language=%00&sort=%00&queue=%ff&region=%ED%A0%80&customer=%00&assignee=%ED%A0%80&format=%ED%A0%80&next=%00"),
    ("huge and negative numbers in the query", "page=-1&per_page=99999999999999999999999&limit=1e9&offset=-7"
     "&attempt=-99999999999999999999&raw=1&created_from=9999-99-99&created_to=%00&done=%ff"),
    ("malformed query", "%zz&&=&a=%&token&token=1&token=2&q=" + "x" * 5000),
]
PATH_VALUES = [("lone surrogate in the path", "%ED%A0%80"), ("NUL in the path", "%00"),
               ("very long path value", "C-" + "Z" * 4000), ("dot segments in the path", "..%2F..%2Fetc")]
ODD_METHODS = ("PROPFIND", "BREW", "TRACE")


def corpus_cases(hostile, endpoint: Endpoint):
    """(case, method, path, body, content_type, chunked) for one endpoint."""
    path = path_for(hostile, endpoint)
    for name, body, content_type, *how in BODIES:
        if endpoint.method in BODY_METHODS or name.startswith("hostile"):
            yield name, endpoint.method, path, body, content_type, how[0] if how else None
    for name, query in QUERIES:
        yield name, endpoint.method, path + ("&" if "?" in path else "?") + query, b"", None, None
    if "<" in endpoint.rule:
        for name, value in PATH_VALUES:
            yield name, endpoint.method, path_for(hostile, endpoint, value), b"", None, None
    for method in ODD_METHODS:
        yield f"method {method}", method, path, b"", None, None


SERVICES = ("intake_chat", "console", "tickets", "router", "notifier", "intake_email", "intake_whatsapp",
            "intake_voice")


# --- tests --------------------------------------------------------------------------------------


def test_json_nested_100000_deep_is_refused_with_a_400_that_says_so_on_the_web_intake(hostile):
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/complaints", "/chat"):
        resp = api.post(f"{hostile.url('intake_chat')}{path}", data=deep, timeout=30,
                             headers={"Content-Type": JSON})
        assert resp.status_code == 400, (path, resp.status_code, resp.text[:300])
        assert "more than 32 levels deep" in resp.json()["detail"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_endpoint_answers_hostile_input_with_a_4xx_that_says_what_is_wrong(hostile, endpoints, service):
    failures = []
    mine = [e for e in endpoints if e.service == service]
    assert mine, f"no routes found for {service}"
    for endpoint in mine:
        for case, method, path, body, content_type, how in corpus_cases(hostile, endpoint):
            answer = send(hostile, endpoint, path, body, content_type, how, method)
            why = problem(endpoint, method, answer)
            if why:
                failures.append(f"{endpoint} [{case}] {method} {path[:80]}: {why}: {answer.body[:200]!r}")
    assert not failures, shown(failures)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12)
FIELD_NAMES = st.sampled_from(["name", "email", "phone", "subject", "body", "category", "language", "rating",
                               "comment", "helped", "assignee", "status", "priority", "actor", "skills",
                               "max_load", "starts_at", "ends_at", "channel", "address", "chat_id", "token",
                               "MessageSid", "From", "Body", "Digits", "CallSid", "RecordingUrl", "CallStatus"])
BODY_STRATEGY = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6).map(lambda v: json.dumps(v).encode()),
    st.dictionaries(FIELD_NAMES, st.text(max_size=30), max_size=6).map(
        lambda v: "&".join(f"{quote(k)}={quote(x, safe='')}" for k, x in v.items()).encode()),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from([JSON, FORM, "multipart/form-data; boundary=x", "text/plain", "text/csv",
                     "application/json; charset=latin-1", "application/json; charset=utf-16", "application/xml"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), body=BODY_STRATEGY, content_type=CONTENT_TYPES)
def test_no_endpoint_answers_5xx_to_random_bodies_and_content_types(hostile, endpoints, data, body, content_type):
    endpoint = data.draw(st.sampled_from([e for e in endpoints if e.method in BODY_METHODS]), label="endpoint")
    path = path_for(hostile, endpoint)
    answer = send(hostile, endpoint, path, body, content_type)
    why = problem(endpoint, endpoint.method, answer)
    assert why is None, f"{endpoint} {content_type!r} {body[:200]!r}: {why}: {answer.body[:300]!r}"
