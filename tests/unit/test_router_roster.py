"""The roster as an operator imports it (JSON or CSV, services/router/roster.py):
every bad field named, text no database can store refused, phone and WhatsApp
numbers tidied, and the shipped samples readable. The store that keeps it is
tested in tests/integration/router."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.router import roster
from testkit.paths import ROOT

SAMPLES = ROOT / "samples"
SAMPLE_ROSTER = SAMPLES / "roster.json"


def test_roster_import_names_every_bad_field():
    with pytest.raises(roster.RosterError) as exc:
        roster.parse_json([{"name": "alice", "capacity": -1, "status": "sleeping"}, {"name": "alice"}])
    assert set(exc.value.errors) == {"[0].capacity", "[0].status", "[1].name"}
    with pytest.raises(roster.RosterError) as exc:
        roster.parse_csv("name,skills,capacity\nbob,billing:x,3\n")
    assert "line 2: skills" in exc.value.errors
    agents = roster.parse_csv("name,skills,regions,languages,capacity\nbob,billing:2;delivery,eu;us,en,4\n")
    assert agents[0]["skills"] == {"billing": 2, "delivery": 0} and agents[0]["regions"] == ["eu", "us"]


def test_roster_refuses_text_a_database_cannot_store_and_addresses_that_are_not_addresses():
    with pytest.raises(roster.RosterError) as exc:
        roster.parse_json([{"name": "ana", "email": "a\u0000@example.org", "display_name": "Ana \ud800",
                            "languages": ["pt\u0000"], "vacations": [{"starts_at": "2026-01-01T00:00:00Z",
                                                                     "ends_at": "2026-01-02T00:00:00Z",
                                                                     "note": "off\u0000"}]},
                           {"name": "bruno", "email": "not-an-address"}])
    assert set(exc.value.errors) == {"[0].email", "[0].display_name", "[0].languages", "[0].vacations[0].note",
                                     "[1].email"}
    assert exc.value.errors["[1].email"] == "not an email address"


def test_an_agents_groups_come_from_json_or_a_csv_column_and_bad_names_are_named():
    assert roster.parse_json([{"name": "ana", "groups": ["confidential", "billing-team", "confidential"]}])[0][
        "groups"] == ["billing-team", "confidential"]
    assert roster.parse_json([{"name": "bo"}])[0]["groups"] == []
    csv = "name,groups\nana,confidential;hr.leads\nbo,\n"
    assert [a["groups"] for a in roster.parse_csv(csv)] == [["confidential", "hr.leads"], []]
    with pytest.raises(roster.RosterError) as exc:
        roster.parse_json([{"name": "ana", "groups": "confidential"}, {"name": "bo", "groups": ["hr team"]}])
    assert set(exc.value.errors) == {"[0].groups", "[1].groups"}
    # A patch that names no groups leaves them as they are.
    errors: dict = {}
    assert "groups" not in roster.agent({"capacity": 3}, errors, partial=True) and not errors


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


def test_sample_roster_parses():
    agents = roster.parse_json(json.loads(Path(SAMPLE_ROSTER).read_text()))
    assert len(agents) >= 5 and roster.parse_csv((ROOT / "samples" / "roster.csv").read_text())
