"""Every internal endpoint wants a credential: tickets, router, notifier and the
email intake as they run, on a real RabbitMQ. A write without one (or with a
forged, expired, foreign or wrongly scoped one) is refused before the service's
code runs, so it changes nothing; health stays open for probes."""

from __future__ import annotations

import re
import warnings

import jwt
import pytest
import requests

from services.common.auth import tokens
from services.common.auth.nameko_guard import GuardedHttp, GuardedRpc, MetricsHttp
from services.common.contract.errors import Forbidden, Unauthorized
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api
from testkit.complaints import web_complaint
from testkit.waiting import wait_for

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
    from nameko.standalone.rpc import ServiceRpcProxy
    from nameko.web.handlers import HttpRequestHandler

    from services.intake_email.app import create_app as email_app
    from services.notifier.service import NotifierService
    from services.router.service import RouterService
    from services.tickets.service import TicketsService

NAMEKO = {"tickets": TicketsService, "router": RouterService, "notifier": NotifierService}
OPEN = ("/health/live", "/health/ready")


def entrypoints(cls):
    for attr in vars(cls).values():
        yield from getattr(attr, ENTRYPOINT_EXTENSIONS_ATTR, ())


def http_routes(name):
    """(method, path rule, guarded?) of a service's HTTP side, read from its code."""
    if name == "intake_email":
        for rule in email_app(None).url_map.iter_rules():
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule, rule.rule not in OPEN + ("/metrics",)
        return
    for ep in entrypoints(NAMEKO[name]):
        if isinstance(ep, HttpRequestHandler):
            yield ep.method, ep.url, isinstance(ep, GuardedHttp)


def fill(rule: str, reference: str) -> str:
    rule = re.sub(r"<int:[^>]+>", "1", rule)
    return rule.replace("<reference>", reference).replace("<name>", "mallory")


def test_every_entrypoint_is_guarded_but_health_and_metrics():
    for name in (*NAMEKO, "intake_email"):
        for method, rule, guarded in http_routes(name):
            assert guarded or rule in OPEN or rule == "/metrics", f"{name} {method} {rule} is open"
    for name, cls in NAMEKO.items():
        for ep in entrypoints(cls):
            if isinstance(ep, HttpRequestHandler) and ep.url == "/metrics":
                assert isinstance(ep, MetricsHttp), f"{name} /metrics"
            if type(ep).__name__ == "Rpc":
                pytest.fail(f"{name}.{ep.method_name} is an unguarded RPC")
    assert any(isinstance(ep, GuardedRpc) for ep in entrypoints(TicketsService))


@pytest.fixture
def running(tmp_path, rabbit, services):
    procs = {name: services.start(name, DATABASE_URL=f"sqlite:///{tmp_path / name}.db")
             for name in ("tickets", "router", "notifier", "intake_email")}
    complaint = web_complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(complaint)
    url = f"{procs['tickets'].url}/tickets/{complaint.reference}"
    wait_for(lambda: api.get(url).status_code == 200, message="the ticket")
    wait_for(lambda: api.get(f"{procs['notifier'].url}/notifications").json()["items"],
             message="the customer's acknowledgement")
    return procs, complaint.reference


def state(procs, reference) -> dict:
    """What a refused write could have changed, read with an operator's token."""
    ticket = api.get(f"{procs['tickets'].url}/tickets/{reference}").json()
    return {"ticket": {k: ticket[k] for k in ("status", "priority", "assignee", "messages", "notes", "audit")},
            "agents": api.get(f"{procs['router'].url}/agents").json()["items"],
            # Which messages the notifier holds (their sending goes on by itself meanwhile).
            "notifications": sorted((n["id"], n["purpose"], n["recipient"])
                                    for n in api.get(f"{procs['notifier'].url}/notifications").json()["items"])}


def bad_credentials(service):
    now = 1_700_000_000
    yield "none", {}
    yield "a bare X-Agent header", {"X-Agent": "mallory"}
    yield "not a bearer token", {"Authorization": "Basic Z3Vlc3Q6Z3Vlc3Q="}
    yield "signed with another key", {"Authorization": "Bearer " + tokens.mint_operator("mallory", keys=["nope"])}
    yield "expired", {"Authorization": "Bearer " + jwt.encode(
        {"sub": "operator:x", "aud": [service], "scope": "read write", "iat": now, "exp": now + 60},
        api.TEST_KEYS, algorithm="HS256")}
    yield "for another service", {"Authorization": "Bearer " + tokens.mint_operator("x", audience=["console"])}
    yield "unsigned (alg none)", {"Authorization": "Bearer " + jwt.encode(
        {"sub": "operator:x", "aud": [service], "scope": "read write", "exp": 4_000_000_000}, None,
        algorithm="none")}


def test_every_internal_write_without_a_valid_credential_gets_401_and_changes_nothing(running):
    procs, reference = running
    before = state(procs, reference)
    tried = 0
    for name, proc in procs.items():
        for method, rule, guarded in http_routes(name):
            if not guarded:
                continue
            url = proc.url + fill(rule, reference)
            body = {"status": "resolved", "body": "pwned", "assignee": "mallory", "rating": 1, "skills": ["billing"],
                    "capacity": 1000, "email": "mallory@evil.example", "starts": "2026-01-01", "ends": "2026-12-31"}
            for what, headers in bad_credentials(name):
                resp = requests.request(method, url, json=body, headers=headers, timeout=10)
                assert resp.status_code == 401, f"{name} {method} {rule} with {what}: {resp.status_code} {resp.text}"
                assert resp.json()["error"] == "unauthorized" and resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert "Traceback" not in resp.text
                tried += 1
    assert tried > 60
    assert state(procs, reference) == before
    for proc in procs.values():
        assert requests.get(proc.url + "/health/live", timeout=5).status_code == 200
        assert requests.get(proc.url + "/metrics", timeout=5).status_code == 200
    assert 'complaints_internal_calls_refused_total{reason="unauthorized",service="router"}' in \
        requests.get(procs["router"].url + "/metrics", timeout=5).text


def test_a_valid_credential_still_has_to_be_allowed(running):
    procs, reference = running
    router, tickets = procs["router"].url, procs["tickets"].url
    mallory = {"skills": ["billing"], "capacity": 1000, "email": "mallory@evil.example"}
    # A service the registry does not declare as the router's caller: 403.
    sms = {"Authorization": "Bearer " + tokens.mint("intake_sms", "router")}
    resp = requests.put(f"{router}/agents/mallory", json=mallory, headers=sms, timeout=10)
    assert resp.status_code == 403 and "does not call router" in resp.json()["detail"]
    # Only the console speaks for an agent.
    forged = {"Authorization": "Bearer " + tokens.mint("notifier", "tickets", agent="bob", role="supervisor")}
    resp = requests.post(f"{tickets}/tickets/{reference}/replies", json={"body": "hi"}, headers=forged, timeout=10)
    assert resp.status_code == 403 and "only the console" in resp.json()["detail"]
    # An agent signed in at the console may not make agents; a supervisor may.
    resp = api.put(f"{router}/agents/mallory", json=mallory, agent="bob")
    assert resp.status_code == 403 and "may not change the roster" in resp.json()["detail"]
    # A read-only operator's token reads and does not write.
    reader = {"Authorization": "Bearer " + api.token(scopes=(tokens.READ,))}
    assert requests.get(f"{router}/agents", headers=reader, timeout=10).status_code == 200
    resp = requests.put(f"{router}/agents/mallory", json=mallory, headers=reader, timeout=10)
    assert resp.status_code == 403 and "may not write" in resp.json()["detail"]
    assert api.get(f"{router}/agents").json()["items"] == []
    assert api.put(f"{router}/agents/carol", json={"skills": ["billing"]}, agent="sue",
                   role="supervisor").status_code == 200
    # The acting agent is the token's, whatever the body says.
    resp = api.post(f"{tickets}/tickets/{reference}/notes", json={"body": "checked", "actor": "mallory"},
                    agent="bob")
    assert resp.status_code == 201 and resp.json()["author"] == "bob"


def test_rpc_without_a_valid_credential_is_refused_with_a_typed_error(running, rabbit):
    procs, reference = running
    before = state(procs, reference)
    config = {"AMQP_URI": rabbit.amqp_uri}
    with ServiceRpcProxy("tickets", config, timeout=10) as tickets:
        with pytest.raises(Unauthorized, match="needs a credential"):
            tickets.reply(reference, "mallory", "pwned")
        with pytest.raises(Unauthorized):
            tickets.get_ticket(reference)
    foreign = {"auth_token": tokens.mint("intake_voice", "tickets")}
    with ServiceRpcProxy("tickets", config, context_data=foreign, timeout=10) as tickets:
        with pytest.raises(Forbidden, match="does not call tickets"):
            tickets.change(reference, {"status": "resolved"})
    with ServiceRpcProxy("router", config, timeout=10) as router:
        with pytest.raises(Unauthorized):
            router.put_agent({"name": "mallory", "skills": ["billing"], "capacity": 1000})
    with ServiceRpcProxy("tickets", config, context_data={"auth_token": tokens.mint("intake_chat", "tickets")},
                         timeout=10) as tickets:
        # The web intake may read a customer's public view, and may not act as an agent.
        assert tickets.get_public_view(reference)["reference"] == reference
        with pytest.raises(Forbidden, match="cannot act as an agent"):
            tickets.reply(reference, "mallory", "pwned")
    assert state(procs, reference) == before
