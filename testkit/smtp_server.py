"""A real SMTP server for tests (aiosmtpd) on a free port: AUTH LOGIN/PLAIN
required, plain or STARTTLS or implicit TLS, every accepted message recorded,
chosen recipients refused (550)."""

from __future__ import annotations

import ssl
import subprocess
import threading
import warnings
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "notifier", "s3cret-smtp"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class SmtpSink:
    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            with self.lock:
                self.refused.append(address)
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received if address in r.rcpt_tos]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 signed by nobody (clients trust it as their CA file)."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


def start_smtp(port: int, security: str = "none", cert: tuple[str, str] | None = None
               ) -> tuple[Controller, SmtpSink]:
    """security: none (plain, AUTH allowed without TLS), starttls (STARTTLS required
    before AUTH), tls (implicit TLS from the first byte); the last two need cert."""
    sink = SmtpSink()
    # aiosmtpd only counts STARTTLS as TLS for AUTH; an implicit-TLS socket is encrypted anyway.
    options: dict = {"auth_required": True, "auth_require_tls": security == "starttls"}
    if security != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        options.update({"tls_context": context, "require_starttls": True} if security == "starttls"
                       else {"ssl_context": context})
    with warnings.catch_warnings():  # plain AUTH on loopback is what the plain variant is for
        warnings.simplefilter("ignore")
        controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=_authenticator, **options)
        controller.start()
    return controller, sink


def smtp_env(port: int, security: str = "none", ca_file: str | None = None) -> dict[str, str]:
    """The notifier's settings for this server."""
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": security, "SMTP_USER": USER,
            "SMTP_PASSWORD": PASSWORD, **({"SMTP_CA_FILE": ca_file} if ca_file else {})}
