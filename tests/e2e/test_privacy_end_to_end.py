"""A person's subject-access export and erasure across the whole system, as an operator
does them (`python -m services.common.privacy`): one customer complains on the web form,
by email and by SMS; the export archive holds all three tickets and every service's
part; after the erasure, a scan of every service's database (the SQLite files and their
write-ahead logs, byte by byte), every stored file under VAR_DIR and every service's
log finds none of her identifiers (email, phone in any spelling, name), and nothing
more is sent to her. Mail delivered before the erasure is in her own mailbox (the SMTP
sink here stands for it), outside the system: README, "Privacy".

Each service runs as `make run` starts it, on its own SQLite file under VAR_DIR, with
the notifier mailing through a real SMTP server and texting through a stand-in for
Twilio's REST API, the email intake reading a real Dovecot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from services.common.privacy import archive
from services.common.storage.db import make_engine
from testkit import api
from testkit.email_intake import reference_of
from testkit.fake_twilio import FakeTwilio
from testkit.imap_server import Dovecot
from testkit.paths import ROOT
from testkit.ports import free_port
from testkit.privacy_scan import Person, in_database, in_files
from testkit.sample_mail import message
from testkit.smtp_server import smtp_env, start_smtp
from testkit.twilio_requests import AUTH_TOKEN, Twilio, sid
from testkit.waiting import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

BEA = Person("beatriz.quental@example.pt", "+351913572468", "Beatriz Quental")
CARLA = Person("carla.dias@example.org", "+447700900123", "Carla Dias")
HOLDING = ("notifier", "intake_email", "intake_sms")  # with tickets: what holds personal data here
SLOW = 90


@pytest.fixture
def outside(tmp_path):
    """What is outside the system: the SMTP server mail goes to, Twilio, the IMAP mailbox."""
    port = free_port()
    controller, sink = start_smtp(port)
    sink.port = port
    twilio = FakeTwilio(free_port()).start()
    dovecot = Dovecot(tmp_path).start()
    yield sink, twilio, dovecot
    dovecot.remove()
    twilio.stop()
    controller.stop()


def start_system(services, sink, twilio, dovecot) -> dict:
    fast = {"PRIVACY_SERVICES": ",".join(HOLDING), "RPC_TIMEOUT_SECONDS": "15"}
    running = {"tickets": services.start("tickets", **fast)}
    running["router"] = services.start("router", ROUTER_SWEEP_SECONDS="1")
    running["notifier"] = services.start("notifier", NOTIFIER_SEND_INTERVAL_SECONDS="0.2",
                                         NOTIFIER_CATCHUP_SECONDS="3600", **smtp_env(sink.port), **twilio.env(), **fast)
    running["intake_chat"] = services.start("intake_chat")
    running["intake_sms"] = services.start("intake_sms", TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                                           PUBLIC_SMS_URL="https://example.com/sms", INTAKE_SMS_WORKERS=1)
    running["intake_email"] = services.start("intake_email", EMAIL_MAILBOXES=json.dumps([dovecot.mailbox()]),
                                             EMAIL_POLL_SECONDS="0.5", EMAIL_RECONNECT_MAX_SECONDS="1")
    return running


def sms(person: Person, body: str) -> dict:
    message_sid = sid("SM")
    return {"MessageSid": message_sid, "SmsMessageSid": message_sid, "AccountSid": "AC" + "0" * 32,
            "From": person.phone, "To": "+15005550006", "Body": body, "NumMedia": "0", "FromCountry": "PT"}


def complain_everywhere(running, dovecot, person: Person) -> dict[str, str]:
    """The person's complaint on the web form, by email and by SMS -> channel: reference."""
    web = api.post(f"{running['intake_chat'].url}/complaints", timeout=30, json={
        "name": person.name, "email": person.email, "subject": "Charged twice", "category": "billing",
        "body": f"I am {person.name}; I was charged twice. Call me on {person.phone}."})
    assert web.status_code == 202, web.text
    mail = message(sender=f"{person.name} <{person.email}>", subject="Parcel crushed",
                   body=f"The parcel arrived crushed.\n-- \n{person.name}\n{person.phone}",
                   message_id=f"<{sid('MM')}@example.pt>")
    dovecot.append([mail])
    Twilio(running["intake_sms"].url, "https://example.com/sms").post(
        "/messages", sms(person, f"{person.name.split()[0]} here: my internet is down")).raise_for_status()
    references = {"web": web.json()["reference"], "email": reference_of(mail)}
    tickets = running["tickets"].url
    for reference in references.values():
        wait_for(lambda r=reference: api.get(f"{tickets}/tickets/{r}").ok, timeout=SLOW, message=f"ticket {reference}")
    references["sms"] = wait_for(lambda: next((t["reference"] for t in api.get(
        f"{tickets}/tickets", params={"channel": "sms", "per_page": 100}).json()["items"]
        if api.get(f"{tickets}/tickets/{t['reference']}").json()["customer"]["phone"] == person.phone), None),
        timeout=SLOW, message="the SMS ticket")
    return references


def privacy_cli(running, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, **{f"{name.upper()}_URL": proc.url for name, proc in running.items()},
           "PRIVACY_SERVICES": ",".join(HOLDING)}
    return subprocess.run([sys.executable, "-m", "services.common.privacy", "--operator", "dpo", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def everywhere(person: Person, tmp_path) -> dict[str, list[str]]:
    """Every file the system wrote (SQLite files, logs, anything under VAR_DIR) naming the person."""
    return in_files(person, tmp_path / "var") | {
        f"log {log.name}": found for log in tmp_path.glob("*.log") if (found := person.found_in(log.read_bytes()))}


def holders(found: dict) -> set[str]:
    """The databases among the files found (a SQLite file or its write-ahead log)."""
    return {name.removesuffix("-wal") for name in found}


def test_a_customer_on_three_channels_is_exported_whole_and_then_erased_everywhere(services, rabbit, tmp_path,
                                                                                  outside):
    sink, twilio, dovecot = outside
    running = start_system(services, sink, twilio, dovecot)
    references = complain_everywhere(running, dovecot, BEA)
    complain_everywhere(running, dovecot, CARLA)
    wait_for(lambda: len(sink.to(BEA.email)) >= 2 and twilio.sent(to=BEA.phone), timeout=SLOW,
             message="her acknowledgements by email and SMS")

    # --- the export: one archive, every ticket and every service's part ---------------------
    out = tmp_path / "bea.zip"
    done = privacy_cli(running, "export", "--email", BEA.email, "--phone", BEA.phone, "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    manifest, parts = archive.read(out.read_bytes())
    assert manifest["complete"] and set(parts) == {"tickets", *HOLDING}
    tickets = {t["channel"]: t for t in parts["tickets"]["tables"]["tickets"]}
    assert {c: t["reference"] for c, t in tickets.items()} == references
    assert BEA.name in tickets["web"]["messages"][0]["body"] and BEA.email == tickets["email"]["customer"]["email"]
    assert CARLA.email not in out.read_bytes().decode("latin-1")
    assert {n["recipient"] for n in parts["notifier"]["tables"]["notifications"]} >= {BEA.email, BEA.phone}
    assert len(parts["intake_sms"]["tables"]["sms_messages"]) == 1
    assert len(parts["intake_email"]["tables"]["intake_email_seen"]) == 1
    assert holders(everywhere(BEA, tmp_path)) >= {"tickets.db", "notifier.db", "intake_sms.db", "intake_email.db"}

    # --- the erasure ----------------------------------------------------------------------------
    mails_before = len(sink.received)
    done = privacy_cli(running, "erase", "--email", BEA.email, "--phone", "00351 913 572 468", "--name", BEA.name)
    assert done.returncode == 0, done.stdout + done.stderr
    request_id = json.loads(done.stdout)["request_id"]
    status = wait_for(lambda: (s := json.loads(privacy_cli(running, "status", request_id).stdout))["status"]
                      == "completed" and s, timeout=SLOW, message="every service's report")
    assert status["tickets"] == 3 and set(status["services"]) == {"tickets", *HOLDING}

    # Her tickets go on (statistics keep them), but what happens to them reaches her no more.
    tickets_url = running["tickets"].url
    api.post(f"{tickets_url}/tickets/{references['web']}/replies", agent="bruno",
             json={"body": "We refunded the second charge.", "status": "resolved"}).raise_for_status()
    wait_for(lambda: 'event_type="ticket_reply_added"} 1.0' in api.get(f"{running['notifier'].url}/metrics").text,
             timeout=SLOW, message="the notifier heard of the reply")
    time.sleep(2)  # the notifier sends every 0.2 s: anything for her would be out by now
    assert [m for m in sink.received[mails_before:] if BEA.found_in(m.message.as_bytes())] == []
    assert len(twilio.sent(to=BEA.phone)) == 1

    # --- the scan ------------------------------------------------------------------------------------
    found = everywhere(BEA, tmp_path)
    assert found == {}, found
    for name in ("tickets", "router", "notifier", "intake_sms", "intake_email"):
        engine = make_engine(f"sqlite:///{tmp_path / 'var' / (name + '.db')}")
        assert in_database(BEA, engine) == {}, name
        engine.dispose()
    # Nobody else was touched.
    assert holders(everywhere(CARLA, tmp_path)) >= {"tickets.db", "notifier.db", "intake_sms.db", "intake_email.db"}
    web = api.get(f"{tickets_url}/tickets/{references['web']}").json()
    assert (web["status"], web["channel"], web["category"]) == ("resolved", "web", "billing")
    assert web["customer"]["email"].startswith("erased-")
