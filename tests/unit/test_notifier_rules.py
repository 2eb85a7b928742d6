"""The notifier's rules in plain Python: channel choice, quiet hours, reminder
series, retry timing, templates and the planner's drafts (keys, headers, timing)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.contract.confidential import Viewer
from services.common.contract.events import CustomerView, Identity, TicketSnapshot
from services.common.contract.vocabulary import Priority, Status
from services.notifier import backoff, channels, reminders
from services.notifier.listing import WITHHELD, shown
from services.notifier.plan import TEMPLATE_VARIABLES, Links, Planner
from services.notifier.quiet_hours import QuietHours, zone_for
from services.notifier.senders import callback_twiml
from services.notifier.settings import PACKAGE_TEMPLATES, Settings, Twilio
from services.notifier.templates import Templates

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def customer(name=None, anonymous=False, **identities) -> dict:
    """The customer as events bring it: customer(email="a@x.org", phone="+351…")."""
    return asdict(CustomerView(name, anonymous, tuple(Identity(k, v) for k, v in identities.items())))


def ticket(**fields) -> dict:
    """A ticket as the events bring it (a TicketSnapshot's dict)."""
    base = asdict(TicketSnapshot(reference="C-2VVFXBBXSS", status=Status.NEW, priority=Priority.MEDIUM,
                                 channel="email", version=1, customer=CustomerView(), created_at=NOW.isoformat(),
                                 updated_at=NOW.isoformat(), subject="Charged twice"))
    base["customer"] = customer("Ana", email="ana@example.org")
    base.update(fields)
    return base


# --- channels ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel, who, expected", [
    ("email", customer(email="a@x.org"), ("email", "a@x.org")),
    ("web", customer(email="a@x.org", phone="+351912000001"), ("email", "a@x.org")),
    ("web", customer(phone="+351912000001"), ("sms", "+351912000001")),
    ("chat", customer(email="a@x.org"), ("email", "a@x.org")),
    ("whatsapp", customer(whatsapp="+351912000002"), ("whatsapp", "+351912000002")),
    ("voice", customer(phone="+351912000003"), ("sms", "+351912000003")),
    ("voice", customer(), None),
    ("web", customer(anonymous=True), None),
])
def test_the_customer_is_reached_on_their_channel(channel, who, expected):
    found = channels.customer_address(ticket(channel=channel, customer=who))
    assert (found and (found.channel, found.address)) == expected


def test_a_chosen_follow_up_channel_wins_and_chat_replies_stay_in_the_page():
    chosen = ticket(channel="voice", customer=customer(phone="+351912000003"),
                    follow_up={"channel": "whatsapp", "address": "+351912000009"})
    assert channels.customer_address(chosen) == channels.Address("whatsapp", "+351912000009")
    chat = ticket(channel="chat", customer=customer(email="a@x.org"))
    assert channels.reply_address(chat, "chat").channel == "in_page"
    assert channels.reply_address(chosen, "whatsapp").channel == "whatsapp"


def test_agents_get_email_and_whatsapp_or_else_sms_as_configured():
    agent = {"email": "a@s.example", "phone": "+351910000001", "whatsapp": None}
    assert [a.channel for a in channels.agent_addresses(agent, ("email", "whatsapp", "sms"))] == ["email", "sms"]
    assert [a.channel for a in channels.agent_addresses(agent, ("email",))] == ["email"]
    assert channels.agent_addresses(None, ("email",)) == []


# --- quiet hours, reminders, backoff ------------------------------------------------------


def test_quiet_hours_across_midnight_in_the_customers_zone():
    quiet = QuietHours.parse("21:00-08:00")
    lisbon = ZoneInfo("Europe/Lisbon")
    evening = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)          # 22:30 in Lisbon (winter, UTC+0)
    assert quiet.release(evening, lisbon) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    early = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    assert quiet.release(early, lisbon) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert quiet.release(NOW, lisbon) == NOW                       # midday: at once
    summer = datetime(2026, 7, 1, 20, 30, tzinfo=UTC)              # 21:30 in Lisbon (UTC+1)
    assert quiet.release(summer, lisbon) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    assert QuietHours.parse("12:00-14:00").contains(time(13, 0)) and not QuietHours.parse(
        "12:00-14:00").contains(time(14, 0))
    with pytest.raises(ValueError, match="21:00-08:00"):
        QuietHours.parse("late")


def test_region_time_zones_fall_back_to_the_default():
    zones = {"pt": "Europe/Lisbon", "br": "America/Sao_Paulo"}
    assert zone_for("PT", zones) == ZoneInfo("Europe/Lisbon")
    assert zone_for(None, zones) == ZoneInfo("UTC")
    assert zone_for("xx", {"xx": "Not/AZone"}) == ZoneInfo("UTC")


def test_the_reminder_series():
    assert reminders.parse_hours("24,72") == (24.0, 72.0)
    since = NOW
    assert reminders.next_due(since, 0, (24, 72)) == since + timedelta(hours=24)
    assert reminders.next_due(since, 1, (24, 72)) == since + timedelta(hours=72)
    assert reminders.next_due(since, 2, (24, 72)) is None
    for bad in ("72,24", "x", "0"):
        with pytest.raises(ValueError):
            reminders.parse_hours(bad)


def test_retries_back_off_exponentially_up_to_a_cap_and_give_up():
    assert [backoff.retry_delay(n, 30, 600, jitter=0) for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 480, 600]
    assert 27 <= backoff.retry_delay(1, 30, 600) <= 33
    assert not backoff.gives_up(5, 6) and backoff.gives_up(6, 6)


# --- templates and the planner ----------------------------------------------------------------


def planner(tmp_path=None, **settings) -> Planner:
    links = Links(tracking=lambda r: f"https://c.example/complaints/{r}?token=t",
                  survey=lambda r: f"https://c.example/complaints/{r}/survey?token=t",
                  ticket=lambda r: f"https://agents.example/tickets/{r}")
    templates = Templates(str(tmp_path) if tmp_path else None, str(PACKAGE_TEMPLATES))
    return Planner(Settings(**settings), templates, links, "complaints.example")


def test_every_shipped_template_renders_and_a_broken_override_is_refused(tmp_path):
    assert Templates(str(PACKAGE_TEMPLATES)).check(TEMPLATE_VARIABLES) == []
    (tmp_path / "reminder.pt.txt").write_text("{% block text %}Olá {{ nome }}{% endblock %}")
    (tmp_path / "reply.en.txt").write_text("{% block text %}{{ body }{% endblock %}")
    problems = Templates(str(tmp_path), str(PACKAGE_TEMPLATES)).check(TEMPLATE_VARIABLES)
    assert len(problems) == 2 and "'nome' is undefined" in " ".join(problems)


def test_an_acknowledgement_email_is_threaded_automatic_and_in_the_customers_language():
    drafts = planner().acknowledgement(ticket(language="pt-BR"), {"message_id": "<m1@x>"}, NOW)
    (d,) = drafts
    assert (d.channel, d.recipient, d.purpose) == ("email", "ana@example.org", "acknowledgement")
    assert d.subject.startswith("[C-2VVFXBBXSS] Recebemos a sua reclamação")
    assert "https://c.example/complaints/C-2VVFXBBXSS?token=t" in d.body
    assert d.headers["In-Reply-To"] == "<m1@x>" and d.headers["References"] == "<m1@x>"
    assert d.headers["Auto-Submitted"] == "auto-replied" and d.headers["Message-ID"].endswith("@complaints.example>")
    # The same ticket planned again (a redelivery, the catch-up) gets the same key.
    assert planner().acknowledgement(ticket(language="pt-BR"), None, NOW)[0].key == d.key


def test_an_sms_uses_the_short_text_and_unknown_languages_fall_back_to_english():
    (d,) = planner().acknowledgement(ticket(channel="voice", language="de",
                                            customer=customer(phone="+351912000003")), None, NOW)
    assert d.channel == "sms" and d.subject.startswith("[C-2VVFXBBXSS] We received") and len(d.body) < 320
    assert d.headers == {}


@pytest.mark.parametrize("channel, who, expected", [
    # The WhatsApp webhook's TwiML reply was the acknowledgement: the notifier sends none.
    ("whatsapp", customer(whatsapp="+351912000002"), []),
    # A web-form customer who left only a WhatsApp number hears from the notifier there.
    ("web", customer(whatsapp="+351912000002"), [("whatsapp", "+351912000002")]),
    # A caller heard the reference on the call; the SMS writes it down, with the tracking link.
    ("voice", customer(phone="+351912000003"), [("sms", "+351912000003")]),
])
def test_each_customer_gets_one_acknowledgement_and_whatsapp_gets_it_from_the_intake(channel, who, expected):
    drafts = planner().acknowledgement(ticket(channel=channel, customer=who), None, NOW)
    assert [(d.channel, d.recipient) for d in drafts] == expected


def test_the_operator_can_override_a_template_from_a_folder(tmp_path):
    (tmp_path / "acknowledgement.en.txt").write_text(
        "{% block subject %}Ticket {{ reference }}{% endblock %}{% block text %}Our own words.{% endblock %}")
    (d,) = planner(tmp_path).acknowledgement(ticket(), None, NOW)
    assert d.subject == "Ticket C-2VVFXBBXSS" and d.body == "Our own words.\n"


def test_quiet_hours_hold_non_urgent_customer_messages_but_not_acknowledgements_or_urgent_ones():
    night = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    p = planner(quiet_hours=QuietHours.parse("21:00-08:00"), region_timezones={"pt": "Europe/Lisbon"})
    morning = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert p.resolved(ticket(region="pt"), None, night)[0].not_before == morning
    assert p.reminder(ticket(region="pt"), 1, "x", None, night)[0].not_before == morning
    assert p.acknowledgement(ticket(region="pt"), None, night)[0].not_before == night
    assert p.resolved(ticket(region="pt", priority="urgent"), None, night)[0].not_before == night


def test_a_reply_keeps_the_stored_message_id_and_is_not_automatic():
    message = {"id": 7, "channel": "email", "message_id": "<r1@complaints.example>", "author": "bob",
               "subject": "[C-2VVFXBBXSS] Re: Charged twice", "body": "Refunded.",
               "extras": {"in_reply_to": "<m1@x>", "references": ["<m1@x>"]}}
    (d,) = planner().reply(ticket(), message, NOW)
    assert d.headers["Message-ID"] == "<r1@complaints.example>" and d.headers["In-Reply-To"] == "<m1@x>"
    assert "Auto-Submitted" not in d.headers and d.subject == "[C-2VVFXBBXSS] Re: Charged twice"
    (chat,) = planner().reply(ticket(channel="chat"), {**message, "channel": "chat"}, NOW)
    assert (chat.channel, chat.status) == ("in_page", "sent")


def test_an_agent_without_any_address_is_a_visible_failure_not_silence():
    (d,) = planner().agent_alert("agent_assigned", "e1", ticket(assignee="ghost"), None, NOW)
    assert d.status == "failed" and "ghost" in d.body


def test_callback_plans():
    request = {"number": "+351912000777", "window_start": (NOW + timedelta(hours=1)).isoformat(),
               "window_end": (NOW + timedelta(hours=2)).isoformat()}
    agent = {"name": "ana", "display_name": "Ana", "email": "ana@s.example", "phone": "+351910000001"}
    calling = planner(callback_mode="call", twilio=Twilio(voice_from="+15005550006"))
    call, note = calling.callback(ticket(), request, agent, NOW)
    assert (call.channel, call.recipient, call.not_before) == ("call", "+351910000001", NOW + timedelta(hours=1))
    assert call.payload["customer"] == "+351912000777" and note.channel == "note"
    # No phone for the agent, or the window already over: a task instead, saying why.
    task = calling.callback(ticket(), request, {**agent, "phone": None}, NOW)
    assert [d.channel for d in task] == ["email", "note"] and "no phone number" in task[-1].body
    late = calling.callback(ticket(), request, agent, NOW + timedelta(hours=3))
    assert "window has passed" in late[-1].body
    twiml = callback_twiml("Callback for ticket", "+351912000777", "+15005550006")
    assert "<Say>Callback for ticket</Say>" in twiml and 'callerId="+15005550006"' in twiml


def test_agents_get_whatsapp_or_sms_alerts_only_where_twilio_is_set_up():
    agent = {"name": "ana", "email": "ana@s.example", "whatsapp": "+351910000011"}
    alerts = planner().agent_alert("agent_assigned", "e1", ticket(), agent, NOW)
    assert [d.channel for d in alerts] == ["email"]
    with_twilio = planner(twilio=Twilio(account_sid="AC1", auth_token="t"))
    alerts = with_twilio.agent_alert("agent_assigned", "e1", ticket(), agent, NOW)
    assert [(d.channel, d.recipient) for d in alerts] == [("email", "ana@s.example"), ("whatsapp", "+351910000011")]
    assert len({d.key for d in alerts}) == 2


# --- confidential cases -------------------------------------------------------------------


def test_an_alert_about_a_confidential_case_says_only_that_and_the_link_on_every_channel():
    agent = {"name": "carla", "email": "carla@s.example", "whatsapp": "+351910000011", "phone": "+351910000012"}
    case = ticket(confidential=True, confidential_group="confidential", subject="My manager shouts at me",
                  category="service", assignee="carla")
    with_twilio = planner(twilio=Twilio(account_sid="AC1", auth_token="t"))
    link = "https://agents.example/tickets/C-2VVFXBBXSS"
    for purpose, extra in (("agent_assigned", {"kind": "assign"}), ("agent_urgent", None),
                           ("callback_task", {"callback": {"number": "+351912000777", "window_start": None,
                                                           "window_end": None}})):
        alerts = with_twilio.agent_alert(purpose, "e1", case, agent, NOW, extra)
        assert {d.channel for d in alerts} == {"email", "whatsapp"}
        for d in alerts:
            assert d.purpose == purpose and d.payload == {"alerted": "carla"}   # the sender logs it
            said = d.subject + d.body
            assert "A confidential case is assigned to you" in said and link in said
            for secret in ("My manager", "service", "Ana", "ana@example.org", "+351912000777", "C-2VVFXBBXSS "):
                assert secret not in said.replace(link, ""), (purpose, d.channel, said)
    # An ordinary ticket's alert is as it was: subject and all, nothing to log.
    (plain,) = planner().agent_alert("agent_assigned", "e2", ticket(assignee="carla"), agent, NOW, {"kind": "assign"})
    assert "Charged twice" in plain.subject and plain.payload == {}


def test_a_supervisors_alert_about_a_confidential_case_names_nothing_of_it():
    case = ticket(confidential=True, confidential_group="confidential", subject="My manager shouts at me")
    (d,) = planner(supervisors=("lead@s.example",)).supervisor_alert(
        "supervisor_escalated", "e1", case, NOW, {"queue": "supervisors", "reason": "nobody", "waiting_since": "?"})
    assert d.subject == "A confidential case needs attention" and "My manager" not in d.body
    assert "https://agents.example/tickets/C-2VVFXBBXSS" in d.body


def test_the_customers_own_messages_about_a_confidential_case_are_unchanged():
    case = ticket(confidential=True, confidential_group="confidential")
    ordinary = planner().acknowledgement(ticket(), None, NOW)[0]
    (ack,) = planner().acknowledgement(case, None, NOW)
    assert (ack.subject, ack.body, ack.recipient) == (ordinary.subject, ordinary.body, ordinary.recipient)


def test_the_outbox_shows_a_cases_rows_whole_only_to_its_group():
    row = {"id": 1, "subject": "Re: my manager", "body": "We are on it.", "recipient": "ana@example.org",
           "headers": {"Message-ID": "<m@x>"}, "status": "sent", "confidential_group": "confidential"}
    outsider, member = Viewer("ops", "operator"), Viewer("ines", "operator", frozenset({"confidential"}))
    assert shown(row, member) == row and shown({**row, "confidential_group": None}, outsider)["body"] == "We are on it."
    hidden = shown(row, outsider)
    assert (hidden["subject"], hidden["body"], hidden["recipient"], hidden["headers"]) == (WITHHELD, WITHHELD,
                                                                                           WITHHELD, {})
    assert hidden["status"] == "sent" and hidden["id"] == 1
