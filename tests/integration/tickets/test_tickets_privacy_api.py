"""The tickets service's privacy API as it runs (its own process, a real broker):
an operator asks for an erasure, the request waits on each service's queue (declared
before it is published, so a service that is down gets it later), a service's report
completes it; the export and the legal hold; and who may do which."""

from __future__ import annotations

import json

from services.common.contract.events import ErasureEntry, SubjectErasureCompleted
from services.common.messaging.publisher import ComplaintPublisher
from services.common.privacy.transport import ReportPublisher
from services.common.time.clock import iso, now
from testkit import api
from testkit.complaints import web_complaint as complaint
from testkit.waiting import wait_for

BEA = {"name": "Beatriz Quental", "email": "beatriz.quental@example.pt"}


def test_an_operator_erases_a_person_and_the_request_completes_when_the_services_answer(database_url, rabbit,
                                                                                         services):
    tickets = services.start("tickets", DATABASE_URL=database_url, PRIVACY_SERVICES="notifier,intake_sms")
    c = complaint(customer=BEA)
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    wait_for(lambda: api.get(f"{tickets.url}/tickets/{c.reference}").ok, message="the ticket")

    resp = api.post(f"{tickets.url}/privacy/erasures", json={"email": BEA["email"]})
    assert resp.status_code == 202, resp.text
    request_id = resp.json()["request_id"]
    assert resp.json()["services"]["intake_sms"] == {"status": "pending"}
    assert api.get(f"{tickets.url}/tickets/{c.reference}").json()["customer"]["email"].startswith("erased-")

    # Neither service runs: the request waits on each one's queue.
    for queue in ("privacy.erasures.notifier", "privacy.erasures.intake_sms"):
        [waiting] = wait_for(lambda q=queue: rabbit.get_messages(q), message=f"the request on {queue}")
        assert json.loads(waiting["payload"])["request_id"] == request_id
    assert api.get(f"{tickets.url}/privacy/erasures").json()["items"][0]["request_id"] == request_id

    reports = ReportPublisher(rabbit.amqp_uri)
    for service in ("notifier", "intake_sms"):
        reports.publish(SubjectErasureCompleted(request_id, service, (ErasureEntry("t", "erased", 1),),
                                                iso(now())), now())
    done = wait_for(lambda: (s := api.get(f"{tickets.url}/privacy/erasures/{request_id}").json())
                    ["status"] == "completed" and s, message="the request completed")
    assert done["services"]["notifier"]["report"] == [{"table": "t", "action": "erased", "rows": 1, "reason": None}]
    assert 'complaints_privacy_erasures_pending 0.0' in api.get(f"{tickets.url}/metrics").text


def test_only_an_operator_may_erase_or_export_and_bad_identifiers_are_named(tmp_path, rabbit, services):
    tickets = services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'tickets.db'}")
    for path in ("/privacy/erasures", "/privacy/export"):
        refused = api.post(f"{tickets.url}{path}", json={"email": "a@b.pt"}, agent="bruno")
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    bad = api.post(f"{tickets.url}/privacy/erasures", json={"phone": "12", "name": "Ana"})
    assert bad.status_code == 422 and "phone" in bad.json()["detail"]
    assert api.post(f"{tickets.url}/privacy/erasures", json={"name": "Ana"}).status_code == 422
    assert api.get(f"{tickets.url}/privacy/erasures/nope").status_code == 404


def test_the_export_and_the_legal_hold_over_http(tmp_path, rabbit, services):
    tickets = services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'tickets.db'}")
    c = complaint(customer=BEA)
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    wait_for(lambda: api.get(f"{tickets.url}/tickets/{c.reference}").ok, message="the ticket")

    held = api.put(f"{tickets.url}/tickets/{c.reference}/legal-hold", json={"hold": True, "reason": "court"},
                   agent="bruno")
    assert held.status_code == 200 and held.json()["legal_hold"] is True
    assert api.put(f"{tickets.url}/tickets/{c.reference}/legal-hold", json={"hold": "yes"}).status_code == 400

    part = api.post(f"{tickets.url}/privacy/export", json={"email": BEA["email"].upper()}).json()
    assert part["service"] == "tickets" and part["references"] == [c.reference]
    [ticket] = part["tables"]["tickets"]
    assert ticket["messages"][0]["body"] == c.body and ticket["legal_hold"] is True


def test_exporting_a_confidential_case_of_the_person_is_in_its_access_log(tmp_path, rabbit, services):
    tickets = services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'tickets.db'}",
                             CONFIDENTIAL_CATEGORIES="billing")
    c = complaint(customer=BEA, category="billing")
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    wait_for(lambda: api.get(f"{tickets.url}/tickets/{c.reference}", groups=("confidential",)).ok,
             message="the ticket")
    # The person's data is theirs: the export holds it whoever the operator is, and says so.
    part = api.post(f"{tickets.url}/privacy/export", json={"email": BEA["email"]}).json()
    assert part["references"] == [c.reference]
    log = api.get(f"{tickets.url}/tickets/{c.reference}/access-log", groups=("confidential",)).json()
    assert {(e["actor"], e["action"]) for e in log["items"]} >= {("tests", "export")}
    # Outside the group the case does not exist, legal hold included.
    assert api.get(f"{tickets.url}/tickets/{c.reference}/legal-hold", agent="bruno").status_code == 404
