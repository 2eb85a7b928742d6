"""Abuse protection of the web intake, as a flooding script and a person would
meet it: rate limits per client address, per customer and per chat, shared by
several app instances through a real Redis, and kept (per process) when that
Redis goes away; the honeypot; the answers (JSON, and a page for a browser).

The limits are lowered through the environment so that each test stays fast."""

from __future__ import annotations

import json
import time
import uuid
from html.parser import HTMLParser

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from requests.adapters import HTTPAdapter

from services.common.contract.complaint import ComplaintReceived
from services.common.messaging import topology
from services.common.messaging.publisher import ComplaintPublisher
from services.common.web.rate_limits import RateLimitConfigError
from services.intake_chat.app import create_app
from testkit.waiting import wait_for

SECRET = "abuse-test-secret"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def complaint(**fields) -> dict:
    base = {"name": "Ana Silva", "email": f"ana-{uuid.uuid4().hex[:8]}@example.org", "subject": "Charged twice",
            "body": "I was charged twice for order 1234."}
    return {**base, **fields}


class RecordingPublisher:
    """Stands in for RabbitMQ where a test is about the answers, not the queue."""

    def __init__(self):
        self.published: list[ComplaintReceived] = []

    def publish(self, item):
        self.published.append(item)

    def check(self):
        return True

    def close(self):
        pass


@pytest.fixture
def make_app(monkeypatch):
    """create_app() with the given settings -> (app, test client); low limits unless a test says otherwise."""
    monkeypatch.setenv("TRACKING_SECRET", SECRET)
    monkeypatch.setenv("RATE_LIMIT_KEY_PREFIX", f"test-{uuid.uuid4().hex[:8]}")
    apps = []

    def make(publisher=None, **env):
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        app = create_app(publisher=publisher or RecordingPublisher(), tickets=object())
        apps.append(app)
        return app, app.test_client()

    yield make
    for app in apps:
        app.extensions["intake_chat"].close()


def post(client, address="127.0.0.1", path="/complaints", **kwargs):
    return client.post(path, environ_base={"REMOTE_ADDR": address}, **kwargs)


def metric(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not in /metrics")


class MetricDelta:
    """A counter's growth over a block of a test (the registry is shared by every test in the process)."""

    def __init__(self, client, name, **labels):
        self.client, self.name, self.labels = client, name, labels
        self.before = self.now()

    def now(self) -> float:
        return metric(self.client.get("/metrics").get_data(True), self.name, **self.labels)

    @property
    def grown(self) -> float:
        return self.now() - self.before


def assert_rate_limited(resp, limit_word="your connection"):
    assert resp.status_code == 429, resp.get_data(True)[:300]
    assert int(resp.headers["Retry-After"]) >= 1
    body = resp.get_json()
    assert body["error"] == "rate_limited"
    assert limit_word in body["detail"] and "try again in" in body["detail"]


# --- the acceptance test: one real server, two real source addresses ------------------------


class FromAddress(HTTPAdapter):
    """Connections from a chosen local address (127.0.0.2 is as real a loopback source as 127.0.0.1)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def queued(rabbit) -> int:
    queue = rabbit.queue(topology.COMPLAINTS_QUEUE)
    return 0 if queue is None else queue.get("messages", 0)


def test_a_burst_of_1000_form_posts_from_one_address_is_limited_while_another_address_still_gets_202(
        services, rabbit, redis_server):
    proc = services.start("intake_chat", INTAKE_CHAT_WORKERS=2, RATE_LIMIT_STORAGE_URI=redis_server.url,
                          INTAKE_RATE_LIMIT_PER_ADDRESS="5/minute;50/hour")
    flood = session_from("127.0.0.1")
    answers = []
    for n in range(1000):  # a script: a new customer each time, so only the address gives it away
        resp = flood.post(f"{proc.url}/complaints", timeout=10,
                          data={"name": "Bot", "email": f"bot{n}@example.org", "body": f"spam {n}"})
        answers.append(resp)

    codes = [r.status_code for r in answers]
    assert codes[:5] == [202] * 5
    assert set(codes[5:]) == {429}, sorted(set(codes))
    # Both workers count in the one Redis: the limit is the limit, whichever worker answered.
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.json()["error"] == "rate_limited"

    other = session_from("127.0.0.2").post(f"{proc.url}/complaints", timeout=10,
                                           data={"name": "Rui", "email": "rui@example.org", "body": "My order is late"})
    assert other.status_code == 202, other.text
    wait_for(lambda: queued(rabbit) == 6, timeout=15, message="6 complaints queued")

    text = requests.get(f"{proc.url}/metrics", timeout=5).text
    assert metric(text, "complaints_intake_rate_limited_total", endpoint="intake.submit", limit="per_address") == 995
    assert metric(text, "complaints_intake_rate_limit_fallback_total") == 0


# --- per customer, per chat, per address on the other posts --------------------------------------


def test_one_customer_is_limited_across_addresses_and_channels_while_others_are_not(make_app):
    app, client = make_app(INTAKE_RATE_LIMIT_PER_CUSTOMER="3/minute")
    refused = MetricDelta(client, "complaints_intake_rate_limited_total", endpoint="intake.submit",
                          limit="per_customer")
    # The same email however it is written, from three addresses and the chat: one customer.
    assert post(client, "127.0.0.1", json=complaint(email="ana@example.org")).status_code == 202
    assert post(client, "127.0.0.2", json=complaint(email=" Ana@Example.ORG ")).status_code == 202
    assert post(client, "127.0.0.3", path="/chat",
                json={"chat_id": uuid.uuid4().hex, "body": "Hello?", "email": "ana@example.org"}).status_code == 202
    fourth = post(client, "127.0.0.4", json=complaint(email="ana@example.org"))
    assert_rate_limited(fourth, "from this email address or phone number")
    assert refused.grown == 1

    # A different email with Ana's phone number, written another way: still Ana.
    for address in ("127.0.0.5", "127.0.0.6", "127.0.0.7"):
        assert post(client, address, json=complaint(phone="+351 912 345 678")).status_code == 202
    assert_rate_limited(post(client, "127.0.0.8", json=complaint(phone="00351912345678")),
                        "from this email address or phone number")

    # Other customers, and anonymous complaints, from the same addresses go through.
    assert post(client, "127.0.0.4", json=complaint(email="rui@example.org")).status_code == 202
    anonymous = complaint(email="ana@example.org", anonymous=True)
    assert post(client, "127.0.0.4", json=anonymous).status_code == 202
    assert len(app.extensions["intake_chat"].publisher.published) == 8


def test_chats_opened_from_one_address_are_limited_per_hour(make_app):
    _, client = make_app(CHAT_SESSIONS_PER_ADDRESS_PER_HOUR=2)
    refused = MetricDelta(client, "complaints_intake_rate_limited_total", endpoint="chat.start_chat",
                          limit="chat_sessions")

    def start(address):
        return post(client, address, path="/chat", json={"chat_id": uuid.uuid4().hex, "body": "Is anyone there?"})

    assert [start("127.0.0.1").status_code for _ in range(2)] == [202, 202]
    third = start("127.0.0.1")
    assert_rate_limited(third)
    assert "too many chats" in third.get_json()["detail"]
    assert third.get_json()["detail"].endswith("try again in 60 minutes")  # the chat page shows it to a person
    assert 3500 <= int(third.headers["Retry-After"]) <= 3601
    assert refused.grown == 1
    assert start("127.0.0.2").status_code == 202


def test_every_post_is_limited_per_address_even_those_that_fail(make_app):
    _, client = make_app(INTAKE_RATE_LIMIT_PER_ADDRESS="2/minute")
    # A wrong token is a 404, and still counts: a script guessing references is limited too.
    for path, body in (("/complaints/C-0000000000/messages?token=x", {"body": "hi", "message_id": "m-123456789"}),
                       ("/complaints/C-0000000000/follow-up?token=x", {"channel": "email", "address": "a@b.org"}),
                       ("/complaints/C-0000000000/survey?token=x", {"rating": 5}),
                       ("/suggestions/1/feedback", {"helped": "yes"})):
        first, second = (post(client, path=path, json=body) for _ in range(2))
        assert first.status_code in (400, 404) and second.status_code in (400, 404), path
        assert_rate_limited(post(client, path=path, json=body))
        assert post(client, "127.0.0.2", path=path, json=body).status_code in (400, 404)
    # Each endpoint has its own count: the complaint form is still open to this address.
    assert post(client, json=complaint()).status_code == 202


def test_forwarded_addresses_count_only_behind_the_configured_proxies(make_app):
    _, direct = make_app(INTAKE_RATE_LIMIT_PER_ADDRESS="1/minute")
    # No proxy trusted: a script cannot pose as many clients by writing the header.
    assert post(direct, json=complaint(), headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 202
    assert_rate_limited(post(direct, json=complaint(), headers={"X-Forwarded-For": "203.0.113.2"}))

    _, proxied = make_app(INTAKE_RATE_LIMIT_PER_ADDRESS="1/minute", TRUSTED_PROXY_HOPS=1)
    # One proxy in front: the address it saw (the last one in the header) is the client's,
    # whatever the client wrote before it.
    assert post(proxied, json=complaint(), headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}).status_code == 202
    assert_rate_limited(post(proxied, json=complaint(), headers={"X-Forwarded-For": "198.51.100.8, 203.0.113.1"}))
    assert post(proxied, json=complaint(), headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 202
    # One person's IPv6 network is one client, whichever of its addresses they use.
    assert post(proxied, json=complaint(), headers={"X-Forwarded-For": "2001:db8:1:2::10"}).status_code == 202
    assert_rate_limited(post(proxied, json=complaint(), headers={"X-Forwarded-For": "2001:db8:1:2:ffff::99"}))


def test_limits_can_be_turned_off_and_a_wrong_limit_stops_the_start(make_app):
    _, client = make_app(INTAKE_RATE_LIMIT_PER_ADDRESS="1/minute", RATE_LIMIT_ENABLED=0)
    assert [post(client, json=complaint()).status_code for _ in range(3)] == [202] * 3
    with pytest.raises(RateLimitConfigError, match="INTAKE_RATE_LIMIT_PER_ADDRESS"):
        make_app(INTAKE_RATE_LIMIT_PER_ADDRESS="twenty a minute", RATE_LIMIT_ENABLED=1)


# --- what a person sees ----------------------------------------------------------------------


class Page(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag, **attrs) -> list[dict]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def test_a_browser_over_the_limit_gets_a_page_saying_how_long_to_wait_and_keeping_the_text(make_app):
    _, client = make_app(INTAKE_RATE_LIMIT_PER_ADDRESS="1/minute")
    first = post(client, data=complaint(), headers=HTML)
    assert first.status_code == 200 and "Thank you" in first.get_data(True)

    resp = post(client, data=complaint(body="The delivery never came."), headers=HTML)
    assert resp.status_code == 429
    assert resp.mimetype == "text/html"
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    assert resp.headers["Cache-Control"] == "no-store"
    page = Page(resp.get_data(True))
    text = page.all_text
    assert "Too many complaints from your connection" in text
    assert "try again in a minute" in text
    assert "The complaints you sent before this page were received" in text
    unsent = page.find("textarea", id="unsent")
    assert unsent and "readonly" in unsent[0]
    assert "The delivery never came." in text
    assert page.find("label", **{"for": "unsent"})
    assert page.find("a", href="/complaints/new")


# --- the honeypot ------------------------------------------------------------------------------


@pytest.mark.parametrize("path, field_id", [("/", "website"), ("/chat", "chat-website")])
def test_the_honeypot_field_is_hidden_from_people_and_says_to_leave_it_empty(make_app, path, field_id):
    _, client = make_app()
    page = Page(client.get(path).get_data(True))
    field = page.find("input", id=field_id)[0]
    assert field["name"] == "website" and field["value"] == ""
    assert field["tabindex"] == "-1" and field["autocomplete"] == "off"
    # Its wrapper hides it from sight and from screen readers; its label speaks to whoever reads the markup.
    wrapper = next(a for t, a in page.elements if t == "div" and a.get("aria-hidden") == "true")
    assert "visually-hidden" in wrapper["class"]
    html = client.get(path).get_data(True)
    hidden_part = html[html.index('aria-hidden="true"'):html.index(f'id="{field_id}"')]
    assert f'<label for="{field_id}">Leave this field empty</label>' in hidden_part


def test_a_filled_honeypot_is_refused_clearly_counted_and_nothing_is_queued(make_app, rabbit):
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    try:
        _, client = make_app(publisher=publisher)
        web = MetricDelta(client, "complaints_intake_honeypot_total", channel="web")
        chat = MetricDelta(client, "complaints_intake_honeypot_total", channel="chat")

        as_json = post(client, json=complaint(website="http://cheap-pills.example"))
        assert as_json.status_code == 422
        assert as_json.get_json()["error"] == "honeypot"
        assert as_json.get_json()["fields"] == {"website": "leave this field empty"}

        # A person whose browser filled it keeps what they wrote, told plainly what happened.
        page = post(client, data=complaint(body="My parcel is lost.", website="x"), headers=HTML)
        assert page.status_code == 422
        form = Page(page.get_data(True))
        assert "a hidden field that must stay empty was filled in" in form.all_text
        assert "My parcel is lost." in form.all_text
        assert form.find("input", name="website")[0]["value"] == ""

        started = post(client, path="/chat", json={"chat_id": uuid.uuid4().hex, "body": "hi", "website": "spam"})
        assert started.status_code == 422 and started.get_json()["error"] == "honeypot"
        assert web.grown == 2 and chat.grown == 1
        assert rabbit.queue(topology.COMPLAINTS_QUEUE) is None or not rabbit.get_messages(
            topology.COMPLAINTS_QUEUE, count=5)

        # Left empty, as the page sends it, it is nobody's business.
        accepted = post(client, data=complaint(website=""))
        assert accepted.status_code == 202
        queued_now = [ComplaintReceived.from_dict(json.loads(m["payload"]))
                      for m in rabbit.get_messages(topology.COMPLAINTS_QUEUE, count=5)]
        assert [q.reference for q in queued_now] == [accepted.get_json()["reference"]]
    finally:
        publisher.close()


# --- Redis: shared counts, and what happens when it goes away ------------------------------------


def test_two_app_instances_share_one_count_through_redis(make_app, redis_server):
    settings = dict(RATE_LIMIT_STORAGE_URI=redis_server.url, INTAKE_RATE_LIMIT_PER_ADDRESS="4/minute")
    _, one = make_app(**settings)
    _, two = make_app(**settings)
    codes = [post(client, json=complaint()).status_code for client in (one, two, one, two, one, two)]
    assert codes == [202, 202, 202, 202, 429, 429]
    assert redis_server.client().keys("LIMITS:LIMITER/test-*/127.0.0.1/intake.submit:per_address/*")
    # Customer keys in Redis are pseudonyms: no email address is stored there.
    assert not [k for k in redis_server.client().keys("*") if b"example.org" in k]


def test_while_redis_is_down_each_process_keeps_limiting_in_memory_and_nothing_fails(make_app, redis_server):
    app, client = make_app(RATE_LIMIT_STORAGE_URI=redis_server.url, INTAKE_RATE_LIMIT_PER_ADDRESS="3/minute")
    fallback = MetricDelta(client, "complaints_intake_rate_limit_fallback_total")
    assert post(client, json=complaint()).status_code == 202   # counted in Redis
    redis_server.stop()

    started = time.monotonic()
    codes = [post(client, json=complaint()).status_code for _ in range(5)]
    # Never a 500: the same limit, counted afresh in this process's memory.
    assert codes == [202, 202, 202, 429, 429]
    assert time.monotonic() - started < 3
    assert fallback.grown == 5

    # Redis back (on the same port): after a few seconds the counts are shared again.
    redis_server.start()
    wait_for(lambda: post(client, "127.0.0.9", json=complaint()).status_code == 202
             and redis_server.client().keys("LIMITS:*127.0.0.9*"), timeout=15, interval=0.5,
             message="limits counted in Redis again")
    settled = fallback.now()
    post(client, "127.0.0.9", json=complaint())
    assert fallback.now() == settled


def test_an_unreachable_redis_at_start_is_no_reason_to_refuse_complaints(make_app):
    _, client = make_app(RATE_LIMIT_STORAGE_URI="redis://127.0.0.1:1/0", INTAKE_RATE_LIMIT_PER_ADDRESS="2/minute")
    assert [post(client, json=complaint()).status_code for _ in range(3)] == [202, 202, 429]
    assert client.get("/health/ready").status_code == 200
