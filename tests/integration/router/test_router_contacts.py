"""Agents' phone and WhatsApp numbers kept by the router's store and returned
by the router's get_agent: how the notifier's alerts and voice callbacks reach
an agent by phone. Reading them from a roster is tests/unit/test_router_roster.py."""

from __future__ import annotations

from services.router import roster


def test_the_store_keeps_and_returns_the_numbers(store):
    store.import_roster(roster.parse_json([{"name": "ana", "email": "ana@support.example",
                                            "phone": "+351910000001"}]))
    assert store.roster.agent("ana")["phone"] == "+351910000001" and store.roster.agent("ana")["whatsapp"] is None
    store.roster.patch_agent("ana", roster.agent({"whatsapp": "+351910000009"}, {}, partial=True))
    assert store.roster.agent("ana")["whatsapp"] == "+351910000009"
    assert store.roster.agent("ana")["phone"] == "+351910000001"
