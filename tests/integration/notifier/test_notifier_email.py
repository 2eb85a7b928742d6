"""Email as the notifier sends it, against a real SMTP server (aiosmtpd) with
login: plain, STARTTLS and implicit TLS with a private CA, refusals and bad
credentials as errors the sender loop retries."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from services.notifier import email_out
from services.notifier.settings import Smtp
from testkit.ports import free_port
from testkit.smtp_server import PASSWORD, USER, self_signed, start_smtp

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


def message(to="ana@example.org"):
    return email_out.build(to, "[C-2VVFXBBXSS] We received your complaint", "Thank you.",
                           {"Message-ID": "<ack-1@complaints.localhost>", "In-Reply-To": "<m1@mail.example.org>",
                            "References": "<m1@mail.example.org>", "Auto-Submitted": "auto-replied"})


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_mail_is_delivered_with_login_over_each_kind_of_connection(security, cert):
    port = free_port()
    controller, sink = start_smtp(port, security, cert)
    try:
        config = Smtp("127.0.0.1", port, security, USER, PASSWORD, 10, cert[0] if security != "none" else None)
        assert email_out.send(config, message()) == "<ack-1@complaints.localhost>"
    finally:
        controller.stop()
    (got,) = sink.received
    assert got.login == USER and got.rcpt_tos == ["ana@example.org"]
    mail = got.message
    assert mail["Message-ID"] == "<ack-1@complaints.localhost>" and mail["In-Reply-To"] == "<m1@mail.example.org>"
    assert mail["X-Complaints-System"] == "complaints" and mail["Auto-Submitted"] == "auto-replied"
    assert mail.get_content().strip() == "Thank you."


def test_a_refused_recipient_a_wrong_password_and_an_untrusted_certificate_raise(cert):
    port = free_port()
    controller, sink = start_smtp(port, "starttls", cert)
    sink.refuse.add("gone@example.org")
    good = Smtp("127.0.0.1", port, "starttls", USER, PASSWORD, 10, cert[0])
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            email_out.send(good, message("gone@example.org"))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            email_out.send(Smtp("127.0.0.1", port, "starttls", USER, "wrong", 10, cert[0]), message())
        with pytest.raises(ssl.SSLCertVerificationError):
            email_out.send(Smtp("127.0.0.1", port, "starttls", USER, PASSWORD, 10, None), message())
    finally:
        controller.stop()
    assert sink.received == [] and sink.refused == ["gone@example.org"]
