"""The rules of agent replies, the satisfaction survey and the customer's
follow-up channel, in plain Python (services/tickets/domain.py). The store and
the running service are tests/integration/tickets/test_tickets_replies.py."""

from __future__ import annotations

import re

import pytest

from services.tickets import domain


@pytest.mark.parametrize("text, expected", [
    ("4", (4, None)), ("4 - quick and kind", (4, "quick and kind")), ("5 stars", (5, None)),
    ("3: slow but fine", (3, "slow but fine")), ("4/5 great", (4, "great")), ("4\nquick", (4, "quick")),
    ("5 estrelas, muito bom", (5, "muito bom")), ("★★★ ok", (3, "ok")),
    ("2\n\nOn Mon, 23 Nov 2026, Support wrote:\n> How did we do? Reply 1-5", (2, None)),
])
def test_a_reply_that_is_just_a_rating_is_a_survey_answer(text, expected):
    assert domain.parse_survey_reply(text) == expected


@pytest.mark.parametrize("text", ["", "I have 2 more questions", "12", "0", "6", "2.5",
                                  "4 days later still nothing", "Still broken, see order 4"])
def test_other_replies_are_not_ratings(text):
    assert domain.parse_survey_reply(text) is None


def test_survey_rules():
    assert domain.check_survey("resolved", 5, "  great ") == (5, "great")
    assert domain.check_survey("closed", "3", None) == (3, None)
    for status in ("new", "in_progress", "pending_customer"):
        with pytest.raises(domain.TicketError, match="resolved or closed"):
            domain.check_survey(status, 4, None)
    for bad in (0, 6, True, "x", 4.5, None):
        with pytest.raises(domain.TicketError, match="1 to 5"):
            domain.check_survey("resolved", bad, None)


def test_follow_up_rules():
    assert domain.check_follow_up("email", " Ana@Example.org ") == ("email", "ana@example.org")
    assert domain.check_follow_up("sms", "+351 912-345-678") == ("sms", "+351912345678")
    with pytest.raises(domain.TicketError, match="unknown follow-up channel"):
        domain.check_follow_up("fax", "+351912345678")
    with pytest.raises(domain.TicketError, match="E.164"):
        domain.check_follow_up("whatsapp", "912345678")
    with pytest.raises(domain.TicketError, match="not an email"):
        domain.check_follow_up("email", "ana")


def test_reply_subject_carries_the_reference_once():
    assert domain.reply_subject("C-2VVFXBBXSS", "Re: [C-2VVFXBBXSS] Charged twice") == \
        "[C-2VVFXBBXSS] Re: Charged twice"
    assert domain.reply_subject("C-2VVFXBBXSS", "") == "[C-2VVFXBBXSS] Your complaint"


@pytest.mark.parametrize("what", ["reply", "note"])
@pytest.mark.parametrize("body, problem", [
    (None, "needs a body"), ("  \n ", "needs a body"), ({"text": "hi"}, "must be text, not dict"),
    (["hi"], "must be text, not list"), ("ok\x00then", "U+0000"), ("\ud800", "U+D800"),
    ("x" * (domain.MAX_REPLY_CHARS + 1), "at most"),
])
def test_an_agents_text_that_cannot_be_stored_is_refused_saying_why(what, body, problem):
    with pytest.raises(domain.TicketError, match=re.escape(problem)):
        domain.check_text(what, body)


def test_an_agents_text_is_kept_as_written_but_for_surrounding_blanks():
    assert domain.check_text("note", "  Called the bank — ✓ 🙂\n") == "Called the bank — ✓ 🙂"
