"""The email intake as it runs: its own process reading a real Dovecot
(testkit/imap_server.py), publishing to a real RabbitMQ vhost, with the real
tickets service turning complaints into tickets on SQLite or PostgreSQL.
What the tests look at is what a user sees: tickets through the tickets API,
the intake's /mailboxes, /quarantine, /skipped, /metrics and health."""

from __future__ import annotations

import base64
import json
import signal

import pytest

from services.common.contract.complaint import ComplaintReceived
from services.common.messaging import topology
from services.common.messaging.publisher import ComplaintPublisher
from services.intake_email.complaint import build_complaint, external_id
from services.intake_email.parsing import parse_email
from testkit import api
from testkit.email_intake import (
    SLOW,
    count_tickets,
    email_tickets,
    last_uid,
    mailbox_status,
    metric,
    reference_of,
    start_intake,
    start_tickets,
    ticket,
)
from testkit.imap_server import Dovecot
from testkit.sample_mail import message, sample
from testkit.waiting import wait_for

COMPLAINTS = ["plain", "multipart_alternative", "html_only", "base64", "quoted_printable", "latin1", "koi8r",
              "iso2022jp", "unknown_charset", "encoded_headers", "no_subject", "no_message_id", "attachments"]
NOT_COMPLAINTS = {"auto_reply": "auto_reply", "bounce": "bounce", "own_mail": "own_mail"}
# --- every kind of message, on SQLite and PostgreSQL ----------------------------------


def test_a_mailbox_of_every_kind_of_message_drains_into_tickets(database_url, postgres_url, dovecot, services):
    after_malformed = message(sender="Lia <lia@example.org>", subject="After the broken one",
                              body="Polling goes on after a malformed message.", message_id="<after-1@example.org>")
    names = COMPLAINTS + list(NOT_COMPLAINTS) + ["malformed"]
    raws = [sample(n) for n in names] + [after_malformed]
    dovecot.append(raws)
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, database_url, dovecot)

    wait_for(lambda: count_tickets(tickets) == len(COMPLAINTS) + 1, timeout=SLOW, message="every complaint a ticket")
    wait_for(lambda: last_uid(intake) == len(raws), timeout=SLOW, message="the checkpoint at the last message")

    expected = {
        "plain": ("Charged twice", "I was charged twice for order 1234.\nPlease refund one of the payments.",
                  "ana@example.org", "Ana Lima"),
        "multipart_alternative": ("Parcel damaged", "The parcel arrived crushed (plain part).",
                                  "bruno@example.org", "Bruno Reis"),
        "base64": ("Encomenda", "Olá, a minha encomenda não chegou.\nObrigado.", "daniela@example.pt",
                   "Daniela Sousa"),
        "latin1": ("Fatura", "Não recebi a fatura de março.", "filipa@example.pt", "Filipa"),
        "koi8r": ("Жалоба", "Здравствуйте, мой заказ не пришёл.", "ivan@example.ru", "Ivan"),
        "iso2022jp": ("注文について", "注文した商品が届きません。", "yuki@example.jp", "Yuki"),
        "unknown_charset": ("Strange client", "My old mail client labels everything oddly. Café order 77 is late.",
                            "gil@example.org", "Gil"),
        "encoded_headers": ("Reclamação sobre a entrega nº 55", "The headers are encoded words.",
                            "jose@example.pt", "José Gonçalves"),
        "no_subject": ("", "No subject line at all, but my internet is down since Monday.",
                       "helena@example.org", "Helena"),
        "no_message_id": ("No id here", "My client sends no Message-ID header. The router reset does not work.",
                          "igor@example.org", "Igor"),
    }
    for name, (subject, body, email, person) in expected.items():
        found = ticket(tickets, reference_of(sample(name)))
        assert found is not None, name
        [msg] = found["messages"]
        assert (found["subject"], msg["body"], found["customer"]["email"], found["customer"]["name"]) == \
            (subject, body, email, person), name
        assert found["channel"] == "email"
    qp = ticket(tickets, reference_of(sample("quoted_printable")))["messages"][0]["body"]
    assert qp.startswith("Le café était froid et la crème brûlée aussi")
    html = ticket(tickets, reference_of(sample("html_only")))["messages"][0]
    assert html["body"].startswith('The checkout page says "error 500" & stops.') and "alert" not in html["body"]
    assert ticket(tickets, reference_of(sample("plain")))["messages"][0]["message_id"] == "<plain-1@example.org>"
    attached = ticket(tickets, reference_of(sample("attachments")))["messages"][0]["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in attached] == [
        ("invoice-1234.pdf", "application/pdf", 69), ("dano-na-caixão.png", "image/png", 70)]
    assert all(len(a["sha256"]) == 64 for a in attached)
    assert ticket(tickets, reference_of(after_malformed)) is not None

    # Auto-reply, bounce and our own mail: no ticket, recorded with the reason.
    skipped = api.get(f"{intake.url}/skipped", timeout=5).json()
    assert sorted((s["reason"], s["subject"]) for s in skipped["items"]) == [
        ("auto_reply", "Out of office: Re: your ticket"), ("bounce", "Undelivered Mail Returned to Sender"),
        ("own_mail", "[C-0000000000] We received your complaint")]
    for name, reason in NOT_COMPLAINTS.items():
        assert ticket(tickets, reference_of(sample(name))) is None
        assert metric(intake, "complaints_email_skipped_total", mailbox="support-inbox", reason=reason) == 1

    # The malformed message: quarantined with its bytes and the reason, visibly.
    quarantined = api.get(f"{intake.url}/quarantine", timeout=5).json()
    [item] = quarantined["items"]
    assert item["reason"] == "not an email: no header lines" and item["uid"] == names.index("malformed") + 1
    assert "raw_base64" not in item
    raw = api.get(f"{intake.url}{item['raw_url']}", timeout=5)
    assert raw.content == sample("malformed") and raw.headers["Content-Type"] == "message/rfc822"

    box = "support-inbox"
    assert metric(intake, "complaints_email_messages_seen_total", mailbox=box) == len(raws)
    assert metric(intake, "complaints_email_ingested_total", mailbox=box) == len(COMPLAINTS) + 1
    assert metric(intake, "complaints_email_quarantined_total", mailbox=box) == 1
    assert metric(intake, "complaints_email_lag_seconds", mailbox=box) == 0
    status = mailbox_status(intake)
    assert (status["state"], status["mode"], status["handled"]) == (
        "connected", "idle", {"ingested": len(COMPLAINTS) + 1, "skipped": 3, "quarantined": 1})
    assert api.get(f"{intake.url}/health/ready", timeout=10).status_code == 200
    # Reading marked nothing as read, and the password never reached the log.
    assert all(b"\\Seen" not in flags for flags in dovecot.flags().values())
    assert dovecot.password not in intake.log()


# --- threading ----------------------------------------------------------------------------


def test_replies_land_on_their_ticket(postgres_url, dovecot, services, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, url, dovecot)
    original = message(subject="Router broken", body="The router reboots every hour.",
                       message_id="<orig-1@example.org>")
    dovecot.append([original])
    ref = reference_of(original)
    wait_for(lambda: ticket(tickets, ref), timeout=SLOW, message="the original's ticket")

    by_header = message(subject="Re: Router broken", body="It happened again at 10:00.",
                        message_id="<reply-1@example.org>", headers={"In-Reply-To": "<orig-1@example.org>",
                                                                     "References": "<orig-1@example.org>"})
    by_subject = message(subject=f"More about {ref}", body="Now it reboots every ten minutes.",
                         message_id="<reply-2@example.org>")
    stranger = message(sender="Mallory <mallory@example.net>", subject=f"About {ref}",
                       body="Please add this to that ticket.", message_id="<stranger-1@example.net>")
    dovecot.append([by_header, by_subject, stranger])
    wait_for(lambda: last_uid(intake) == 4, timeout=SLOW, message="all four handled")
    found = wait_for(lambda: (t := ticket(tickets, ref)) and len(t["messages"]) == 3 and t, timeout=SLOW,
                     message="both replies on the ticket")
    # The tickets service takes the two replies on concurrent workers: either may be stored first.
    assert sorted((m["threaded_via"], m["body"]) for m in found["messages"][1:]) == [
        ("in_reply_to", "It happened again at 10:00."), ("reference_in_text", "Now it reboots every ten minutes.")]
    # A stranger quoting the reference gets a ticket of their own.
    wait_for(lambda: count_tickets(tickets) == 2, timeout=SLOW, message="the stranger's ticket")
    assert ticket(tickets, reference_of(stranger))["customer"]["email"] == "mallory@example.net"


# --- crashes, drops, renumbering -------------------------------------------------------------


def test_killed_mid_batch_and_restarted_every_message_is_one_ticket(postgres_url, dovecot, services, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    total = 250   # enough that the kill lands mid-way even when this test process is slow to look
    dovecot.append([message(sender=f"Customer {i} <c{i}@example.org>", subject=f"Complaint {i}",
                            body=f"Complaint number {i}.", message_id=f"<load-{i}@example.org>")
                    for i in range(total)])
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, url, dovecot, EMAIL_BATCH_SIZE="5")
    at_kill = wait_for(lambda: (n := last_uid(intake)) >= 10 and n, timeout=SLOW, message="ingestion under way")
    intake.stop(sig=signal.SIGKILL)
    assert at_kill < total, "the batch finished before the kill; the test needs more messages"

    intake = start_intake(services, url, dovecot, EMAIL_BATCH_SIZE="5")
    wait_for(lambda: last_uid(intake) == total, timeout=SLOW * 2, message="the rest after the restart")
    wait_for(lambda: count_tickets(tickets) == total, timeout=SLOW, message="every message a ticket")
    found = email_tickets(tickets)
    assert sorted(t["subject"] for t in found) == sorted(f"Complaint {i}" for i in range(total))
    assert mailbox_status(intake)["handled"] == {"ingested": total}
    # One message per ticket: nothing doubled by the re-read after the kill.
    for t in found[:: max(1, total // 15)]:
        assert len(ticket(tickets, t["reference"])["messages"]) == 1


def test_a_crash_between_the_confirm_and_the_checkpoint_republishes_the_same_complaint(
        postgres_url, dovecot, services, rabbit, tmp_path):
    raw = message(subject="Published, then the power went", message_id="<crash-1@example.org>")
    dovecot.append([raw])
    # What the intake had done before dying: the complaint confirmed by the broker,
    # its checkpoint and ledger row never written.
    facts = parse_email(raw, 10_000)
    ComplaintPublisher(rabbit.amqp_uri).publish(build_complaint(
        facts, mailbox="support-inbox", folder="INBOX", uid=1, received_at=None,
        external=external_id("support-inbox", facts.message_id, raw)))
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, f"sqlite:///{tmp_path / 'email.db'}", dovecot)
    wait_for(lambda: last_uid(intake) == 1, timeout=SLOW, message="the message read again")
    wait_for(lambda: metric(tickets, "complaints_tickets_messages_total", channel="email", outcome="duplicate") == 1,
             timeout=SLOW, message="the re-published complaint recognised by the tickets service")
    assert count_tickets(tickets) == 1
    assert len(ticket(tickets, reference_of(raw))["messages"]) == 1


def test_a_dropped_connection_reconnects_and_keeps_ingesting(postgres_url, dovecot, services, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, url, dovecot)
    first = message(subject="Before the drop", message_id="<drop-1@example.org>")
    dovecot.append([first])
    wait_for(lambda: ticket(tickets, reference_of(first)), timeout=SLOW, message="the first ticket")

    dovecot.stop()   # every connection drops, and the server is gone for a while
    wait_for(lambda: api.get(f"{intake.url}/health/ready", timeout=10).status_code == 503, timeout=SLOW,
             message="not ready while the mailbox is unreachable")
    assert mailbox_status(intake)["state"] == "disconnected"
    dovecot.restart()
    wait_for(lambda: mailbox_status(intake)["state"] == "connected", timeout=SLOW, message="reconnected")
    second = message(subject="After the drop", message_id="<drop-2@example.org>")
    dovecot.append([second])
    wait_for(lambda: ticket(tickets, reference_of(second)), timeout=SLOW, message="the ticket after the drop")
    assert metric(intake, "complaints_email_poll_errors_total", mailbox="support-inbox") >= 1
    assert api.get(f"{intake.url}/health/ready", timeout=10).status_code == 200
    assert count_tickets(tickets) == 2


def test_a_uidvalidity_reset_rereads_without_duplicates(postgres_url, dovecot, services, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    folder = "Complaints"
    old = [message(subject=f"Old {i}", message_id=f"<old-{i}@example.org>") for i in range(3)]
    old.append(message(subject="Old without id", body="No Message-ID on this one."))
    dovecot.append(old, folder=folder)
    box = dovecot.mailbox(folder)
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, url, dovecot, mailboxes=[box])
    wait_for(lambda: count_tickets(tickets) == 4, timeout=SLOW, message="the first four tickets")
    before = mailbox_status(intake)["checkpoint"]["uidvalidity"]
    intake.stop()
    assert intake.proc.returncode == 0   # SIGTERM: a clean stop

    # The server renumbers the folder (rebuilt, migrated): same messages, new UIDs.
    dovecot.recreate_folder(folder)
    new = message(subject="New after the reset", message_id="<new-1@example.org>")
    dovecot.append([*old, new], folder=folder)
    assert dovecot.uidvalidity(folder) != before

    intake = start_intake(services, url, dovecot, mailboxes=[box])
    wait_for(lambda: last_uid(intake) == 5, timeout=SLOW, message="the renumbered folder read again")
    wait_for(lambda: ticket(tickets, reference_of(new, box["name"])), timeout=SLOW, message="the new one's ticket")
    assert count_tickets(tickets) == 5
    assert metric(intake, "complaints_email_duplicates_total", mailbox=box["name"]) == 4
    assert mailbox_status(intake)["checkpoint"]["uidvalidity"] == dovecot.uidvalidity(folder)
    assert "UIDVALIDITY changed" in intake.log()


# --- flags, moves, polling, several mailboxes ------------------------------------------------------


def test_flagging_and_moving_and_a_failed_move_never_make_a_second_ticket(postgres_url, dovecot, services, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    dovecot.append([message(subject="In the inbox", message_id="<flag-1@example.org>")])
    dovecot.append([message(subject="In the sales folder", message_id="<move-1@example.org>")], folder="Sales")
    dovecot.append([], folder="Filed")
    boxes = [dovecot.mailbox(processed_flag="$Filed", move_to="NoSuchFolder"),       # the move fails
             dovecot.mailbox("Sales", move_to="Filed", idle=False)]                   # polled, moved
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, url, dovecot, mailboxes=boxes)
    wait_for(lambda: count_tickets(tickets) == 2, timeout=SLOW, message="both tickets")
    wait_for(lambda: metric(intake, "complaints_email_mark_errors_total", mailbox="support-inbox") == 1,
             timeout=SLOW, message="the failed move counted")
    [inbox_flags] = dovecot.flags().values()     # still in the inbox (the move failed), but flagged
    assert b"$Filed" in inbox_flags
    wait_for(lambda: len(dovecot.flags("Filed")) == 1, timeout=SLOW, message="the sales message moved")
    assert dovecot.flags("Sales") == {}
    assert [mailbox_status(intake, i)["mode"] for i in (0, 1)] == ["idle", "poll"]

    # Restarted, the inbox message (still there, the move failed) is not read again.
    intake.stop()
    intake = start_intake(services, url, dovecot, mailboxes=boxes)
    dovecot.append([message(subject="Later", message_id="<flag-2@example.org>")])
    wait_for(lambda: count_tickets(tickets) == 3, timeout=SLOW, message="the later message")
    assert metric(intake, "complaints_email_duplicates_total", mailbox="support-inbox") == 0
    assert sorted(t["subject"] for t in email_tickets(tickets)) == ["In the inbox", "In the sales folder", "Later"]


def test_the_checkpoint_waits_for_the_broker(postgres_url, dovecot, services, rabbit, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    dovecot.append([message(subject=f"While the broker is away {i}", message_id=f"<away-{i}@example.org>")
                    for i in range(2)])
    # A vhost that does not exist: every publish fails, so nothing may be recorded as handled.
    broken = rabbit.amqp_uri.rsplit("/", 1)[0] + "/no-such-vhost"
    intake = start_intake(services, url, dovecot, AMQP_URI=broken)
    wait_for(lambda: metric(intake, "complaints_email_poll_errors_total", mailbox="support-inbox") >= 2,
             timeout=SLOW, message="publishes failing")
    assert last_uid(intake) == 0 and mailbox_status(intake)["handled"] == {}
    assert api.get(f"{intake.url}/health/ready", timeout=10).status_code == 503
    intake.stop()

    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, url, dovecot)
    wait_for(lambda: count_tickets(tickets) == 2, timeout=SLOW, message="both tickets once the broker is back")
    assert last_uid(intake) == 2


def test_tls_and_starttls_mailboxes_and_an_untrusted_certificate(postgres_url, services, tmp_path):
    server = Dovecot(tmp_path, tls=True).start()
    try:
        server.append([message(subject="Over STARTTLS", message_id="<tls-1@example.org>")])
        server.append([message(subject="Over TLS", message_id="<tls-2@example.org>")], folder="Secure")
        boxes = [server.mailbox(security="starttls", ca_file=server.ca_file),
                 server.mailbox("Secure", security="tls", port=server.tls_port, ca_file=server.ca_file),
                 server.mailbox(name="untrusted", security="tls", port=server.tls_port)]   # system CAs only
        tickets = start_tickets(services, postgres_url)
        intake = start_intake(services, f"sqlite:///{tmp_path / 'email.db'}", server, mailboxes=boxes)
        wait_for(lambda: count_tickets(tickets) == 2, timeout=SLOW, message="a ticket from each TLS mailbox")
        assert sorted(t["subject"] for t in email_tickets(tickets)) == ["Over STARTTLS", "Over TLS"]
        untrusted = wait_for(lambda: (m := mailbox_status(intake, 2))["last_error"] and m, timeout=SLOW,
                             message="the untrusted server refused")
        assert untrusted["state"] == "disconnected" and "CERTIFICATE_VERIFY_FAILED" in untrusted["last_error"]
        ready = api.get(f"{intake.url}/health/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["mailbox:untrusted"].startswith("failed")
        assert server.password not in intake.log()
    finally:
        server.remove()


def test_a_message_over_the_size_limit_is_quarantined_with_its_headers(postgres_url, dovecot, services, tmp_path):
    big = message(subject="Huge scan", body="x" * 5000, message_id="<big-1@example.org>")
    small = message(subject="Small one", message_id="<small-1@example.org>")
    dovecot.append([big, small])
    tickets = start_tickets(services, postgres_url)
    intake = start_intake(services, f"sqlite:///{tmp_path / 'email.db'}", dovecot, EMAIL_MAX_MESSAGE_BYTES="2000")
    wait_for(lambda: ticket(tickets, reference_of(small)), timeout=SLOW, message="the small one's ticket")
    [item] = api.get(f"{intake.url}/quarantine", params={"raw": "1"}, timeout=5).json()["items"]
    assert item["reason"].startswith(f"too large: {len(big)} bytes") and item["size"] == len(big)
    assert base64.b64decode(item["raw_base64"]) == big.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert ticket(tickets, reference_of(big)) is None and count_tickets(tickets) == 1


def test_without_a_mailbox_it_starts_says_so_and_stays_healthy(services, tmp_path):
    intake = services.start("intake_email", DATABASE_URL=f"sqlite:///{tmp_path / 'email.db'}")
    assert "no mailbox configured" in intake.log()
    assert api.get(f"{intake.url}/health/ready", timeout=10).status_code == 200
    assert api.get(f"{intake.url}/mailboxes", timeout=5).json() == {"mailboxes": []}
    assert "complaints_email_messages_seen_total" in api.get(f"{intake.url}/metrics", timeout=5).text
    intake.stop()
    assert intake.proc.returncode == 0


@pytest.mark.parametrize("config, error", [
    ("not json", "EMAIL_MAILBOXES: not valid JSON"),
    ('[{"host": "h", "user": "u", "password": "hunter2", "security": "ssl"}]', "security: 'ssl' is not one"),
])
def test_a_bad_mailbox_configuration_stops_the_start_with_the_reason(services, tmp_path, config, error):
    with pytest.raises(RuntimeError, match="exited with 2") as failed:
        services.start("intake_email", DATABASE_URL=f"sqlite:///{tmp_path / 'email.db'}", EMAIL_MAILBOXES=config)
    assert error in str(failed.value) and "hunter2" not in str(failed.value)


def test_a_bad_region_map_stops_the_start_with_the_entry_named(services, tmp_path):
    with pytest.raises(RuntimeError, match="exited with 2") as failed:
        services.start("intake_email", DATABASE_URL=f"sqlite:///{tmp_path / 'email.db'}",
                       REGION_BY_EMAIL_DOMAIN="example.pt")
    assert "REGION_BY_EMAIL_DOMAIN: 'example.pt' is not KEY=region" in str(failed.value)


def test_a_mailbox_with_a_region_gives_it_and_one_without_goes_by_the_sender_domain(dovecot, services, rabbit,
                                                                                    tmp_path):
    spanish = message(sender="Ana <ana@example.pt>", subject="Para Espanha", message_id="<es-1@example.pt>")
    other = message(sender="Ana <ana@example.pt>", subject="Anywhere", message_id="<pt-1@example.pt>")
    dovecot.append([spanish])
    dovecot.append([other], folder="Other")
    boxes = [dovecot.mailbox(region="ES"), dovecot.mailbox("Other")]
    start_intake(services, f"sqlite:///{tmp_path / 'email.db'}", dovecot, mailboxes=boxes)

    def published():
        found = rabbit.get_messages(topology.COMPLAINTS_QUEUE, count=10) if rabbit.queue(
            topology.COMPLAINTS_QUEUE) else []
        return len(found) == 2 and [ComplaintReceived.from_dict(json.loads(m["payload"])) for m in found]
    complaints = {c.subject: c for c in wait_for(published, timeout=SLOW, message="both messages published")}

    assert (complaints["Para Espanha"].region, complaints["Para Espanha"].region_source) == \
        ("es", "mailbox support-inbox")
    assert (complaints["Anywhere"].region, complaints["Anywhere"].region_source) == ("pt", "email domain .pt")
    # The region changes no id: the same message in the same mailbox keeps its reference.
    assert complaints["Para Espanha"].reference == reference_of(spanish)
    assert complaints["Anywhere"].reference == reference_of(other, "support-other")
