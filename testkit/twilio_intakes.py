"""The Twilio intakes (WhatsApp, voice) as their own processes behind a public
URL, and what they and the tickets service hold: tickets over HTTP, the
complaints waiting on the broker, the intakes' metrics."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from services.common.contract.complaint import ComplaintReceived
from services.common.messaging import topology
from testkit import api

from .twilio_requests import AUTH_TOKEN, Twilio


def start_intake(services, name: str, tmp_path, public_url: str, **env):
    """intake_whatsapp or intake_voice as its own process, on its own SQLite file
    (tmp_path/<name>.db), behind the given public URL -> (process, Twilio calling it)."""
    env.setdefault(f"{name.upper()}_DATABASE_URL", f"sqlite:///{tmp_path / (name + '.db')}")
    variable = {"intake_whatsapp": "PUBLIC_WHATSAPP_URL", "intake_voice": "PUBLIC_VOICE_URL"}[name]
    env.setdefault(f"{name.upper()}_WORKERS", 2)
    proc = services.start(name, TWILIO_AUTH_TOKEN=AUTH_TOKEN, **{variable: public_url}, **env)
    return proc, Twilio(proc.url, public_url)


def ticket(tickets, reference: str) -> dict | None:
    resp = api.get(f"{tickets.url}/tickets/{reference}", timeout=5)
    return resp.json() if resp.status_code == 200 else None


def queued(rabbit) -> list[ComplaintReceived]:
    """The complaints waiting for the tickets service, read and put back."""
    if rabbit.queue(topology.COMPLAINTS_QUEUE) is None:
        return []
    return [ComplaintReceived.from_dict(json.loads(m["payload"]))
            for m in rabbit.get_messages(topology.COMPLAINTS_QUEUE, count=50)]


def metric(url: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(api.get(f"{url}/metrics", timeout=5).text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not in /metrics")
