"""SIGTERM as Docker and Kubernetes send it: to the service's main process
(tini passes it on to `python -m services.<name>`), while work is in flight.
What must hold: the process exits 0 within its grace period, and no complaint
is lost or doubled; every one the broker held, and every one a customer was
told 202 for, is exactly one ticket once the tickets service runs again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time

import psutil
import pytest
import requests

from services.common.messaging import topology
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api
from testkit.complaints import web_complaint as complaint
from testkit.waiting import wait_for

# Both services must be gone well within the 45 s Kubernetes/compose grace period.
EXIT_WITHIN = 40


def sigterm_and_wait(service) -> tuple[int, float]:
    """SIGTERM to the main process only; (exit code, seconds it took)."""
    started = time.monotonic()
    os.kill(service.proc.pid, signal.SIGTERM)
    try:
        code = service.proc.wait(EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{service.name} still running {EXIT_WITHIN}s after SIGTERM:\n{service.log()}")
    return code, time.monotonic() - started


def references_in(tickets) -> set[str]:
    found, page = set(), 1
    while True:
        body = api.get(f"{tickets.url}/tickets", params={"per_page": 100, "page": page}, timeout=10).json()
        found |= {t["reference"] for t in body["items"]}
        if page * 100 >= body["total"]:
            return found
        page += 1


def ticket_count(tickets) -> int:
    return api.get(f"{tickets.url}/tickets", params={"per_page": 1}, timeout=30).json()["total"]


def test_tickets_stopped_mid_backlog_loses_and_doubles_nothing(postgres_url, rabbit, services, capsys):
    backlog = [complaint() for _ in range(400)]
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    for c in backlog:
        publisher.publish(c)
    publisher.close()

    tickets = services.start("tickets", DATABASE_URL=postgres_url, TICKETS_MAX_WORKERS=10)
    # Stop it as soon as it is busy: workers hold messages, the rest wait in the queue.
    wait_for(lambda: ticket_count(tickets) >= 5, timeout=60, interval=0.05, message="the first tickets")
    code, took = sigterm_and_wait(tickets)
    log = tickets.log()
    assert code == 0, log
    assert "Traceback" not in log, log

    first_run = _count_tickets_in_database(postgres_url)
    with capsys.disabled():
        print(f"\ntickets: SIGTERM with a backlog of {len(backlog)}: exited 0 in {took:.1f}s with "
              f"{first_run} tickets committed; the rest stayed in (or went back to) the queue")
    assert first_run < len(backlog), "the backlog was drained before SIGTERM: nothing was in flight"

    again = services.start("tickets", DATABASE_URL=postgres_url)
    wait_for(lambda: ticket_count(again) >= len(backlog), timeout=120, interval=0.5,
             message="every complaint of the backlog as a ticket")
    wait_for(lambda: rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0, timeout=30, message="the queue drained")
    assert references_in(again) == {c.reference for c in backlog}
    assert ticket_count(again) == len(backlog)
    assert rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 0
    assert api.get(f"{again.url}/quarantine", timeout=10).json()["items"] == []


def _count_tickets_in_database(url: str) -> int:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text("SELECT count(*) FROM tickets")).scalar_one()
    finally:
        engine.dispose()


# --- the web intake (gunicorn) ---------------------------------------------------------

BODY = json.dumps({"name": "Ana", "email": "ana@example.org", "subject": "Charged twice",
                   "body": "I was charged twice for order 1234. " * 20, "category": "billing"}).encode()


class SlowUpload:
    """A client mid-upload: headers and half the body sent, the rest on demand."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.local_port = self.sock.getsockname()[1]
        head = (f"POST /complaints HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Accept: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n").encode()
        self.sock.sendall(head + BODY[: len(BODY) // 2])

    def finish(self) -> tuple[int, dict]:
        self.sock.sendall(BODY[len(BODY) // 2:])
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < self._length(data):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        self.sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head else 0
        return status, (json.loads(body) if body else {})

    @staticmethod
    def _length(data: bytes) -> int:
        for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return int(line.split(b":", 1)[1])
        return 0


def _held_by_a_worker(intake, local_port: int) -> bool:
    """True once a gunicorn worker (a child of the main process) has accepted our connection."""
    for child in psutil.Process(intake.proc.pid).children():
        try:
            for conn in child.net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port == local_port and conn.status == psutil.CONN_ESTABLISHED:
                    return True
        except psutil.Error:
            continue
    return False


def test_web_intake_finishes_requests_in_flight_and_every_202_becomes_a_ticket(postgres_url, rabbit, services,
                                                                               capsys):
    intake = services.start("intake_chat", INTAKE_CHAT_WORKERS=2, INTAKE_CHAT_THREADS=4,
                            INTAKE_CHAT_GRACEFUL_SECONDS=20,
                            # One customer posting flat out on purpose: the flood limits are not under test here.
                            INTAKE_RATE_LIMIT_PER_ADDRESS="100000/minute",
                            INTAKE_RATE_LIMIT_PER_CUSTOMER="100000/minute")
    accepted: list[str] = []
    failed: list[str] = []
    stop = threading.Event()

    def customers():
        # Complaints keep coming while the intake stops; each gets a 202 or an error, never a silent loss.
        while not stop.is_set():
            try:
                resp = api.post(f"{intake.url}/complaints", data=BODY, timeout=30,
                                     headers={"Content-Type": "application/json"})
                (accepted.append(resp.json()["reference"]) if resp.status_code == 202
                 else failed.append(str(resp.status_code)))
            except requests.RequestException as exc:
                failed.append(type(exc).__name__)
                time.sleep(0.05)

    senders = [threading.Thread(target=customers, daemon=True) for _ in range(2)]
    for t in senders:
        t.start()
    wait_for(lambda: len(accepted) >= 10, timeout=60, message="complaints flowing")

    slow = [SlowUpload(intake.port) for _ in range(3)]
    for upload in slow:
        wait_for(lambda u=upload: _held_by_a_worker(intake, u.local_port), timeout=30,
                 message="the upload accepted by a worker")
    time.sleep(1)  # the worker hands a readable connection to a thread within milliseconds
    signalled = time.monotonic()
    os.kill(intake.proc.pid, signal.SIGTERM)
    time.sleep(1)  # the stop is under way while the uploads are still incomplete
    finished = [upload.finish() for upload in slow]
    stop.set()
    for t in senders:
        t.join(60)
    try:
        code = intake.proc.wait(EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"intake_chat still running {EXIT_WITHIN}s after SIGTERM:\n{intake.log()}")
    took = time.monotonic() - signalled
    assert code == 0, intake.log()

    assert [status for status, _ in finished] == [202, 202, 202], (finished, intake.log())
    accepted += [body["reference"] for _, body in finished]
    with capsys.disabled():
        print(f"\nintake_chat: SIGTERM with 3 uploads half-sent: all three answered 202; exited 0 in {took:.1f}s; "
              f"{len(accepted)} complaints accepted, {len(failed)} refused while stopping "
              f"({', '.join(sorted(set(failed))) or 'none'})")

    # Every 202 is a ticket once the tickets service runs, and only once.
    tickets = services.start("tickets", DATABASE_URL=postgres_url)
    wait_for(lambda: rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0 and ticket_count(tickets) >= len(accepted),
             timeout=120, interval=0.5, message="every accepted complaint as a ticket")
    assert set(accepted) <= references_in(tickets)
    assert len(set(accepted)) == len(accepted)
