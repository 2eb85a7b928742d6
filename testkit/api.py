"""Calling the internal APIs as a user of the system does: with a credential.

Every service the tests start signs and checks tokens with TEST_KEYS (set in
the environment before any service starts, see tests/conftest.py). An
operator's token opens every API; `as_agent("alice")` is the token the console
signs for a signed-in agent, so the audit trail records alice.

    api.get(url)                            as the operator "tests"
    api.post(url, json=..., agent="alice")  as the console, for agent alice
    api.headers(agent="alice")              the headers alone (urllib, the browser)
    api.get(url, groups=["confidential"])   as the operator, in a group (or an agent in it)
"""

from __future__ import annotations

import os

import requests

TEST_KEYS = "test-service-token-key-0123456789abcdef"
os.environ.setdefault("SERVICE_TOKEN_KEYS", TEST_KEYS)

from services.common.auth import tokens  # noqa: E402  (reads the keys at call time)

OPERATOR = "tests"


def token(agent: str | None = None, role: str = "agent", groups=(), scopes=tokens.SCOPES) -> str:
    if agent:
        return tokens.mint("console", ["tickets", "router"], agent=agent, role=role, groups=groups, seconds=3600)
    return tokens.mint_operator(OPERATOR, scopes=scopes, days=1, groups=groups)


def headers(agent: str | None = None, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(agent, **claims)}"}


def rpc_context(agent: str | None = None, **claims) -> dict:
    """context_data for nameko's standalone ServiceRpcProxy."""
    return {"auth_token": token(agent, **claims)}


def request(method: str, url: str, agent: str | None = None, role: str = "agent", groups=(),
            **kwargs) -> requests.Response:
    kwargs["headers"] = {**headers(agent, role=role, groups=groups), **(kwargs.get("headers") or {})}
    return requests.request(method, url, **kwargs)


def get(url, **kwargs):
    return request("GET", url, **kwargs)


def post(url, **kwargs):
    return request("POST", url, **kwargs)


def put(url, **kwargs):
    return request("PUT", url, **kwargs)


def patch(url, **kwargs):
    return request("PATCH", url, **kwargs)


def delete(url, **kwargs):
    return request("DELETE", url, **kwargs)
