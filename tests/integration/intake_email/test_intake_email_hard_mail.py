"""Mail whose text used to be refused by a database or lost on the way, read by
the email intake from a real Dovecot, published to a real RabbitMQ vhost and
filed by the real tickets service: one small message per kind of input, in
tests/data/email/. The intake's own database is SQLite or PostgreSQL (each test
runs on both); the tickets service runs on PostgreSQL, which refuses NUL.

None of these needs the contract's own repair of NUL and surrogates: the
intake decodes and repairs the text before it publishes it."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from services.intake_email import migrate
from testkit import api
from testkit.email_intake import (
    SLOW,
    count_tickets,
    last_uid,
    mailbox_status,
    metric,
    reference_of,
    start_intake,
    start_tickets,
    ticket,
)
from testkit.sample_mail import message, sample
from testkit.waiting import wait_for

REPLACED = "\ufffd"


def test_mail_with_raw_8bit_headers_nul_and_odd_structure_becomes_readable_tickets(
        database_url, postgres_url, dovecot, services):
    tickets_first = ["utf8_headers", "malformed_8bit_headers", "cp1252_subject", "nul_quoted_printable",
                     "nul_base64", "boundary_unquoted", "boundary_mismatch", "forwarded", "signed_alternative",
                     "signed_mixed", "encrypted_smime", "encrypted_pgp", "reused_id_first"]
    last = message(subject="After the hard ones", message_id="<after-hard@example.org>")
    # The bulk mail with a NUL in its Subject first: it used to freeze the mailbox on PostgreSQL.
    names = ["bulk_nul_subject", *tickets_first, "bounce_empty_sender", "reused_id_second"]
    dovecot.append([sample(n) for n in names] + [last])
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, database_url, dovecot)

    wait_for(lambda: last_uid(intake) == len(names) + 1, timeout=SLOW, message="every message handled")
    wait_for(lambda: count_tickets(tickets) == len(tickets_first) + 1, timeout=SLOW, message="every ticket")
    found = {n: ticket(tickets, reference_of(sample(n))) for n in tickets_first}

    def first_message(name):
        return found[name]["messages"][0]

    utf8 = found["utf8_headers"]
    assert (utf8["customer"]["name"], utf8["customer"]["email"], utf8["subject"]) == (
        "Jöhn Doe", "jdöe@mächine.example", "Fatura em duplicado – ação necessária")
    assert found["cp1252_subject"]["subject"] == "Formação cancelada"
    assert first_message("cp1252_subject")["body"] == "A formação de março foi cancelada sem aviso."
    assert found["malformed_8bit_headers"]["subject"].startswith("Reclamação ")
    assert found["nul_quoted_printable"]["subject"] == f"Refund{REPLACED} please"
    assert first_message("nul_quoted_printable")["body"] == f"My refund{REPLACED} for order 12 never came."
    assert found["nul_base64"]["customer"]["name"] == f"Nuno{REPLACED} Dias"
    assert first_message("nul_base64")["body"] == f"The router{REPLACED} drops every evening."
    assert "replaced by U+FFFD in: body, sender name" in " ".join(
        first_message("nul_base64")["extras"]["email"]["notes"])
    assert first_message("boundary_unquoted")["body"] == "A encomenda 5521 chegou partida."
    assert first_message("boundary_mismatch")["body"] == "The invoice charges me for two months."
    forwarded = first_message("forwarded")["body"]
    assert "---------- Forwarded message ----------\nFrom: Shop <orders@shop.example>" in forwarded
    assert forwarded.endswith("Your order 9090 was cancelled because the card was refused.")
    assert first_message("signed_alternative")["body"] == "The meter reading on my bill is wrong."
    assert first_message("signed_mixed")["body"] == "The scan of the damaged box is attached."
    for name, part in (("encrypted_smime", "smime.p7m"), ("encrypted_pgp", "encrypted-message.asc")):
        assert first_message(name)["body"].startswith("[This message is encrypted"), name
        assert [a["filename"] for a in first_message(name)["attachments"]] == [part]

    # The same Message-ID with other content, from the same sender: a second message on the first's ticket.
    reused = wait_for(lambda: (t := ticket(tickets, reference_of(sample("reused_id_first"))))
                      and len(t["messages"]) == 2 and t, timeout=SLOW, message="the follow-up on the ticket")
    assert [m["body"] for m in reused["messages"]] == [
        "My internet has been down since Monday.", "Still down today, and the technician never came."]
    assert reused["messages"][1]["threaded_via"] == "verified_reference"
    assert metric(intake, "complaints_email_reused_message_ids_total", mailbox="support-inbox") == 1
    assert ticket(tickets, reference_of(last)) is not None

    skipped = api.get(f"{intake.url}/skipped", timeout=5).json()["items"]
    assert sorted((s["reason"], s["subject"], s["detail"]) for s in skipped) == [
        ("bounce", "Delivery failure", "null sender address (From: MAILER DAEMON <>)"),
        ("bulk", f"Weekly{REPLACED} offers", "Precedence: bulk")]
    assert mailbox_status(intake)["handled"] == {"ingested": len(tickets_first) + 2, "skipped": 2}
    assert api.get(f"{intake.url}/quarantine", timeout=5).json()["total"] == 0
    assert api.get(f"{intake.url}/health/ready", timeout=10).status_code == 200


def test_a_message_whose_outcome_the_database_refuses_is_quarantined_and_the_mailbox_goes_on(
        database_url, postgres_url, dovecot, services):
    # A database that refuses one message's skip record, whatever the reason
    # (here a trigger; in the field, text it cannot hold).
    migrate.upgrade(database_url)
    refuse_poison(database_url)
    poison = message(sender="News <news@shop.example>", subject="poison offers", message_id="<poison@shop.example>",
                     headers={"Precedence": "bulk"})
    after = message(subject="Right after the poison", message_id="<after-poison@example.org>")
    dovecot.append([poison, after])
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, database_url, dovecot)

    wait_for(lambda: ticket(tickets, reference_of(after)), timeout=SLOW, message="the next message's ticket")
    [item] = api.get(f"{intake.url}/quarantine", timeout=5).json()["items"]
    assert item["uid"] == 1 and item["reason"].startswith("its outcome could not be stored: ")
    assert "refused by a test trigger" in item["reason"]
    assert api.get(f"{intake.url}{item['raw_url']}", timeout=5).content == poison
    assert mailbox_status(intake)["handled"] == {"quarantined": 1, "ingested": 1}
    assert metric(intake, "complaints_email_poll_errors_total", mailbox="support-inbox") == 0
    errors = [line for line in intake.log().splitlines() if " ERROR " in line]
    assert errors and "uid 1: its outcome could not be stored" in errors[0]


def refuse_poison(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON intake_email_skipped "
                              "WHEN NEW.subject LIKE '%poison%' "
                              "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                              "IF NEW.subject LIKE '%poison%' THEN RAISE EXCEPTION 'refused by a test trigger'; "
                              "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON intake_email_skipped "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"))
    engine.dispose()


def test_a_reused_message_id_from_another_sender_is_a_ticket_of_its_own_that_says_why(
        postgres_url, dovecot, services, tmp_path):
    first = sample("reused_id_first")
    stranger = sample("reused_id_second").replace(b"From: Hugo <hugo@example.org>",
                                                     b"From: Ines <ines@example.org>")
    dovecot.append([first, stranger])
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, f"sqlite:///{tmp_path / 'email.db'}", dovecot)
    wait_for(lambda: count_tickets(tickets) == 2, timeout=SLOW, message="two tickets")
    wait_for(lambda: last_uid(intake) == 2, timeout=SLOW, message="both handled")
    found = api.get(f"{tickets.url}/tickets", params={"customer": "ines@example.org"}, timeout=5).json()
    [theirs] = found["items"]
    [msg] = ticket(tickets, theirs["reference"])["messages"]
    assert msg["body"] == "Still down today, and the technician never came."
    assert any("earlier message from another sender: filed on its own" in n for n in msg["extras"]["email"]["notes"])
    assert len(ticket(tickets, reference_of(first))["messages"]) == 1
    assert mailbox_status(intake)["handled"] == {"ingested": 2}
