"""The tickets service's RPC answers a caller's mistake with the kernel's typed
errors (services/common/contract/errors.py), so a caller catches NotFound,
Conflict or Invalid instead of comparing exception names."""

from __future__ import annotations

import time

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.contract.errors import Conflict, Invalid, NotFound
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api


def test_rpc_errors_arrive_typed_with_the_rules_message(tmp_path, rabbit, services):
    tickets = services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'rpc.db'}")
    data = {"schema_version": 1, "intake_id": new_intake_id(), "channel": "web", "received_at": utc_now_iso(),
            "customer": {"email": "ana@example.org"}, "subject": "Charged twice", "body": "Twice."}
    c = ComplaintReceived.from_dict({**data, "external_id": data["intake_id"]})
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    deadline = time.monotonic() + 15
    while api.get(f"{tickets.url}/tickets/{c.reference}", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the ticket never appeared"
        time.sleep(0.1)
    with ServiceRpcProxy("tickets", {"AMQP_URI": rabbit.amqp_uri}, context_data=api.rpc_context(), timeout=10) as proxy:
        with pytest.raises(NotFound):
            proxy.get_ticket("C-0000000000")
        with pytest.raises(Invalid, match="cannot change status from new to closed; allowed from new: "):
            proxy.change(c.reference, {"status": "closed"}, "agent", "ana")
        with pytest.raises(Invalid, match="unknown priority 'someday'"):
            proxy.change(c.reference, {"priority": "someday"}, "agent", "ana")
        with pytest.raises(Invalid, match="sleeping"):
            proxy.search({"status": "sleeping"})
        proxy.assign(c.reference, "ana", "agent", "sup")
        with pytest.raises(Conflict, match="assigned to ana, not nobody"):
            proxy.assign(c.reference, "bob", "agent", "sup", None)
        assert proxy.assign(c.reference, "ana", "agent", "sup", None)["assignee"] == "ana"  # already so: no error
    # The HTTP API keeps its table: an illegal transition is 409, a broken rule 422.
    patch = api.patch(f"{tickets.url}/tickets/{c.reference}", json={"status": "closed"},
                           agent="ana", timeout=5)
    assert patch.status_code == 409 and patch.json()["error"] == "illegal_transition"
