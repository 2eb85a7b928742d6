"""Gathering a subject-access export from every service that holds personal data, and
asking the tickets service for an erasure: what `python -m services.common.privacy` does.

The tickets service is asked first: it knows the person's tickets, whose references
then help the others find what they hold (an intake's ledger knows a message by the
reference it told the customer). Each service answers POST /privacy/export with its
part; the parts become one archive (archive.py). The calls carry an operator's token,
minted here with the deployment's keys (SERVICE_TOKEN_KEYS), valid for an hour, or
the one given in PRIVACY_OPERATOR_TOKEN.
"""

from __future__ import annotations

import os

import requests

from services.common import config
from services.common.auth import tokens
from services.common.time.clock import iso, now

from . import archive, transport

TOKEN_HOURS = 1


def operator_token(operator: str) -> str:
    given = os.environ.get("PRIVACY_OPERATOR_TOKEN")
    return given or tokens.mint_operator(operator, days=TOKEN_HOURS / 24)


def gather(body: dict, token: str, services=None, timeout: float = 30, post=requests.post
           ) -> tuple[dict[str, dict], dict[str, str]]:
    """(service -> its part, service -> why it has none) for the request body
    ({"email", "phone", "name", "references"})."""
    names = list(services or transport.expected_services())
    parts: dict[str, dict] = {}
    failures: dict[str, str] = {}
    body = dict(body)
    for name in sorted(names, key=lambda n: n != transport.COORDINATOR):
        try:
            resp = post(f"{config.service_url(name)}/privacy/export", json=body, timeout=timeout,
                        headers={"Authorization": f"Bearer {token}"})
        except requests.RequestException as exc:
            failures[name] = f"not reachable: {type(exc).__name__}"
            continue
        if resp.status_code != 200:
            failures[name] = f"HTTP {resp.status_code}: {resp.text[:300]}"
            continue
        parts[name] = resp.json()
        if name == transport.COORDINATOR:
            found = parts[name].get("references") or []
            body["references"] = list(dict.fromkeys([*(body.get("references") or []), *found]))
    return parts, failures


def export(body: dict, token: str, services=None, timeout: float = 30, post=requests.post) -> tuple[bytes, dict]:
    """The archive's bytes and its manifest."""
    parts, failures = gather(body, token, services, timeout, post)
    subject = {k: body.get(k) for k in ("email", "phone", "name", "references") if body.get(k)}
    data = archive.build(parts, failures, subject, iso(now()))
    return data, archive.read(data)[0]


def request_erasure(body: dict, token: str, timeout: float = 60) -> requests.Response:
    return requests.post(f"{config.service_url(transport.COORDINATOR)}/privacy/erasures", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def erasure_status(request_id: str, token: str, timeout: float = 30) -> requests.Response:
    return requests.get(f"{config.service_url(transport.COORDINATOR)}/privacy/erasures/{request_id}",
                        headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
