"""What a new user does: start the system, post a complaint over HTTP, find the
ticket through the API, follow it on the tracking page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

from services.common import config
from testkit import api
from testkit.paths import ROOT
from testkit.ports import free_port
from testkit.waiting import wait_for

COMPLAINT = {"name": "Ana", "email": "ana@example.org", "subject": "Charged twice",
             "body": "I was charged twice for order 1234.", "category": "billing"}


def test_a_complaint_posted_over_http_becomes_a_ticket(database_url, rabbit, services):
    tickets = services.start("tickets", DATABASE_URL=database_url)
    intake = services.start("intake_chat")

    resp = api.post(f"{intake.url}/complaints", json=COMPLAINT, timeout=10)
    assert resp.status_code == 202, resp.text
    receipt = resp.json()
    reference, token = receipt["reference"], receipt["tracking_token"]
    assert re.fullmatch(r"C-[0-9A-HJKMNP-TV-Z]{10}", reference)

    ticket = wait_for(lambda: (r := api.get(f"{tickets.url}/tickets/{reference}")).ok and r.json(),
                      message="the ticket in the API")
    assert ticket["status"] == "new" and ticket["category"] == "billing" and ticket["channel"] == "web"
    assert ticket["customer"]["email"] == "ana@example.org"
    assert ticket["messages"][0]["body"] == COMPLAINT["body"]
    found = api.get(f"{tickets.url}/tickets", params={"q": "charged twice"}).json()
    assert [t["reference"] for t in found["items"]] == [reference]

    # The customer follows it with the token, and only with it.
    tracking = api.get(f"{intake.url}/complaints/{reference}", params={"token": token},
                            headers={"Accept": "application/json"}, timeout=10)
    assert tracking.status_code == 200 and tracking.json()["status"] == "new"
    assert tracking.json()["messages"][0]["body"] == COMPLAINT["body"]
    assert api.get(f"{intake.url}/complaints/{reference}", params={"token": "guess"},
                        headers={"Accept": "application/json"}).status_code == 404

    # An agent moves it on; the customer sees the new status.
    api.patch(f"{tickets.url}/tickets/{reference}", json={"status": "in_progress"},
                   agent="bob").raise_for_status()
    assert api.get(f"{intake.url}/complaints/{reference}", params={"token": token},
                        headers={"Accept": "application/json"}).json()["status"] == "in_progress"


def test_a_browser_retry_of_one_submission_is_one_ticket(tmp_path, rabbit, services):
    tickets = services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'retry.db'}")
    intake = services.start("intake_chat")
    body = {**COMPLAINT, "submission_id": "form-7f1c2a"}
    references = {api.post(f"{intake.url}/complaints", json=body).json()["reference"] for _ in range(3)}
    assert len(references) == 1
    reference = references.pop()
    wait_for(lambda: api.get(f"{tickets.url}/tickets/{reference}").ok, message="the ticket")
    wait_for(lambda: 'outcome="duplicate"} 2.0' in api.get(f"{tickets.url}/metrics").text,
             message="the two retries absorbed")
    assert api.get(f"{tickets.url}/tickets").json()["total"] == 1
    assert len(api.get(f"{tickets.url}/tickets/{reference}").json()["messages"]) == 1


def _mails(folder) -> list[str]:
    new = folder / "new"
    return [f.read_text(errors="replace") for f in sorted(new.iterdir())] if new.is_dir() else []


def test_make_run_starts_everything_and_says_where_to_send_a_complaint(tmp_path, rabbit):
    """scripts/run.py is what `make run` starts after setup: every service on its
    embedded defaults, the notifier mailing through the local sink."""
    ports = {f"{name.upper()}_PORT": free_port() for name in config.DEFAULT_PORTS}
    mail_port = free_port()
    env = {**os.environ, "AMQP_URI": rabbit.amqp_uri, "VAR_DIR": str(tmp_path / "var"), "NO_COLOR": "1",
           "MAIL_SINK_PORT": str(mail_port), "SMTP_PORT": str(mail_port),
           **{k: str(v) for k, v in ports.items()}}
    proc = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []

    def read():
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    tickets = f"http://127.0.0.1:{ports['TICKETS_PORT']}"
    try:
        wait_for(lambda: any("Send a complaint" in line for line in lines), timeout=120,
                 message="the banner")
        curl = next(line for line in lines if "curl -X POST" in line)
        assert f"localhost:{ports['INTAKE_CHAT_PORT']}/complaints" in curl
        assert any(line.startswith("tickets ") and "|" in line for line in lines)  # prefixed log
        started = {m.group(1) for line in lines if (m := re.search(r"\| starting (\w+)", line))}
        assert {"mail", "tickets", "router", "notifier", "intake_chat"} <= started, started

        resp = api.post(f"http://127.0.0.1:{ports['INTAKE_CHAT_PORT']}/complaints", json=COMPLAINT)
        reference = resp.json()["reference"]
        wait_for(lambda: api.get(f"{tickets}/tickets/{reference}").ok, message="the ticket")
        assert (tmp_path / "var" / "tickets.db").exists()  # the embedded default: SQLite under var/

        # The customer's acknowledgement reached the local mail sink...
        mail = tmp_path / "var" / "mail"
        ack = wait_for(lambda: [m for m in _mails(mail) if reference in m and "ana@example.org" in m],
                       timeout=60, message="the acknowledgement in var/mail/new")
        assert f"/complaints/{reference}?token=" in ack[0]
        # ... and resolving the ticket sends the satisfaction survey.
        for status in ("in_progress", "resolved"):
            api.patch(f"{tickets}/tickets/{reference}", json={"status": status},
                           agent="bob").raise_for_status()
        wait_for(lambda: [m for m in _mails(mail) if reference in m and f"/complaints/{reference}/survey" in m],
                 timeout=60, message="the survey in var/mail/new")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        code = proc.wait(timeout=60)
        reader.join(timeout=5)
    assert code == 0, "".join(lines[-40:])
