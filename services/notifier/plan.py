"""What to send, to whom, on which channel, and when: each event becomes a list of
drafts with a unique key. Plain Python: no SMTP, Twilio, nameko or SQL here.

A key names what the message is for (purpose, ticket, the event or state it
answers, channel, recipient), so the same event delivered twice, or seen again
by the catch-up, produces the same key and the outbox's unique constraint keeps
one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid

from services.common.channels.catalogue import ACKNOWLEDGED_BY_INTAKE
from services.common.contract.vocabulary import Priority, Status
from services.common.time.clock import parse

from . import channels
from .channels import CALL, EMAIL, IN_PAGE, NOTE, Address
from .quiet_hours import zone_for
from .settings import Settings
from .templates import Templates

AUTOMATIC = ("acknowledgement", "resolved", "reminder")  # Auto-Submitted: auto-replied

# A confidential case's staff alerts, on every channel, name nothing of it (no subject,
# customer, category or body): only that there is one, and the console link. The
# draft keeps its purpose (and key); only its text comes from these templates.
CONFIDENTIAL_TEXT = {"agent": "agent_confidential", "supervisor": "supervisor_confidential"}

# Channels whose intake acknowledges each message in its own answer (the registry's
# Channel.acknowledged_by_intake: WhatsApp's TwiML reply) get no second one from here.
# Callers are still sent an SMS: the reference they heard on the call, written down,
# with the link; SMS customers too (the SMS intake answers its webhook with no message).

# What entering each status means for the customer's messages. One entry per status
# of the vocabulary: a status added there fails tests/unit/test_vocabulary_coverage.py
# (and raises here) until somebody decides what the customer hears.
ON_ENTERING: dict[Status, str | None] = {
    Status.NEW: None,
    Status.IN_PROGRESS: None,
    Status.PENDING_CUSTOMER: "reminders",  # the reminder clock starts (reminders.py)
    Status.RESOLVED: "resolved",           # the resolution notice, with the survey link
    Status.CLOSED: None,
}


def on_entering(status) -> str | None:
    """ON_ENTERING for a status word from an event (already validated against the vocabulary)."""
    return ON_ENTERING[Status(status)]

# Every variable a template may use (examples); the notifier renders each template
# with these at start and refuses to run with one that fails.
TEMPLATE_VARIABLES = {
    "reference": "C-2VVFXBBXSS", "subject": "Charged twice", "customer_name": "Ana",
    "tracking_url": "https://complaints.example/complaints/C-2VVFXBBXSS?token=...",
    "survey_url": "https://complaints.example/complaints/C-2VVFXBBXSS/survey?token=...",
    "body": "We refunded the second charge.", "agent": "Ana Costa", "message_subject": "[C-2VVFXBBXSS] Re: Charged",
    "priority": Priority.HIGH, "channel": "email", "category": "billing", "status": Status.IN_PROGRESS,
    "ticket_url": "http://localhost:8004/tickets/C-2VVFXBBXSS", "kind": "assign", "reminder_number": 1,
    "callback": {"number": "+351912345678", "window_start": "2026-11-23T14:00:00+00:00",
                 "window_end": "2026-11-23T16:00:00+00:00"},
    "queue": "supervisors", "reason": "no eligible agent", "waiting_since": "2026-11-23T12:00:00+00:00",
    "minutes": 30, "created_at": "2026-11-23T12:00:00+00:00",
}


@dataclass
class Draft:
    key: str
    purpose: str
    channel: str
    recipient: str
    reference: str | None
    subject: str = ""
    body: str = ""
    headers: dict = field(default_factory=dict)
    payload: dict = field(default_factory=dict)
    urgent: bool = False
    not_before: datetime | None = None
    status: str = "pending"       # "sent" at once for what needs no sending (chat replies)


@dataclass(frozen=True)
class Links:
    tracking: callable              # reference -> customer's tracking URL
    survey: callable                # reference -> survey URL
    ticket: callable                # reference -> the agents' view of the ticket


class Planner:
    def __init__(self, settings: Settings, templates: Templates, links: Links, message_id_domain: str):
        self.settings, self.templates, self.links = settings, templates, links
        self.domain = message_id_domain

    # --- customers ----------------------------------------------------------------

    def acknowledgement(self, ticket: dict, message: dict | None, now: datetime) -> list[Draft]:
        if ticket.get("channel") in ACKNOWLEDGED_BY_INTAKE:
            return []
        thread = [message["message_id"]] if message and message.get("message_id") else []
        return self._customer("acknowledgement", ticket, channels.customer_address(ticket), "", now,
                              in_reply_to=thread[0] if thread else None, references=thread)

    def reply(self, ticket: dict, message: dict, now: datetime) -> list[Draft]:
        address = channels.reply_address(ticket, message.get("channel"))
        key = f"reply:{message.get('id')}"
        if address and address.channel == IN_PAGE:  # the chat page shows it: nothing to send
            return [Draft(f"{key}:in_page", "reply", IN_PAGE, "chat", ticket["reference"], message.get("subject", ""),
                          message.get("body", ""), status="sent")]
        extras = message.get("extras") or {}
        return self._customer("reply", ticket, address, key, now, message_id=message.get("message_id"),
                              in_reply_to=extras.get("in_reply_to"), references=extras.get("references") or [],
                              extra={"body": message.get("body", ""), "agent": message.get("author") or "Support",
                                     "message_subject": message.get("subject") or ""},
                              key_override=key)

    def resolved(self, ticket: dict, in_reply_to: str | None, now: datetime) -> list[Draft]:
        thread = [in_reply_to] if in_reply_to else []
        return self._customer("resolved", ticket, channels.customer_address(ticket), ticket.get("resolved_at") or "",
                              now, in_reply_to=in_reply_to, references=thread)

    def reminder(self, ticket: dict, number: int, pending_since: str, in_reply_to: str | None,
                 now: datetime) -> list[Draft]:
        thread = [in_reply_to] if in_reply_to else []
        return self._customer("reminder", ticket, channels.customer_address(ticket), f"{pending_since}:{number}",
                              now, in_reply_to=in_reply_to, references=thread, extra={"reminder_number": number})

    def _customer(self, purpose, ticket, address: Address | None, discriminator, now, *, message_id=None,
                  in_reply_to=None, references=(), extra=None, key_override=None) -> list[Draft]:
        if address is None:
            return []
        reference = ticket["reference"]
        context = {"reference": reference, "subject": ticket.get("subject") or "",
                   "customer_name": channels.customer_of(ticket).name,
                   "tracking_url": self.links.tracking(reference), "survey_url": self.links.survey(reference),
                   **(extra or {})}
        text = self.templates.render(purpose, channels.language_of(ticket), address.channel, context)
        urgent = ticket.get("priority") == Priority.URGENT
        draft = Draft(
            key=f"{key_override or f'{purpose}:{reference}:{discriminator}'}:{address.channel}:{address.address}",
            purpose=purpose, channel=address.channel, recipient=address.address, reference=reference,
            subject=text.subject, body=text.body, urgent=urgent, not_before=self._quiet(purpose, ticket, now))
        if address.channel == EMAIL:
            draft.headers = self._email_headers(purpose, message_id, in_reply_to, references)
        return [draft]

    def _quiet(self, purpose, ticket, now) -> datetime:
        s = self.settings
        if s.quiet_hours is None or purpose not in s.quiet_purposes or ticket.get("priority") == Priority.URGENT:
            return now
        return s.quiet_hours.release(now, zone_for(ticket.get("region"), s.region_timezones, s.default_timezone))

    def _email_headers(self, purpose, message_id, in_reply_to, references) -> dict:
        headers = {"Message-ID": message_id or make_msgid(domain=self.domain)}
        if in_reply_to:
            headers["In-Reply-To"] = in_reply_to
        refs = [r for r in references if r]
        if in_reply_to and in_reply_to not in refs:
            refs.append(in_reply_to)
        if refs:
            headers["References"] = " ".join(refs)
        if purpose in AUTOMATIC:
            headers["Auto-Submitted"] = "auto-replied"
        return headers

    # --- agents and supervisors ------------------------------------------------------

    def agent_alert(self, purpose: str, event_id: str, ticket: dict, agent: dict | None, now: datetime,
                    extra: dict | None = None) -> list[Draft]:
        name = (agent or {}).get("name") or ticket.get("assignee") or "?"
        addresses = channels.agent_addresses(agent, self._agent_channels())
        if not addresses:  # never silent: a visible failed row says who could not be reached
            return [Draft(f"{purpose}:{event_id}:none:{name}", purpose, "none", name, ticket.get("reference"),
                          body=f"agent {name} has no address on the roster", status="failed")]
        context = self._staff_context(ticket, agent, extra)
        drafts = [self._staff(purpose, f"{purpose}:{event_id}", a, ticket, context, now, "agent")
                  for a in addresses]
        if ticket.get("confidential"):
            for draft in drafts:  # the sender logs the alert in the case's access log first
                draft.payload = {"alerted": name}
        return drafts

    def _agent_channels(self) -> tuple[str, ...]:
        """Agents' WhatsApp/SMS alerts only where Twilio is set up: an extra, unlike a
        customer's only channel (whose failure must show)."""
        if self.settings.twilio.account_sid:
            return self.settings.agent_channels
        return channels.without_twilio(self.settings.agent_channels)

    def supervisor_alert(self, purpose: str, key: str, ticket: dict, now: datetime,
                         extra: dict | None = None) -> list[Draft]:
        context = self._staff_context(ticket, None, extra)
        return [self._staff(purpose, f"{purpose}:{key}", Address(EMAIL, s), ticket, context, now, "supervisor")
                for s in self.settings.supervisors]

    def _staff_context(self, ticket, agent, extra) -> dict:
        reference = ticket.get("reference")
        return {"reference": reference, "subject": ticket.get("subject") or "", "priority": ticket.get("priority"),
                "channel": ticket.get("channel"), "category": ticket.get("category"), "status": ticket.get("status"),
                "agent": (agent or {}).get("display_name") or (agent or {}).get("name") or "",
                "ticket_url": self.links.ticket(reference), "kind": "assigned", "callback": None, **(extra or {})}

    def _staff(self, purpose, key, address: Address, ticket, context, now, audience) -> Draft:
        if ticket.get("confidential"):
            text = self.templates.render(CONFIDENTIAL_TEXT[audience], self.settings.staff_language, address.channel,
                                         {"ticket_url": context["ticket_url"]})
        else:
            text = self.templates.render(purpose, self.settings.staff_language, address.channel, context)
        draft = Draft(f"{key}:{address.channel}:{address.address}", purpose, address.channel, address.address,
                      ticket.get("reference"), text.subject, text.body, urgent=True, not_before=now)
        if address.channel == EMAIL:
            draft.headers = self._email_headers(purpose, None, None, ())
        return draft

    # --- callback requests --------------------------------------------------------------

    def callback(self, ticket: dict, callback: dict, agent: dict | None, now: datetime) -> list[Draft]:
        """A call that rings the agent, then connects the customer (mode "call"), or a
        task: an alert to the agent and a note on the ticket (mode "task", or when a call
        cannot be placed: no agent phone, no caller id, the window has passed)."""
        reference = ticket["reference"]
        start, end = parse(callback.get("window_start")), parse(callback.get("window_end"))
        key = f"callback:{reference}:{callback.get('window_start') or ''}"
        context = {"callback": callback, "agent": (agent or {}).get("display_name") or (agent or {}).get("name")}
        reason = None
        if self.settings.callback_mode == "call":
            if end and end < now:
                reason = "The requested window has passed; call when possible."
            elif not (agent or {}).get("phone"):
                reason = "Automatic calling is on but the agent has no phone number on the roster."
            elif not self.settings.twilio.voice_from:
                reason = "Automatic calling is on but no caller id (TWILIO_VOICE_FROM) is configured."
            else:
                say = self.templates.render("callback_call", self.settings.staff_language, CALL,
                                            {"reference": reference, **context}).body.strip()
                when = max(now, start) if start else now
                call = Draft(f"{key}:call:{agent['phone']}", "callback", CALL, agent["phone"], reference,
                             body=say, urgent=True, not_before=when,
                             payload={"customer": callback["number"], "agent": agent["phone"],
                                      "window_end": callback.get("window_end")})
                note = self._note(key, reference, {**context, "reason": f"Automatic call scheduled for "
                                                   f"{when.isoformat(timespec='minutes')}."}, now)
                return [call, note]
        drafts = self.agent_alert("callback_task", key, ticket, agent, now, {"callback": callback})
        drafts.append(self._note(key, reference, {**context, "reason": reason}, now))
        return drafts

    def _note(self, key, reference, context, now) -> Draft:
        text = self.templates.render("callback_note", self.settings.staff_language, NOTE,
                                     {"reference": reference, "reason": None, **context})
        return Draft(f"{key}:note", "callback_note", NOTE, "tickets", reference, body=text.body.strip(),
                     urgent=True, not_before=now)
