"""The conversation after intake: an agent's reply to the customer, and the
customer's satisfaction survey answer (by link, or by replying "4 - quick").
The notifier sends what these record, from their events.
"""

from __future__ import annotations

import uuid
from email.utils import make_msgid

from sqlalchemy import insert, select

from services.common.channels.mail_identity import message_id_domain
from services.common.contract.events import MessageSnapshot, TicketReplyAdded, TicketSurveyAnswered, TicketUpdated
from services.common.contract.vocabulary import ActorType, Status
from services.common.time.clock import iso

from . import domain
from . import repository as repo
from .changes import timestamps_for
from .schema import messages
from .transactions import attempt, emit

MAX_REFERENCES = 20  # Message-IDs kept in an outbound message's References header


def reply(engine, reference: str, author: str, body: str, status: str | None = None) -> dict:
    """An agent's answer to the customer: an outbound message (with its own
    Message-ID, so the customer's email answer threads back), and optionally a
    status change, in one transaction. The notifier sends it."""
    text = domain.check_reply(author, body)
    author = author.strip()[:100]

    def work(conn, at):
        row = repo.require(conn, reference)
        if row.status == Status.CLOSED:
            raise domain.TicketError(f"{row.reference} is closed; a reply cannot be sent")
        values = {}
        if status is not None and status != row.status:
            values["status"] = domain.check_transition(row.status, status)
        message_id = _insert_reply(conn, row, author, text, at)
        diff = domain.changes_between({k: getattr(row, k) for k in values}, values)
        first = {"first_response_at": at} if row.first_response_at is None else {}
        repo.update_ticket(conn, row, {**values, **timestamps_for(values, at), **first}, at)
        repo.add_audit(conn, row.id, at, "agent", author, "replied", {"message_id": message_id, **diff})
        fresh = repo.snapshot_of(conn, row.id)
        message = repo.message_snapshot(repo.message_row(conn, message_id))
        emit(conn, TicketReplyAdded(ticket=fresh, message=message), at)
        if diff:
            emit(conn, TicketUpdated(ticket=fresh, changes=diff, actor_type=ActorType.AGENT, actor=author), at)
        return {"ticket": repo.view(fresh), "message": repo.message_view(message)}

    return attempt(engine, work, reference)


def _insert_reply(conn, row, author, text, at) -> int:
    earlier = [m for m in conn.execute(select(messages.c.direction, messages.c.message_id)
                                       .where(messages.c.ticket_id == row.id).order_by(messages.c.id))
               if m.message_id]
    customer_last = next((m.message_id for m in reversed(earlier) if m.direction == "in"), None)
    return conn.execute(insert(messages).values(
        ticket_id=row.id, direction="out", channel=row.follow_up_channel or row.channel,
        external_id=f"reply:{uuid.uuid4()}", message_id=make_msgid(domain=message_id_domain()),
        author=author, subject=domain.reply_subject(row.reference, row.subject), body=text,
        attachments=[], threaded_via=None, created_at=at,
        # What the notifier needs to thread an email answer under the customer's last mail.
        extras={"in_reply_to": customer_last,
                "references": [m.message_id for m in earlier][-MAX_REFERENCES:]},
    )).inserted_primary_key[0]


def record_survey(engine, reference: str, rating, comment: str | None = None, source: str = "link",
                  actor: str | None = None) -> dict:
    """The customer's satisfaction answer (1..5 and a comment) on a resolved or
    closed ticket; a later answer replaces the earlier one, both stay in the audit."""
    def work(conn, at):
        row = repo.require(conn, reference)
        survey = domain.check_survey(row.status, rating, comment)
        label = actor or next((value for _kind, value in repo.identities_of(conn, row.id)), None) or "customer"
        return save_survey(conn, row, survey, str(source)[:20], "customer", label, at)

    return attempt(engine, work, reference)


def save_survey(conn, row, survey, source, actor_type, actor, at, message: MessageSnapshot | None = None) -> dict:
    rating, comment = survey
    repo.update_ticket(conn, row, {"survey_rating": rating, "survey_comment": comment,
                                   "survey_answered_at": at}, at)
    before = {"rating": row.survey_rating, "comment": row.survey_comment,
              "answered_at": iso(row.survey_answered_at)}
    repo.add_audit(conn, row.id, at, actor_type, actor, "survey_answered", {
        "survey": {"before": before if row.survey_rating is not None else None,
                   "after": {"rating": rating, "comment": comment, "answered_at": iso(at)}},
        "source": source, **({"message_id": message.id} if message else {})})
    fresh = repo.snapshot_of(conn, row.id)
    emit(conn, TicketSurveyAnswered(ticket=fresh, survey={**fresh.survey, "source": source}, message=message), at)
    return repo.view(fresh)
