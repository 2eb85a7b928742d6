"""What the notifier does with each event: keep its view of the ticket, plan the
messages, and write them to the outbox, all in one transaction per event.

The nameko entrypoints (service.py) read each event into its kernel class
(services/common/contract/events.py) and call these after fetching what needs
another service (an agent's roster entry); sending happens later, in senders.py.
The planner and the store take the ticket and message as the events' plain dicts
(the store keeps the ticket so, for reminders and alerts later).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.common.contract.events import (
    TicketCreated,
    TicketEscalated,
    TicketMessageAdded,
    TicketReplyAdded,
    TicketSurveyAnswered,
    TicketUpdated,
)
from services.common.contract.vocabulary import Status
from services.common.time.clock import iso, utc

from . import metrics, reminders
from .channels import IN_PAGE
from .plan import Planner, on_entering
from .settings import Settings
from .store import NotifierStore

log = logging.getLogger("notifier")



def _callback_request(message: dict | None) -> dict | None:
    """A voice intake's callback request ({"number", "window_start", "window_end"})."""
    callback = ((message or {}).get("extras") or {}).get("callback")
    if isinstance(callback, dict) and isinstance(callback.get("number"), str) and callback["number"]:
        return {k: callback.get(k) for k in ("number", "window_start", "window_end")}
    return None


def _customer_fields(message: dict | None) -> dict:
    fields = {}
    if message and message.get("message_id"):
        fields["last_message_id"] = message["message_id"]
    callback = _callback_request(message)
    if callback:
        fields["callback"] = callback
    return fields


class Notifier:
    def __init__(self, store: NotifierStore, planner: Planner, settings: Settings):
        self.store, self.planner, self.settings = store, planner, settings

    # --- tickets events ------------------------------------------------------------------

    def ticket_created(self, event: TicketCreated, now: datetime) -> int:
        return self.acknowledge(event.plain("ticket"), event.plain("message"), now)

    def acknowledge(self, ticket: dict, message: dict | None, now: datetime) -> int:
        """Acknowledge a new ticket once: on its event, or from the catch-up for tickets
        created while no notifier queue existed (the tickets service's ticket dict)."""
        with self.store.begin() as conn:
            before = self.store.save_state(conn, ticket, now, **_customer_fields(message))
            if before is not None and before.acknowledged:
                return 0
            self.store.update_state(conn, ticket["reference"], acknowledged=True)
            return self.store.enqueue(conn, self.planner.acknowledgement(ticket, message, now), now)

    def message_added(self, event: TicketMessageAdded, now: datetime) -> int:
        """A customer wrote again: no more reminders for this wait; note a callback request.
        Returns how many queued reminders were cancelled."""
        ticket, message = event.plain("ticket"), event.plain("message")
        with self.store.begin() as conn:
            fields = _customer_fields(message) if message.get("direction") == "in" else {}
            if message.get("direction") == "in" and ticket.get("status") != Status.PENDING_CUSTOMER:
                fields.update(pending_since=None)
            self.store.save_state(conn, ticket, now, **fields)
            return self.store.cancel(conn, ticket["reference"], "reminder", now)

    def ticket_updated(self, event: TicketUpdated, now: datetime) -> int:
        ticket, status = event.plain("ticket"), event.changes.get("status") or {}
        entering = on_entering(status["after"]) if status.get("after") else None
        with self.store.begin() as conn:
            fields = {}
            if entering == "reminders":
                fields.update(pending_since=now, reminders_sent=0)
            elif status and status.get("before") == Status.PENDING_CUSTOMER:
                fields.update(pending_since=None)
            before = self.store.save_state(conn, ticket, now, **fields)
            drafts = []
            if status and status.get("before") == Status.PENDING_CUSTOMER:
                self.store.cancel(conn, ticket["reference"], "reminder", now)
            if entering == "resolved":
                drafts += self.planner.resolved(ticket, before.last_message_id if before else None, now)
            return self.store.enqueue(conn, drafts, now)

    def reply_added(self, event: TicketReplyAdded, now: datetime) -> int:
        ticket, message = event.plain("ticket"), event.plain("message")
        with self.store.begin() as conn:
            fields = {"last_message_id": message["message_id"]} if message.get("message_id") else {}
            self.store.save_state(conn, ticket, now, **fields)
            drafts = self.planner.reply(ticket, message, now)
            for shown in (d for d in drafts if d.channel == IN_PAGE):
                metrics.NOTIFICATIONS.labels(shown.channel, "in_page").inc()
            return self.store.enqueue(conn, drafts, now)

    def ticket_seen(self, event: TicketSurveyAnswered, now: datetime) -> None:
        """An event that changes nothing we send, but brings the ticket's latest state."""
        with self.store.begin() as conn:
            self.store.save_state(conn, event.plain("ticket"), now)

    # --- staff alerts --------------------------------------------------------------------

    def agent_alert(self, purpose: str, event_id: str, ticket: dict, agent: dict | None, now: datetime,
                    extra: dict | None = None) -> int:
        with self.store.begin() as conn:
            known = self.store.state(conn, ticket["reference"])
            full = {**(known.ticket if known else {}), **{k: v for k, v in ticket.items() if v is not None}}
            return self.store.enqueue(conn, self.planner.agent_alert(purpose, event_id, full, agent, now, extra), now)

    def escalated(self, event_id: str, event: TicketEscalated, now: datetime) -> int:
        with self.store.begin() as conn:
            known = self.store.state(conn, event.reference)
            ticket = {**(known.ticket if known else {}), "reference": event.reference}
            return self.store.enqueue(conn, self.planner.supervisor_alert(
                "supervisor_escalated", event_id, ticket, now,
                {"queue": event.queue or "fallback", "reason": event.reason or "no eligible agent",
                 "waiting_since": event.waiting_since or "?"}), now)

    def pending_callback(self, reference: str) -> tuple[str, dict] | None:
        """(assignee, request) when a callback request waits for its ticket's agent."""
        with self.store.engine.connect() as conn:
            row = self.store.with_callback(conn, reference)
        if row is None or not row.assignee:
            return None
        return row.assignee, row.callback

    def callback(self, reference: str, agent: dict | None, now: datetime) -> int:
        with self.store.begin() as conn:
            row = self.store.with_callback(conn, reference)
            if row is None or not row.assignee:
                return 0
            self.store.update_state(conn, reference, callback=None)
            return self.store.enqueue(conn, self.planner.callback(row.ticket, row.callback, agent, now), now)

    # --- the clock: reminders, tickets waiting too long ----------------------------------------

    def schedule(self, now: datetime) -> int:
        added = 0
        hours = self.settings.reminder_hours
        with self.store.begin() as conn:
            for row in self.store.awaiting_customer(conn):
                due = reminders.next_due(utc(row.pending_since), row.reminders_sent, hours)
                if due is None or due > now:
                    continue
                number = row.reminders_sent + 1
                added += self.store.enqueue(conn, self.planner.reminder(
                    row.ticket, number, iso(row.pending_since), row.last_message_id, now), now)
                self.store.update_state(conn, row.reference, reminders_sent=number)
            if self.settings.supervisors and self.settings.waiting_alert_minutes > 0:
                limit = now - timedelta(minutes=self.settings.waiting_alert_minutes)
                for row in self.store.waiting_unassigned(conn, limit):
                    added += self.store.enqueue(conn, self.planner.supervisor_alert(
                        "supervisor_waiting", row.reference, row.ticket, now,
                        {"minutes": int(self.settings.waiting_alert_minutes),
                         "created_at": iso(utc(row.created_at))}), now)
                    self.store.update_state(conn, row.reference, waiting_alerted=True)
        return added

