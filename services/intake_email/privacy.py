"""The email intake's privacy parts: its share of an export, its erasure, its retention.

What it holds about a sender: their address on the ledger of messages handled
(intake_email_seen), mail it quarantined whole (raw bytes: headers, text,
attachments), and the skipped list (sender, subject, why). On erasure, ledger
senders become pseudonyms (a copy of a message is still recognised by its
Message-ID and content), quarantined and skipped mail naming them is deleted;
rows of tickets on legal hold are kept. Retention: ledger senders older than
RETENTION_LEDGER_DAYS are pseudonymised, quarantined and skipped mail older than
RETENTION_RAW_DAYS is deleted.

The mailbox the intake reads is the mail provider's: messages stay there as the
mailbox's own settings (flag or move, and its retention) decide (README, "Privacy").
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from services.common.contract.events import ErasureEntry, SubjectErasureRequested
from services.common.privacy.archive import rows as json_rows
from services.common.privacy.parts import DELETED, KEPT, PSEUDONYMISED, counted, entry
from services.common.privacy.pseudonym import PREFIX, pseudonym
from services.common.privacy.retention import Retention
from services.common.privacy.subject import Subject

from .schema import quarantine, seen, skipped

SERVICE = "intake_email"
CHUNK = 200  # quarantined messages read at a time (each may be megabytes)


class EmailPrivacy:
    service = SERVICE

    def __init__(self, engine):
        self.engine = engine

    def export(self, subject: Subject, references: tuple[str, ...]) -> dict:
        with self.engine.connect() as conn:
            ledger = json_rows(conn.execute(select(seen).where(_seen_of(subject, references)).order_by(seen.c.id)))
            skips = [r for r in json_rows(conn.execute(select(skipped).order_by(skipped.c.id)))
                     if _skip_of(subject, r)]
            kept = json_rows(conn.execute(select(quarantine).where(
                quarantine.c.id.in_(_quarantined_of(conn, subject))).order_by(quarantine.c.id)))
        return {"tables": {seen.name: ledger, skipped.name: skips, quarantine.name: kept}}

    def erase(self, request: SubjectErasureRequested) -> list[ErasureEntry]:
        subject = Subject.of(request.identifiers)
        references, held = tuple(request.references), set(request.held_references)
        done: Counter = Counter()
        with self.engine.begin() as conn:
            for row in conn.execute(select(seen.c.id, seen.c.sender, seen.c.reference).where(
                    _seen_of(subject, (*references, *held)))).all():
                if row.reference in held:
                    done[(seen.name, KEPT)] += 1
                elif row.sender and not row.sender.startswith(PREFIX):
                    conn.execute(update(seen).where(seen.c.id == row.id).values(sender=pseudonym(row.sender)))
                    done[(seen.name, PSEUDONYMISED)] += 1
            gone = [r.id for r in conn.execute(select(skipped)) if _skip_of(subject, r._mapping)]
            if gone:
                conn.execute(delete(skipped).where(skipped.c.id.in_(gone)))
            done[(skipped.name, DELETED)] += len(gone)
            gone = _quarantined_of(conn, subject)
            if gone:
                conn.execute(delete(quarantine).where(quarantine.c.id.in_(gone)))
            done[(quarantine.name, DELETED)] += len(gone)
        lines = [entry(seen.name, PSEUDONYMISED, done[(seen.name, PSEUDONYMISED)]),
                 entry(skipped.name, DELETED, done[(skipped.name, DELETED)]),
                 entry(quarantine.name, DELETED, done[(quarantine.name, DELETED)])]
        if done[(seen.name, KEPT)]:
            lines.append(entry(seen.name, KEPT, done[(seen.name, KEPT)], "legal hold on the ticket"))
        return lines

    def retain(self, at: datetime, rules: Retention) -> dict[tuple[str, str], int]:
        done: Counter = Counter()
        ledger = rules.ledger_cutoff(at)
        if ledger is not None:
            with self.engine.begin() as conn:
                for row in conn.execute(select(seen.c.id, seen.c.sender).where(
                        seen.c.at < ledger, seen.c.sender.is_not(None), ~seen.c.sender.startswith(PREFIX))).all():
                    conn.execute(update(seen).where(seen.c.id == row.id).values(sender=pseudonym(row.sender)))
                    done[(seen.name, PSEUDONYMISED)] += 1
        raw = rules.raw_cutoff(at)
        if raw is not None:
            with self.engine.begin() as conn:
                done[(quarantine.name, DELETED)] += conn.execute(
                    delete(quarantine).where(quarantine.c.at < raw)).rowcount
                done[(skipped.name, DELETED)] += conn.execute(delete(skipped).where(skipped.c.at < raw)).rowcount
        return counted(done)


def _seen_of(subject: Subject, references):
    found = [func.lower(seen.c.sender).in_(list(subject.emails))]
    if references:
        found.append(seen.c.reference.in_(list(references)))
    return or_(*found)


def _skip_of(subject: Subject, row) -> bool:
    return subject.owns(row["sender"]) or any(subject.mentioned_in(row[k]) for k in ("subject", "detail"))


def _quarantined_of(conn, subject: Subject) -> list[int]:
    """Quarantined messages whose bytes name the person's email or phone."""
    found, last = [], 0
    if not subject.identifies:
        return found
    while True:
        chunk = conn.execute(select(quarantine.c.id, quarantine.c.raw, quarantine.c.reason)
                             .where(quarantine.c.id > last).order_by(quarantine.c.id).limit(CHUNK)).all()
        found += [r.id for r in chunk if subject.mentioned_in(bytes(r.raw)) or subject.mentioned_in(r.reason)]
        if len(chunk) < CHUNK:
            return found
        last = chunk[-1].id
