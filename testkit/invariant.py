"""Support for the intake invariant (tests/e2e/test_invariant.py): one running
system per database, the intakes in process, the strategies that generate
what customers (and Twilio) could send, and the ledger that checks every
accepted complaint became exactly one ticket message with the text sent.

One `System` per database and test module: a fresh RabbitMQ vhost, the tickets
service as its own process on that database, and the web, WhatsApp and voice
intakes built by their app factories with a real ComplaintPublisher on the
vhost, called through Flask's test client. The intakes' own tables live in the
same database as the tickets service's.

An intake is added by giving it a `System` attribute (its client) and a test
that records each answer with `System.accepted` / `System.refused`.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from services.common.contract.storable_text import storable
from services.common.messaging import topology
from testkit import api

from .postgres import postgres_database
from .processes import service_process
from .rabbit import Rabbit
from .waiting import wait_for

SECRET = "invariant-tracking-secret"
AUTH_TOKEN = "invariant-twilio-auth-token"
WHATSAPP_URL = "https://example.com/whatsapp"
VOICE_URL = "https://example.com/voice"
# How long one accepted complaint may take to become a ticket (two shared cores, PostgreSQL).
TICKET_TIMEOUT = 30.0

# --- strategies ------------------------------------------------------------------------

# Characters chosen for the trouble they cause somewhere: NUL (PostgreSQL text),
# lone surrogates (UTF-8), C0/C1 controls, bidi marks and overrides, line and
# paragraph separators (str.strip treats some as space), a BOM, combining marks,
# emoji with joiners and skin tones (several code points, one glyph), a
# non-character, the replacement character itself, a private-use character.
AWKWARD = ("\x00", "\ud800", "\udfff", "\udbff", "\x01", "\x1b", "\x1f", "\x7f", "\x85", "\x9b",
           "\u200e", "\u200f", "\u202e", "\u2066", "\u2028", "\u2029", "\ufeff", "\u0301", "\u0336",
           "\U0001f600", "\U0001f469\u200d\U0001f4bb", "\U0001f44d\U0001f3fd", "\ufffe", "\ufffd", "\ue000",
           "C-", "<", "&", "\\", '"', " ", "\t", "\n", "\r\n", "\u3000", "é", "ß", "Ω", "中", "ﷺ", "\u0627")
SURROGATES = frozenset(chr(c) for c in range(0xD800, 0xE000))


def _chars(surrogates: bool) -> st.SearchStrategy[str]:
    anything = st.characters(exclude_categories=() if surrogates else ("Cs",))
    awkward = st.sampled_from([c for c in AWKWARD if surrogates or not SURROGATES.intersection(c)])
    return st.one_of(awkward, anything)


def texts(surrogates: bool = True, max_size: int = 40) -> st.SearchStrategy[str]:
    """Short arbitrary Unicode text, biased to the awkward characters."""
    return st.lists(_chars(surrogates), max_size=max_size).map("".join)


# The contract's limits, and one character either side of them.
LIMIT_LENGTHS = (64, 65, 199, 200, 201, 255, 256, 299, 300, 301, 499, 500, 501, 2000, 2001, 99_999, 100_000, 100_001)


def long_texts(surrogates: bool = True) -> st.SearchStrategy[str]:
    """Text at and around the limits: a short unit repeated to an exact length."""
    return st.builds(lambda unit, n: (unit * n)[:n], texts(surrogates, 3).filter(bool),
                     st.sampled_from(LIMIT_LENGTHS))


def free_texts(surrogates: bool = True) -> st.SearchStrategy[str]:
    return st.one_of(texts(surrogates), texts(surrogates, 400), long_texts(surrogates))


def nonblank_texts(surrogates: bool = True) -> st.SearchStrategy[str]:
    """Arbitrary text around at least one character that is not space (most complaints have words)."""
    core = st.sampled_from(["x", "é", "中", "\U0001f600", "\x00", "\u0301", *(["\ud800"] if surrogates else [])])
    return st.builds(lambda before, middle, after: before + middle + after,
                     free_texts(surrogates), core, texts(surrogates))


def json_values() -> st.SearchStrategy:
    """Anything JSON can carry in place of a string."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        texts())
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(texts(max_size=8), inner, max_size=3)),
                        max_leaves=6)


ABSENT = object()


def maybe(plausible: st.SearchStrategy, surrogates: bool = True, any_type: bool = True) -> st.SearchStrategy:
    """A field's value: absent, plausible for it, arbitrary text, or (JSON only) any type."""
    options = [st.just(ABSENT), plausible, plausible, free_texts(surrogates)]
    if any_type:
        options.append(json_values())
    return st.one_of(options)


def spoiled(plausible: dict[str, st.SearchStrategy], surrogates: bool = True,
            any_type: bool = True) -> st.SearchStrategy[dict]:
    """Fields that mostly make sense, with up to two of them absent or replaced by
    anything at all (so the intake accepts often enough for the property to bite)."""
    def spoil(fields, names, values):
        return {**fields, **dict(zip(names, values, strict=False))}

    arbitrary = maybe(st.nothing(), surrogates, any_type)
    return st.builds(spoil, st.fixed_dictionaries(plausible),
                     st.lists(st.sampled_from(sorted(plausible)), max_size=2, unique=True),
                     st.lists(arbitrary, min_size=2, max_size=2))


def fresh_or(arbitrary: st.SearchStrategy) -> st.SearchStrategy:
    """An id: usually fresh for each example (None here, made by the test), sometimes arbitrary."""
    return st.one_of(st.none(), st.none(), st.none(), arbitrary)


def padded(values) -> st.SearchStrategy[str]:
    """One of `values`, perhaps with whitespace (including Unicode spaces) around it."""
    space = st.sampled_from(["", " ", "\t", "\u3000", "\n"])
    return st.builds(lambda a, v, b: a + v + b, space, st.sampled_from(values), space)


# --- what the intakes do to text before the contract ---------------------------------


def stripped(value) -> str | None:
    """What the intakes keep of a text field: trimmed, None when blank."""
    return value.strip() or None if isinstance(value, str) else None


def repaired(value: str | None) -> str | None:
    return None if value is None else storable(value)


def needs_repair(value) -> bool:
    return isinstance(value, str) and storable(value) != value


# --- the system ----------------------------------------------------------------------


@dataclass
class Expected:
    """An accepted complaint: where the intake said it went and what it must hold."""
    label: str                  # what was sent, for the failure message
    announced: str              # the reference the customer was told (or the call's)
    own: str                    # the reference of this message itself (its intake id)
    body: str
    subject: str | None = None  # None: not checked
    customer: dict = field(default_factory=dict)  # the ticket's customer fields to compare
    repairs: tuple[str, ...] = ()  # contract fields the ticket's note must name
    channel: str | None = None


class System:
    def __init__(self, database: str, tmp: Path):
        self.database, self.tmp = database, tmp
        self.rabbit = Rabbit(f"test-invariant-{uuid.uuid4().hex[:10]}")
        self.drop = None
        self.expected: dict[str, Expected] = {}   # own reference -> what it must be
        self.primaries: set[str] = set()           # references that opened a ticket
        self.counts: dict[str, dict[str, int]] = {}  # intake -> {"accepted": n, "refused": n}
        self.reasons: Counter = Counter()           # (intake, status, fields named) of the refusals

    # --- lifecycle

    def start(self, monkeypatch) -> System:
        self.rabbit.create()
        if self.database == "sqlite":
            self.url = f"sqlite:///{self.tmp / 'complaints.db'}"
        else:
            self.url, self.drop = postgres_database()
        env = {"DATABASE_URL": self.url, "AMQP_URI": self.rabbit.amqp_uri, "TRACKING_SECRET": SECRET,
               "VAR_DIR": str(self.tmp / "var")}
        self.tickets = service_process("tickets", env, self.tmp / "tickets.log").start(timeout=90)
        for name, value in {**env, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_WHATSAPP_URL": WHATSAPP_URL,
                            "PUBLIC_VOICE_URL": VOICE_URL, "RPC_TIMEOUT_SECONDS": "20",
                            "PUBLIC_BASE_URL": "https://example.com",
                            # Hundreds of complaints from one address (and one customer) on purpose: the
                            # limiter runs on every post, but never refuses one.
                            "INTAKE_RATE_LIMIT_PER_ADDRESS": "1000000/minute",
                            "INTAKE_RATE_LIMIT_PER_CUSTOMER": "1000000/minute",
                            "CHAT_SESSIONS_PER_ADDRESS_PER_HOUR": "1000000"}.items():
            monkeypatch.setenv(name, value)
        self._start_intakes()
        return self

    def _start_intakes(self) -> None:
        from services.common.messaging.publisher import ComplaintPublisher
        from services.common.storage.db import make_engine
        from services.intake_chat import migrate as chat_migrate
        from services.intake_chat.app import create_app as chat_app
        from services.intake_chat.tickets_client import TicketsClient
        from services.intake_voice import migrate as voice_migrate
        from services.intake_voice.app import create_app as voice_app
        from services.intake_whatsapp import migrate as whatsapp_migrate
        from services.intake_whatsapp.app import create_app as whatsapp_app

        whatsapp_migrate.upgrade(self.url)
        voice_migrate.upgrade(self.url)
        chat_migrate.upgrade(self.url)
        self.engine = make_engine(self.url)
        self.publisher = ComplaintPublisher(self.rabbit.amqp_uri)
        self.tickets_client = TicketsClient(self.rabbit.amqp_uri, timeout=20)
        self.chat = chat_app(publisher=self.publisher, tickets=self.tickets_client).test_client()
        self.whatsapp_app = whatsapp_app(publisher=self.publisher, engine=self.engine)
        self.voice_app = voice_app(publisher=self.publisher, engine=self.engine)
        self.whatsapp = Twilio(self.whatsapp_app.test_client(), WHATSAPP_URL)
        self.voice = Twilio(self.voice_app.test_client(), VOICE_URL)

    def stop(self) -> None:
        for close in (self.publisher.close, self.tickets_client.close, self.engine.dispose):
            try:
                close()
            except Exception as exc:  # noqa: BLE001  (teardown goes on whatever one close says)
                print(f"closing: {exc!r}", file=sys.stderr)
        self.tickets.stop()
        self.rabbit.delete()
        if self.drop:
            self.drop()

    # --- the ledger

    def count(self, intake: str, outcome: str) -> None:
        self.counts.setdefault(intake, {"accepted": 0, "refused": 0})[outcome] += 1

    def refused(self, intake: str, response, sent) -> None:
        """A non-2xx answer: a 4xx that says what was wrong (and nothing was created, see `settle`)."""
        self.count(intake, "refused")
        status = response.status_code
        assert 400 <= status < 500, f"{intake} answered {status} to {sent!r}: {response.get_data(as_text=True)[:500]}"
        assert readable_error(response), f"{intake}: {status} without a readable error: {response.data[:300]!r}"
        named = response.get_json(silent=True) or {}
        self.reasons[intake, status, ",".join(sorted(named.get("fields") or {}))] += 1

    def accepted(self, intake: str, expected: Expected) -> dict:
        """A 2xx answer: wait for its ticket and check it holds what was sent. Returns the ticket."""
        self.count(intake, "accepted")
        earlier = self.expected.get(expected.own)
        if earlier is not None:  # the same id again (a retry): the first one's content stays
            assert earlier.announced == expected.announced, (expected.label, earlier.label)
            expected = earlier
        else:
            self.expected[expected.own] = expected
            if expected.own == expected.announced:
                self.primaries.add(expected.own)
        return self.check(expected)

    def wait_for_message(self, own: str) -> dict:
        """The ticket that message `own` is on, whichever it is (its own reference finds it)."""
        def found():
            ticket = self.ticket(own)
            return ticket if ticket and any(m["intake_reference"] == own for m in ticket["messages"]) else None

        return wait_for(found, timeout=TICKET_TIMEOUT, interval=0.05, message=f"message {own}")

    def known(self, own: str, reference: str, body: str) -> None:
        """Put a message the ledger did not expect (a known, reported violation) on it, so
        the final count checks everything else."""
        if own in self.expected:
            return
        self.expected[own] = Expected(f"known {own}", reference, own, body)
        if own == reference:
            self.primaries.add(own)

    def ticket(self, reference: str) -> dict | None:
        resp = api.get(f"{self.tickets.url}/tickets/{reference}", timeout=20)
        assert resp.status_code in (200, 404), f"tickets answered {resp.status_code}: {resp.text[:300]}"
        return resp.json() if resp.status_code == 200 else None

    def check(self, e: Expected) -> dict:
        def arrived():
            found = self.ticket(e.announced)
            return found if found and any(m["intake_reference"] == e.own for m in found["messages"]) else None

        try:
            ticket = wait_for(arrived, timeout=TICKET_TIMEOUT, interval=0.02, message=f"the ticket of {e.label}")
        except AssertionError:
            raise AssertionError(f"accepted but no ticket message {e.own} on {e.announced} after "
                                 f"{TICKET_TIMEOUT}s for {e.label}\n{self.tickets_log()[-3000:]}") from None
        if e.own == e.announced:
            assert ticket["reference"] == e.own, (e.label, ticket["reference"])
        [message] = [m for m in ticket["messages"] if m["intake_reference"] == e.own]
        assert message["body"] == e.body, (e.label, message["body"][:200], e.body[:200])
        if e.subject is not None:
            assert message["subject"] == e.subject, (e.label, message["subject"], e.subject)
        if e.channel:
            assert message["channel"] == e.channel, e.label
        for name, value in e.customer.items():
            assert ticket["customer"][name] == value, (e.label, name, ticket["customer"][name], value)
        for name in e.repairs:
            assert any(n["author"] == "system" and f"- {name}: " in n["body"] for n in ticket["notes"]), \
                (e.label, name, [n["body"][:300] for n in ticket["notes"]])
        return ticket

    def settle(self) -> None:
        """Once every intake test ran: nothing waiting, parked, quarantined or logged
        as an error, and exactly one ticket per announced reference, one message per
        accepted message, nothing more (a refused request created nothing)."""
        from sqlalchemy import text

        # The management API's statistics lag by up to one collection interval (5 s):
        # drained means seen empty again after a full interval.
        for _ in range(2):
            wait_for(lambda: self.rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0, timeout=60,
                     message="the complaints queue drained")
            time.sleep(6)
        assert self.rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 0, "complaints were dead-lettered"
        for path in ("/quarantine", "/dead-letters"):
            items = api.get(f"{self.tickets.url}{path}", timeout=20).json()["items"]
            assert items == [], f"{path}: {json.dumps(items)[:2000]}"
        with self.engine.connect() as conn:
            tickets = conn.execute(text("SELECT reference FROM tickets")).scalars().all()
            doubled = conn.execute(text("SELECT intake_reference, COUNT(*) FROM messages WHERE direction = 'in' "
                                        "GROUP BY intake_reference HAVING COUNT(*) > 1")).all()
            inbound = conn.execute(text("SELECT intake_reference FROM messages WHERE direction = 'in'")).scalars()
            inbound = set(inbound.all())
        assert doubled == [], f"messages stored more than once: {doubled}"
        assert set(tickets) == self.primaries and len(tickets) == len(self.primaries), (
            f"tickets nobody was told about: {sorted(set(tickets) - self.primaries)[:20]}; "
            f"announced but missing: {sorted(self.primaries - set(tickets))[:20]}")
        assert inbound == set(self.expected), (
            f"messages nobody was told about: {sorted(inbound - set(self.expected))[:20]}")
        log = self.tickets_log()
        problems = [line for line in log.splitlines() if " ERROR " in line or "CRITICAL" in line
                    or line.startswith("Traceback")]
        assert problems == [], "the tickets service logged errors:\n" + log[-6000:]

    def tickets_log(self) -> str:
        return self.tickets.log_path.read_text(errors="replace")


class Twilio:
    """Twilio posting to an in-process app: form-encoded, signed over the public URL."""

    def __init__(self, client, public_url: str):
        self.client, self.public_url = client, public_url
        self.validator = RequestValidator(AUTH_TOKEN)

    def post(self, path: str, params: dict):
        params = {k: v for k, v in params.items() if v is not None}
        signature = self.validator.compute_signature(self.public_url + path, params)
        return self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def readable_error(response) -> bool:
    """A refusal a person (or Twilio's debugger) can read: a JSON error, or text."""
    text = response.get_data(as_text=True)
    if response.mimetype == "application/json":
        data = json.loads(text)
        return isinstance(data, dict) and bool(data.get("error") or data.get("detail"))
    return bool(text.strip())
