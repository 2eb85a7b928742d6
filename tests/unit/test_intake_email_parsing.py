"""The email intake's plain-Python parts: parsing (encodings, charsets,
structure), screening (auto-replies, bounces, own mail), the complaint built
from a message and its stable ids, and the mailbox settings. The same sample
messages go through a real IMAP server in tests/test_intake_email.py."""

from __future__ import annotations

import hashlib
import json

import pytest

from services.common.contract.storable_text import is_storable
from services.intake_email import settings
from services.intake_email.complaint import build_complaint, content_digest, external_id, intake_id_for
from services.intake_email.htmltext import html_to_text
from services.intake_email.parsing import UnusableEmail, decode_text, message_id_of, parse_email
from services.intake_email.screening import skip_reason
from testkit.sample_mail import message, sample

LIMIT = 10 * 1024 * 1024


def parse(raw: bytes, limit=LIMIT):
    return parse_email(raw, limit)


def complaint_of(raw: bytes, mailbox="support", uid=7):
    facts = parse(raw)
    return build_complaint(facts, mailbox=mailbox, folder="INBOX", uid=uid,
                           external=external_id(mailbox, facts.message_id, raw), received_at=None)


# --- bodies and encodings --------------------------------------------------------


@pytest.mark.parametrize("name, subject, body", [
    ("plain", "Charged twice", "I was charged twice for order 1234.\nPlease refund one of the payments."),
    ("multipart_alternative", "Parcel damaged", "The parcel arrived crushed (plain part)."),
    ("base64", "Encomenda", "Olá, a minha encomenda não chegou.\nObrigado."),
    ("quoted_printable", "Service", "Le café était froid et la crème brûlée aussi, ce qui est vraiment "
                                    "inacceptable pour un restaurant de ce prix."),
    ("latin1", "Fatura", "Não recebi a fatura de março."),
    ("koi8r", "Жалоба", "Здравствуйте, мой заказ не пришёл."),
    ("iso2022jp", "注文について", "注文した商品が届きません。"),
    ("encoded_headers", "Reclamação sobre a entrega nº 55", "The headers are encoded words."),
])
def test_each_encoding_gives_the_text_the_customer_wrote(name, subject, body):
    facts = parse(sample(name))
    assert (facts.subject, facts.body) == (subject, body)
    assert facts.notes == ()


def test_an_html_only_message_becomes_readable_text():
    facts = parse(sample("html_only"))
    assert facts.body_from_html
    assert facts.body.startswith('The checkout page says "error 500" & stops.')
    assert "- Step one: add to basket\n- Step two: pay" in facts.body
    assert "the page (https://shop.example.org/checkout)" in facts.body
    assert "alert" not in facts.body and "ignored title" not in facts.body and "color" not in facts.body


def test_an_unknown_charset_still_gives_readable_text_and_says_so():
    facts = parse(sample("unknown_charset"))
    assert facts.body == "My old mail client labels everything oddly. Café order 77 is late."
    assert facts.notes == ("unknown charset 'x-martian-7': decoded as detected utf-8",)


def test_mislabelled_and_undecodable_bytes_are_replaced_not_fatal():
    notes: list[str] = []
    assert decode_text("smart “quotes”".encode("cp1252"), "iso-8859-1", notes) == "smart “quotes”"
    assert decode_text("naïve".encode(), "us-ascii", notes) == "naïve"   # ASCII label, UTF-8 bytes
    assert notes == []
    assert decode_text(b"bad \xff\xfe", "utf-8", notes) == "bad \ufffd\ufffd"
    assert notes == ["bytes not valid in charset 'utf-8' were replaced"]
    assert decode_text(b"rot", "rot13", []) == "rot"   # a codec that is not a text encoding


def test_the_sender_is_the_customer_with_the_display_name_decoded():
    facts = parse(sample("encoded_headers"))
    assert (facts.sender_name, facts.sender_email) == ("José Gonçalves", "jose@example.pt")
    c = complaint_of(sample("encoded_headers"))
    assert (c.customer.name, c.customer.email, c.channel) == ("José Gonçalves", "jose@example.pt", "email")


def test_missing_subject_and_missing_message_id():
    no_subject = complaint_of(sample("no_subject"))
    assert no_subject.subject == "" and no_subject.body.startswith("No subject line at all")
    raw = sample("no_message_id")
    facts = parse(raw)
    assert facts.message_id is None and message_id_of(raw) is None
    c = complaint_of(raw)
    assert c.external_id == "support|sha256:" + hashlib.sha256(raw).hexdigest()
    assert c.threading.message_id is None


def test_attachments_keep_name_type_size_and_hash():
    facts = parse(sample("attachments"))
    assert facts.body == "The invoice and a photo of the damage are attached."
    pdf, png = facts.attachments
    assert (pdf.filename, pdf.content_type, pdf.size) == ("invoice-1234.pdf", "application/pdf", 69)
    assert pdf.sha256 == hashlib.sha256(
        b"%PDF-1.4\n% complaint evidence\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").hexdigest()
    assert (png.filename, png.content_type, png.size) == ("dano-na-caixão.png", "image/png", 70)
    c = complaint_of(sample("attachments"))
    assert [a.filename for a in c.attachments] == ["invoice-1234.pdf", "dano-na-caixão.png"]


def test_an_attachment_over_the_limit_is_listed_without_its_hash():
    facts = parse(sample("attachments"), limit=69)
    pdf, png = facts.attachments
    assert pdf.sha256 is not None and png.sha256 is None and png.size == 70
    assert any("over the 69-byte limit" in n for n in facts.notes)


def test_a_forwarded_message_is_shown_in_the_body_and_kept_as_an_attachment_named_after_its_subject():
    inner = message(subject="Original order", body="inner text").decode()
    raw = ("From: ana@example.org\r\nSubject: Fwd\r\nMessage-ID: <fwd@example.org>\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
           f"See below.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--b--\r\n").encode()
    facts = parse(raw)
    assert facts.body == ("See below.\n\n---------- Forwarded message ----------\nFrom: Ana Lima <ana@example.org>\n"
                          "Subject: Original order\nTo: support@complaints.localhost\n\ninner text")
    [forwarded] = facts.attachments
    assert forwarded.filename == "Original order.eml" and forwarded.content_type == "message/rfc822"
    assert forwarded.size > 0


# --- text the database would refuse, words that went missing (tests/data/email) -------


def test_raw_utf8_headers_are_read_as_the_utf8_they_are():
    facts = parse(sample("utf8_headers"))
    assert (facts.sender_name, facts.sender_email) == ("Jöhn Doe", "jdöe@mächine.example")
    assert facts.subject == "Fatura em duplicado – ação necessária"
    assert facts.message_id == "<utf8-headers-1@mächine.example>" and facts.notes == ()


def test_a_raw_cp1252_subject_is_read_with_the_detector_bodies_use():
    facts = parse(sample("cp1252_subject"))
    assert facts.subject == "Formação cancelada"
    assert facts.body == "A formação de março foi cancelada sem aviso."    # no charset declared either
    assert facts.notes == ("header text in no declared charset: decoded as detected cp1252",)


def test_malformed_8bit_headers_still_give_storable_readable_text():
    facts = parse(sample("malformed_8bit_headers"))
    assert facts.subject.startswith("Reclamação ") and facts.subject.endswith(" fatura ÿþ 77")
    assert facts.sender_name == "Maria Gonçalves" and is_storable(facts.subject)


@pytest.mark.parametrize("name, field, text, where", [
    ("nul_quoted_printable", "body", "My refund\ufffd for order 12 never came.", "subject, body"),
    ("nul_quoted_printable", "subject", "Refund\ufffd please", "subject, body"),
    ("nul_base64", "body", "The router\ufffd drops every evening.", "body, sender name"),
    ("nul_base64", "sender_name", "Nuno\ufffd Dias", "body, sender name"),
])
def test_a_nul_in_an_encoded_body_subject_or_name_is_replaced_and_noted(name, field, text, where):
    facts = parse(sample(name))
    assert getattr(facts, field) == text
    assert f"characters no database can store (NUL) replaced by U+FFFD in: {where}" in facts.notes


@pytest.mark.parametrize("name, body, attachments", [
    ("boundary_unquoted", "A encomenda 5521 chegou partida.", []),
    ("boundary_mismatch", "The invoice charges me for two months.", ["invoice.pdf"]),
])
def test_an_unquoted_or_lost_boundary_is_recovered(name, body, attachments):
    facts = parse(sample(name))
    assert facts.body == body
    assert [a.filename for a in facts.attachments] == attachments


def test_a_forwarded_message_shows_its_sender_date_subject_and_text():
    facts = parse(sample("forwarded"))
    assert facts.body == (
        "See what the shop answered me.\n\n"
        "---------- Forwarded message ----------\n"
        "From: Shop <orders@shop.example>\nDate: Fri, 31 Oct 2025 18:00:00 +0000\n"
        "Subject: Your order 9090\nTo: Carla Mendes <carla@example.org>\n\n"
        "Your order 9090 was cancelled because the card was refused.")
    assert [(a.filename, a.content_type) for a in facts.attachments] == [("Your order 9090.eml", "message/rfc822")]


@pytest.mark.parametrize("name, body, attachments", [
    ("signed_alternative", "The meter reading on my bill is wrong.", ["smime.p7s"]),
    ("signed_mixed", "The scan of the damaged box is attached.", ["box.png", "signature.asc"]),
])
def test_a_signed_message_shows_its_signed_content(name, body, attachments):
    facts = parse(sample(name))
    assert facts.body == body and [a.filename for a in facts.attachments] == attachments


@pytest.mark.parametrize("name, scheme, filename, content_type", [
    ("encrypted_smime", "S/MIME", "smime.p7m", "application/pkcs7-mime"),
    ("encrypted_pgp", "PGP/MIME", "encrypted-message.asc", "multipart/encrypted"),
])
def test_encrypted_mail_says_so_and_keeps_the_encrypted_part_whole(name, scheme, filename, content_type):
    raw = sample(name)
    facts = parse(raw)
    assert facts.body.startswith(f"[This message is encrypted ({scheme}): the intake cannot read it.")
    [part] = facts.attachments
    assert (part.filename, part.content_type) == (filename, content_type) and part.size > 0
    assert complaint_of(raw).attachments[0].sha256 == part.sha256


def test_a_bounce_from_the_null_sender_is_skipped_as_a_bounce():
    skip = skip_reason(parse(sample("bounce_empty_sender")))
    assert (skip.reason, skip.detail) == ("bounce", "null sender address (From: MAILER DAEMON <>)")


def test_two_deliveries_of_one_message_have_one_content_digest_and_an_edited_resend_another():
    first, second = sample("reused_id_first"), sample("reused_id_second")
    relayed = b"Received: from mx2.example.org\r\n" + first.replace(b"\r\n", b"\n")
    assert content_digest(first) == content_digest(relayed) != content_digest(second)
    assert message_id_of(first) == message_id_of(second) == "<same-id@broken-client.example>"


def test_ids_with_raw_8bit_bytes_or_nul_are_spelled_storably_and_the_same_every_time():
    raw = b"From: a@example.org\r\nMessage-ID: <caf\xe9\x00@example.org>\r\n\r\nhi\r\n"
    assert message_id_of(raw) == parse(raw).message_id == "<caf\\xe9\\x00@example.org>"


# --- what cannot be a complaint ---------------------------------------------------


@pytest.mark.parametrize("raw, reason", [
    (sample("malformed"), "not an email: no header lines"),
    (b"", "empty message"),
    (b"Subject: no sender\r\n\r\nbody\r\n", "no sender address"),
    (b"From: nobody-at-all\r\nSubject: x\r\n\r\nbody\r\n", "no sender address"),
])
def test_a_message_that_cannot_be_a_complaint_says_why(raw, reason):
    # The sender is required of a complaint, not of a message: a bounce from <> is screened first.
    with pytest.raises(UnusableEmail, match=reason):
        complaint_of(raw)


def test_an_empty_message_is_refused_when_it_is_built():
    with pytest.raises(UnusableEmail, match="empty"):
        complaint_of(b"From: ana@example.org\r\nMessage-ID: <e@x.org>\r\n\r\n\r\n")


def test_a_message_with_only_a_subject_is_still_a_complaint():
    c = complaint_of(message(subject="Refund for order 99 please", body=""))
    assert c.subject == "Refund for order 99 please" and c.body == ""


@pytest.mark.parametrize("name, reason, detail", [
    ("auto_reply", "auto_reply", "Auto-Submitted: auto-replied"),
    ("bounce", "bounce", "from mailer-daemon@mx.example.net"),
    ("own_mail", "own_mail", "X-Complaints-System: complaints"),
])
def test_what_is_not_a_complaint_is_recognised(name, reason, detail):
    skip = skip_reason(parse(sample(name)))
    assert (skip.reason, skip.detail) == (reason, detail)


@pytest.mark.parametrize("headers, sender, reason", [
    ({"X-Autoreply": "yes"}, "kim@example.org", "auto_reply"),
    ({"Precedence": "auto_reply"}, "kim@example.org", "auto_reply"),
    ({"Precedence": "bulk"}, "news@example.org", "bulk"),
    ({"Precedence": "list"}, "list@example.org", "bulk"),
    ({"Return-Path": "<>"}, "kim@example.org", "auto_reply"),
    ({"X-Failed-Recipients": "x@example.org"}, "postmaster@example.org", "bounce"),
    ({}, "support@complaints.localhost", "own_mail"),
    ({"X-Complaints-System": "another-installation"}, "ana@example.org", None),
    ({"Auto-Submitted": "no"}, "ana@example.org", None),
    ({}, "ana@example.org", None),
])
def test_screening_headers(headers, sender, reason):
    skip = skip_reason(parse(message(sender=sender, headers=headers)))
    assert (skip.reason if skip else None) == reason


def test_a_delivery_report_without_mailer_daemon_is_a_bounce():
    raw = sample("bounce").replace(b"MAILER-DAEMON@mx.example.net", b"postmaster@mx.example.net")
    assert skip_reason(parse(raw)).reason == "bounce"


# --- ids and threading ----------------------------------------------------------------


def test_the_same_message_is_always_the_same_complaint():
    first, again = complaint_of(sample("plain")), complaint_of(sample("plain"))
    assert first.external_id == again.external_id == "support|<plain-1@example.org>"
    assert first.intake_id == again.intake_id == intake_id_for("support|<plain-1@example.org>")
    assert first.reference == again.reference
    # The same message in another mailbox is another complaint (dedup is per mailbox).
    assert complaint_of(sample("plain"), mailbox="billing").intake_id != first.intake_id


def test_threading_hints_come_from_the_headers_and_the_reference_is_not_trusted():
    raw = message(subject="Re: [C-7K3M9QX2AB] Charged twice", message_id="<r2@example.org>",
                  headers={"In-Reply-To": "<ack-1@complaints.localhost>",
                           "References": "<plain-1@example.org>\r\n <ack-1@complaints.localhost>"})
    c = complaint_of(raw)
    assert c.threading.in_reply_to == "<ack-1@complaints.localhost>"
    assert c.threading.references == ("<plain-1@example.org>", "<ack-1@complaints.localhost>")
    assert c.threading.message_id == "<r2@example.org>"
    assert c.threading.ticket_reference is None   # tickets checks the sender before trusting it


def test_message_ids_without_brackets_are_normalised_and_huge_ones_stay_short():
    assert message_id_of(b"Message-ID: abc@example.org\r\n\r\n") == "<abc@example.org>"
    huge = "<" + "x" * 900 + "@example.org>"
    eid = external_id("support", huge, b"")
    assert len(eid) <= 500 and eid.startswith("support|sha256-id:")


def test_a_long_body_and_subject_are_cut_to_the_contract_limits():
    c = complaint_of(message(subject="s" * 400, body="b" * 150_000))
    assert len(c.subject) == 300 and len(c.body) == 100_000 and c.body.endswith("truncated by the email intake]")


def test_html_to_text_keeps_paragraphs_apart():
    assert html_to_text("<p>one</p><p>two<br>three</p>") == "one\n\ntwo\nthree"


# --- settings ----------------------------------------------------------------------


def test_mailboxes_from_json_with_defaults_and_a_password_by_reference(monkeypatch):
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", "s3cret")
    boxes = settings.parse_mailboxes(json.dumps([
        {"host": "imap.example.org", "user": "support", "password_env": "SUPPORT_IMAP_PASSWORD"},
        {"name": "billing", "host": "mail.example.org", "security": "starttls", "user": "b", "password": "p",
         "folder": "Complaints", "processed_flag": "$Filed", "move_to": "Done", "idle": False},
    ]))
    assert boxes[0].name == "support@imap.example.org/INBOX" and boxes[0].port == 993
    assert boxes[0].password == "s3cret" and "s3cret" not in repr(boxes[0]) and "password" not in boxes[0].describe()
    assert (boxes[1].port, boxes[1].folder, boxes[1].move_to, boxes[1].idle) == (143, "Complaints", "Done", False)


def test_mailboxes_from_a_file(tmp_path, monkeypatch):
    path = tmp_path / "mailboxes.json"
    path.write_text(json.dumps({"mailboxes": [{"host": "h", "user": "u", "password": "p", "security": "none"}]}))
    monkeypatch.delenv("EMAIL_MAILBOXES", raising=False)
    monkeypatch.setenv("EMAIL_MAILBOXES_FILE", str(path))
    [box] = settings.mailboxes()
    assert (box.host, box.port, box.security) == ("h", 143, "none")


def test_no_mailbox_configured_is_an_empty_list(monkeypatch):
    monkeypatch.delenv("EMAIL_MAILBOXES", raising=False)
    monkeypatch.delenv("EMAIL_MAILBOXES_FILE", raising=False)
    assert settings.mailboxes() == []


@pytest.mark.parametrize("config, error", [
    ("not json", "not valid JSON"),
    ('[{"user": "u", "password": "p"}]', r"\[0\]\.host: required"),
    ('[{"host": "h", "user": "u", "password": "p", "security": "ssl"}]', r"\[0\]\.security: 'ssl' is not one"),
    ('[{"host": "h", "user": "u"}]', r"\[0\]\.password: required"),
    ('[{"host": "h", "user": "u", "password": "p", "port": "143"}]', r"\[0\]\.port"),
    ('[{"host": "h", "user": "u", "password": "p", "pasword": "x"}]', "unknown field"),
    ('[{"host": "h", "user": "u", "password": "p"}, {"host": "h", "user": "u", "password": "q"}]',
     "names must be unique"),
])
def test_a_bad_mailbox_configuration_names_the_problem(config, error):
    with pytest.raises(settings.SettingsError, match=error):
        settings.parse_mailboxes(config)
