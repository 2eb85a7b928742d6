"""Erasing a person from the tickets service's own tables, inside a caller's transaction
(an erasure request, privacy_requests.py, or the retention rule, privacy.py).

What goes and what stays, per ticket of the person (unless it is on legal hold):
- tickets: the customer's name goes, the subject and a survey comment become
  "[erased]", a chosen follow-up address its pseudonym; category, channel, status,
  priority, region, timestamps and the rating stay, for statistics; erased_at is set.
- ticket_identities: every value becomes its pseudonym ("erased-…", the same in every
  service), so tickets of one customer still group, and none is reachable.
- messages: body and subject (the customer's words, and our replies to them) become
  "[erased]", attachments' metadata and channel extras (recordings, transcriptions,
  callback numbers) go, a customer author becomes a pseudonym.
- notes: the person's emails, phones and names are scrubbed out of agents' notes.
- audit: a customer actor becomes a pseudonym; the person's identifiers and survey
  comments are scrubbed out of the recorded changes.
Beyond the tickets: published outbox events that carry the person or their tickets
are deleted (unpublished ones scrubbed, so what is relayed carries nothing of them),
and quarantined messages that name their email or phone are deleted.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Text, cast, delete, or_, select, update

from services.common.contract.events import SubjectErasureRequested
from services.common.privacy.parts import DELETED, ERASED, PSEUDONYMISED
from services.common.privacy.pseudonym import is_pseudonym, pseudonym
from services.common.privacy.subject import ERASED as ERASED_TEXT
from services.common.privacy.subject import Subject

from .schema import audit, dead_letters, identities, messages, notes, outbox, quarantine, tickets

# Free text the customer wrote, erased whole wherever an event or a change carries it.
FREE_TEXT_KEYS = frozenset({"body", "subject", "comment", "transcription", "name"})


def subject_tickets(conn, subject: Subject, references=()) -> list:
    """The person's tickets: those with one of their addresses as an identity or as the
    chosen follow-up address, and those named by reference (or by a follow-up's)."""
    values = [*subject.emails, *subject.phones, *(f"whatsapp:{p}" for p in subject.phones)]
    found = []
    if values:
        found.append(tickets.c.id.in_(select(identities.c.ticket_id).where(identities.c.value.in_(values))))
        found.append(tickets.c.follow_up_address.in_(values))
    if references:
        found.append(tickets.c.reference.in_(list(references)))
        found.append(tickets.c.id.in_(select(messages.c.ticket_id)
                                      .where(messages.c.intake_reference.in_(list(references)))))
    if not found:
        return []
    return conn.execute(select(tickets).where(or_(*found)).order_by(tickets.c.id)).all()


def all_of(conn, subject: Subject, references=(), rounds: int = 5) -> tuple[list, Subject]:
    """The person's tickets and everything they tell of them, followed through: asked for by
    email, the phone on that ticket is theirs, and so are the tickets they sent from it."""
    rows, person = [], subject
    for _ in range(rounds):
        found = subject_tickets(conn, person, references)
        wider = everything_known(conn, person, found)
        if [r.id for r in found] == [r.id for r in rows] and wider == person:
            break
        rows, person = found, wider
    return rows, person


def everything_known(conn, subject: Subject, rows) -> Subject:
    """The person with every identity and name their tickets hold (asked for by email,
    their phone on the same ticket is theirs too, and must go everywhere)."""
    ids = [r.id for r in rows]
    pairs = conn.execute(select(identities.c.kind, identities.c.value)
                         .where(identities.c.ticket_id.in_(ids))).all() if ids else []
    live = [(k, v) for k, v in pairs if not is_pseudonym(v)]
    follow_ups = [r.follow_up_address for r in rows if r.follow_up_address and not is_pseudonym(r.follow_up_address)]
    return subject.plus(emails=[v for k, v in live if k == "email"] + [a for a in follow_ups if "@" in a],
                        phones=[v for k, v in live if k != "email"] + [a for a in follow_ups if "@" not in a],
                        names=[r.customer_name for r in rows if r.customer_name])


def erase_tickets(conn, rows, subject: Subject, at) -> Counter:
    """Erase and pseudonymise the given tickets (none on legal hold); (table, action) -> rows."""
    done: Counter = Counter()
    ids = [r.id for r in rows]
    if not ids:
        return done
    for r in rows:
        conn.execute(update(tickets).where(tickets.c.id == r.id).values(
            customer_name=None, subject=ERASED_TEXT if r.subject else "",
            follow_up_address=pseudonym(r.follow_up_address) if r.follow_up_address else None,
            survey_comment=ERASED_TEXT if r.survey_comment else None, erased_at=r.erased_at or at))
    done[("tickets", PSEUDONYMISED)] += len(rows)
    for ident in conn.execute(select(identities).where(identities.c.ticket_id.in_(ids))).all():
        if not is_pseudonym(ident.value):
            conn.execute(update(identities).where(identities.c.id == ident.id).values(value=pseudonym(ident.value)))
            done[("ticket_identities", PSEUDONYMISED)] += 1
    for m in conn.execute(select(messages).where(messages.c.ticket_id.in_(ids))).all():
        author = pseudonym(m.author) if m.author and m.direction == "in" and m.author != "anonymous" else m.author
        values = {"body": ERASED_TEXT, "subject": ERASED_TEXT if m.subject else "", "attachments": [],
                  "extras": {}, "author": author}
        if any(getattr(m, k) != v for k, v in values.items()):
            conn.execute(update(messages).where(messages.c.id == m.id).values(**values))
            done[("messages", ERASED)] += 1
    for n in conn.execute(select(notes).where(notes.c.ticket_id.in_(ids))).all():
        body = subject.scrub(n.body)
        if body != n.body:
            conn.execute(update(notes).where(notes.c.id == n.id).values(body=body))
            done[("notes", ERASED)] += 1
    for a in conn.execute(select(audit).where(audit.c.ticket_id.in_(ids))).all():
        actor = pseudonym(a.actor) if a.actor and (subject.owns(a.actor) or subject.named_in(a.actor)) else a.actor
        changes = subject.scrub_deep(a.changes, frozenset({"comment"}))
        if actor != a.actor or changes != a.changes:
            conn.execute(update(audit).where(audit.c.id == a.id).values(actor=actor, changes=changes))
            done[("audit", PSEUDONYMISED)] += 1
    return done


def erase_traces(conn, subject: Subject, references) -> Counter:
    """The outbox's events and the quarantine's messages about the person or their tickets."""
    return erase_outbox(conn, subject, references) + erase_quarantine(conn, subject)


def erase_outbox(conn, subject: Subject, references) -> Counter:
    """Published events naming the person or their tickets are deleted; unpublished ones
    are scrubbed (relayed, they carry nothing of the person). Erasure requests are the
    coordinator's own (privacy_requests.py)."""
    done: Counter = Counter()
    needles = [*references, *subject.emails, *subject.phones]
    if not needles:
        return done
    text = cast(outbox.c.payload, Text)
    rows = conn.execute(select(outbox.c.id, outbox.c.published_at, outbox.c.payload).where(
        outbox.c.event_type != SubjectErasureRequested.event_type,
        or_(*(text.contains(n, autoescape=True) for n in needles)))).all()
    published = [r.id for r in rows if r.published_at is not None]
    if published:
        conn.execute(delete(outbox).where(outbox.c.id.in_(published)))
        done[("outbox", DELETED)] += len(published)
    for r in rows:
        if r.published_at is None:
            conn.execute(update(outbox).where(outbox.c.id == r.id).values(
                payload=subject.scrub_deep(r.payload, FREE_TEXT_KEYS)))
            done[("outbox", ERASED)] += 1
    return done


def erase_quarantine(conn, subject: Subject) -> Counter:
    """Quarantined messages naming the person's email or phone are deleted; dead letters'
    reasons are scrubbed."""
    done: Counter = Counter()
    if not subject.identifies:
        return done
    gone = [q.id for q in conn.execute(select(quarantine.c.id, quarantine.c.raw, quarantine.c.reason))
            if subject.mentioned_in(q.raw) or subject.mentioned_in(q.reason)]
    if gone:
        conn.execute(delete(quarantine).where(quarantine.c.id.in_(gone)))
        done[("quarantine", DELETED)] += len(gone)
    for d in conn.execute(select(dead_letters.c.id, dead_letters.c.reason)).all():
        if subject.mentioned_in(d.reason):
            conn.execute(update(dead_letters).where(dead_letters.c.id == d.id).values(reason=subject.scrub(d.reason)))
            done[("dead_letters", ERASED)] += 1
    return done


def held(rows) -> tuple[list, list]:
    """(to erase, on legal hold)."""
    return [r for r in rows if not r.legal_hold], [r for r in rows if r.legal_hold]


def hold_reasons(rows) -> str | None:
    reasons = sorted({r.legal_hold_reason or "no reason given" for r in rows})
    return ("legal hold: " + "; ".join(reasons))[:500] if rows else None

