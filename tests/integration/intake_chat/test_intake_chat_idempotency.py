"""Idempotency keys bind their content, as payment APIs do: the web intake's
`submission_id`, the chat's `chat_id` and a follow-up's `message_id` sent again
with the same content get the first answer; with other content they are
refused (409) and that content is never published under the first reference.
Against the real app and a real RabbitMQ (a fresh vhost per test), the ledger
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import requests
import sqlalchemy
from prometheus_client.parser import text_string_to_metric_families

from services.common.contract.complaint import ComplaintReceived
from services.common.contract.reference import tracking_token
from services.common.messaging import topology
from services.common.messaging.publisher import ComplaintPublisher
from services.common.storage.db import make_engine
from services.intake_chat.app import create_app
from services.intake_chat.ledger import KeyReused, Ledger
from services.intake_chat.migrate import upgrade
from testkit.paths import ROOT
from testkit.ports import free_port

SECRET = "intake-chat-idempotency-secret"
ANA = {"name": "Ana Silva", "email": "ana@example.org", "phone": "+351 912 345 678",
       "subject": "Charged twice", "body": "I was charged twice for order 1234.", "category": "billing",
       "language": "pt", "country": "PT"}
BRUNO = {"name": "Bruno Costa", "email": "bruno@example.org", "subject": "Late parcel",
         "body": "My parcel is three weeks late.", "category": "delivery"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
TABLE = "intake_chat_idempotency_keys"


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def ledger(database_url, monkeypatch):
    """The ledger migrated on SQLite and on PostgreSQL (one run of the test each)."""
    upgrade(database_url)
    monkeypatch.setenv("INTAKE_CHAT_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def publisher(rabbit):
    pub = ComplaintPublisher(rabbit.amqp_uri)
    yield pub
    pub.close()


@pytest.fixture
def make_client(rabbit, monkeypatch):
    """create_app(...) on the test's vhost and INTAKE_CHAT_DATABASE_URL -> a Flask test client."""
    monkeypatch.setenv("TRACKING_SECRET", SECRET)
    monkeypatch.setenv("AMQP_URI", rabbit.amqp_uri)
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", "1")
    apps = []

    def make(publisher, tickets=None, engine=None):
        app = create_app(publisher=publisher, tickets=tickets, engine=engine)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["intake_chat"].close()


@pytest.fixture
def client(make_client, publisher):
    return make_client(publisher)


class FakeTickets:
    """The tickets RPC: every reference asked for is a ticket being worked on."""

    def get_public_view(self, reference):
        return {"reference": reference, "status": "in_progress", "category": "billing", "messages": [],
                "created_at": "2026-11-23T08:00:00.000+00:00", "updated_at": "2026-11-23T08:00:00.000+00:00",
                "can_rate": False}


def queued(rabbit) -> list[ComplaintReceived]:
    if rabbit.queue(topology.COMPLAINTS_QUEUE) is None:
        return []
    return [ComplaintReceived.from_dict(json.loads(m["payload"]))
            for m in rabbit.get_messages(topology.COMPLAINTS_QUEUE, count=200)]


def counted(client, name: str, **labels) -> float:
    return metric(client.get("/metrics").get_data(True), name, **labels)


def metric(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not in /metrics")


def rows(url: str) -> list[dict]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sqlalchemy.text(f"SELECT * FROM {TABLE}"))]
    finally:
        engine.dispose()


class Page(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.textareas: dict[str, str] = {}
        self.text: list[str] = []
        self._in_textarea = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.inputs.setdefault(attrs["name"], attrs.get("value") or "")
        if tag == "textarea":
            self._in_textarea = attrs.get("name")
            self.textareas[self._in_textarea] = ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._in_textarea = None

    def handle_data(self, data):
        self.text.append(data)
        if self._in_textarea:
            self.textareas[self._in_textarea] += data

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


# --- the form and the JSON API ----------------------------------------------------------------


def test_a_reused_submission_id_with_other_content_is_refused_and_the_first_complaint_kept(ledger, client, rabbit):
    key = str(uuid.uuid4())
    conflicts = counted(client, "complaints_intake_idempotency_conflicts_total", channel="web")
    duplicates = counted(client, "complaints_intake_duplicates_total", channel="web")
    first = client.post("/complaints", json={**ANA, "submission_id": key})
    retry = client.post("/complaints", json={**ANA, "body": ANA["body"] + "  ", "submission_id": key})
    stranger = client.post("/complaints", json={**BRUNO, "submission_id": key})

    assert first.status_code == retry.status_code == 202
    ref = first.get_json()["reference"]
    assert retry.get_json()["reference"] == ref
    assert retry.get_json()["tracking_token"] == first.get_json()["tracking_token"]

    assert stranger.status_code == 409
    assert stranger.get_json()["error"] == "conflict"
    assert "submission_id" in stranger.get_json()["detail"]
    assert set(stranger.get_json()) == {"error", "detail"}
    assert ref not in stranger.get_data(True) and tracking_token(ref, SECRET) not in stranger.get_data(True)
    assert "Location" not in stranger.headers

    published = queued(rabbit)
    assert [c.body for c in published] == [ANA["body"]] * 2
    assert all(c.customer.email == "ana@example.org" for c in published)

    assert counted(client, "complaints_intake_idempotency_conflicts_total", channel="web") == conflicts + 1
    assert counted(client, "complaints_intake_duplicates_total", channel="web") == duplicates + 1

    [row] = rows(ledger)
    assert (row["channel"], row["kind"], row["key"], row["reference"]) == ("web", "complaint", key, ref)
    assert re.fullmatch(r"[0-9a-f]{64}", row["fingerprint"])
    kept = json.dumps(row, default=str)
    for personal in ("Ana", "ana@example.org", "912", "charged", "Charged"):
        assert personal not in kept


def test_a_browser_that_sends_an_edited_form_again_gets_a_page_to_send_it_as_a_new_complaint(client, rabbit):
    key = uuid.uuid4().hex
    form = {"anonymous": "no", "name": "Bo", "email": "bo@example.org", "body": "The parcel never came.",
            "category": "delivery", "submission_id": key}
    receipt = client.post("/complaints", data=form, headers=BROWSER)
    [first] = queued(rabbit)
    assert receipt.status_code == 200 and first.reference in receipt.get_data(True)

    # The back button, an edit, and the same form (the same submission id) sent again.
    edited = {**form, "body": "The parcel never came, and nobody answers the phone."}
    refused = client.post("/complaints", data=edited, headers=BROWSER)

    assert refused.status_code == 409 and refused.mimetype == "text/html"
    page = Page(refused.get_data(True))
    assert "already sent" in page.all_text and "reference of its own" in page.all_text
    assert first.reference not in page.all_text
    assert page.textareas["body"] == edited["body"] and page.inputs["email"] == "bo@example.org"
    assert page.inputs["submission_id"] not in ("", key)
    assert len(queued(rabbit)) == 1

    again = client.post("/complaints", data={**edited, "submission_id": page.inputs["submission_id"]},
                        headers=BROWSER)
    assert again.status_code == 200
    second = next(c for c in queued(rabbit) if c.reference != first.reference)
    assert second.body == edited["body"] and second.reference in again.get_data(True)


def test_a_failed_publish_gives_the_key_up_so_the_customer_may_correct_and_resend(make_client, publisher, rabbit):
    dead = ComplaintPublisher(f"amqp://guest:guest@127.0.0.1:{free_port()}/", connect_timeout=1)
    key = uuid.uuid4().hex

    refused = make_client(dead).post("/complaints", json={**ANA, "submission_id": key})
    assert refused.status_code == 503

    corrected = make_client(publisher).post("/complaints", json={**ANA, "body": "Charged twice, order 1243.",
                                                                 "submission_id": key})
    assert corrected.status_code == 202
    assert [c.body for c in queued(rabbit)] == ["Charged twice, order 1243."]


# --- the chat and further messages ---------------------------------------------------------------


def test_a_chat_id_is_bound_to_the_first_message_of_its_chat(client, rabbit):
    chat_id = uuid.uuid4().hex
    conflicts = counted(client, "complaints_intake_idempotency_conflicts_total", channel="chat")
    started = client.post("/chat", json={"chat_id": chat_id, "body": "Hello, my router is dead."})
    again = client.post("/chat", json={"chat_id": chat_id, "body": "Hello, my router is dead."})
    other = client.post("/chat", json={"chat_id": chat_id, "body": "Hi, where is my refund?", "name": "Cy"})

    assert started.status_code == again.status_code == 202
    assert again.get_json()["reference"] == started.get_json()["reference"]
    assert other.status_code == 409
    assert other.get_json()["error"] == "conflict" and "chat_id" in other.get_json()["detail"]
    assert started.get_json()["reference"] not in other.get_data(True)

    # Keys are per channel: the same id on the form is a complaint of its own.
    form = client.post("/complaints", json={**BRUNO, "submission_id": chat_id})
    assert form.status_code == 202 and form.get_json()["reference"] != started.get_json()["reference"]
    assert sorted(c.body for c in queued(rabbit)) == sorted(["Hello, my router is dead."] * 2 + [BRUNO["body"]])
    assert counted(client, "complaints_intake_idempotency_conflicts_total", channel="chat") == conflicts + 1


def test_a_message_id_is_bound_to_its_message_on_its_own_ticket(make_client, publisher, rabbit):
    client = make_client(publisher, FakeTickets())
    refs = [client.post("/complaints", json=ANA).get_json()["reference"] for _ in range(2)]
    urls = [f"/complaints/{ref}/messages?token={tracking_token(ref, SECRET)}" for ref in refs]
    message_id = uuid.uuid4().hex

    sent = client.post(urls[0], json={"body": "Any news?", "message_id": message_id, "channel": "chat"})
    resent = client.post(urls[0], json={"body": "Any news?", "message_id": message_id, "channel": "chat"})
    other = client.post(urls[0], json={"body": "Please call me.", "message_id": message_id, "channel": "chat"})
    elsewhere = client.post(urls[1], json={"body": "Please call me.", "message_id": message_id, "channel": "chat"})

    assert sent.status_code == resent.status_code == 202
    assert other.status_code == 409
    assert other.get_json()["error"] == "conflict" and "message_id" in other.get_json()["detail"]
    assert elsewhere.status_code == 202   # scoped by the ticket: another customer's id never meets this one
    messages = [(c.threading.ticket_reference, c.body) for c in queued(rabbit) if c.threading.ticket_reference]
    assert sorted(messages) == sorted([(refs[0], "Any news?")] * 2 + [(refs[1], "Please call me.")])


def test_the_tracking_page_form_sent_again_with_another_text_shows_the_page_with_the_text_kept(
        make_client, publisher, rabbit):
    client = make_client(publisher, FakeTickets())
    ref = client.post("/complaints", json=ANA).get_json()["reference"]
    url = f"/complaints/{ref}/messages?token={tracking_token(ref, SECRET)}"
    key = uuid.uuid4().hex

    assert client.post(url, data={"body": "Thanks!", "submission_id": key}, headers=BROWSER).status_code == 303
    refused = client.post(url, data={"body": "Thanks! One more thing: my phone changed.", "submission_id": key},
                          headers=BROWSER)

    assert refused.status_code == 409 and refused.mimetype == "text/html"
    page = Page(refused.get_data(True))
    assert "already sent" in page.all_text
    assert page.textareas["body"] == "Thanks! One more thing: my phone changed."
    assert page.inputs["submission_id"] not in ("", key)
    assert [c.body for c in queued(rabbit) if c.threading.ticket_reference] == ["Thanks!"]


# --- concurrency, on the real service -------------------------------------------------------------


def test_concurrent_posts_of_one_key_get_one_answer_per_content_and_only_the_winner_is_published(
        database_url, services, rabbit):
    """Four requests per key at once, two with one content and two with another, across two
    gunicorn workers: the content that claimed the key is answered 202 (both of its posts,
    one reference), the other 409, and nothing of the loser reaches the queue."""
    proc = services.start("intake_chat", INTAKE_CHAT_DATABASE_URL=database_url, INTAKE_CHAT_WORKERS=2,
                          INTAKE_CHAT_THREADS=4,
                          # Two customers posting 24 times from one address on purpose: not a flood under test.
                          INTAKE_RATE_LIMIT_PER_ADDRESS="1000/minute", INTAKE_RATE_LIMIT_PER_CUSTOMER="1000/minute")
    contents = ({**ANA}, {**BRUNO})
    outcomes: dict[str, list[tuple[int, int, dict]]] = {}
    for _ in range(6):
        key = str(uuid.uuid4())
        barrier = threading.Barrier(4)
        answers: list[tuple[int, int, dict]] = []

        def post(which: int, key=key, barrier=barrier, answers=answers):
            barrier.wait()
            resp = requests.post(f"{proc.url}/complaints", json={**contents[which], "submission_id": key}, timeout=30)
            answers.append((which, resp.status_code, resp.json()))

        threads = [threading.Thread(target=post, args=(which,)) for which in (0, 0, 1, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        outcomes[key] = answers

    published = queued(rabbit)
    for key, answers in outcomes.items():
        winners = {which for which, status, _ in answers if status == 202}
        assert len(winners) == 1, answers
        [winner] = winners
        assert sorted(status for _, status, _ in answers) == [202, 202, 409, 409], answers
        assert {body["reference"] for _, status, body in answers if status == 202} != set()
        assert len({body["reference"] for _, status, body in answers if status == 202}) == 1
        assert all(body["error"] == "conflict" for _, status, body in answers if status == 409)
        under_key = [c for c in published if c.external_id == key]
        assert under_key and {c.body for c in under_key} == {contents[winner]["body"]}
    assert len(published) == 2 * len(outcomes)
    scrape = requests.get(f"{proc.url}/metrics", timeout=5).text
    assert metric(scrape, "complaints_intake_idempotency_conflicts_total", channel="web") == 2 * len(outcomes)


# --- the ledger's database away, expiry, migrations -----------------------------------------------


@pytest.mark.parametrize("where", ["postgresql nobody listens on", "sqlite never migrated"])
def test_without_its_ledger_a_keyed_complaint_is_503_and_nothing_is_published(where, make_client, publisher, rabbit,
                                                                              tmp_path):
    url = (f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/gone" if where.startswith("postgresql")
           else f"sqlite:///{tmp_path / 'empty.db'}")
    client = make_client(publisher, engine=make_engine(url))
    key = uuid.uuid4().hex
    refused = counted(client, "complaints_intake_rejected_total", channel="web", reason="database_unavailable")

    resp = client.post("/complaints", json={**ANA, "submission_id": key})
    assert resp.status_code == 503
    assert resp.get_json()["error"] == "unavailable" and "database" in resp.get_json()["detail"]
    assert int(resp.headers["Retry-After"]) > 0 and "reference" not in resp.get_json()

    page = client.post("/complaints", data={"email": "fi@example.org", "body": "Keep me.", "submission_id": key},
                       headers=BROWSER)
    assert page.status_code == 503 and "nothing was saved" in Page(page.get_data(True)).all_text
    assert Page(page.get_data(True)).textareas["body"] == "Keep me."
    assert client.post("/chat", json={"chat_id": key, "body": "Hello?"}).status_code == 503
    assert queued(rabbit) == []

    ready = client.get("/health/ready")
    assert ready.status_code == 503 and "database" in ready.get_json()["detail"]
    assert counted(client, "complaints_intake_rejected_total", channel="web",
                   reason="database_unavailable") == refused + 2

    # A complaint with no key has nothing to check: it is taken.
    assert client.post("/complaints", json=ANA).status_code == 202
    assert [c.body for c in queued(rabbit)] == [ANA["body"]]


def test_keys_older_than_idempotency_key_days_are_forgotten(ledger_database, make_client, publisher, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_KEY_DAYS", "30")
    old, recent = uuid.uuid4().hex, uuid.uuid4().hex
    first = make_client(publisher)
    for key in (old, recent):
        assert first.post("/complaints", json={**ANA, "submission_id": key}).status_code == 202
    engine = sqlalchemy.create_engine(ledger_database)
    with engine.begin() as conn:
        for key, days in ((old, 31), (recent, 29)):
            conn.execute(sqlalchemy.text(f"UPDATE {TABLE} SET created_at = :at WHERE key = :key"),
                         {"at": datetime.now(UTC) - timedelta(days=days), "key": key})
    engine.dispose()

    # A new process purges with its first claim.
    assert make_client(publisher).post("/complaints", json={**BRUNO, "submission_id": uuid.uuid4().hex}) \
        .status_code == 202
    assert old not in {r["key"] for r in rows(ledger_database)} and recent in {r["key"] for r in rows(ledger_database)}


@pytest.mark.parametrize("days", ["a month", "0", "-1", "nan", "inf"])
def test_a_wrong_idempotency_key_days_stops_the_start(days, monkeypatch, publisher):
    monkeypatch.setenv("TRACKING_SECRET", SECRET)
    monkeypatch.setenv("IDEMPOTENCY_KEY_DAYS", days)
    with pytest.raises(ValueError, match="IDEMPOTENCY_KEY_DAYS"):
        create_app(publisher=publisher)


def test_the_migrate_command_creates_the_ledger_in_its_own_version_table(database_url, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "INTAKE_CHAT_DATABASE_URL": database_url, "VAR_DIR": str(tmp_path),
           "TRACKING_SECRET": "test", "LOG_FORMAT": "json"}
    for _ in range(2):   # applying it again changes nothing
        done = subprocess.run([sys.executable, "-m", "services.intake_chat", "migrate"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    engine = sqlalchemy.create_engine(database_url)
    try:
        assert {TABLE, "alembic_version_intake_chat"} <= set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_retry_confirmed_around_a_failed_first_attempt_keeps_its_key_bound(ledger):
    """Two posts of one content at once; the first one's publish fails, the retry's succeeds.
    Whichever order the ledger hears it in, the key stays bound to the content published."""
    store = Ledger(make_engine(ledger))
    try:
        for order in ("retry confirmed first", "first gave up first"):
            key = f"{order.replace(' ', '-')}-{uuid.uuid4().hex}"
            first = store.claim("web", "complaint", key, "a" * 64, "C-AAAAAAAAAA")
            retry = store.claim("web", "complaint", key, "a" * 64, "C-AAAAAAAAAA")
            assert first.token and retry.token is None
            steps = [(store.confirm, retry), (store.release, first)]
            for step, claim in steps if order == "retry confirmed first" else reversed(steps):
                step(claim)
            with pytest.raises(KeyReused):
                store.claim("web", "complaint", key, "b" * 64, "C-AAAAAAAAAA")
            [row] = [r for r in rows(ledger) if r["key"] == key]
            assert row["published_at"] is not None and row["fingerprint"] == "a" * 64
        # A failed publish with no retry frees the key: the corrected content may take it.
        alone = store.claim("chat", "complaint", "alone-" + uuid.uuid4().hex, "a" * 64, "C-AAAAAAAAAA")
        store.release(alone)
        assert store.claim("chat", "complaint", alone.key, "b" * 64, "C-AAAAAAAAAA").token
    finally:
        store.engine.dispose()
