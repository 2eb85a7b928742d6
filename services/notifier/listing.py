"""What an operator or agent sees of the outbox (GET /notifications): everything,
except that a row about a confidential case shows its text and recipient only to
members of the case's group (the kernel's rule, services/common/contract/
confidential.py). Plain Python."""

from __future__ import annotations

WITHHELD = "(withheld: a confidential case)"
_TEXT = ("subject", "body", "recipient")


def shown(item: dict, viewer) -> dict:
    """The row as `viewer` may see it; `confidential_group` says whether it is a case's."""
    group = item.get("confidential_group")
    if not group or viewer.sees(True, group):
        return item
    hidden = {k: WITHHELD for k in _TEXT if k in item}
    if "headers" in item:
        hidden["headers"] = {}
    if "payload" in item:
        hidden["payload"] = {}
    return {**item, **hidden}
