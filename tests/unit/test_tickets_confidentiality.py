"""Who sees a confidential case, who may mark and unmark one, and what goes to the
access log (services/tickets/confidentiality.py). Pure: no broker, no database."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tickets import confidentiality as c

PROPERTY = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", 200)), deadline=None)
CATEGORIES = ("billing", "technical", "delivery", "product", "service", "other")


@dataclass(frozen=True)
class Caller:
    """What the rules read of a verified caller (services/common/auth/tokens.Caller)."""
    subject: str
    agent: str | None = None
    role: str | None = None
    groups: tuple[str, ...] = ()

    @property
    def operator(self):
        return self.subject.removeprefix("operator:") if self.subject.startswith("operator:") else None


def agent(name="bob", role="agent", groups=()):
    return c.viewer_of(Caller("console", name, role, tuple(groups)))


def operator(name="ops", groups=()):
    return c.viewer_of(Caller(f"operator:{name}", groups=tuple(groups)))


ROUTER = c.viewer_of(Caller("router"))


# --- settings -----------------------------------------------------------------------


def test_settings_default_to_no_category_and_the_confidential_group():
    assert c.settings_from(None, None, CATEGORIES) == c.Settings(frozenset(), "confidential")
    assert c.settings_from(" service , other ", "grievances", CATEGORIES) == \
        c.Settings(frozenset({"service", "other"}), "grievances")


def test_an_unknown_category_or_a_bad_group_name_is_refused_at_start():
    with pytest.raises(ValueError, match="unknown categories harassment"):
        c.settings_from("service,harassment", None, CATEGORIES)
    with pytest.raises(ValueError, match="not a group name"):
        c.settings_from("", "hr team", CATEGORIES)


def test_a_flagged_complaint_or_a_listed_category_is_confidential_at_intake():
    s = c.Settings(frozenset({"service"}))
    assert c.confidential_at_intake("billing", True, s)
    assert c.confidential_at_intake("service", False, s)
    assert not c.confidential_at_intake("billing", False, s)
    assert not c.confidential_at_intake(None, False, s)


# --- who sees ----------------------------------------------------------------------


def test_only_members_and_services_see_a_confidential_case():
    assert agent(groups=["confidential"]).sees(True, "confidential")
    assert operator(groups=["confidential"]).sees(True, "confidential")
    assert ROUTER.sees(True, "confidential")
    assert not agent(groups=["billing-team"]).sees(True, "confidential")
    assert not agent(role="admin").sees(True, "confidential")       # a role is not a membership
    assert not operator().sees(True, "confidential")
    assert not agent(groups=["confidential"]).sees(True, "grievances")  # another group's case


def test_nobody_verified_sees_no_confidential_case():
    assert not c.viewer_of(None).sees(True, "confidential")
    assert c.viewer_of(None).sees(False, None)


@PROPERTY
@given(confidential=st.booleans(), group=st.sampled_from(["confidential", "grievances"]),
       groups=st.sets(st.sampled_from(["confidential", "grievances", "billing"])),
       kind=st.sampled_from(["agent", "supervisor", "operator"]))
def test_listing_and_lookup_agree_on_who_sees_what(confidential, group, groups, kind):
    """The SQL filter (visible_groups) and the lookup (sees) are one rule."""
    viewer = operator(groups=groups) if kind == "operator" else agent(role=kind, groups=groups)
    listed = not confidential or viewer.visible_groups is None or group in viewer.visible_groups
    assert listed == viewer.sees(confidential, group)
    # Every sight of a confidential case by a person is logged; nothing else is.
    assert viewer.logged(confidential) == confidential


def test_a_service_sees_everything_and_is_not_logged():
    assert ROUTER.visible_groups is None and not ROUTER.logged(True)


def test_the_access_log_is_for_supervisors_in_the_group():
    assert agent(role="supervisor", groups=["confidential"]).may_read_access_log("confidential")
    assert agent(role="admin", groups=["confidential"]).may_read_access_log("confidential")
    assert operator(groups=["confidential"]).may_read_access_log("confidential")
    assert not agent(groups=["confidential"]).may_read_access_log("confidential")       # a member, not a supervisor
    assert not agent(role="supervisor").may_read_access_log("confidential")             # a supervisor, not a member
    assert not ROUTER.may_read_access_log("confidential")


# --- marking -----------------------------------------------------------------------


def test_supervisors_and_operators_mark_a_case_agents_do_not():
    assert c.check_marking(agent(role="supervisor"), False, None, True) is True
    assert c.check_marking(operator(), False, None, True) is True
    with pytest.raises(c.Refused, match="supervisors and operators"):
        c.check_marking(agent(), False, None, True)
    with pytest.raises(c.Refused):
        c.check_marking(ROUTER, False, None, True)


def test_only_a_supervising_member_unmarks_a_case():
    assert c.check_marking(agent(role="supervisor", groups=["confidential"]), True, "confidential", False) is False
    with pytest.raises(c.Refused, match="only a member of the confidential group"):
        c.check_marking(agent(role="supervisor"), True, "confidential", False)
    with pytest.raises(c.Refused):
        c.check_marking(agent(groups=["confidential"]), True, "confidential", False)


def test_asking_for_what_already_is_changes_nothing_and_a_non_boolean_is_an_error():
    assert c.check_marking(agent(), True, "confidential", True) is None
    assert c.check_marking(agent(), False, None, False) is None
    with pytest.raises(ValueError, match="true or false"):
        c.check_marking(operator(), False, None, "yes")


def test_a_marked_ticket_keeps_the_group_it_was_given():
    s = c.Settings(group="new-group")
    assert c.group_on_marking("old-group", s) == "old-group"
    assert c.group_on_marking(None, s) == "new-group"


# --- the access log ----------------------------------------------------------------

T0 = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def test_a_page_refreshing_itself_is_one_look_not_sixty():
    assert c.worth_logging(None, T0)
    assert not c.worth_logging(T0, T0 + timedelta(seconds=59))
    assert c.worth_logging(T0, T0 + timedelta(seconds=60))
    assert c.worth_logging(T0, T0 - timedelta(seconds=5))  # a clock that went back: log rather than lose


# --- quarantined messages ----------------------------------------------------------------


@pytest.mark.parametrize("raw, meant", [
    (json.dumps({"confidential": True, "body": "my manager..."}), True),
    (json.dumps({"confidential": "yes", "body": "invalid, but meant"}), True),
    (json.dumps({"category": "service", "body": "x"}), True),
    (json.dumps({"category": "billing", "body": "x"}), False),
    ("not json at all", False),
    (json.dumps(["a list"]), False),
])
def test_a_quarantined_message_meant_as_confidential_is_recognised(raw, meant):
    assert c.raw_looks_confidential(raw, c.Settings(frozenset({"service"}))) is meant
