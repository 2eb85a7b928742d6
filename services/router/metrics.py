"""Prometheus metrics of the router (prefix complaints_).

complaints_agent_load has one series per agent, so its cardinality is bounded:
only the ROUTER_AGENT_METRICS_MAX most loaded agents are exported (default 100),
and the series of an agent that drops out of that set is removed.
"""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from werkzeug.wrappers import Response

DECISION_SECONDS = Histogram("complaints_routing_decision_seconds",
                             "Time to decide and claim an agent for one ticket",
                             buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
DECISIONS = Counter("complaints_routing_decisions_total", "Routing decisions by kind and outcome",
                    ["kind", "outcome"])
BAD_EVENTS = Counter("complaints_routing_bad_events_total", "Tickets events the router could not read")
WAITING = Gauge("complaints_routing_waiting", "Tickets waiting for an eligible agent")
AGENT_LOAD = Gauge("complaints_agent_load", "Open-ticket load of the most loaded agents", ["agent"])
AGENT_CAPACITY_USED = Gauge("complaints_agents_capacity_ratio", "Total load over total capacity of the roster")
INTAKE_TO_ASSIGNMENT = Histogram("complaints_intake_to_assignment_seconds",
                                 "From the ticket's creation to its first assignment",
                                 buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))

_exported: set[str] = set()


def render(counts: dict, max_agents: int) -> Response:
    WAITING.set(counts["waiting"])
    loads = sorted(counts["loads"], key=lambda r: (-r[1], r[0]))[:max_agents]
    names = {name for name, _, _ in loads}
    for gone in _exported - names:
        AGENT_LOAD.remove(gone)
    for name, load, _ in loads:
        AGENT_LOAD.labels(name).set(load)
    _exported.clear()
    _exported.update(names)
    capacity = sum(c for _, _, c in counts["loads"])
    AGENT_CAPACITY_USED.set(sum(lo for _, lo, _ in counts["loads"]) / capacity if capacity else 0)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
