"""The notifier as it runs: its own process on a real RabbitMQ vhost, with the
tickets service (and the router where assignments matter), a real SMTP server
with login (aiosmtpd) and a local stand-in for Twilio's REST API reached through
the twilio client's pluggable http client."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.contract.events import CustomerView, Identity, MessageSnapshot, TicketCreated, TicketSnapshot
from services.common.contract.reference import tracking_token
from services.common.contract.vocabulary import Priority, Status
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api
from testkit.smtp_server import smtp_env
from testkit.waiting import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

FAST = {"NOTIFIER_SEND_INTERVAL_SECONDS": "0.2", "NOTIFIER_RETRY_BASE_SECONDS": "0.2",
        "NOTIFIER_RETRY_CAP_SECONDS": "1", "NOTIFIER_MAX_ATTEMPTS": "3", "NOTIFIER_SCHEDULE_SECONDS": "0.5",
        "NOTIFIER_CATCHUP_SECONDS": "2", "RPC_TIMEOUT_SECONDS": "5"}


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
            api.put(f"{self.router.url}/agents/{agent['name']}", json=agent, timeout=10).raise_for_status()
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
        resp = api.get(f"{self.tickets.url}/tickets/{reference}", timeout=5)
        return resp.json() if resp.status_code == 200 else None

    def notifications(self, **params):
        return api.get(f"{self.notifier.url}/notifications", params=params, timeout=5).json()["items"]

    def metrics(self):
        return api.get(f"{self.notifier.url}/metrics", timeout=5).text


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
    web_whatsapp_only = system.publish(channel="web", customer={"name": "Ines", "whatsapp": "+351912000004"},
                                       language="pt")
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

    whatsapp = wait_for(lambda: system.twilio.sent(to="whatsapp:+351912000004"), message="WhatsApp ack")[0]
    assert whatsapp.form["From"] == "whatsapp:+14155238886"
    assert web_whatsapp_only.reference in whatsapp.form["Body"] and "Recebemos" in whatsapp.form["Body"]
    for c, number in ((by_phone, "+351912000002"), (web_phone_only, "+351912000003")):
        sms = wait_for(lambda n=number: system.twilio.sent(to=n), message=f"SMS to {number}")[0]
        assert c.reference in sms.form["Body"] and sms.form["From"] == "+15005550006"

    wait_for(lambda: system.ticket(silent_caller.reference), message="the anonymous ticket")
    wait_for(lambda: system.ticket(by_whatsapp.reference), message="the WhatsApp ticket")
    wait_for(lambda: len(system.notifications(status="sent")) == 4, message="four acknowledgements sent")
    assert not system.notifications(reference=silent_caller.reference)  # nobody to tell
    # The WhatsApp intake's TwiML reply already thanked this customer: no second acknowledgement.
    assert not system.notifications(reference=by_whatsapp.reference)
    assert system.twilio.attempts("whatsapp:+351912000001") == []
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


# --- replies, the survey, reminders ------------------------------------------------------


def agent_reply(system, reference, body, status=None, agent="bob"):
    resp = api.post(f"{system.tickets.url}/tickets/{reference}/replies", agent=agent,
                         json={"body": body, **({"status": status} if status else {})}, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()["message"]


def change(system, reference, **fields):
    resp = api.patch(f"{system.tickets.url}/tickets/{reference}", agent="bob", json=fields,
                          timeout=10)
    assert resp.status_code == 200, resp.text


def test_an_agent_reply_is_emailed_threaded_and_the_customers_answer_comes_back(system):
    system.start_tickets().start_notifier()
    c = system.publish()
    one_mail(system.smtp, "ana@example.org", "We received")
    sent = agent_reply(system, c.reference, "We refunded the second charge. Can you confirm?")

    mail = one_mail(system.smtp, "ana@example.org", "Re: Charged twice")
    assert mail["Subject"] == f"[{c.reference}] Re: Charged twice"
    assert mail["Message-ID"] == sent["message_id"]               # the id tickets stored
    assert mail["In-Reply-To"] == c.threading.message_id           # under the customer's mail
    assert c.threading.message_id in mail["References"]
    assert mail["Auto-Submitted"] is None                          # a person wrote this one
    assert "We refunded the second charge." in mail.get_content() and "bob" in mail.get_content()

    answer = system.publish(subject=f"Re: {mail['Subject']}", body="Yes, I see the refund. Thanks!",
                            threading={"in_reply_to": mail["Message-ID"], "references": [mail["Message-ID"]],
                                       "message_id": f"<{uuid.uuid4()}@mail.example.org>"})
    ticket = wait_for(lambda: (t := system.ticket(c.reference)) and len(t["messages"]) == 3 and t,
                      message="the answer on the same ticket")
    assert ticket["messages"][2]["intake_reference"] == answer.reference


def test_resolving_sends_the_survey_and_a_rating_reply_lands_on_the_ticket(system):
    system.start_tickets().start_notifier()
    c = system.publish()
    one_mail(system.smtp, "ana@example.org", "We received")
    change(system, c.reference, status="resolved")

    mail = one_mail(system.smtp, "ana@example.org", "resolved")
    token = tracking_token(c.reference, "test-tracking-secret")
    assert f"/complaints/{c.reference}/survey?token={token}" in mail.get_content()
    assert "number from 1" in mail.get_content()
    # The customer answers the survey mail with a rating, as the mail suggests.
    system.publish(subject=f"Re: {mail['Subject']}", body="4 - quick and kind\n\n> How did we do?",
                   threading={"in_reply_to": mail["Message-ID"], "references": mail["References"].split(),
                              "message_id": f"<{uuid.uuid4()}@mail.example.org>"})
    ticket = wait_for(lambda: (t := system.ticket(c.reference)) and t["survey"] and t, message="the survey answer")
    assert ticket["survey"]["rating"] == 4 and ticket["survey"]["comment"] == "quick and kind"
    assert ticket["status"] == "resolved"  # an answer to the survey does not reopen the ticket


def test_reminders_go_while_the_customer_is_silent_and_stop_when_they_answer(system):
    system.start_tickets().start_notifier(NOTIFIER_REMINDER_HOURS="0.0003,0.002")  # ~1 s, then ~7 s
    c = system.publish()
    one_mail(system.smtp, "ana@example.org", "We received")
    agent_reply(system, c.reference, "Which card did you pay with?", status="pending_customer")
    reminder = one_mail(system.smtp, "ana@example.org", "waiting for your answer")
    assert c.reference in reminder["Subject"] and reminder["Auto-Submitted"] == "auto-replied"

    system.publish(body="The Visa ending 4242.", subject=f"Re: [{c.reference}] Re: Charged twice",
                   threading={"in_reply_to": reminder["Message-ID"], "message_id": f"<{uuid.uuid4()}@x.example>"})
    wait_for(lambda: system.ticket(c.reference)["status"] != "pending_customer", message="the ticket back to work")
    started = datetime.now(UTC)
    # Past the second reminder's time (7.2 s after waiting began) and a few schedule rounds more.
    wait_for(lambda: datetime.now(UTC) - started > timedelta(seconds=9), timeout=15, interval=0.5,
             message="the second reminder's time to pass")
    reminders = [m for m in system.smtp.to("ana@example.org") if "waiting for your answer" in m["Subject"]]
    assert len(reminders) == 1
    assert len(system.notifications(purpose="reminder")) == 1


# --- never twice, never silently lost ----------------------------------------------------------


def test_a_redelivered_event_sends_once(database_url, system, rabbit):
    from nameko.standalone.events import event_dispatcher

    system.start_notifier(database_url=database_url)
    reference = "C-2VVFXBBXSS"
    ticket = TicketSnapshot(reference=reference, status=Status.NEW, priority=Priority.MEDIUM, channel="email",
                            version=1, created_at=utc_now_iso(), updated_at=utc_now_iso(), subject="Charged twice",
                            customer=CustomerView("Ana", False, (Identity("email", "twice@example.org"),)))
    first = MessageSnapshot(id=1, direction="in", channel="email", created_at=utc_now_iso(),
                            message_id="<m1@mail.example.org>", extras={})
    created = TicketCreated(ticket=ticket, intake_id=new_intake_id(), received_at=utc_now_iso(), message=first)
    event = {"event_id": str(uuid.uuid4()), "event_type": "ticket_created", **created.to_payload()}
    dispatch = event_dispatcher({"AMQP_URI": rabbit.amqp_uri})
    wait_for(lambda: rabbit.queue("evt-tickets-ticket_created--notifier.on_ticket_created"),
             message="the notifier's queue")
    for _ in range(3):
        dispatch("tickets", "ticket_created", event)
    one_mail(system.smtp, "twice@example.org", reference)
    wait_for(lambda: system.notifications(status="sent"), message="the row marked sent")
    # the same event again, after it was sent
    dispatch("tickets", "ticket_created", event)
    wait_for(lambda: 'complaints_notifications_events_total{event_type="ticket_created"} 4.0' in system.metrics(),
             message="all four deliveries handled")
    assert len(system.notifications()) == 1
    assert len(system.smtp.to("twice@example.org")) == 1


def test_a_refused_recipient_and_twilio_errors_are_retried_then_visibly_failed(system):
    system.smtp.refuse.add("nobody@example.org")
    system.twilio.fail("whatsapp:+351912000400", 400)
    system.twilio.fail("+351912000500", 500)
    system.start_tickets().start_notifier()
    refused = system.publish(customer={"email": "nobody@example.org"})
    bad_number = system.publish(channel="web", customer={"whatsapp": "+351912000400"})
    twilio_down = system.publish(channel="voice", customer={"phone": "+351912000500"}, body="(voicemail)")

    failed = wait_for(lambda: len(f := system.notifications(status="failed")) == 3 and f, timeout=30,
                      message="three failures after their retries")
    by_ref = {f["reference"]: f for f in failed}
    assert by_ref[refused.reference]["attempts"] == 3 and "550" in by_ref[refused.reference]["last_error"]
    assert by_ref[bad_number.reference]["attempts"] == 3 and "400" in by_ref[bad_number.reference]["last_error"]
    assert by_ref[twilio_down.reference]["attempts"] == 3 and "500" in by_ref[twilio_down.reference]["last_error"]
    assert len(system.smtp.refused) == 3
    assert len(system.twilio.attempts("whatsapp:+351912000400")) == 3
    assert len(system.twilio.attempts("+351912000500")) == 3
    metrics = system.metrics()
    assert 'complaints_notifications_total{channel="email",outcome="failed"} 1.0' in metrics
    assert 'complaints_notifications_total{channel="sms",outcome="retried"} 2.0' in metrics
    assert 'complaints_notifications_outbox{status="failed"} 3.0' in metrics

    # An operator fixes the cause and retries.
    system.smtp.refuse.clear()
    row = by_ref[refused.reference]
    assert api.post(f"{system.notifier.url}/notifications/{row['id']}/retry", timeout=5).json()["status"] \
        == "pending"
    one_mail(system.smtp, "nobody@example.org", refused.reference)


# --- agents, supervisors and callbacks ---------------------------------------------------------

ANA = {"name": "ana", "display_name": "Ana Costa", "email": "ana.agent@support.example", "phone": "+351910000001",
       "whatsapp": "+351910000011", "skills": ["billing"], "capacity": 5}


def test_agents_are_alerted_on_assignment_and_when_their_ticket_turns_urgent(system):
    system.start_tickets().start_notifier().start_router([ANA])
    c = system.publish(category="billing")
    mail = one_mail(system.smtp, "ana.agent@support.example", "Assigned to you")
    assert c.reference in mail["Subject"] and "Hello Ana Costa" in mail.get_content()
    assert mail["Auto-Submitted"] is None and mail["X-Complaints-System"] == "complaints"
    whatsapp = wait_for(lambda: system.twilio.sent(to="whatsapp:+351910000011"), message="WhatsApp alert")[0]
    assert c.reference in whatsapp.form["Body"]

    change(system, c.reference, priority="urgent")
    urgent = one_mail(system.smtp, "ana.agent@support.example", "URGENT")
    assert c.reference in urgent["Subject"]
    assert len(system.notifications(purpose="agent_assigned", reference=c.reference)) == 2  # email + WhatsApp


def test_an_alert_about_a_confidential_case_names_nothing_of_it_and_is_in_its_access_log(system):
    carla = {**ANA, "name": "carla", "email": "carla@support.example", "whatsapp": "+351910000022",
             "groups": ["confidential"]}
    system.start_tickets().start_notifier().start_router([carla])
    c = system.publish(confidential=True, subject="My manager shouts at me", body="Every day since March.")
    mail = one_mail(system.smtp, "carla@support.example", "confidential case")
    text = mail["Subject"] + mail.get_content()
    assert mail["Subject"] == "A confidential case is assigned to you" and f"/tickets/{c.reference}" in text
    assert not any(secret in text for secret in ("manager", "March", "Ana", "ana@example.org", "billing"))
    whatsapp = wait_for(lambda: system.twilio.sent(to="whatsapp:+351910000022"), message="WhatsApp alert")[0]
    assert whatsapp.form["Body"].startswith("A confidential case is assigned to you: ")
    # The customer's own acknowledgement is as ever.
    assert c.reference in one_mail(system.smtp, "ana@example.org", c.reference)["Subject"]

    log = wait_for(lambda: [e for e in api.get(f"{system.tickets.url}/tickets/{c.reference}/access-log",
                                               groups=["confidential"], timeout=5).json()["items"]
                            if e["action"] == "alert"], message="the alert in the access log")
    assert [(e["actor"], e["actor_type"]) for e in log] == [("carla", "agent")]

    # The outbox shows an operator outside the group that the rows exist, not what they say.
    outside = api.get(f"{system.notifier.url}/notifications", params={"reference": c.reference}, timeout=5).json()
    assert outside["items"] and all(i["subject"] == i["recipient"] == "(withheld: a confidential case)"
                                    for i in outside["items"])
    one = api.get(f"{system.notifier.url}/notifications/{outside['items'][0]['id']}", timeout=5).json()
    assert one["body"] == "(withheld: a confidential case)" and one["headers"] == {}
    member = api.get(f"{system.notifier.url}/notifications", params={"reference": c.reference},
                     groups=["confidential"], timeout=5).json()["items"]
    assert "ana@example.org" in {i["recipient"] for i in member}


def test_supervisors_hear_of_escalations_and_tickets_waiting_too_long(system):
    system.start_tickets().start_notifier(NOTIFIER_SUPERVISORS="boss@support.example",
                                          NOTIFIER_WAITING_ALERT_MINUTES="0.02")
    system.router = system.services.start("router", DATABASE_URL=system.db("router"), ROUTER_SWEEP_SECONDS="0.3",
                                          ROUTER_RELAX_AFTER="0.2,0.4,0.6")
    c = system.publish(category="delivery")  # nobody on the roster: it waits, relaxes, escalates
    escalated = one_mail(system.smtp, "boss@support.example", "Escalated")
    assert c.reference in escalated["Subject"] and "supervisors" in escalated["Subject"]
    waiting = one_mail(system.smtp, "boss@support.example", "Unassigned for")
    assert c.reference in waiting["Subject"]


def callback_request(minutes_from_now=-1, length_minutes=60):
    start = datetime.now(UTC) + timedelta(minutes=minutes_from_now)
    return {"callback": {"number": "+351912000777", "window_start": start.isoformat(),
                         "window_end": (start + timedelta(minutes=length_minutes)).isoformat()}}


def test_a_callback_request_makes_twilio_call_the_agent_then_the_customer(system):
    system.start_tickets().start_notifier(NOTIFIER_CALLBACK_MODE="call").start_router([ANA])
    c = system.publish(channel="voice", customer={"phone": "+351912000777"}, category="billing",
                       body="Please call me back about my bill.", extras=callback_request())
    call = wait_for(lambda: system.twilio.sent("Calls"), message="the callback call")[0]
    assert call.form["To"] == "+351910000001" and call.form["From"] == "+15005550006"   # the agent first
    assert "<Dial" in call.form["Twiml"] and "+351912000777</Dial>" in call.form["Twiml"]  # then the customer
    assert call.auth[0] == call.account                                                     # signed as the account
    note = wait_for(lambda: (t := system.ticket(c.reference)) and t["notes"], message="the note")[0]
    assert "Automatic call scheduled" in note["body"] and "+351912000777" in note["body"]
    assert len(system.twilio.sent("Calls")) == 1


def test_without_automatic_calling_a_callback_becomes_a_task_for_the_agent(system):
    system.start_tickets().start_notifier().start_router([ANA])   # NOTIFIER_CALLBACK_MODE defaults to task
    c = system.publish(channel="voice", customer={"phone": "+351912000777"}, category="billing",
                       body="Please call me back.", extras=callback_request(minutes_from_now=30))
    task = one_mail(system.smtp, "ana.agent@support.example", "Callback due")
    assert "+351912000777" in task.get_content() and c.reference in task["Subject"]
    note = wait_for(lambda: (t := system.ticket(c.reference)) and t["notes"], message="the note")[0]
    assert note["author"] == "notifier" and "Callback requested: call +351912000777" in note["body"]
    assert not system.twilio.sent("Calls")


def test_the_web_form_path_acknowledgement_then_survey_then_answer_by_link(system):
    system.start_tickets().start_notifier()
    intake = system.services.start("intake_chat")
    resp = api.post(f"{intake.url}/complaints", json={
        "name": "Ana", "email": "form@example.org", "subject": "Charged twice",
        "body": "I was charged twice for order 1234.", "category": "billing"}, timeout=10)
    assert resp.status_code == 202, resp.text
    reference, tracking_url = resp.json()["reference"], resp.json()["tracking_url"]
    ack = one_mail(system.smtp, "form@example.org", reference)
    assert tracking_url.split("?")[1] in ack.get_content()  # the same token the form page showed

    change(system, reference, status="resolved")
    survey = one_mail(system.smtp, "form@example.org", "resolved")
    assert f"/complaints/{reference}/survey?" in survey.get_content()
    answered = api.post(f"{system.tickets.url}/tickets/{reference}/survey",
                             json={"rating": 5, "comment": "Sorted in a day"}, timeout=10)
    assert answered.status_code == 200 and answered.json()["survey"]["rating"] == 5
    assert system.ticket(reference)["survey"]["comment"] == "Sorted in a day"
