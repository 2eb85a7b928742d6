"""The router's own tables, prefixed `router_` so every service can share one
PostgreSQL database without clashing. No other service reads them."""

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from services.common.messaging.outbox import outbox_table
from services.common.storage.db import new_metadata

metadata = new_metadata()

agents = Table(
    "router_agents", metadata,
    Column("name", String(100), primary_key=True),
    Column("display_name", String(200)),
    Column("email", String(320)),
    Column("phone", String(20)),       # E.164; agent alerts by SMS, voice callbacks
    Column("whatsapp", String(20)),    # E.164; agent alerts by WhatsApp
    Column("skills", JSON, nullable=False, default=dict),        # {"billing": 2, "delivery": 0}
    Column("regions", JSON, nullable=False, default=list),
    Column("languages", JSON, nullable=False, default=list),
    Column("capacity", Float, nullable=False),
    Column("channel_capacity", JSON, nullable=False, default=dict),
    # The groups the agent is in: a confidential case goes only to its group's members.
    Column("groups", JSON, nullable=False, default=list),
    Column("status", String(10), nullable=False, index=True),
    Column("status_since", DateTime(timezone=True), nullable=False),
    # The agent's current load, kept by deltas in the same transaction as each
    # assignment: the claim is `UPDATE ... SET load = load + w WHERE load + w <= capacity`,
    # so two replicas can never push an agent over capacity.
    Column("load", Float, nullable=False, default=0),
    Column("last_assigned_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

vacations = Table(
    "router_vacations", metadata,
    Column("id", Integer, primary_key=True),
    Column("agent", String(100), ForeignKey("router_agents.name", ondelete="CASCADE"), nullable=False, index=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("note", String(200)),
)

# The router's view of each open ticket, fed by the tickets service's events.
tickets = Table(
    "router_tickets", metadata,
    Column("reference", String(16), primary_key=True),
    Column("category", String(32)),
    Column("region", String(64)),
    Column("region_source", String(200)),   # where the region came from, e.g. "phone +351 (PT)"
    Column("language", String(35)),
    # A confidential case's group (None: an ordinary ticket): only its members may take it,
    # or see it in `explain` and the waiting queue.
    Column("confidential_group", String(64)),
    Column("priority", String(10), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(20), nullable=False),
    # The tickets service's version of the ticket this row reflects: events come on
    # one queue per type, so an older state can arrive after a newer one and is ignored.
    Column("version", Integer, nullable=False, default=0),
    Column("assignee", String(100), index=True),
    # What this ticket adds to its assignee's load (0 when resolved/closed or unassigned).
    Column("weight", Float, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Set while the ticket waits for an agent; the waiting queue is these rows.
    Column("waiting_since", DateTime(timezone=True)),
    Column("step", String(16)),
    # When the router last announced this assignee (TicketAssigned, or TicketUnassigned when
    # none); None when the assignee came from the tickets service. Reconcile announces again
    # a decision the tickets service still does not show a while after this.
    Column("announced_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_router_tickets_waiting", "waiting_since"),
)

decisions = Table(
    "router_decisions", metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(16), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),   # assign, wait, fallback, handover, follow_up, reroute
    Column("step", String(16), nullable=False),
    Column("winner", String(100)),
    Column("previous", String(100)),
    Column("rule", Text, nullable=False),
    Column("candidates", JSON, nullable=False, default=list),
)

# Each tickets event is applied once: its id is inserted in the same transaction.
processed_events = Table(
    "router_processed_events", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata, "router_outbox")
