"""Confidential cases through the tickets service as it runs: an agent or operator
outside the group gets 404 for such a ticket over HTTP and RPC and never finds it
in a list or a total; members do, and each of their looks is in the access log,
which the group's supervisors read."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from services.common.contract.errors import Forbidden, NotFound
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api
from testkit.complaints import web_complaint as complaint
from testkit.paths import ROOT
from testkit.waiting import wait_for

GROUP = ["confidential"]


@pytest.fixture
def tickets(tmp_path, services, rabbit):
    return services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'confidential.db'}",
                          CONFIDENTIAL_CATEGORIES="service")


def published(rabbit, tickets, *complaints):
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    for c in complaints:
        publisher.publish(c)
    for c in complaints:
        wait_for(lambda c=c: api.get(f"{tickets.url}/tickets/{c.reference}", groups=GROUP).status_code == 200,
                 message=f"ticket {c.reference}")


def test_an_agent_outside_the_group_gets_404_and_finds_nothing(tickets, rabbit):
    secret = complaint(confidential=True, subject="My manager shouts at me")
    by_category = complaint(category="service", subject="Unsafe ladder in the shop")
    plain = complaint(subject="Charged twice")
    published(rabbit, tickets, secret, by_category, plain)
    url = f"{tickets.url}/tickets"

    for ref in (secret.reference, by_category.reference):
        for who in ({"agent": "bob"}, {"agent": "sup", "role": "supervisor"}, {}):  # {}: the operator
            resp = api.get(f"{url}/{ref}", **who)
            assert resp.status_code == 404 and resp.json() == {"error": "not_found", "detail": f"no ticket {ref}"}
        # Nor can they change it, note it, answer it or take it.
        assert api.patch(f"{url}/{ref}", json={"priority": "high"}, agent="bob").status_code == 404
        assert api.post(f"{url}/{ref}/notes", json={"body": "hm"}, agent="bob").status_code == 404
        assert api.post(f"{url}/{ref}/replies", json={"body": "hi"}, agent="bob").status_code == 404
        assert api.post(f"{url}/{ref}/assignee", json={"assignee": "bob"}, agent="bob").status_code == 404

    listed = api.get(url, agent="bob").json()
    assert [t["reference"] for t in listed["items"]] == [plain.reference] and listed["total"] == 1
    assert api.get(url, params={"q": "manager"}, agent="bob").json()["total"] == 0
    assert api.get(url, params={"category": "service"}).json()["total"] == 0   # the operator outside it

    member = api.get(url, agent="carla", groups=GROUP).json()
    assert member["total"] == 3
    shown = api.get(f"{url}/{secret.reference}", agent="carla", groups=GROUP).json()
    assert shown["confidential"] is True and shown["confidential_group"] == "confidential"
    assert shown["subject"] == "My manager shouts at me"


def test_the_rpc_answers_not_found_to_an_outsider_and_the_ticket_to_a_member(tickets, rabbit):
    secret, plain = complaint(confidential=True), complaint()
    published(rabbit, tickets, secret, plain)
    config = {"AMQP_URI": rabbit.amqp_uri}
    with ServiceRpcProxy("tickets", config, context_data=api.rpc_context("bob"), timeout=10) as proxy:
        with pytest.raises(NotFound):
            proxy.get_ticket(secret.reference)
        with pytest.raises(NotFound):
            proxy.add_note(secret.reference, None, "a peek")
        assert proxy.search({})["total"] == 1
    with ServiceRpcProxy("tickets", config, context_data=api.rpc_context("carla", groups=GROUP),
                         timeout=10) as proxy:
        assert proxy.get_ticket(secret.reference)["confidential"] is True
        assert proxy.search({})["total"] == 2
        with pytest.raises(Forbidden):   # a member, but not a supervisor
            proxy.access_log(secret.reference)
        with pytest.raises(Forbidden):   # only the sending service records an alert
            proxy.record_alert(secret.reference, "carla")
    with ServiceRpcProxy("tickets", config, context_data=api.rpc_context("sam", role="supervisor", groups=GROUP),
                         timeout=10) as proxy:
        log = proxy.access_log(secret.reference)
    assert {(e["actor"], e["action"]) for e in log["items"]} == {
        ("tests", "view"), ("carla", "view"), ("carla", "list-hit")}   # tests: published() waiting for it


def test_supervisors_mark_and_members_unmark_over_http_and_the_log_shows_who_looked(tickets, rabbit):
    t = complaint(subject="Lamp broken")
    published(rabbit, tickets, t)
    url = f"{tickets.url}/tickets/{t.reference}"

    resp = api.patch(url, json={"confidential": True}, agent="bob")
    assert resp.status_code == 403 and "supervisors and operators" in resp.json()["detail"]
    resp = api.patch(url, json={"confidential": "yes"}, agent="sup", role="supervisor")
    assert resp.status_code == 422 and "true or false" in resp.json()["detail"]
    assert api.patch(url, json={"confidential": True}, agent="sup", role="supervisor").json()["confidential"]
    assert api.get(url, agent="bob").status_code == 404

    api.get(url, agent="carla", groups=GROUP)
    resp = api.get(f"{url}/access-log", agent="carla", groups=GROUP)
    assert resp.status_code == 403 and resp.json()["error"] == "forbidden"
    assert api.get(f"{url}/access-log", agent="bob").status_code == 404
    log = api.get(f"{url}/access-log", agent="lead", role="supervisor", groups=GROUP).json()
    assert [(e["actor"], e["actor_type"], e["action"]) for e in log["items"]] == [("carla", "agent", "view")]

    resp = api.patch(url, json={"confidential": False}, agent="sup", role="supervisor")
    assert resp.status_code == 404   # sup marked it and, outside the group, no longer sees it
    opened = api.patch(url, json={"confidential": False}, agent="lead", role="supervisor", groups=GROUP).json()
    assert opened["confidential"] is False
    audit = api.get(url, agent="bob").json()["audit"]
    assert [(a["actor"], a["changes"]["confidential"]["after"]) for a in audit if "confidential" in a["changes"]] \
        == [("sup", True), ("lead", False)]


def test_an_operator_minted_into_the_group_sees_and_reads_the_log(tickets, rabbit):
    secret = complaint(confidential=True)
    published(rabbit, tickets, secret)
    minted = subprocess.run([sys.executable, "-m", "services.common.auth", "mint-operator", "ines",
                             "--group", "confidential"], cwd=ROOT, capture_output=True, text=True, check=True)
    headers = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    url = f"{tickets.url}/tickets/{secret.reference}"
    assert requests.get(url, headers=headers, timeout=5).json()["reference"] == secret.reference
    log = requests.get(f"{url}/access-log", headers=headers, timeout=5).json()
    assert [(e["actor"], e["actor_type"], e["action"]) for e in log["items"]] == [
        ("ines", "operator", "view"), ("tests", "operator", "view")]
