"""A Twilio messaging intake's privacy parts (WhatsApp, SMS: the same tables under
each intake's prefix, twilio_message_tables.py): its share of an export, its erasure,
its retention.

What it holds about a person: the sender's number on each message's ledger row (with
the references they were told), the conversation window of their number, and
quarantined webhooks (every field Twilio sent: number, text, profile name).
- erasure: ledger numbers become pseudonyms (a redelivered MessageSid is still
  recognised, and counts per sender still group); their conversation ends (the row
  goes); quarantined webhooks naming them are deleted. Rows of tickets on legal hold
  are kept. Delivery statuses hold only Twilio's ids: untouched.
- retention: numbers on ledger rows older than RETENTION_LEDGER_DAYS are pseudonymised
  and conversations idle that long end; quarantined webhooks older than
  RETENTION_RAW_DAYS are deleted.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from services.common.contract.events import ErasureEntry, SubjectErasureRequested
from services.common.privacy.archive import rows as json_rows
from services.common.privacy.parts import DELETED, KEPT, PSEUDONYMISED, counted, entry
from services.common.privacy.pseudonym import PREFIX, pseudonym
from services.common.privacy.retention import Retention
from services.common.privacy.subject import Subject

from .twilio_message_tables import MessageTables


class MessagingPrivacy:
    def __init__(self, service: str, engine, tables: MessageTables):
        self.service, self.engine, self.tables = service, engine, tables

    def export(self, subject: Subject, references: tuple[str, ...]) -> dict:
        t = self.tables
        with self.engine.connect() as conn:
            messages = json_rows(conn.execute(select(t.messages).where(self._messages_of(subject, references))
                                              .order_by(t.messages.c.received_at)))
            conversations = json_rows(conn.execute(select(t.conversations).where(
                self._conversations_of(subject, references))))
            quarantined = [r for r in json_rows(conn.execute(select(t.quarantine))) if subject.mentioned_in(str(r))]
        return {"tables": {t.messages.name: messages, t.conversations.name: conversations,
                           t.quarantine.name: quarantined}}

    def erase(self, request: SubjectErasureRequested) -> list[ErasureEntry]:
        t = self.tables
        subject = Subject.of(request.identifiers)
        references, held = tuple(request.references), set(request.held_references)
        done: Counter = Counter()
        with self.engine.begin() as conn:
            for row in conn.execute(select(t.messages).where(self._messages_of(subject, references))).all():
                if {row.ack_reference, row.thread_reference} & held:
                    done[(t.messages.name, KEPT)] += 1
                elif not row.number.startswith(PREFIX):
                    conn.execute(update(t.messages).where(t.messages.c.message_sid == row.message_sid)
                                 .values(number=pseudonym(row.number)))
                    done[(t.messages.name, PSEUDONYMISED)] += 1
            for row in conn.execute(select(t.conversations).where(self._conversations_of(subject, references))).all():
                if row.reference in held:
                    done[(t.conversations.name, KEPT)] += 1
                else:
                    conn.execute(delete(t.conversations).where(t.conversations.c.number == row.number))
                    done[(t.conversations.name, DELETED)] += 1
            gone = [r.id for r in conn.execute(select(t.quarantine.c.id, t.quarantine.c.raw))
                    if subject.mentioned_in(str(r.raw))]
            if gone:
                conn.execute(delete(t.quarantine).where(t.quarantine.c.id.in_(gone)))
            done[(t.quarantine.name, DELETED)] += len(gone)
        reason = "legal hold on the ticket"
        return [entry(t.messages.name, PSEUDONYMISED, done[(t.messages.name, PSEUDONYMISED)]),
                entry(t.conversations.name, DELETED, done[(t.conversations.name, DELETED)]),
                entry(t.quarantine.name, DELETED, done[(t.quarantine.name, DELETED)]),
                entry(t.statuses.name, "none", 0, "holds Twilio's message ids and statuses only"),
                *[entry(name, KEPT, done[(name, KEPT)], reason) for name in (t.messages.name, t.conversations.name)
                  if done[(name, KEPT)]]]

    def retain(self, at: datetime, rules: Retention) -> dict[tuple[str, str], int]:
        t = self.tables
        done: Counter = Counter()
        ledger = rules.ledger_cutoff(at)
        if ledger is not None:
            with self.engine.begin() as conn:
                for row in conn.execute(select(t.messages.c.message_sid, t.messages.c.number).where(
                        t.messages.c.received_at < ledger, ~t.messages.c.number.startswith(PREFIX))).all():
                    conn.execute(update(t.messages).where(t.messages.c.message_sid == row.message_sid)
                                 .values(number=pseudonym(row.number)))
                    done[(t.messages.name, PSEUDONYMISED)] += 1
                done[(t.conversations.name, DELETED)] += conn.execute(delete(t.conversations).where(
                    t.conversations.c.last_message_at < ledger.timestamp())).rowcount
        raw = rules.raw_cutoff(at)
        if raw is not None:
            with self.engine.begin() as conn:
                done[(t.quarantine.name, DELETED)] += conn.execute(
                    delete(t.quarantine).where(t.quarantine.c.received_at < raw)).rowcount
        return counted(done)

    def _messages_of(self, subject: Subject, references):
        m = self.tables.messages.c
        found = [m.number.in_([*subject.phones, *(f"whatsapp:{p}" for p in subject.phones)])]
        if references:
            found += [m.ack_reference.in_(list(references)), m.thread_reference.in_(list(references))]
        return or_(*found)

    def _conversations_of(self, subject: Subject, references):
        c = self.tables.conversations.c
        found = [c.number.in_(list(subject.phones))]
        if references:
            found.append(c.reference.in_(list(references)))
        return or_(*found)
