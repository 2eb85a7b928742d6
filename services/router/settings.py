"""The routing policy's settings from environment variables (defaults in policy.PolicyConfig)."""

from __future__ import annotations

import json
import os

from .policy import PolicyConfig


def policy_config() -> PolicyConfig:
    defaults = PolicyConfig()
    relax = os.environ.get("ROUTER_RELAX_AFTER")
    weights = os.environ.get("ROUTER_PRIORITY_WEIGHTS")
    skills = os.environ.get("ROUTER_CATEGORY_SKILLS")
    return PolicyConfig(
        # {"billing": ["billing", 1]}: the skill (and minimum level) a category needs.
        category_skills={k: (v[0], int(v[1])) for k, v in json.loads(skills).items()} if skills else {},
        count_pending_customer=os.environ.get("ROUTER_COUNT_PENDING_CUSTOMER", "1") != "0",
        # "low=0.5,medium=1,high=1.5,urgent=2"
        priority_weights={k: float(v) for k, v in (p.split("=") for p in weights.split(","))} if weights else None,
        relax_after=tuple(float(x) for x in relax.split(",")) if relax else defaults.relax_after,
        fallback_queue=os.environ.get("ROUTER_FALLBACK_QUEUE", defaults.fallback_queue),
        offline_handover_after=float(os.environ.get("ROUTER_OFFLINE_HANDOVER_SECONDS",
                                                    defaults.offline_handover_after)),
    )


def sweep_seconds() -> float:
    return float(os.environ.get("ROUTER_SWEEP_SECONDS", 2))


def agent_metrics_max() -> int:
    return int(os.environ.get("ROUTER_AGENT_METRICS_MAX", 100))


def reconcile_seconds() -> float:
    return float(os.environ.get("ROUTER_RECONCILE_SECONDS", 60))


def rpc_timeout() -> float:
    return float(os.environ.get("RPC_TIMEOUT_SECONDS", 5))


def event_memory_days() -> float:
    """How long applied event ids are remembered to absorb redeliveries."""
    return float(os.environ.get("ROUTER_EVENT_MEMORY_DAYS", 7))


def roster_ttl_seconds() -> float:
    """How long a router process decides from its cached roster before refreshing it."""
    return float(os.environ.get("ROUTER_ROSTER_TTL_SECONDS", 10))


SQLITE_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


def sqlite_synchronous() -> str:
    """PRAGMA synchronous of the router's SQLite database (WAL mode). NORMAL: a commit
    does not wait for the disk, so it survives a crash of the process, but a power
    loss or OS crash may lose the last transactions (never corrupts). FULL: every
    commit waits for the disk. PostgreSQL keeps its own (durable) settings."""
    value = os.environ.get("ROUTER_SQLITE_SYNCHRONOUS", "NORMAL").upper()
    if value not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"ROUTER_SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS)}, not {value!r}")
    return value


def reannounce_seconds() -> float:
    """How long after announcing an assignment the router announces it again when the
    tickets service (seen by reconcile) still does not show it: lost or parked on its way."""
    return float(os.environ.get("ROUTER_REANNOUNCE_SECONDS", 120))
