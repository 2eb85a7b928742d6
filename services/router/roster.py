"""Reading a roster (JSON or CSV) into validated agent records.

Plain Python. Every problem is reported with where it is ("row 3: capacity")
so an operator can fix an import file in one go; nothing is imported from a
file that has any error.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from services.common.contract.complaint import EMAIL_RE, PHONE_RE
from services.common.contract.confidential import GROUP_RE
from services.common.contract.storable_text import is_storable

from .policy import STATUSES

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")
SKILL_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class RosterError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def parse_json(items) -> list[dict]:
    if isinstance(items, dict) and "agents" in items:
        items = items["agents"]
    if not isinstance(items, list):
        raise RosterError({"$": "expected a list of agents (or {\"agents\": [...]})"})
    errors: dict[str, str] = {}
    agents = [agent(item, errors, prefix=f"[{i}].") for i, item in enumerate(items)]
    _check_unique(agents, errors, lambda i: f"[{i}].name")
    if errors:
        raise RosterError(errors)
    return agents


def parse_csv(text: str) -> list[dict]:
    """Columns: name, display_name, email, skills (billing:2;delivery), regions (eu;us),
    languages (en;pt), capacity, status, and optionally phone, whatsapp (E.164) and groups
    (confidential;billing-team). Lists are separated by ';'."""
    try:
        return _parse_csv(text)
    except csv.Error as exc:  # e.g. a bare carriage return inside a field
        raise RosterError({"csv": f"not readable as CSV: {exc}"}) from None


def _parse_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "name" not in reader.fieldnames:
        raise RosterError({"header": "the first line must name the columns, including 'name'"})
    errors: dict[str, str] = {}
    agents = []
    for line, row in enumerate(reader, start=2):
        item = {k: (v or "").strip() for k, v in row.items() if k}
        for key in ("skills", "regions", "languages", "groups"):
            item[key] = [p.strip() for p in item.get(key, "").split(";") if p.strip()]
        for key in ("display_name", "email", "status", "capacity", "phone", "whatsapp"):
            if not item.get(key):
                item.pop(key, None)
        agents.append(agent(item, errors, prefix=f"line {line}: "))
    _check_unique(agents, errors, lambda i: f"line {i + 2}: name")
    if errors:
        raise RosterError(errors)
    return agents


def agent(item, errors: dict[str, str], prefix: str = "", partial: bool = False) -> dict:
    """One agent's fields, validated; with partial=True only the fields given."""
    if not isinstance(item, dict):
        errors[prefix.rstrip(". ") or "$"] = "expected an object"
        return {}
    out: dict = {}
    if not partial or "name" in item:
        name = item.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            errors[prefix + "name"] = "required: letters, digits and . _ @ - (at most 100)"
        out["name"] = name
    for key, limit in (("display_name", 200), ("email", 320)):
        if key in item and item[key] is not None:
            if not _text_within(item[key], limit):
                errors[prefix + key] = f"expected text of at most {limit} characters (no NUL or broken Unicode)"
            elif key == "email" and not EMAIL_RE.fullmatch(item[key]):
                errors[prefix + key] = "not an email address"
            out[key] = item[key]
    for key in ("phone", "whatsapp"):  # where agent alerts and voice callbacks reach the agent
        if key in item:
            out[key] = _phone(item[key], errors, prefix + key)
    if "skills" in item or not partial:
        out["skills"] = _skills(item.get("skills", {}), errors, prefix + "skills")
    for key in ("regions", "languages"):
        if key in item or not partial:
            out[key] = _words(item.get(key, []), errors, prefix + key)
    if "groups" in item or not partial:  # who may take confidential cases (their group)
        out["groups"] = _groups(item.get("groups") or [], errors, prefix + "groups")
    if "capacity" in item or not partial:
        out["capacity"] = _number(item.get("capacity", 5), errors, prefix + "capacity")
    if "channel_capacity" in item:
        value = item["channel_capacity"] or {}
        if not isinstance(value, dict):
            errors[prefix + "channel_capacity"] = "expected {channel: number}"
            value = {}
        out["channel_capacity"] = {str(k): _number(v, errors, f"{prefix}channel_capacity.{k}")
                                   for k, v in value.items()}
    if "status" in item or not partial:
        status = item.get("status", "available")
        if status not in STATUSES:
            errors[prefix + "status"] = f"unknown status {status!r}; expected one of {', '.join(STATUSES)}"
        out["status"] = status
    if "vacations" in item:
        vacations = item["vacations"] or []
        if not isinstance(vacations, list):
            errors[prefix + "vacations"] = "expected a list"
            vacations = []
        out["vacations"] = [vacation(v, errors, f"{prefix}vacations[{i}].") for i, v in enumerate(vacations)]
    return out


def _phone(value, errors: dict[str, str], key: str) -> str | None:
    if value is None or value == "":
        return None
    number = value.replace(" ", "").replace("-", "") if isinstance(value, str) else value
    if not isinstance(number, str) or not PHONE_RE.fullmatch(number):
        errors[key] = "not an E.164 phone number like +351912345678"
        return None
    return number


def vacation(item, errors: dict[str, str], prefix: str = "") -> dict:
    if not isinstance(item, dict):
        errors[prefix.rstrip(".") or "$"] = "expected {starts_at, ends_at}"
        return {}
    starts = timestamp(item.get("starts_at"), errors, prefix + "starts_at")
    ends = timestamp(item.get("ends_at"), errors, prefix + "ends_at")
    if starts and ends and ends <= starts:
        errors[prefix + "ends_at"] = "must be after starts_at"
    note = item.get("note")
    if note is not None and not _text_within(note, 200):
        errors[prefix + "note"] = "expected text of at most 200 characters (no NUL or broken Unicode)"
    return {"starts_at": starts, "ends_at": ends, "note": note}


def timestamp(value, errors, key) -> datetime | None:
    if not value:
        errors[key] = "required (ISO 8601, e.g. 2026-12-24T00:00:00+00:00)"
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        errors[key] = f"not an ISO 8601 date or timestamp: {value!r}"
        return None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before the first UTC moment there is
        errors[key] = f"out of the range of dates: {value!r}"
        return None


def _skills(value, errors, key) -> dict[str, int]:
    """{"billing": 2} or ["billing:2", "delivery"]."""
    if isinstance(value, list):
        pairs = []
        for entry in value:
            skill, _, level = str(entry).partition(":")
            pairs.append((skill.strip(), level.strip() or "0"))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        errors[key] = "expected {skill: level} or a list like ['billing:2', 'delivery']"
        return {}
    skills = {}
    for skill, level in pairs:
        if not isinstance(skill, str) or not SKILL_RE.fullmatch(skill):
            errors[key] = f"bad skill name {skill!r}: lower-case letters, digits, - and _"
            continue
        try:
            skills[skill] = int(level)
        except (TypeError, ValueError):
            errors[key] = f"level of {skill!r} must be a whole number"
    return skills


def _words(value, errors, key) -> list[str]:
    if not isinstance(value, list) or not all(_text_within(v, 64) and v for v in value):
        errors[key] = "expected a list of short names"
        return []
    return sorted(set(value))


def _groups(value, errors, key) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and GROUP_RE.fullmatch(v) for v in value):
        errors[key] = "expected a list of group names (letters, digits, . _ -, at most 64 each)"
        return []
    return sorted(set(value))


def _number(value, errors, key) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[key] = "expected a number"
        return 0
    if not 0 < number <= 10_000:
        errors[key] = "must be above 0 and at most 10000"
    return number


def _text_within(value, limit: int) -> bool:
    """Text of at most `limit` characters that every database can store."""
    return isinstance(value, str) and len(value) <= limit and is_storable(value)


def _check_unique(agents, errors, where) -> None:
    seen = set()
    for i, a in enumerate(agents):
        name = a.get("name")
        if not isinstance(name, str):  # already an error of its own (and a list cannot be counted)
            continue
        if name in seen:
            errors[where(i)] = f"{name!r} appears twice"
        seen.add(name)
