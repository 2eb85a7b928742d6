"""The agent console's rules in plain Python: knowledge-base ranking, the
order of an agent's queue, and what each role may do. The console's store and
its HTTP answers are tests/integration/console/test_console.py."""

from __future__ import annotations

from services.console import kb_search, work_queue


def A(id, title, body, category=None, language=None):
    return kb_search.Article(id, title, body, category, language)


def test_suggestions_rank_title_matches_and_coverage_first_and_keep_to_the_language():
    articles = [
        A(1, "Opening hours", "Our shops open at nine. Refunds are handled online."),
        A(2, "Refunds for double charges", "If you were charged twice we refund the second charge."),
        A(3, "Reembolsos", "Se foi cobrado duas vezes, devolvemos.", language="pt"),
        A(4, "Delivery times", "Parcels arrive in five days.", category="delivery"),
    ]
    ranked = kb_search.rank(articles, "I was charged twice and want a refund", language="en")
    assert [a.id for a, _ in ranked] == [2, 1]  # 2 matches every word, in its title too; 3 is Portuguese
    assert kb_search.rank(articles, "   ") == []
    assert kb_search.rank(articles, "the and of") == []  # stop words alone match nothing
    # A category match lifts an article above an equal one.
    same = [A(5, "Late parcel", "Ask us."), A(6, "Late parcel", "Ask us.", category="delivery")]
    assert [a.id for a, _ in kb_search.rank(same, "late parcel", category="delivery")] == [6, 5]
    assert kb_search.terms("Charges charged charging") == ["charg"] * 3


def test_my_queue_is_most_urgent_first_then_oldest():
    tickets = [
        {"reference": "C-1", "priority": "medium", "created_at": "2026-01-01T10:00:00+00:00"},
        {"reference": "C-2", "priority": "urgent", "created_at": "2026-01-03T10:00:00+00:00"},
        {"reference": "C-3", "priority": "medium", "created_at": "2026-01-01T09:00:00+00:00"},
        {"reference": "C-4", "priority": "low", "created_at": "2025-12-01T09:00:00+00:00"},
        {"reference": "C-5", "priority": "high", "created_at": "2026-01-05T09:00:00+00:00"},
    ]
    assert [t["reference"] for t in work_queue.most_urgent_then_oldest(tickets)] == ["C-2", "C-5", "C-3", "C-1",
                                                                                     "C-4"]


def test_roles_agents_work_tickets_supervisors_also_oversee():
    for page in ("roster", "waiting", "live_chats", "reassign_anyone"):
        assert work_queue.allowed("supervisor", page) and not work_queue.allowed("agent", page)
    assert work_queue.allowed("agent", "reply") and not work_queue.allowed("customer", "reply")
    assert work_queue.may_reassign("agent", "ana", None, "ana")  # take an unassigned ticket
    assert work_queue.may_reassign("agent", "ana", "ana", "bruno")  # hand on one's own
    assert not work_queue.may_reassign("agent", "ana", "bruno", "ana")  # take another's
    assert work_queue.may_reassign("supervisor", "sam", "bruno", "ana")


# --- confidential cases -------------------------------------------------------------------

CASE = {"reference": "C-1", "confidential": True, "confidential_group": "confidential"}
PLAIN = {"reference": "C-2", "confidential": False, "confidential_group": None}


def user(role="agent", groups=()):
    return {"name": "u", "role": role, "groups": list(groups)}


def test_supervisors_may_mark_and_only_supervisors_in_the_group_unmark_or_read_the_log():
    assert work_queue.confidential_actions(user("supervisor"), PLAIN) == {
        "mark": True, "unmark": False, "access_log": False}
    assert work_queue.confidential_actions(user("agent"), PLAIN)["mark"] is False
    assert work_queue.confidential_actions(user("admin", ["confidential"]), CASE) == {
        "mark": False, "unmark": True, "access_log": True}
    assert work_queue.confidential_actions(user("agent", ["confidential"]), CASE) == {
        "mark": False, "unmark": False, "access_log": False}


def test_a_case_is_offered_only_to_its_groups_members_when_assigning():
    agents = [{"name": "zoe", "groups": ["confidential"]}, {"name": "abe", "groups": []}, {"name": "cid"}]
    assert work_queue.assignable(agents, CASE) == ["zoe"]
    assert work_queue.assignable(agents, PLAIN) == ["abe", "cid", "zoe"]
