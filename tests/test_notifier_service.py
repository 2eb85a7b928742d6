"""The notifier as it runs: its own process on a real RabbitMQ vhost, with the
tickets service (and the router where assignments matter), a real SMTP server
with login (aiosmtpd) and a local stand-in for Twilio's REST API reached through
the twilio client's pluggable http client."""

from __future__ import annotations

import uuid

import pytest
import requests
from conftest import free_port, wait_for
from fake_twilio import FakeTwilio
from smtp_support import smtp_env, start_smtp

from services.common.contract import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.publisher import ComplaintPublisher
from services.common.reference import tracking_token

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

FAST = {"NOTIFIER_SEND_INTERVAL_SECONDS": "0.2", "NOTIFIER_RETRY_BASE_SECONDS": "0.2",
        "NOTIFIER_RETRY_CAP_SECONDS": "1", "NOTIFIER_MAX_ATTEMPTS": "3", "NOTIFIER_SCHEDULE_SECONDS": "0.5",
        "NOTIFIER_CATCHUP_SECONDS": "2", "RPC_TIMEOUT_SECONDS": "5"}


@pytest.fixture
def smtp():
    port = free_port()
    controller, sink = start_smtp(port)
    sink.port = port
    yield sink
    controller.stop()


@pytest.fixture
def twilio():
    fake = FakeTwilio(free_port()).start()
    yield fake
    fake.stop()


class System:
    def __init__(self, services, tmp_path, smtp, twilio):
        self.services, self.tmp_path, self.smtp, self.twilio = services, tmp_path, smtp, twilio
        self.tickets = self.router = self.notifier = None

    def db(self, name):
        return f"sqlite:///{self.tmp_path / (name + '.db')}"

    def start_tickets(self):
        self.tickets = self.services.start("tickets", DATABASE_URL=self.db("tickets"))
        return self

    def start_router(self, agents=()):
        self.router = self.services.start("router", DATABASE_URL=self.db("router"), ROUTER_SWEEP_SECONDS="0.5")
        for agent in agents:
            requests.put(f"{self.router.url}/agents/{agent['name']}", json=agent, timeout=10).raise_for_status()
        return self

    def start_notifier(self, database_url=None, **env):
        self.notifier = self.services.start("notifier", DATABASE_URL=database_url or self.db("notifier"),
                                            **smtp_env(self.smtp.port), **self.twilio.env(), **FAST, **env)
        return self

    def publish(self, **overrides) -> ComplaintReceived:
        c = complaint(**overrides)
        ComplaintPublisher(self.services_amqp).publish(c)
        return c

    def ticket(self, reference):
        resp = requests.get(f"{self.tickets.url}/tickets/{reference}", timeout=5)
        return resp.json() if resp.status_code == 200 else None

    def notifications(self, **params):
        return requests.get(f"{self.notifier.url}/notifications", params=params, timeout=5).json()["items"]

    def metrics(self):
        return requests.get(f"{self.notifier.url}/metrics", timeout=5).text


@pytest.fixture
def system(services, rabbit, tmp_path, smtp, twilio):
    s = System(services, tmp_path, smtp, twilio)
    s.services_amqp = rabbit.amqp_uri
    return s


def complaint(**overrides) -> ComplaintReceived:
    data = {"schema_version": 1, "intake_id": new_intake_id(), "channel": "email", "received_at": utc_now_iso(),
            "customer": {"name": "Ana", "email": "ana@example.org"}, "subject": "Charged twice",
            "body": "I was charged twice for order 1234.", "category": "billing"}
    if overrides.get("channel", "email") == "email":
        data["threading"] = {"message_id": f"<{uuid.uuid4()}@mail.example.org>"}
    data["external_id"] = overrides.pop("external_id", data["intake_id"])
    data.update(overrides)
    return ComplaintReceived.from_dict(data)


def one_mail(smtp, address, subject_part, timeout=20):
    return wait_for(lambda: [m for m in smtp.to(address) if subject_part in m["Subject"]], timeout=timeout,
                    message=f"mail to {address} about {subject_part!r}")[0]


# --- acknowledgements -------------------------------------------------------------


def test_each_customer_is_acknowledged_on_their_own_channel(system):
    system.start_tickets().start_notifier(PUBLIC_BASE_URL="https://complaints.example")
    by_email = system.publish(customer={"name": "Ana", "email": "ana@example.org"})
    by_whatsapp = system.publish(channel="whatsapp", customer={"whatsapp": "+351912000001"}, language="pt")
    by_phone = system.publish(channel="voice", customer={"phone": "+351912000002"}, body="(voicemail)")
    web_phone_only = system.publish(channel="web", customer={"name": "Rui", "phone": "+351912000003"})
    silent_caller = system.publish(channel="voice", customer={"anonymous": True}, body="(voicemail)")

    mail = one_mail(system.smtp, "ana@example.org", by_email.reference)
    token = tracking_token(by_email.reference, "test-tracking-secret")
    assert f"https://complaints.example/complaints/{by_email.reference}?token={token}" in mail.get_content()
    assert mail["In-Reply-To"] == by_email.threading.message_id  # threaded under the customer's mail
    assert mail["X-Complaints-System"] == "complaints" and mail["Auto-Submitted"] == "auto-replied"
    assert mail["From"] == "Support <support@complaints.localhost>"
    assert system.smtp.received[0].login == "notifier"

    whatsapp = wait_for(lambda: system.twilio.sent(to="whatsapp:+351912000001"), message="WhatsApp ack")[0]
    assert whatsapp.form["From"] == "whatsapp:+14155238886"
    assert by_whatsapp.reference in whatsapp.form["Body"] and "Recebemos" in whatsapp.form["Body"]  # Portuguese
    for c, number in ((by_phone, "+351912000002"), (web_phone_only, "+351912000003")):
        sms = wait_for(lambda n=number: system.twilio.sent(to=n), message=f"SMS to {number}")[0]
        assert c.reference in sms.form["Body"] and sms.form["From"] == "+15005550006"

    wait_for(lambda: system.ticket(silent_caller.reference), message="the anonymous ticket")
    wait_for(lambda: len(system.notifications(status="sent")) == 4, message="four acknowledgements sent")
    assert not system.notifications(reference=silent_caller.reference)  # nobody to tell
    assert len(system.twilio.requests) == 3 and len(system.smtp.received) == 1
    assert 'complaints_notifications_total{channel="email",outcome="sent"} 1.0' in system.metrics()


def test_a_notifier_started_after_the_tickets_catches_up_on_acknowledgements(system):
    system.start_tickets()
    early = system.publish(customer={"email": "early@example.org"})
    wait_for(lambda: system.ticket(early.reference), message="the ticket, before any notifier")
    system.start_notifier()
    mail = one_mail(system.smtp, "early@example.org", early.reference)
    assert "We received your complaint" in mail["Subject"]
    later = system.publish(customer={"email": "early@example.org"}, subject="Another one")
    one_mail(system.smtp, "early@example.org", later.reference)
    wait_for(lambda: len(system.smtp.to("early@example.org")) == 2, message="two acks")
    # One outbox row each, though the catch-up and the event both saw the later ticket.
    assert [n["reference"] for n in system.notifications(purpose="acknowledgement")] == [
        later.reference, early.reference]
