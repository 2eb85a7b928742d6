"""Migration 0005 on SQLite and PostgreSQL: tickets written by the previous schema
(identities in customer_email/phone/whatsapp columns) keep every identity as rows,
are found by them afterwards, and a downgrade puts the columns back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from services.common.storage.db import make_engine
from services.common.storage.migrations import alembic_config
from services.tickets.migrate import FOLDER, upgrade
from services.tickets.store import TicketStore

OLD_TICKETS = [
    # reference, email, phone, whatsapp
    ("C-00000000AA", "ana@example.org", "+351912345678", "+351912345678"),
    ("C-00000000BB", None, None, "+351934567890"),
    ("C-00000000CC", "bob@example.org", None, None),
    ("C-00000000DD", None, "", None),  # a blank column was never an identity
]


def _old_schema_with_tickets(url):
    upgrade(url, "0004")
    engine = make_engine(url)
    with engine.begin() as conn:
        for n, (reference, email, phone, whatsapp) in enumerate(OLD_TICKETS):
            conn.execute(text(
                "INSERT INTO tickets (reference, intake_id, status, priority, queue, channel, subject, "
                "customer_name, customer_email, customer_phone, customer_whatsapp, customer_anonymous, "
                "region, version, created_at, updated_at) VALUES (:reference, :intake_id, 'new', 'medium', "
                "'general', 'web', 'Old', 'Ana', :email, :phone, :whatsapp, :anonymous, 'pt', 1, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"reference": reference, "intake_id": f"00000000-0000-4000-8000-00000000000{n}", "email": email,
                 "phone": phone, "whatsapp": whatsapp, "anonymous": False})
    return engine


def _identities(engine) -> dict[str, list[tuple[str, str]]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT t.reference, i.kind, i.value FROM ticket_identities i "
                                 "JOIN tickets t ON t.id = i.ticket_id ORDER BY i.id")).all()
    found: dict[str, list[tuple[str, str]]] = {}
    for reference, kind, value in rows:
        found.setdefault(reference, []).append((kind, value))
    return found


def test_every_existing_identity_becomes_a_row_and_the_columns_go(database_url):
    engine = _old_schema_with_tickets(database_url)
    upgrade(database_url)
    engine.dispose()
    engine = make_engine(database_url)
    assert _identities(engine) == {
        "C-00000000AA": [("email", "ana@example.org"), ("phone", "+351912345678"), ("whatsapp", "+351912345678")],
        "C-00000000BB": [("whatsapp", "+351934567890")],
        "C-00000000CC": [("email", "bob@example.org")],
    }
    columns = {c["name"] for c in inspect(engine).get_columns("tickets")}
    assert not columns & {"customer_email", "customer_phone", "customer_whatsapp"}
    assert "region_source" in columns
    store = TicketStore(engine)
    ana = store.get("C-00000000AA")["customer"]
    assert (ana["email"], ana["phone"], ana["whatsapp"]) == ("ana@example.org", "+351912345678", "+351912345678")
    assert [t["reference"] for t in store.search(customer="934567890")["items"]] == ["C-00000000BB"]
    engine.dispose()


def test_a_downgrade_puts_the_identities_back_in_their_columns(database_url):
    _old_schema_with_tickets(database_url).dispose()
    upgrade(database_url)
    command.downgrade(alembic_config(database_url, FOLDER), "0004")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT reference, customer_email, customer_phone, customer_whatsapp "
                                 "FROM tickets ORDER BY reference")).all()
    assert [tuple(r) for r in rows] == [
        ("C-00000000AA", "ana@example.org", "+351912345678", "+351912345678"),
        ("C-00000000BB", None, None, "+351934567890"),
        ("C-00000000CC", "bob@example.org", None, None),
        ("C-00000000DD", None, None, None),
    ]
    assert "ticket_identities" not in inspect(engine).get_table_names()
    engine.dispose()
