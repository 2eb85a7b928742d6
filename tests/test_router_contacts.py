"""Agents' phone and WhatsApp numbers in the roster (JSON and CSV, validated), kept
by the store and returned by the router's get_agent: how the notifier's alerts and
voice callbacks reach an agent by phone."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from test_router_store import store  # noqa: F401  (the migrated store, per database)

from services.router import roster

SAMPLES = ROOT / "samples"


def test_json_and_csv_rosters_carry_tidied_numbers():
    agents = roster.parse_json([{"name": "ana", "phone": "+351 910-000-001", "whatsapp": "+351910000001"}])
    assert (agents[0]["phone"], agents[0]["whatsapp"]) == ("+351910000001", "+351910000001")
    csv = "name,email,phone,whatsapp\nbruno,bruno@support.example,+351910000002,\n"
    agent = roster.parse_csv(csv)[0]
    assert agent["phone"] == "+351910000002" and "whatsapp" not in agent


def test_bad_numbers_are_named_and_nothing_is_imported():
    with pytest.raises(roster.RosterError) as json_error:
        roster.parse_json([{"name": "ana", "phone": "910000001"}, {"name": "bo", "whatsapp": 351}])
    assert set(json_error.value.errors) == {"[0].phone", "[1].whatsapp"}
    with pytest.raises(roster.RosterError) as csv_error:
        roster.parse_csv("name,phone\nana,0910000001\n")
    assert "line 2: phone" in csv_error.value.errors


def test_the_samples_give_some_agents_a_phone():
    from_json = {a["name"]: a for a in roster.parse_json(json.loads((SAMPLES / "roster.json").read_text()))}
    from_csv = {a["name"]: a for a in roster.parse_csv((SAMPLES / "roster.csv").read_text())}
    assert from_json["ana"]["phone"] == from_csv["ana"]["phone"] == "+351910000001"
    assert from_json["ana"]["whatsapp"] == from_csv["ana"]["whatsapp"]
    assert "phone" not in from_json["carla"] and "phone" not in from_csv["carla"]


def test_the_store_keeps_and_returns_the_numbers(store):  # noqa: F811
    store.import_roster(roster.parse_json([{"name": "ana", "email": "ana@support.example",
                                            "phone": "+351910000001"}]))
    assert store.roster.agent("ana")["phone"] == "+351910000001" and store.roster.agent("ana")["whatsapp"] is None
    store.roster.patch_agent("ana", roster.agent({"whatsapp": "+351910000009"}, {}, partial=True))
    assert store.roster.agent("ana")["whatsapp"] == "+351910000009"
    assert store.roster.agent("ana")["phone"] == "+351910000001"
