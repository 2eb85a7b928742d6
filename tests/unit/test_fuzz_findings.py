"""Inputs the fuzzing of the APIs (tests/integration/common/test_fuzz_apis.py) found
answered with a 500, pinned down here as the clear refusals (or repairs) they now get:
dates before the first UTC moment, a page number past the database's integers, a NUL
that PostgreSQL refuses, a bare carriage return in a CSV roster."""

from __future__ import annotations

import pytest

from services.common.web import BadRequest
from services.router import roster
from services.tickets import api, domain
from services.tickets.changes import add_note, assign


def test_a_vacation_starting_before_the_first_utc_moment_is_a_field_error():
    errors = {}
    assert roster.timestamp("0001-01-01T00:00:03+01:00", errors, "starts_at") is None
    assert "out of the range of dates" in errors["starts_at"]


def test_a_roster_whose_names_are_not_text_is_refused_name_by_name():
    with pytest.raises(roster.RosterError) as refused:
        roster.parse_json({"agents": [{"name": [None]}, {"name": [[], None]}]})
    assert set(refused.value.errors) == {"[0].name", "[1].name"}


def test_a_csv_roster_with_a_bare_carriage_return_in_a_field_is_refused_as_csv():
    with pytest.raises(roster.RosterError) as refused:
        roster.parse_csv("name,display_name\nana,A\rna\n")
    assert list(refused.value.errors) == ["csv"]


@pytest.mark.parametrize("args, complaint", [
    ({"page": "13585287384012013568"}, "page must be between 1 and 1000000"),
    ({"created_from": "0001-01-01T00:00:00+01:00"}, "created_from is out of the range of dates"),
    ({"customer": "ana\x00"}, r"customer filter in the URL contains the control character U\+0000"),
    ({"q": "late\x00parcel"}, r"search text in the URL contains the control character U\+0000"),
])
def test_a_search_the_database_cannot_run_is_a_bad_request(args, complaint):
    with pytest.raises(BadRequest, match=complaint):
        api.search_filters(args)


def test_a_survey_comment_with_a_nul_is_stored_with_a_replacement_character():
    """The customer's words are kept (a reply or note of an agent's is refused instead: check_text)."""
    assert domain.check_survey("resolved", 5, "great\x00") == (5, "great\ufffd")


def test_a_note_that_is_not_text_is_refused_before_the_database():
    with pytest.raises(domain.TicketError, match="note"):
        add_note(None, "C-ANY", "ana", 868838378)


def test_an_assignee_with_a_nul_is_nobody():
    with pytest.raises(domain.TicketError, match="no agent"):
        assign(None, "C-ANY", "ana\x00", "agent", "sam")
