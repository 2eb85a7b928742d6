"""Email intake throughput, IMAP to ticket, with nothing lost and nothing doubled.

    .venv/bin/python bench/email_bench.py                    # 300 mixed messages
    .venv/bin/python bench/email_bench.py --messages 1000 --intake-db postgres

A private Dovecot (testkit/imap_server.py; scripts/setup.d/dovecot.sh installs
it) gets a mailbox of mixed messages, delivered before anything is measured:
new complaints in every encoding of tests/data/email/ (plain, multipart, HTML
only, base64, quoted-printable, Latin-1, KOI8-R, ISO-2022-JP, an unknown
charset, encoded headers, attachments, no Subject, no Message-ID), replies
threaded by In-Reply-To and by the ticket reference in the subject,
auto-replies, bounces, the system's own mail and malformed messages.

Then the real services run as processes on a fresh RabbitMQ vhost: tickets
(on a fresh PostgreSQL database) and the email intake (its own SQLite file, or
PostgreSQL with --intake-db postgres). The clock starts when the intake is
started and stops when every expected ticket and follow-up is readable through
the tickets API. Printed: messages per second from IMAP to ticket (every
message read, whatever its outcome), complaints and follow-ups per second, and
the time the intake alone took to drain the mailbox (its checkpoint at the
last UID). Then the check: each complaint exactly one ticket with exactly its
follow-ups, the skipped and quarantined counts as delivered; any difference is
printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.router_bench import postgres_database  # noqa: E402
from services.common.contract.reference import reference_for  # noqa: E402
from services.intake_email.complaint import external_id, intake_id_for  # noqa: E402
from services.intake_email.parsing import message_id_of  # noqa: E402
from testkit import api  # noqa: E402
from testkit.imap_server import Dovecot  # noqa: E402
from testkit.processes import service_process  # noqa: E402
from testkit.sample_mail import message, sample  # noqa: E402

AMQP_BASE = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
RABBIT_API = os.environ.get("TEST_RABBIT_API", "http://127.0.0.1:15672/api")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MAILBOX = "support-inbox"
ENCODED = ["plain", "multipart_alternative", "html_only", "base64", "quoted_printable", "latin1", "koi8r",
           "iso2022jp", "unknown_charset", "encoded_headers", "no_subject", "attachments"]
# Shares of the mailbox; the rest are new plain complaints.
MIX = {"encoded": 0.25, "no_message_id": 0.04, "reply_header": 0.12, "reply_subject": 0.06,
       "auto_reply": 0.05, "bounce": 0.03, "own_mail": 0.02, "malformed": 0.02}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=300, help="messages in the mailbox (default 300)")
    p.add_argument("--intake-db", choices=("sqlite", "postgres"), default="sqlite",
                   help="the intake's own database (default sqlite; tickets always use PostgreSQL)")
    p.add_argument("--timeout", type=float, default=300, help="give up after this many seconds (default 300)")
    p.add_argument("--seed", type=int, default=4)
    return p.parse_args(argv)


def reference_of(raw: bytes) -> str:
    return reference_for(intake_id_for(external_id(MAILBOX, message_id_of(raw), raw)))


def with_identity(raw: bytes, n: int) -> bytes:
    """A sample made unique: its own Message-ID and sender, so it is its own complaint."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith((b"message-id:", b"from:"))]
    lines += [f"From: Customer {n} <bench{n}@example.org>".encode(), f"Message-ID: <bench-{n}@example.org>".encode()]
    return b"\r\n".join(lines) + sep + body


class Plan:
    """The mailbox in delivery order, and what it must become."""

    def __init__(self, n: int, rng: random.Random):
        self.raws: list[bytes] = []
        self.followups: dict[str, int] = {}      # ticket reference -> follow-ups expected on it
        self.originals: list[tuple[str, str, str]] = []   # (reference, message id, sender) to reply to
        self.skipped = self.quarantined = 0
        for i in range(n):
            kind = rng.choices([*MIX, "new"], [*MIX.values(), 1 - sum(MIX.values())])[0]
            # Replies go to messages at least a third of the mailbox earlier: their ticket exists by then.
            early = self.originals[: max(0, len(self.originals) - n // 3)]
            if kind.startswith("reply") and not early:
                kind = "new"
            self.raws.append(self._message(kind, i, rng, early))

    def _message(self, kind, i, rng, early) -> bytes:
        if kind in ("auto_reply", "bounce", "own_mail", "malformed"):
            if kind == "malformed":
                self.quarantined += 1
            else:
                self.skipped += 1
            raw = sample(kind)
            return raw.replace(b"Message-ID: <", f"Message-ID: <{i}-".encode()) if kind != "malformed" else \
                raw + f"noise {i}\r\n".encode()   # a distinct content hash each
        if kind.startswith("reply"):
            reference, parent_id, sender = rng.choice(early)
            self.followups[reference] += 1
            if kind == "reply_header":
                return message(sender=sender, subject="Re: my complaint", body=f"Follow-up {i}.",
                               message_id=f"<bench-reply-{i}@example.org>",
                               headers={"In-Reply-To": parent_id, "References": parent_id})
            return message(sender=sender, subject=f"More on {reference}", body=f"Follow-up {i} by reference.",
                           message_id=f"<bench-reply-{i}@example.org>")
        if kind == "encoded":
            raw = with_identity(sample(rng.choice(ENCODED)), i)
            sender = f"bench{i}@example.org"
        elif kind == "no_message_id":
            sender = f"bench{i}@example.org"
            raw = message(sender=sender, subject=f"No id {i}", body=f"Complaint {i} without a Message-ID.")
        else:
            sender = f"bench{i}@example.org"
            raw = message(sender=sender, subject=f"Complaint {i}", body=f"Complaint number {i}.",
                          message_id=f"<bench-{i}@example.org>")
        reference = reference_of(raw)
        self.followups[reference] = 0
        if message_id_of(raw):
            self.originals.append((reference, message_id_of(raw), sender))
        return raw

    @property
    def ingested(self) -> int:
        return len(self.followups) + sum(self.followups.values())


class Vhost:
    """A throwaway RabbitMQ vhost for the run."""

    def __init__(self):
        parts = urlsplit(AMQP_BASE)
        self.name = f"email-bench-{uuid.uuid4().hex[:8]}"
        self.auth = (parts.username or "guest", parts.password or "guest")
        self.amqp_uri = urlunsplit(parts._replace(path="/" + quote(self.name, safe="")))

    def __enter__(self):
        vhost = quote(self.name, safe="")
        api.put(f"{RABBIT_API}/vhosts/{vhost}", auth=self.auth, timeout=10).raise_for_status()
        api.put(f"{RABBIT_API}/permissions/{vhost}/{self.auth[0]}", auth=self.auth, timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        return self

    def __exit__(self, *exc):
        api.delete(f"{RABBIT_API}/vhosts/{quote(self.name, safe='')}", auth=self.auth, timeout=10)


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")


def email_ticket_count(tickets) -> int:
    resp = api.get(f"{tickets.url}/tickets", params={"channel": "email", "per_page": 1}, timeout=10)
    return resp.json()["total"]


def run(args) -> dict:
    rng = random.Random(args.seed)
    plan = Plan(args.messages, rng)
    work = Path(tempfile.mkdtemp(prefix="email-bench-"))
    dovecot = Dovecot(work).start()
    started = []
    try:
        dovecot.append(plan.raws)
        sqlite = nullcontext(f"sqlite:///{work / 'intake_email.db'}")
        with Vhost() as vhost, postgres_database(POSTGRES_URL) as tickets_db, \
                (postgres_database(POSTGRES_URL) if args.intake_db == "postgres" else sqlite) as intake_db:
            common = {"AMQP_URI": vhost.amqp_uri, "VAR_DIR": work / "var", "LOG_LEVEL": "WARNING"}
            tickets = service_process("tickets", {**common, "DATABASE_URL": tickets_db}, work / "tickets.log")
            started.append(tickets.start(60))
            intake = service_process("intake_email", {
                **common, "DATABASE_URL": intake_db, "EMAIL_MAILBOXES": json.dumps([dovecot.mailbox()])},
                work / "intake_email.log")
            started.append(intake)
            t0 = time.monotonic()
            intake.start(60)
            last = len(plan.raws)
            drained = wait(lambda: _last_uid(intake) == last, args.timeout, "the intake to drain the mailbox")
            done = wait(lambda: _messages_stored(tickets) >= plan.ingested, args.timeout,
                        "every complaint and follow-up stored by the tickets service")
            problems = check(plan, tickets, intake)
            elapsed = done - t0
            return {"messages": last, "complaints": len(plan.followups), "followups": sum(plan.followups.values()),
                    "skipped": plan.skipped, "quarantined": plan.quarantined, "seconds": elapsed,
                    "drain_seconds": drained - t0,
                    "per_second": last / elapsed, "ingested_per_second": plan.ingested / elapsed,
                    "intake_db": args.intake_db, "problems": problems}
    finally:
        for proc in reversed(started):
            proc.stop()
        dovecot.remove()


def _last_uid(intake) -> int:
    try:
        checkpoint = api.get(f"{intake.url}/mailboxes", timeout=5).json()["mailboxes"][0]["checkpoint"]
    except (requests.RequestException, ValueError, IndexError, KeyError):
        return 0
    return checkpoint["last_uid"] if checkpoint else 0


def _messages_stored(tickets) -> float:
    """Email messages the tickets service committed (new tickets + follow-ups), from its
    metrics: one cheap request per poll, so watching does not slow it down."""
    try:
        text = api.get(f"{tickets.url}/metrics", timeout=5).text
    except requests.RequestException:
        return 0
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "complaints_tickets_messages_total" and s.labels.get("channel") == "email"
               and s.labels.get("outcome") in ("created", "appended"))


def check(plan, tickets, intake) -> list[str]:
    problems = []
    count = email_ticket_count(tickets)
    if count != len(plan.followups):
        problems.append(f"{count} email tickets, expected {len(plan.followups)}")
    for reference, expected in plan.followups.items():
        resp = api.get(f"{tickets.url}/tickets/{reference}", timeout=10)
        if resp.status_code != 200:
            problems.append(f"{reference}: no ticket (lost)")
        elif len(resp.json()["messages"]) != expected + 1:
            problems.append(f"{reference}: {len(resp.json()['messages'])} messages, expected {expected + 1}")
    handled = api.get(f"{intake.url}/mailboxes", timeout=5).json()["mailboxes"][0]["handled"]
    want = {"ingested": plan.ingested, "skipped": plan.skipped, "quarantined": plan.quarantined}
    if {k: handled.get(k, 0) for k in want} != want:
        problems.append(f"intake handled {handled}, expected {want}")
    return problems


def report(r: dict) -> None:
    print(f"email intake, IMAP -> ticket: {r['messages']} messages ({r['complaints']} complaints, "
          f"{r['followups']} follow-ups, {r['skipped']} skipped, {r['quarantined']} quarantined); "
          f"intake database {r['intake_db']}, tickets on PostgreSQL")
    print(f"  {'messages/s':>11} {'ingested/s':>11} {'drain s':>8} {'all tickets s':>14}")
    print(f"  {r['per_second']:>11.1f} {r['ingested_per_second']:>11.1f} {r['drain_seconds']:>8.2f} "
          f"{r['seconds']:>14.2f}")
    if r["problems"]:
        print("  NOT OK: " + "; ".join(r["problems"][:20]))
    else:
        print("  check: every complaint is exactly one ticket with exactly its follow-ups; nothing lost, "
              "nothing doubled")


def main(argv=None) -> dict:
    result = run(parse_args(argv))
    report(result)
    return result


if __name__ == "__main__":
    sys.exit(1 if main()["problems"] else 0)
