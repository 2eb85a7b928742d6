"""The web intake against a real RabbitMQ (a fresh vhost per test): what a
customer or a program posting complaints would notice, and what lands in the
tickets service's queue."""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pika
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.channels.regions import RegionMapError
from services.common.contract.complaint import CATEGORIES, ComplaintReceived
from services.common.contract.reference import tracking_token
from services.common.messaging import topology
from services.common.messaging.publisher import ComplaintPublisher
from services.intake_chat.app import create_app
from testkit import api

SECRET = "intake-chat-test-secret"
REFERENCE_RE = re.compile(r"^C-[0-9A-HJKMNP-TV-Z]{10}$")
ANA = {"name": "Ana Silva", "email": "ana@example.org", "phone": "+351 912 345 678",
       "subject": "Charged twice", "body": "I was charged twice for order 1234.", "category": "billing",
       "language": "pt"}


@pytest.fixture
def publisher(rabbit):
    pub = ComplaintPublisher(rabbit.amqp_uri)
    yield pub
    pub.close()


@pytest.fixture
def make_client(rabbit, monkeypatch):
    """create_app(...) on the test's vhost -> a Flask test client."""
    monkeypatch.setenv("TRACKING_SECRET", SECRET)
    monkeypatch.setenv("AMQP_URI", rabbit.amqp_uri)
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://complaints.example.org")
    apps = []

    def make(publisher, tickets=None):
        app = create_app(publisher=publisher, tickets=tickets)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["intake_chat"].close()


@pytest.fixture
def client(make_client, publisher):
    return make_client(publisher)


def queued(rabbit) -> list[ComplaintReceived]:
    """The complaints waiting for the tickets service, read and put back."""
    if rabbit.queue(topology.COMPLAINTS_QUEUE) is None:
        return []
    return [ComplaintReceived.from_dict(json.loads(m["payload"]))
            for m in rabbit.get_messages(topology.COMPLAINTS_QUEUE, count=50)]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(client_or_text, name, **labels) -> float:
    text = client_or_text if isinstance(client_or_text, str) else client_or_text.get("/metrics").get_data(True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not in /metrics")


class Page(HTMLParser):
    """The parts of an HTML page the accessibility checks look at."""

    def __init__(self, html):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.label_for: set[str] = set()
        self.text: list[str] = []
        self.stack: list[str] = []
        self.legends_in_fieldsets = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag == "legend" and "fieldset" in self.stack:
            self.legends_in_fieldsets += 1
        if tag not in ("input", "meta", "link", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag):]

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag, **attrs) -> list[dict]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def by_id(self, id_) -> dict | None:
        return next((a for _, a in self.elements if a.get("id") == id_), None)

    def controls(self) -> list[dict]:
        return [a for t, a in self.elements
                if t in ("select", "textarea") or (t == "input" and a.get("type") not in ("hidden", "submit"))]

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


# --- accepted complaints ------------------------------------------------------


def test_json_complaint_is_confirmed_and_waits_for_tickets_with_its_reference(client, rabbit):
    submission_id = uuid.uuid4().hex
    resp = client.post("/complaints", json={**ANA, "submission_id": submission_id})

    assert resp.status_code == 202, resp.get_data(True)
    body = resp.get_json()
    ref = body["reference"]
    assert REFERENCE_RE.match(ref)
    assert body["status"] == "received"
    assert body["tracking_token"] == tracking_token(ref, SECRET)
    assert body["tracking_url"] == f"https://complaints.example.org/complaints/{ref}?token={body['tracking_token']}"
    assert resp.headers["Location"] == body["tracking_url"]

    [complaint] = queued(rabbit)
    assert complaint.reference == ref
    assert complaint.intake_id == body["intake_id"]
    assert (complaint.channel, complaint.external_id) == ("web", submission_id)
    assert complaint.customer.name == "Ana Silva"
    assert complaint.customer.email == "ana@example.org"
    assert complaint.customer.phone == "+351912345678"  # typed with spaces, stored as E.164
    assert not complaint.customer.anonymous
    assert (complaint.subject, complaint.body) == (ANA["subject"], ANA["body"])
    assert (complaint.category, complaint.language) == ("billing", "pt")


def test_browser_form_post_shows_the_reference_and_a_working_tracking_link(client, rabbit):
    form = {"anonymous": "no", "name": "Bo", "email": "bo@example.org", "body": "The parcel never came.",
            "category": "delivery", "submission_id": uuid.uuid4().hex}
    resp = client.post("/complaints", data=form, headers=BROWSER)

    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    [complaint] = queued(rabbit)
    page = Page(resp.get_data(True))
    assert complaint.reference in page.all_text
    assert complaint.customer.email == "bo@example.org"
    assert complaint.body == "The parcel never came."
    [link] = [a["href"] for a in page.find("a") if a["href"].startswith("/complaints/C-")]
    assert link == f"/complaints/{complaint.reference}?token={tracking_token(complaint.reference, SECRET)}"


def test_a_box_ticked_as_a_confidential_grievance_flags_the_complaint(client, rabbit):
    form = {"anonymous": "no", "email": "bo@example.org", "body": "My manager shouts at me.", "confidential": "yes",
            "submission_id": uuid.uuid4().hex}
    assert client.post("/complaints", data=form, headers=BROWSER).status_code == 200
    assert client.post("/complaints", json={**ANA, "confidential": True}).status_code == 202
    assert client.post("/complaints", json=ANA).status_code == 202
    assert [c.confidential for c in queued(rabbit)] == [True, True, False]
    refused = client.post("/complaints", json={**ANA, "confidential": "perhaps"})
    assert refused.status_code == 422 and refused.get_json()["fields"] == {"confidential": "expected true or false"}
    page = Page(client.get("/").get_data(True))
    [box] = page.find("input", type="checkbox", name="confidential")
    assert box["id"] in page.label_for


def test_form_post_without_a_browser_accept_header_gets_json(client, rabbit):
    resp = client.post("/complaints", data={"email": "cy@example.org", "body": "Rude staff."})
    assert resp.status_code == 202
    assert resp.get_json()["reference"] == queued(rabbit)[0].reference


def test_anonymous_complaint_keeps_no_identity_but_gets_a_reference_and_token(client, rabbit):
    resp = client.post("/complaints", json={**ANA, "anonymous": True})

    assert resp.status_code == 202
    body = resp.get_json()
    assert REFERENCE_RE.match(body["reference"])
    assert body["tracking_token"] == tracking_token(body["reference"], SECRET)
    [complaint] = queued(rabbit)
    assert complaint.customer.anonymous
    assert (complaint.customer.name, complaint.customer.email, complaint.customer.phone) == (None, None, None)
    assert "ana@example.org" not in json.dumps(complaint.to_dict())


def test_same_submission_id_twice_gets_the_same_reference(client, rabbit):
    submission_id = uuid.uuid4().hex
    first = client.post("/complaints", json={**ANA, "submission_id": submission_id}).get_json()
    retry = client.post("/complaints", json={**ANA, "submission_id": submission_id}).get_json()
    other = client.post("/complaints", json={**ANA, "submission_id": uuid.uuid4().hex}).get_json()

    assert retry["reference"] == first["reference"]
    assert retry["intake_id"] == first["intake_id"]
    assert other["reference"] != first["reference"]
    # Both attempts are published (the ledger binds the key to the content, it does
    # not stand in for the publish); tickets folds them together on (channel,
    # external_id), and they agree on everything.
    keys = [(c.external_id, c.intake_id) for c in queued(rabbit)]
    assert keys.count((submission_id, first["intake_id"])) == 2


def test_without_submission_id_each_post_is_a_new_complaint(client, rabbit):
    a = client.post("/complaints", json=ANA).get_json()
    b = client.post("/complaints", json=ANA).get_json()
    assert a["reference"] != b["reference"]
    assert {c.reference for c in queued(rabbit)} == {a["reference"], b["reference"]}


# --- regions -----------------------------------------------------------------------


def test_a_form_submission_with_country_pt_carries_region_pt_from_the_form(client, rabbit):
    form = {"anonymous": "no", "email": "bo@example.org", "phone": "+34 612 345 678", "country": "PT",
            "body": "The parcel never came.", "submission_id": uuid.uuid4().hex}
    assert client.post("/complaints", data=form, headers=BROWSER).status_code == 200

    [complaint] = queued(rabbit)
    # The chosen country beats the Spanish phone number.
    assert (complaint.region, complaint.region_source) == ("pt", "form country PT")


def test_without_a_country_the_region_comes_from_the_phone_then_the_email(client, rabbit):
    client.post("/complaints", json={**ANA, "email": "ana@example.fr"})
    client.post("/complaints", json={"email": "jo@example.de", "body": "Late."})
    client.post("/complaints", json={"email": "no@example.com", "body": "Late."})

    regions = {c.customer.email: (c.region, c.region_source) for c in queued(rabbit)}
    assert regions == {"ana@example.fr": ("pt", "phone +351 (PT)"), "jo@example.de": ("de", "email domain .de"),
                       "no@example.com": (None, None)}


def test_the_region_map_groups_countries_and_a_wrong_one_stops_the_app(make_client, publisher, rabbit,
                                                                     monkeypatch):
    monkeypatch.setenv("REGION_BY_COUNTRY", "PT=iberia,ES=iberia")
    client = make_client(publisher)
    client.post("/complaints", json={"email": "bo@example.org", "body": "Late.", "country": "es"})
    assert [(c.region, c.region_source) for c in queued(rabbit)] == [("iberia", "form country ES")]

    monkeypatch.setenv("REGION_BY_COUNTRY", "Portugal=iberia")
    with pytest.raises(RegionMapError, match="Portugal"):
        create_app(publisher=publisher)


def test_an_unknown_country_is_refused_with_the_field_named(client, rabbit):
    resp = client.post("/complaints", json={**ANA, "country": "Portugal"})
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {"country"}
    assert queued(rabbit) == []


def test_the_form_offers_countries_preselected_from_the_browsers_language(client):
    page = Page(client.get("/", headers={"Accept-Language": "en;q=0.9, pt-PT"}).get_data(True))
    options = page.find("option", value="PT")
    assert options and "selected" in options[0]
    assert page.by_id("country")["name"] == "country"
    assert "country" in page.label_for

    plain = Page(client.get("/", headers={"Accept-Language": "en"}).get_data(True))
    assert not [o for o in plain.find("option") if "selected" in o and o["value"] not in ("", None)]


def test_a_chat_started_with_a_country_carries_its_region(client, rabbit):
    resp = client.post("/chat", json={"chat_id": uuid.uuid4().hex, "body": "Hello?", "country": "ES"})
    assert resp.status_code == 202
    [complaint] = queued(rabbit)
    assert (complaint.channel, complaint.region, complaint.region_source) == ("chat", "es", "form country ES")
    assert client.post("/chat", json={"chat_id": uuid.uuid4().hex, "body": "Hi", "country": 7}) \
        .get_json()["fields"] == {"country": "expected text"}


# --- refused complaints ---------------------------------------------------------


def test_invalid_fields_are_named_by_their_input_names_and_nothing_is_queued(client, rabbit):
    resp = client.post("/complaints", json={**ANA, "email": "ana-at-example", "category": "cats"})

    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {"email", "category"}
    assert body["fields"]["email"] == "not an email address"
    assert all(c in body["fields"]["category"] for c in CATEGORIES)
    assert queued(rabbit) == []


def test_a_complaint_needs_text_and_a_way_to_answer_unless_anonymous(client, rabbit):
    resp = client.post("/complaints", json={"name": "Di", "body": "   ", "submission_id": "short"})
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {"email", "body", "submission_id"}
    assert queued(rabbit) == []


def test_browser_form_with_errors_is_shown_again_with_the_input_and_linked_messages(client, rabbit):
    form = {"anonymous": "no", "name": "Ed <b>", "email": "ed@", "body": "My words stay.",
            "category": "cats", "submission_id": uuid.uuid4().hex}
    resp = client.post("/complaints", data=form, headers=BROWSER)

    assert resp.status_code == 422
    page = Page(resp.get_data(True))
    assert page.find("input", id="name")[0]["value"] == "Ed <b>"  # kept, and escaped in the markup
    assert "<b>" not in resp.get_data(True).split('id="name"')[1].split(">")[0]
    assert page.find("input", type="hidden", name="submission_id")[0]["value"] == form["submission_id"]
    assert "My words stay." in page.all_text
    for field in ("email", "category"):
        control = page.by_id(field)
        assert control["aria-invalid"] == "true"
        error_id = f"{field}-error"
        assert error_id in control["aria-describedby"].split()
        assert page.by_id(error_id) is not None
        assert page.find("a", href=f"#{field}")  # the summary links to the field
    assert queued(rabbit) == []


@pytest.mark.parametrize("raw, detail", [
    (b'{"body": "unfinished', "not valid JSON"),
    (b"", "empty"),
    (b'["a", "list"]', "JSON object"),
])
def test_unreadable_json_is_a_bad_request(client, rabbit, raw, detail):
    resp = client.post("/complaints", data=raw, content_type="application/json")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "bad_request"
    assert detail in resp.get_json()["detail"]
    assert queued(rabbit) == []


def test_oversized_body_is_refused(client, rabbit):
    resp = client.post("/complaints", json={**ANA, "body": "x" * 300_000})
    assert resp.status_code == 413
    assert resp.get_json()["error"] == "too_large"

    page = client.post("/complaints", data={"email": "ana@example.org", "body": "x" * 300_000}, headers=BROWSER)
    assert page.status_code == 413
    assert "too long" in Page(page.get_data(True)).all_text
    assert queued(rabbit) == []


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_oversized_chunked_body_is_refused_not_truncated(client, rabbit, content_type):
    if content_type == "application/json":
        raw = json.dumps({**ANA, "body": "x" * 300_000}).encode()
    else:
        raw = b"email=ana%40example.org&body=" + b"x" * 300_000
    # No Content-Length: the server terminates the stream (gunicorn does for chunked bodies).
    resp = client.post("/complaints", input_stream=io.BytesIO(raw), content_type=content_type,
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413
    assert queued(rabbit) == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_other_content_types_are_refused_naming_the_accepted_ones(client, rabbit, content_type):
    resp = client.post("/complaints", data="<complaint/>", content_type=content_type)
    assert resp.status_code == 415
    detail = resp.get_json()["detail"]
    assert "application/json" in detail and "application/x-www-form-urlencoded" in detail
    assert queued(rabbit) == []


def test_unreachable_broker_is_503_and_claims_nothing(make_client, publisher, rabbit):
    publisher.check()  # the queue exists, as it would in production
    dead = ComplaintPublisher(f"amqp://guest:guest@127.0.0.1:{unused_port()}/", connect_timeout=1)
    client = make_client(dead)

    resp = client.post("/complaints", json=ANA)

    assert resp.status_code == 503
    assert resp.get_json()["error"] == "unavailable"
    assert int(resp.headers["Retry-After"]) > 0
    assert "reference" not in resp.get_json()
    assert queued(rabbit) == []
    assert client.get("/health/ready").status_code == 503
    assert client.get("/health/live").status_code == 200


def test_unreachable_broker_keeps_the_browser_form_filled(make_client, rabbit):
    dead = ComplaintPublisher(f"amqp://guest:guest@127.0.0.1:{unused_port()}/", connect_timeout=1)
    resp = make_client(dead).post("/complaints", data={"email": "fi@example.org", "body": "Keep me."},
                                  headers=BROWSER)
    assert resp.status_code == 503
    page = Page(resp.get_data(True))
    assert "nothing was saved" in page.all_text
    assert page.find("input", id="email")[0]["value"] == "fi@example.org"
    assert "Keep me." in page.all_text


def test_ready_when_the_broker_answers(client):
    assert client.get("/health/ready").status_code == 200


# --- tracking -----------------------------------------------------------------


def test_tracking_refuses_wrong_tokens_and_unknown_references_alike(client):
    ref = client.post("/complaints", json=ANA).get_json()["reference"]
    wrong = client.get(f"/complaints/{ref}?token={tracking_token(ref, 'another-secret')}&format=json")
    missing = client.get(f"/complaints/{ref}?format=json")
    unknown = client.get("/complaints/C-0000000000?token=AAAAAAAAAAAAAAAAAAAAAAAA&format=json")
    garbage = client.get("/complaints/not-a-reference?token=x&format=json")

    assert {r.status_code for r in (wrong, missing, unknown, garbage)} == {404}
    assert wrong.get_data() == missing.get_data() == unknown.get_data() == garbage.get_data()


def test_tracking_without_a_tickets_service_is_503_at_once(client):
    ref = client.post("/complaints", json=ANA).get_json()["reference"]
    started = time.monotonic()
    resp = client.get(f"/complaints/{ref}?token={tracking_token(ref, SECRET)}",
                      headers={"Accept": "application/json"})
    assert resp.status_code == 503
    assert resp.get_json()["error"] == "unavailable"
    assert "Retry-After" in resp.headers
    assert time.monotonic() - started < 3


def test_tracking_while_tickets_is_down_is_503_within_the_timeout(client, rabbit):
    # The tickets service ran once (its RPC queue exists) but nothing consumes now.
    connection = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("nameko-rpc", exchange_type="topic", durable=True)
    channel.queue_declare("rpc-tickets", durable=True)
    channel.queue_bind("rpc-tickets", "nameko-rpc", routing_key="tickets.*")
    connection.close()
    ref = client.post("/complaints", json=ANA).get_json()["reference"]

    started = time.monotonic()
    resp = client.get(f"/complaints/{ref}?token={tracking_token(ref, SECRET)}&format=json")
    elapsed = time.monotonic() - started

    assert resp.status_code == 503
    assert 0.9 <= elapsed < 4  # RPC_TIMEOUT_SECONDS=1
    page = client.get(f"/complaints/{ref}?token={tracking_token(ref, SECRET)}", headers=BROWSER)
    assert page.status_code == 503 and "try again" in Page(page.get_data(True)).all_text


class FakeTickets:
    """Stands in for the tickets RPC: the view it returns per reference."""

    def __init__(self, views):
        self.views = views

    def get_public_view(self, reference):
        return self.views.get(reference)


def test_tracking_page_shows_the_conversation_escaped(make_client, publisher):
    tickets = FakeTickets({})
    client = make_client(publisher, tickets)
    ref = client.post("/complaints", json=ANA).get_json()["reference"]
    url = f"/complaints/{ref}?token={tracking_token(ref, SECRET)}"

    not_yet = client.get(url, headers={"Accept": "application/json"})
    assert not_yet.status_code == 200
    assert not_yet.get_json() == {"reference": ref, "status": "received", "messages": []}

    tickets.views[ref] = {
        "reference": ref, "status": "in_progress", "category": "billing",
        "created_at": "2026-11-23T08:00:00.000+00:00", "updated_at": "2026-11-23T09:30:00.000+00:00",
        "messages": [
            {"direction": "in", "body": "<script>alert(1)</script> charged twice", "channel": "web",
             "created_at": "2026-11-23T08:00:00.000+00:00"},
            {"direction": "out", "body": "We refunded you.", "channel": "email",
             "created_at": "2026-11-23T09:30:00.000+00:00"},
        ]}
    assert client.get(url + "&format=json").get_json()["status"] == "in_progress"
    html = client.get(url, headers=BROWSER).get_data(True)
    page = Page(html)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; charged twice" in html
    assert "In progress" in page.all_text and "We refunded you." in page.all_text
    assert page.find("html", lang="en")


def test_a_dead_lettered_complaint_shows_as_delayed_and_asks_for_no_resend(make_client, publisher):
    tickets = FakeTickets({})
    client = make_client(publisher, tickets)
    ref = client.post("/complaints", json=ANA).get_json()["reference"]
    tickets.views[ref] = {"reference": ref, "status": "delayed", "delayed_since": "2026-11-28T10:00:00.000+00:00",
                          "messages": [], "can_rate": False}
    token = tracking_token(ref, SECRET)
    page = Page(client.get(f"/complaints/{ref}?token={token}", headers=BROWSER).get_data(True))
    assert "Delayed" in page.all_text
    assert "taking longer than usual" in page.all_text and "do not need to send it again" in page.all_text
    assert "28 Nov 2026, 10:00 UTC" in page.all_text
    assert not page.find("textarea")  # nothing to write to until the ticket exists
    answer = client.post(f"/complaints/{ref}/messages?token={token}",
                         json={"body": "any news?", "message_id": "3b0f5a0e-any-news"})
    assert answer.status_code == 409 and answer.get_json()["error"] == "not_ready"


# --- the form page and metrics ----------------------------------------------------


def test_form_page_labels_every_control_and_carries_a_fresh_submission_id(client):
    first, second = client.get("/"), client.get("/complaints/new")
    assert first.status_code == second.status_code == 200
    page = Page(first.get_data(True))

    assert page.find("html", lang="en")
    assert page.find("h1")
    controls = page.controls()
    assert {c["name"] for c in controls} >= {"name", "email", "phone", "subject", "body", "category",
                                             "language", "anonymous"}
    unlabelled = [c["name"] for c in controls if c.get("id") not in page.label_for]
    assert unlabelled == []
    assert page.legends_in_fieldsets >= 1
    radios = page.find("input", type="radio", name="anonymous")
    assert {r["value"] for r in radios} == {"yes", "no"}
    assert [o["value"] for o in page.find("option") if o["value"] in CATEGORIES] == list(CATEGORIES)
    # Works without JavaScript: a plain POST form; the only script is the optional
    # knowledge-base suggestions, loaded from a file (the CSP allows no inline script).
    assert page.find("form", method="post", action="/complaints")
    assert [s.get("src") for s in page.find("script")] == ["/static/suggest.js"]

    ids = [Page(r.get_data(True)).find("input", name="submission_id")[0]["value"] for r in (first, second)]
    assert ids[0] != ids[1]
    assert first.headers["Cache-Control"] == "no-store"


def test_metrics_count_received_and_rejected_complaints(client):
    before = client.get("/metrics").get_data(True)
    client.post("/complaints", json=ANA)
    client.post("/complaints", json={**ANA, "email": "nope"})
    client.post("/complaints", data="x", content_type="text/plain")
    after = client.get("/metrics").get_data(True)

    def delta(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("complaints_intake_received_total", channel="web") == 1
    assert delta("complaints_intake_rejected_total", channel="web", reason="invalid") == 1
    assert delta("complaints_intake_rejected_total", channel="web", reason="unsupported_media_type") == 1
    assert delta("complaints_intake_rejected_total", channel="web", reason="bad_json") == 0
    assert delta("complaints_intake_publish_seconds_count") == 1


# --- the real process ---------------------------------------------------------


def test_the_service_process_takes_complaints_and_stops_gracefully(services, rabbit):
    proc = services.start("intake_chat", AMQP_URI=rabbit.amqp_uri, MAX_BODY_BYTES=4096,
                          RPC_TIMEOUT_SECONDS=1, INTAKE_CHAT_WORKERS=2)

    resp = api.post(f"{proc.url}/complaints", json=ANA, timeout=10)
    assert resp.status_code == 202, resp.text
    ref = resp.json()["reference"]
    assert [c.reference for c in queued(rabbit)] == [ref]

    # A chunked body (no Content-Length) over MAX_BODY_BYTES is refused by the real server too.
    raw = json.dumps({**ANA, "body": "x" * 8000}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=10)
    try:
        conn.request("POST", "/complaints", body=(raw[i:i + 1000] for i in range(0, len(raw), 1000)),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        too_big = conn.getresponse()
        assert too_big.status == 413
        assert json.loads(too_big.read())["error"] == "too_large"
    finally:
        conn.close()
    assert len(queued(rabbit)) == 1

    # Metrics add up every worker, whichever one answers the scrape.
    for _ in range(3):
        text = api.get(f"{proc.url}/metrics", timeout=5).text
        assert metric(text, "complaints_intake_received_total", channel="web") == 1
        assert metric(text, "complaints_intake_rejected_total", channel="web", reason="too_large") == 1

    tracking = urlsplit(resp.headers["Location"])
    assert tracking.path == f"/complaints/{ref}"
    started = time.monotonic()
    view = api.get(f"{proc.url}{tracking.path}?{tracking.query}", timeout=10,
                        headers={"Accept": "application/json"})
    assert view.status_code == 503  # no tickets service on this vhost
    assert time.monotonic() - started < 4
    assert api.get(f"{proc.url}/health/ready", timeout=10).status_code == 200

    proc.stop()
    assert proc.proc.returncode == 0
    assert "send a complaint: curl -X POST" in proc.log()
