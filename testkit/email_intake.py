"""The email intake as its tests drive it: its own process on a mailbox of the
test Dovecot, the tickets service it feeds, and what a user sees of both
(tickets over HTTP, the intake's /mailboxes and /metrics)."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from services.common.contract.reference import reference_for
from services.intake_email.complaint import external_id, intake_id_for
from services.intake_email.parsing import message_id_of
from testkit import api

SLOW = 60  # seconds: the machine is shared; tests poll, they never sleep


def start_intake(services, database_url, dovecot, mailboxes=None, **env):
    boxes = [dovecot.mailbox()] if mailboxes is None else mailboxes
    return services.start("intake_email", DATABASE_URL=database_url, EMAIL_MAILBOXES=json.dumps(boxes),
                          EMAIL_POLL_SECONDS="0.5", EMAIL_RECONNECT_MAX_SECONDS="1", **env)


def start_tickets(services, postgres_url):
    # The tickets service runs on PostgreSQL here: on SQLite it stalls for its
    # 30 s busy timeout under a burst of complaints (its outbox relay holds
    # SQLite's write lock while publishing; see the report of issue 4).
    return services.start("tickets", DATABASE_URL=postgres_url)


def reference_of(raw: bytes, mailbox="support-inbox") -> str:
    return reference_for(intake_id_for(external_id(mailbox, message_id_of(raw), raw)))


def ticket(tickets, reference):
    resp = api.get(f"{tickets.url}/tickets/{reference}", timeout=5)
    return resp.json() if resp.status_code == 200 else None


def email_tickets(tickets) -> list[dict]:
    items, page = [], 1
    while True:
        got = api.get(f"{tickets.url}/tickets", params={"channel": "email", "per_page": 100, "page": page},
                           timeout=10).json()
        items += got["items"]
        if len(items) >= got["total"] or not got["items"]:
            return items
        page += 1


def count_tickets(tickets) -> int:
    params = {"channel": "email", "per_page": 1}
    return api.get(f"{tickets.url}/tickets", params=params, timeout=10).json()["total"]


def metric(service, name, **labels) -> float:
    text = api.get(f"{service.url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def mailbox_status(intake, index=0) -> dict:
    return api.get(f"{intake.url}/mailboxes", timeout=5).json()["mailboxes"][index]


def last_uid(intake, index=0) -> int:
    checkpoint = mailbox_status(intake, index)["checkpoint"]
    return checkpoint["last_uid"] if checkpoint else 0
