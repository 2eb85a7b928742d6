"""The security headers on every answer of every running service, as a browser or a
client gets them over HTTP: pages, JSON, probes, metrics, the description, 404s, 405s,
refusals and error answers, with no browser involved. HSTS_SECONDS is set, so HSTS
must come over HTTPS (here: behind a proxy that says X-Forwarded-Proto) and only then.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from services.common import registry
from services.common.web import security_headers as sh
from testkit import api
from testkit.every_service import EveryService
from testkit.rabbit import Rabbit

HSTS_SECONDS = 31536000
POLICIES = {"console": sh.CONSOLE_PAGES, "intake_chat": sh.CUSTOMER_PAGES}
AUTH = "operator"

# What every service answers: probes, metrics, a URL it does not have, a method it does not take.
COMMON = [("GET", "/health/live", {}), ("GET", "/health/ready", {}), ("GET", "/metrics", {}),
          ("GET", "/no/such/thing", {}), ("DELETE", "/health/live", {})]
DESCRIPTION = [("GET", "/openapi.yaml", {})]
# Each service's own pages and API answers, good and bad (AUTH: with an operator's token).
OWN = {
    "tickets": DESCRIPTION + [
        ("GET", "/tickets", {AUTH: True}), ("GET", "/tickets", {}), ("GET", "/tickets/C-NOSUCHONE", {AUTH: True}),
        ("GET", "/tickets", {AUTH: True, "params": {"page": "many"}}),
        ("PATCH", "/tickets/C-NOSUCHONE", {AUTH: True, "data": "not json"})],
    "router": DESCRIPTION + [
        ("GET", "/agents", {AUTH: True}), ("GET", "/agents", {}), ("GET", "/agents/nobody", {AUTH: True}),
        ("PUT", "/agents/zed", {AUTH: True, "json": {"capacity": -1}})],
    "notifier": DESCRIPTION + [
        ("GET", "/notifications", {AUTH: True}), ("GET", "/notifications/999", {AUTH: True}),
        ("POST", "/notifications/1/retry", {})],
    "intake_email": DESCRIPTION + [
        ("GET", "/mailboxes", {AUTH: True}), ("GET", "/mailboxes", {}), ("GET", "/quarantine/5/raw", {AUTH: True})],
    "console": DESCRIPTION + [
        ("GET", "/signin", {}), ("GET", "/queue", {}), ("GET", "/static/console.css", {}),
        ("POST", "/signin", {"data": {"name": "sam", "password": "wrong"}}),
        ("GET", "/api/kb/suggest", {"params": {"q": "parcel"}}),
        ("GET", "/api/kb/suggest", {AUTH: True, "params": {"q": "parcel"}})],
    "intake_chat": DESCRIPTION + [
        ("GET", "/", {}), ("GET", "/chat", {}), ("GET", "/complaints/new", {}), ("GET", "/static/chat.js", {}),
        ("GET", "/complaints/C-NOSUCHONE", {"params": {"token": "wrong"}}),
        ("POST", "/complaints", {"json": {"body": ""}}),
        ("POST", "/complaints", {"data": "text", "headers": {"Content-Type": "text/plain"}})],
    "intake_whatsapp": [("POST", "/messages", {"data": {"Body": "unsigned"}})],
    "intake_sms": [("POST", "/messages", {"data": {"Body": "unsigned"}})],
    "intake_voice": [("POST", "/calls", {"data": {"CallSid": "unsigned"}})],
}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    rabbit = Rabbit(f"test-{uuid.uuid4().hex[:12]}")
    rabbit.create()
    running = EveryService(tmp_path_factory.mktemp("headers"), rabbit, HSTS_SECONDS=HSTS_SECONDS)
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        rabbit.delete()


def fetch(url: str, method: str, options: dict, https=False) -> requests.Response:
    options = dict(options)
    headers = dict(options.pop("headers", {}))
    if options.pop(AUTH, False):
        headers.update(api.headers())
    if https:
        headers["X-Forwarded-Proto"] = "https"
    return requests.request(method, url, headers=headers, allow_redirects=False, timeout=15, **options)


def missing(response: requests.Response, policy: sh.Policy) -> dict[str, str | None]:
    """Each expected header that is absent or wrong -> what came instead."""
    expected = dict(sh.headers_for(policy, https=False))
    found = {name: response.headers.get(name) for name, value in expected.items()
             if response.headers.get(name) != value}
    static = "/static/" in response.url
    if not static and response.headers.get("Cache-Control") != "no-store":
        found["Cache-Control"] = response.headers.get("Cache-Control")
    if "Strict-Transport-Security" in response.headers:
        found["Strict-Transport-Security (over plain HTTP)"] = response.headers["Strict-Transport-Security"]
    return found


@pytest.mark.parametrize("service", [s.name for s in registry.SERVICES])
def test_every_answer_carries_the_security_headers_of_its_page_set(everything, service):
    policy = POLICIES.get(service, sh.JSON_API)
    requests_made = COMMON + OWN[service]
    wrong, statuses = {}, set()
    for method, path, options in requests_made:
        response = fetch(everything.url(service) + path, method, options)
        statuses.add(response.status_code)
        if problems := missing(response, policy):
            wrong[f"{method} {path} -> {response.status_code}"] = problems
    assert wrong == {}
    # The list reaches past the happy answers: refusals or bad requests, and not-founds, were seen.
    assert statuses & {400, 401, 403, 415, 422} and statuses & {404, 405} and statuses & {200, 202}, statuses


@pytest.mark.parametrize("service", ["tickets", "console", "intake_chat", "intake_whatsapp"])
def test_hsts_is_sent_over_https_only(everything, service):
    url = everything.url(service) + "/health/live"
    assert "Strict-Transport-Security" not in fetch(url, "GET", {}).headers
    assert fetch(url, "GET", {}, https=True).headers["Strict-Transport-Security"] == \
        f"max-age={HSTS_SECONDS}; includeSubDomains"


def test_the_console_pages_are_never_cached_and_never_framed(everything):
    """Sign-in and any signed-in page: personal, so no-store; a click-jacking frame is refused."""
    page = fetch(everything.url("console") + "/signin", "GET", {})
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
