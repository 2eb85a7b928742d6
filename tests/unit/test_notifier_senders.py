"""The notifier's senders are found by name, and the channel catalogue decides
who answers a customer: a channel added to the catalogue with an existing
sender is answered with no change in the notifier."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services.common.channels import catalogue
from services.common.channels.catalogue import Channel
from services.common.contract.events import CustomerView, Identity, TicketSnapshot
from services.common.contract.vocabulary import Priority, Status
from services.notifier import channels, senders
from services.notifier.plan import Links, Planner
from services.notifier.senders import PermanentError, Senders
from services.notifier.settings import PACKAGE_TEMPLATES, Settings, Twilio
from services.notifier.templates import Templates

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def ticket(channel: str, anonymous=False, **identities) -> dict:
    customer = CustomerView("Ana", anonymous, tuple(Identity(k, v) for k, v in identities.items()))
    return asdict(TicketSnapshot(reference="C-2VVFXBBXSS", status=Status.NEW, priority=Priority.MEDIUM,
                                 channel=channel, version=1, customer=customer, created_at=NOW.isoformat(),
                                 updated_at=NOW.isoformat(), subject="Charged twice"))


def planner() -> Planner:
    links = Links(tracking=lambda r: f"https://c.example/complaints/{r}?token=t",
                  survey=lambda r: f"https://c.example/complaints/{r}/survey?token=t",
                  ticket=lambda r: f"https://agents.example/tickets/{r}")
    return Planner(Settings(), Templates(str(PACKAGE_TEMPLATES)), links, "complaints.example")


@pytest.fixture
def messenger_channel(monkeypatch):
    """A channel that exists only in the catalogue: its customers answered by email."""
    made_up = Channel("messenger", identity="messenger", answer_by="email")
    monkeypatch.setitem(catalogue.BY_NAME, made_up.name, made_up)
    return made_up


def test_every_catalogue_channel_is_answered_by_a_registered_sender():
    answered = [c for c in catalogue.CATALOGUE if c.answer_by]
    assert answered, "the catalogue names no sender at all"
    assert [c.name for c in answered if senders.find(c.answer_by) is None] == []


def test_every_sender_a_row_can_name_is_registered_with_what_it_needs():
    assert {"email", "sms", "whatsapp", "call", "note", "in_page"} <= set(senders.REGISTRY)
    assert {n for n, s in senders.REGISTRY.items() if s.twilio} == {"sms", "whatsapp", "call"}
    assert senders.reaches("sms", "+351912000001") and not senders.reaches("sms", "ana@example.org")
    assert senders.reaches("email", "ana@example.org") and not senders.reaches("email", "+351912000001")
    assert not senders.reaches("carrier_pigeon", "loft 3")


@pytest.fixture
def sms_channel(monkeypatch):
    """The sms channel as the SMS intake registers it (whether or not it is registered yet)."""
    sms = catalogue.channel("sms") or Channel("sms", identity="phone", answer_by="sms", follow_up=True)
    monkeypatch.setitem(catalogue.BY_NAME, "sms", sms)
    return sms


def test_an_sms_customer_is_acknowledged_by_sms_at_their_number(sms_channel):
    (draft,) = planner().acknowledgement(ticket("sms", phone="+351912000003"), None, NOW)
    assert (draft.channel, draft.recipient) == ("sms", "+351912000003")
    assert "C-2VVFXBBXSS" in draft.body and len(draft.body) < 320 and draft.headers == {}
    # The channel they wrote on decides, even when an email address is known too.
    (draft,) = planner().acknowledgement(ticket("sms", email="ana@example.org", phone="+351912000003"), None, NOW)
    assert (draft.channel, draft.recipient) == ("sms", "+351912000003")


def test_an_agents_reply_to_an_sms_customer_goes_by_sms(sms_channel):
    message = {"id": 9, "channel": "sms", "body": "We refunded you.", "author": "bob"}
    (draft,) = planner().reply(ticket("sms", phone="+351912000003"), message, NOW)
    assert (draft.channel, draft.recipient) == ("sms", "+351912000003") and "We refunded you." in draft.body


def test_a_channel_added_only_to_the_catalogue_is_answered_by_its_sender(messenger_channel):
    found = channels.customer_address(ticket("messenger", messenger="ana@messenger.example"))
    assert found == channels.Address("email", "ana@messenger.example")


def test_the_catalogues_choice_of_identity_wins_over_the_fallbacks():
    both = ticket("voice", email="ana@example.org", phone="+351912000003")
    assert channels.customer_address(both) == channels.Address("sms", "+351912000003")
    assert channels.customer_address(ticket("web", email="ana@example.org", phone="+351912000003")) == \
        channels.Address("email", "ana@example.org")
    # A caller who left only an email (on the form before) is still answered, by email.
    assert channels.customer_address(ticket("voice", email="ana@example.org")) == \
        channels.Address("email", "ana@example.org")
    assert channels.customer_address(ticket("sms", anonymous=True, phone="+351912000003")) is None


def test_a_follow_up_choice_is_answered_by_its_channels_sender():
    chosen = {**ticket("email", email="ana@example.org"), "follow_up": {"channel": "sms", "address": "+351912000009"}}
    assert channels.customer_address(chosen) == channels.Address("sms", "+351912000009")
    unusable = {**chosen, "follow_up": {"channel": "sms", "address": "not a number"}}
    assert channels.customer_address(unusable) == channels.Address("email", "ana@example.org")


def test_a_row_is_sent_by_the_sender_registered_under_its_channel():
    notes = []
    row = SimpleNamespace(channel="note", reference="C-2VVFXBBXSS", body="Call back at 3", payload={})
    provider_id = Senders(Settings()).send(row, NOW, lambda *args: notes.append(args) or {"id": 41})
    assert provider_id == "41" and notes == [("C-2VVFXBBXSS", "notifier", "Call back at 3")]
    with pytest.raises(PermanentError, match="no sender for channel 'fax'"):
        Senders(Settings()).send(SimpleNamespace(channel="fax"), NOW, None)


def test_an_sms_without_a_sending_number_fails_for_good_not_for_retry():
    texts = []
    client = SimpleNamespace(messages=SimpleNamespace(create=lambda **kw: texts.append(kw) or SimpleNamespace(sid="S")))
    row = SimpleNamespace(channel="sms", recipient="+351912000003", body="hi")
    configured = Settings(twilio=Twilio(account_sid="AC1", auth_token="t", sms_from="+15005550006"))
    assert Senders(configured, client).send(row, NOW, None) == "S"
    assert texts == [{"to": "+351912000003", "from_": "+15005550006", "body": "hi"}]
    with pytest.raises(PermanentError, match="TWILIO_SMS_FROM"):
        Senders(Settings(twilio=Twilio(account_sid="AC1", auth_token="t")), client).send(row, NOW, None)


def test_a_new_sender_registers_under_its_name_and_is_found(monkeypatch):
    monkeypatch.setattr(senders, "REGISTRY", dict(senders.REGISTRY))
    sent = []

    @senders.sender("pager", accepts=lambda address: address.startswith("pager:"))
    def page(row, out):
        sent.append(row.recipient)
        return "p1"

    assert senders.reaches("pager", "pager:42") and not senders.reaches("pager", "42")
    assert Senders(Settings()).send(SimpleNamespace(channel="pager", recipient="pager:42"), NOW, None) == "p1"
    assert sent == ["pager:42"]
