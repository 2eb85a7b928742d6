"""Erasure requests and reports on the broker, as the tickets service sends and reads
them (services/common/privacy/transport.py), for tests of one service holding
personal data: ask it to erase a person, read what it reported, ask it for its part
of an export."""

from __future__ import annotations

import json
import uuid

from nameko.standalone.events import event_dispatcher

from services.common.contract.events import SubjectErasureCompleted, SubjectErasureRequested, received
from services.common.privacy import transport
from services.common.privacy.subject import Subject
from services.common.time.clock import iso, now
from testkit import api

from .waiting import wait_for


def ask_erasure(rabbit, service: str, references=(), held=(), **who) -> str:
    """Publish a SubjectErasureRequested once the service's queue exists; its request id."""
    wait_for(lambda: rabbit.queue(transport.request_queue(service).name), timeout=30,
             message=f"the erasure queue of {service}")
    request_id = str(uuid.uuid4())
    event = SubjectErasureRequested(request_id, Subject.given(**who).identifiers(), tuple(references),
                                    "operator:tests", iso(now()), tuple(held))
    payload = {"event_id": str(uuid.uuid4()), "event_type": event.event_type, "occurred_at": iso(now()),
               **event.to_payload()}
    event_dispatcher({"AMQP_URI": rabbit.amqp_uri})("tickets", event.event_type, payload)
    return request_id


def reports(rabbit) -> list[SubjectErasureCompleted]:
    """The reports waiting for the tickets service (read and put back)."""
    if rabbit.queue(transport.REPORTS_QUEUE) is None:
        return []
    return [received(SubjectErasureCompleted, json.loads(m["payload"])).event
            for m in rabbit.get_messages(transport.REPORTS_QUEUE, count=50)]


def report_of(rabbit, request_id: str, service: str, timeout: float = 30) -> dict[tuple[str, str], int]:
    """The service's report of that request, as (table, action) -> rows."""
    found = wait_for(lambda: [r for r in reports(rabbit) if (r.request_id, r.service) == (request_id, service)],
                     timeout=timeout, message=f"the erasure report of {service}")
    return {(e.table, e.action): e.rows for e in found[0].report}


def export_part(url: str, **who) -> dict:
    resp = api.post(f"{url}/privacy/export", json=who, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()
