"""Confidential cases: which tickets are confidential, who may mark and unmark
them, and what the access log records; who may see them is the kernel's rule
(services/common/contract/confidential.py, Viewer), shared with the router, the
notifier and the console. Plain Python: no nameko, Flask or SQL here (the
queries apply `Viewer.visible_groups`, the service edge the rest).

A ticket is confidential when its category is one of CONFIDENTIAL_CATEGORIES,
when the complaint came flagged (the customer ticked "This is a confidential
grievance"), or when a supervisor marked it. It then belongs to a group
(CONFIDENTIAL_GROUP, default "confidential"), and:

- people (agents through the console, operators with their own token) see it
  only when the group is among the groups their token carries; to everyone
  else it does not exist: 404, absent from searches, totals and listings;
- services acting as themselves (the router, the notifier) see it: they need
  it to do their work, and they show it to nobody;
- every time a person sees it (the ticket, a page of a list, an alert) a row
  goes to the access log, which members of the group with the supervisor or
  admin role (or operators in the group) may read. Repeats of one thing by one
  person within COALESCE_SECONDS (the ticket page's live refresh) are one row.

Marking is for supervisors (role supervisor or admin) and operators; unmarking
also needs membership of the group, so nobody outside it can open a case up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.contract.confidential import (  # noqa: F401  (the rule, as this service names it)
    AGENT,
    DEFAULT_GROUP,
    GROUP_RE,
    OPERATOR,
    SERVICE,
    Viewer,
    viewer_of,
)

# What a person did that the access log records.
VIEW, LIST_HIT, EXPORT, ALERT = "view", "list-hit", "export", "alert"
ACTIONS = (VIEW, LIST_HIT, EXPORT, ALERT)
COALESCE_SECONDS = 60

WITHHELD = "(withheld: a confidential complaint; members of the {group} group may read it)"


class Refused(Exception):
    """The caller may not do this to a confidential case (the API answers 403)."""


@dataclass(frozen=True)
class Settings:
    categories: frozenset[str] = frozenset()
    group: str = DEFAULT_GROUP


def settings_from(categories_text: str | None, group_text: str | None, known_categories) -> Settings:
    """CONFIDENTIAL_CATEGORIES (comma list) and CONFIDENTIAL_GROUP, checked: an unknown
    category or a malformed group name is refused at start, not met on a ticket."""
    categories = frozenset(c.strip() for c in (categories_text or "").split(",") if c.strip())
    unknown = sorted(categories - set(known_categories))
    if unknown:
        raise ValueError(f"CONFIDENTIAL_CATEGORIES names unknown categories {', '.join(unknown)}; "
                         f"expected any of {', '.join(known_categories)}")
    group = (group_text or "").strip() or DEFAULT_GROUP
    if not GROUP_RE.fullmatch(group):
        raise ValueError(f"CONFIDENTIAL_GROUP {group!r} is not a group name (letters, digits, . _ -, "
                         "at most 64)")
    return Settings(categories, group)


def confidential_at_intake(category: str | None, flagged: bool, settings: Settings) -> bool:
    return bool(flagged) or (category is not None and category in settings.categories)


def group_on_marking(current_group: str | None, settings: Settings) -> str:
    """A ticket keeps the group it was given (CONFIDENTIAL_GROUP may change later)."""
    return current_group or settings.group


def check_marking(viewer: Viewer, confidential: bool, group: str | None, wanted) -> bool | None:
    """The confidential flag a change asks for, if allowed: None when it changes nothing;
    raises Refused (with why) or ValueError (not true or false)."""
    if not isinstance(wanted, bool):
        raise ValueError("confidential must be true or false")
    if wanted == bool(confidential):
        return None
    if not viewer.supervises:
        raise Refused(f"{viewer.actor} may not {'mark' if wanted else 'unmark'} a case confidential: "
                      "supervisors and operators do")
    if not wanted and _group(group) not in viewer.groups:
        raise Refused(f"only a member of the {_group(group)} group may make this case visible to everyone")
    return wanted


def worth_logging(last_at: datetime | None, at: datetime, seconds: float = COALESCE_SECONDS) -> bool:
    """A new access-log row, unless the same person did the same thing to the same ticket
    within `seconds` (a page refreshing itself is one look, not sixty)."""
    return last_at is None or at - last_at >= timedelta(seconds=seconds) or at < last_at


def raw_looks_confidential(raw: str, settings: Settings) -> bool:
    """Whether a quarantined message (kept whole because it was never a valid complaint)
    was meant as a confidential one: flagged in any truthy way, or of a confidential
    category. Text that is not a JSON object cannot say, so it is not withheld."""
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    category = data.get("category")
    return bool(data.get("confidential")) or (isinstance(category, str) and category in settings.categories)


def _group(group: str | None) -> str:
    return group or DEFAULT_GROUP
