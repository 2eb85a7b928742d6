"""Signed bearer tokens: who calls, on whose behalf, and what they may do.

A token is a JWT signed with HMAC-SHA256 by the first of SERVICE_TOKEN_KEYS and
accepted under any of them (rotation without downtime: config.service_token_keys).
Its claims:

    sub     the caller: a service's name ("console"), or "operator:<name>"
    aud     the services it is for (a token for the router opens nothing else)
    scope   "read", "write" or both ("read write")
    agent   (console only) the signed-in agent the call is made for, with `role`
            and `groups`: the acting agent is taken from here, never from a header
    groups  also on an operator's token: the groups the operator is in (who may
            see confidential cases, services/tickets/confidentiality.py)
    exp     short for a service's own tokens (minted per call), longer for operators

A service's token is accepted only by the services it declares calling in the
registry (`calls`, `rpc_calls`); only the console may speak for an agent. Every
holder of the key can sign, so the key is a secret of the deployment, kept like a
database password (README, "Internal credentials").
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import jwt

from services.common import config, registry
from services.common.contract.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
READ, WRITE = "read", "write"
SCOPES = (READ, WRITE)
__all__ = ["Caller", "Forbidden", "ServiceCredentials", "Unauthorized", "authorize", "bearer", "mint",
           "mint_operator", "scope_of", "verify"]
OPERATOR_PREFIX = "operator:"
SERVICE_TOKEN_SECONDS = 120   # minted per call, cached for half of it
LEEWAY_SECONDS = 30           # clocks of two hosts may differ this much
# The front that signs agents in; the only service whose tokens may name an agent.
AGENT_FRONT = "console"


@dataclass(frozen=True)
class Caller:
    """A verified caller. `actor` is the name the audit trail records."""
    subject: str
    scopes: frozenset = field(default_factory=frozenset)
    agent: str | None = None
    role: str | None = None
    groups: tuple[str, ...] = ()

    @property
    def operator(self) -> str | None:
        return self.subject[len(OPERATOR_PREFIX):] if self.subject.startswith(OPERATOR_PREFIX) else None

    @property
    def service(self) -> str | None:
        return None if self.operator else self.subject

    @property
    def actor(self) -> str:
        return self.agent or self.operator or self.subject

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this credential ({self.subject}) may not {scope}: its scope is "
                            f"{' '.join(sorted(self.scopes)) or 'empty'}")


def mint(subject: str, audience, *, scopes=SCOPES, agent: str | None = None, role: str | None = None,
         groups=(), seconds: float = SERVICE_TOKEN_SECONDS, keys: list[str] | None = None) -> str:
    """A signed token for `subject` to call the service(s) in `audience`."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise ValueError(f"unknown scope {', '.join(bad)}; expected {' and/or '.join(SCOPES)}")
    now = int(time.time())
    claims = {"sub": subject, "aud": [audience] if isinstance(audience, str) else list(audience),
              "scope": " ".join(scopes), "iat": now, "exp": now + int(seconds)}
    if agent:
        claims.update(agent=agent, role=role, groups=list(groups))
    elif groups:
        claims["groups"] = list(groups)
    return jwt.encode(claims, (keys or config.service_token_keys())[0], algorithm=ALGORITHM)


def mint_operator(name: str, *, scopes=SCOPES, days: float = 90, audience=None, groups=(),
                  keys: list[str] | None = None) -> str:
    """An operator's token (scripts, curl, dashboards) for every service, or those named;
    `groups`: the groups the operator is in (e.g. the confidential cases' group)."""
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError("an operator's name is letters, digits, '-', '_' or '.'")
    return mint(OPERATOR_PREFIX + name, audience or registry.names(), scopes=scopes, groups=groups,
                seconds=days * 86400, keys=keys)


def verify(token: str | None, audience: str, keys: list[str] | None = None) -> Caller:
    """The caller a token proves, for a request to the service `audience`;
    Unauthorized (no or bad token) or Forbidden (a caller the registry does not allow)."""
    if not token:
        raise Unauthorized("this endpoint needs a credential: send 'Authorization: Bearer <token>' "
                           "(README, 'Internal credentials')")
    claims = _decode(token, audience, keys or config.service_token_keys())
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("the token names no caller")
    caller = Caller(subject, frozenset(str(claims.get("scope", "")).split()),
                    claims.get("agent") or None, claims.get("role") or None, tuple(claims.get("groups") or ()))
    if caller.operator is None:
        _check_service(caller, audience)
    elif caller.agent:
        raise Forbidden("an operator's token cannot speak for an agent")
    return caller


def authorize(token: str | None, audience: str, scope: str) -> Caller:
    """verify(), then the scope the call needs: the one check every guard makes."""
    caller = verify(token, audience)
    caller.require(scope)
    return caller


def scope_of(method: str) -> str:
    """An HTTP method's scope: reads read, everything else writes."""
    return READ if method.upper() in ("GET", "HEAD") else WRITE


def _decode(token: str, audience: str, keys: list[str]) -> dict:
    error = None
    for key in keys:
        try:
            return jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, leeway=LEEWAY_SECONDS,
                              options={"require": ["sub", "aud", "exp"]})
        except jwt.InvalidSignatureError as exc:
            error = exc            # perhaps signed with another of the keys
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(f"the token is not for the {audience} service") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token is not valid: {exc}") from None
    raise Unauthorized("the token's signature matches none of this service's keys") from error


def _check_service(caller: Caller, audience: str) -> None:
    try:
        calling = registry.get(caller.subject)
    except KeyError:
        raise Forbidden(f"{caller.subject!r} is not a service of this system") from None
    if audience not in calling.calls + calling.rpc_calls:
        raise Forbidden(f"the {caller.subject} service does not call {audience} "
                        "(services/common/registry.py: calls, rpc_calls)")
    if caller.agent and caller.subject != AGENT_FRONT:
        raise Forbidden(f"only the {AGENT_FRONT} may act for an agent, not {caller.subject}")


class ServiceCredentials:
    """A service's own tokens, one per audience (and agent), reused until half-way to
    expiry: minting is cheap, but not free on every call of a busy consumer."""

    def __init__(self, service: str):
        self.service = service
        self._cache: dict = {}
        self._lock = threading.Lock()

    def token(self, audience: str, agent: dict | None = None) -> str:
        claims = _agent_claims(agent)
        key = (audience, claims.get("agent"), claims.get("role"), claims.get("groups"))
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached and cached[1] > now:
                return cached[0]
        token = mint(self.service, audience, **claims)
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = (token, now + SERVICE_TOKEN_SECONDS / 2)
        return token

    def headers(self, audience: str, agent: dict | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience, agent)}"}


def _agent_claims(agent: dict | None) -> dict:
    if not agent:
        return {}
    return {"agent": agent["name"], "role": agent.get("role"), "groups": tuple(agent.get("groups") or ())}


def bearer(authorization: str | None) -> str | None:
    """The token in an 'Authorization: Bearer <token>' header, if any."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
