"""Confidential cases in the tickets store, on SQLite and PostgreSQL: which tickets
are confidential, who finds them, what the access log keeps."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.common.contract.errors import Forbidden, NotFound
from services.common.storage.db import make_engine
from services.tickets import confidentiality as c
from services.tickets.migrate import upgrade
from services.tickets.schema import outbox
from services.tickets.store import TicketStore
from testkit.complaints import web_complaint as complaint

SETTINGS = c.Settings(frozenset({"service"}), "grievances")
MEMBER = c.Viewer("carla", c.AGENT, frozenset({"grievances"}), "agent")
LEAD = c.Viewer("sam", c.AGENT, frozenset({"grievances"}), "supervisor")
OUTSIDER = c.Viewer("bob", c.AGENT, frozenset({"billing"}), "supervisor")
OPERATOR = c.Viewer("ops", c.OPERATOR)
ROUTER = c.Viewer("router", c.SERVICE)


@pytest.fixture
def store(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield TicketStore(engine, SETTINGS)
    engine.dispose()


def updates(store):
    with store.engine.connect() as conn:
        return [r.payload for r in conn.execute(select(outbox).order_by(outbox.c.id))
                if r.event_type == "ticket_updated"]


def test_a_flagged_complaint_or_a_listed_category_becomes_a_confidential_case(store):
    flagged, listed, plain = complaint(confidential=True), complaint(category="service"), complaint()
    for each in (flagged, listed, plain):
        store.ingest(each)
    assert [(store.get(x.reference)["confidential"], store.get(x.reference)["confidential_group"])
            for x in (flagged, listed, plain)] == [(True, "grievances"), (True, "grievances"), (False, None)]


def test_an_outsider_finds_no_confidential_case_in_a_lookup_a_search_or_a_total(store):
    secret, plain = complaint(confidential=True, subject="My manager"), complaint(subject="Charged twice")
    store.ingest(secret)
    store.ingest(plain)
    with pytest.raises(NotFound, match=f"no ticket {secret.reference}"):
        store.get(secret.reference, OUTSIDER)
    with pytest.raises(NotFound):
        store.get(secret.reference, OPERATOR)
    found = store.search(OUTSIDER, text="manager")
    assert found == {"items": [], "total": 0, "page": 1, "per_page": 25}
    everything = store.search(OUTSIDER)
    assert [t["reference"] for t in everything["items"]] == [plain.reference] and everything["total"] == 1
    # Members and services find both.
    assert store.search(MEMBER)["total"] == 2 and store.search(ROUTER)["total"] == 2
    assert store.get(secret.reference, MEMBER)["subject"] == "My manager"


def test_each_sight_by_a_person_is_logged_once_per_minute_and_services_leave_no_trace(store):
    secret, plain = complaint(confidential=True), complaint()
    store.ingest(secret)
    store.ingest(plain)
    store.get(secret.reference, MEMBER)
    store.get(secret.reference, MEMBER)            # the page refreshing itself
    store.search(MEMBER)                           # a list it is on
    store.get(secret.reference, ROUTER)            # a service doing its work
    store.get(plain.reference, MEMBER)             # not confidential: no log
    assert store.record_alert(secret.reference, "dora") == 1
    assert store.record_alert(plain.reference, "dora") == 0
    log = store.access_log(secret.reference, LEAD)
    assert log["group"] == "grievances"
    assert sorted((e["actor"], e["actor_type"], e["action"]) for e in log["items"]) == [
        ("carla", "agent", "list-hit"), ("carla", "agent", "view"), ("dora", "agent", "alert")]


def test_the_access_log_is_for_supervisors_in_the_group(store):
    secret = complaint(confidential=True)
    store.ingest(secret)
    with pytest.raises(Forbidden, match="supervisors in the grievances group"):
        store.access_log(secret.reference, MEMBER)
    with pytest.raises(NotFound):
        store.access_log(secret.reference, OUTSIDER)
    assert store.access_log(secret.reference, c.Viewer("ops", c.OPERATOR, frozenset({"grievances"})))["items"] == []


def test_a_supervisor_marks_a_case_audited_and_announced_and_only_a_member_unmarks_it(store):
    t = complaint()
    store.ingest(t)
    with pytest.raises(Forbidden, match="supervisors and operators"):
        store.change(t.reference, {"confidential": True}, "agent", "carla", MEMBER)
    marked = store.change(t.reference, {"confidential": True}, "agent", "bob", OUTSIDER)
    assert (marked["confidential"], marked["confidential_group"]) == (True, "grievances")
    audit = store.get(t.reference)["audit"][-1]
    assert audit["actor"] == "bob" and audit["changes"]["confidential"] == {"before": False, "after": True}
    assert updates(store)[-1]["ticket"]["confidential"] is True
    # bob marked it and now, outside the group, no longer finds it.
    with pytest.raises(NotFound):
        store.get(t.reference, OUTSIDER)
    with pytest.raises(Forbidden, match="only a member of the grievances group"):
        store.change(t.reference, {"confidential": False}, "agent", "ops", OPERATOR)
    opened = store.change(t.reference, {"confidential": False}, "agent", "sam", LEAD)
    assert (opened["confidential"], opened["confidential_group"]) == (False, None)
    assert store.get(t.reference, OUTSIDER)["reference"] == t.reference


def test_moving_a_ticket_into_a_confidential_category_makes_it_a_case(store):
    t = complaint(category="billing")
    store.ingest(t)
    changed = store.change(t.reference, {"category": "service"}, "agent", "carla", MEMBER)
    assert changed["confidential"] is True
    # And moving it out again does not open it up: that is an explicit act.
    assert store.change(t.reference, {"category": "billing"}, "agent", "carla", MEMBER)["confidential"] is True


def test_a_flagged_follow_up_makes_the_thread_confidential(store):
    first = complaint()
    store.ingest(first)
    follow_up = complaint(subject=f"Re: [{first.reference}]", body="And there is more, about my manager.",
                          category=None, confidential=True)
    assert store.ingest(follow_up).reference == first.reference
    ticket = store.get(first.reference)
    assert ticket["confidential"] is True and len(ticket["messages"]) == 2
    assert updates(store)[-1]["changes"]["confidential"] == {"before": False, "after": True}


def test_dead_letters_and_quarantine_show_an_outsider_nothing_of_a_confidential_case(store):
    store.quarantine("invalid ComplaintReceived: body: too long",
                     json.dumps({"confidential": True, "body": "what my manager did"}))
    store.quarantine("invalid ComplaintReceived: channel: required", json.dumps({"body": "a broken form"}))
    seen = [q["raw"] for q in store.list_quarantine(viewer=OUTSIDER)]
    assert "what my manager did" not in "".join(seen) and "members of the grievances group" in seen[1]
    assert "a broken form" in seen[0]
    assert "what my manager did" in store.list_quarantine(viewer=MEMBER)[1]["raw"]
