"""The web chat and the customer's own-ticket endpoints over HTTP, against the
running system (intake_chat, tickets, router, console on a fresh vhost):
starting a chat, a message delivered once however often the browser retries,
the follow-up choice, the survey, messages from the tracking page, and
knowledge-base suggestions that never block the customer."""

from __future__ import annotations

import uuid

import pytest

from services.common.contract.reference import tracking_token
from testkit import api
from testkit.ports import free_port
from testkit.whole_system import SECRET


def start(system, **fields):
    body = {"chat_id": uuid.uuid4().hex, "name": "Rui", "body": "Hello, my order is missing.", **fields}
    resp = api.post(f"{system.url('intake_chat')}/chat", json=body, timeout=30)
    return resp, body


def post_message(system, ref, message_id, body="Are you there?", token=None):
    return api.post(f"{system.url('intake_chat')}/complaints/{ref}/messages",
                         params={"token": token or tracking_token(ref, SECRET)},
                         json={"body": body, "message_id": message_id, "channel": "chat"}, timeout=30)


@pytest.fixture(scope="module")
def chat(system):
    resp, body = start(system, email="rui@example.org")
    assert resp.status_code == 202, resp.text
    ref = resp.json()["reference"]
    system.wait_ticket(ref, message="chat ticket")
    return {"reference": ref, "chat_id": body["chat_id"]}


def test_starting_a_chat_is_a_chat_ticket_and_a_retry_is_the_same_chat(system, chat):
    ref = chat["reference"]
    ticket = system.ticket(ref)
    assert ticket["channel"] == "chat" and ticket["customer"]["email"] == "rui@example.org"
    again, _ = start(system, chat_id=chat["chat_id"], email="rui@example.org")
    assert again.status_code == 202 and again.json()["reference"] == ref
    # Nothing at all to identify the customer is fine in a chat (they are answered on the page).
    anonymous, _ = start(system, name=None)
    assert anonymous.status_code == 202
    bad, _ = start(system, body="  ", email="not-an-email", chat_id="x")
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"body", "email", "chat_id"}


def test_a_chat_message_is_kept_once_however_often_the_browser_sends_it(system, chat):
    ref = chat["reference"]
    message_id = str(uuid.uuid4())
    for _ in range(3):  # the browser retried twice after losing the answers
        resp = post_message(system, ref, message_id, "Is anyone there?")
        assert resp.status_code == 202, resp.text
    other = post_message(system, ref, str(uuid.uuid4()), "Hello?")
    assert other.status_code == 202
    ticket = system.wait_ticket(ref, lambda t: len(t["messages"]) >= 3, message="messages")
    system.wait_ticket(ref, lambda t: any(m["body"] == "Hello?" for m in t["messages"]), message="last message")
    bodies = [m["body"] for m in system.ticket(ref)["messages"]]
    assert bodies.count("Is anyone there?") == 1 and bodies.count("Hello?") == 1
    assert all(m["channel"] == "chat" for m in ticket["messages"])

    assert post_message(system, ref, str(uuid.uuid4()), token="wrong").status_code == 404
    empty = post_message(system, ref, str(uuid.uuid4()), body=" ")
    assert empty.status_code == 422 and "body" in empty.json()["fields"]
    trivial = post_message(system, ref, "1")  # an id another browser could send too
    assert trivial.status_code == 422 and list(trivial.json()["fields"]) == ["message_id"]


def test_a_message_before_the_ticket_exists_is_refused_until_it_does(system):
    # A reference with a valid token but no ticket (yet): the message would race the
    # opening one and make a ticket of its own, so the browser is told to retry.
    ref = "C-0000000000"
    resp = post_message(system, ref, str(uuid.uuid4()))
    assert resp.status_code == 409 and resp.headers["Retry-After"] == "1"
    assert resp.json()["error"] == "not_ready"


def test_the_customer_chooses_email_or_whatsapp_follow_up(system, chat):
    ref = chat["reference"]
    url = f"{system.url('intake_chat')}/complaints/{ref}/follow-up"
    token = tracking_token(ref, SECRET)
    bad = api.post(url, params={"token": token}, json={"channel": "email", "address": "nope"}, timeout=10)
    assert bad.status_code == 422 and "email address" in bad.json()["fields"]["address"]
    bad = api.post(url, params={"token": token}, json={"channel": "pigeon", "address": "x"}, timeout=10)
    assert bad.status_code == 422 and "channel" in bad.json()["fields"]
    ok = api.post(url, params={"token": token}, json={"channel": "whatsapp", "address": "00351 912 345 678"},
                       timeout=10)
    assert ok.status_code == 200 and ok.json()["follow_up"] == {"channel": "whatsapp", "address": "+351912345678"}
    assert system.ticket(ref)["follow_up"] == {"channel": "whatsapp", "address": "+351912345678"}
    assert api.post(url, params={"token": "wrong"}, json={"channel": "email", "address": "a@b.org"},
                         timeout=10).status_code == 404


def test_the_survey_opens_once_resolved_and_a_second_answer_replaces_the_first(system):
    ref = system.complain(subject="Broken kettle", category="product")["reference"]
    system.wait_ticket(ref)
    token = tracking_token(ref, SECRET)
    survey = f"{system.url('intake_chat')}/complaints/{ref}/survey"
    early = api.post(survey, params={"token": token}, json={"rating": 5}, timeout=10)
    assert early.status_code == 422 and "resolved" in early.json()["fields"]["rating"]
    page = api.get(survey, params={"token": token}, timeout=10)
    assert page.status_code == 200 and "once it is resolved" in page.text
    api.patch(f"{system.url('tickets')}/tickets/{ref}", json={"status": "resolved"},
                   agent="hugo", timeout=10).raise_for_status()
    assert api.post(survey, params={"token": token}, json={"rating": 9}, timeout=10).status_code == 422
    assert api.post(survey, params={"token": token}, json={"rating": 2}, timeout=10).status_code == 200
    # The form (a browser) answers with the tracking page, thanking them.
    form = api.post(survey, params={"token": token}, data={"rating": "4", "comment": "Better now"},
                         headers={"Accept": "text/html"}, timeout=10)
    assert form.status_code == 200 and "Thank you for rating" in form.text and "You rated us 4 of 5" in form.text
    assert system.ticket(ref)["survey"]["rating"] == 4
    assert [a["action"] for a in system.ticket(ref)["audit"]].count("survey_answered") == 2


def test_the_tracking_page_form_adds_a_message_to_the_ticket(system):
    ref = system.complain(subject="Wrong size", category="product")["reference"]
    system.wait_ticket(ref)
    url = f"{system.url('intake_chat')}/complaints/{ref}/messages"
    submission = uuid.uuid4().hex
    for _ in range(2):  # a double click
        resp = api.post(url, params={"token": tracking_token(ref, SECRET)}, allow_redirects=False,
                             data={"body": "I ordered a medium.", "submission_id": submission},
                             headers={"Accept": "text/html"}, timeout=10)
        assert resp.status_code == 303 and "done=message" in resp.headers["Location"]
    ticket = system.wait_ticket(ref, lambda t: len(t["messages"]) == 2, message="second message")
    assert ticket["messages"][1]["body"] == "I ordered a medium." and ticket["messages"][1]["channel"] == "web"
    empty = api.post(url, params={"token": tracking_token(ref, SECRET)}, data={"body": "", "submission_id":
                                                                                    uuid.uuid4().hex},
                          headers={"Accept": "text/html"}, timeout=10)
    assert empty.status_code == 422 and "write your message first" in empty.text


def test_suggestions_come_from_the_console_and_never_block_the_customer(system):
    from services.common.storage.db import make_engine
    from services.console.store import ConsoleStore

    store = ConsoleStore(make_engine(f"sqlite:///{system.tmp / 'console.db'}"))
    article = store.add_article("Reset your router", "Unplug it for 30 seconds, then plug it back in.",
                                "technical", "en", "dave")
    store.engine.dispose()
    intake = system.url("intake_chat")
    found = api.get(f"{intake}/suggestions", params={"q": "my router keeps dropping", "language": "en"},
                         timeout=10).json()
    assert found == {"items": [{"id": article["id"], "title": "Reset your router",
                                "body": "Unplug it for 30 seconds, then plug it back in."}]}
    assert api.post(f"{intake}/suggestions/{article['id']}/feedback", json={"helped": True, "query": "router"},
                         timeout=10).json() == {"status": "recorded"}
    assert api.post(f"{intake}/suggestions/99999/feedback", json={"helped": False},
                         timeout=10).status_code == 404
    assert api.get(f"{intake}/suggestions", params={"q": "ab"}, timeout=10).json() == {"items": []}



def test_with_the_console_down_the_customer_gets_no_suggestions_and_no_error(monkeypatch, tmp_path):
    from services.intake_chat.app import create_app
    from services.intake_chat.kb_client import KnowledgeBaseClient, KnowledgeBaseUnavailable

    monkeypatch.setenv("TRACKING_SECRET", SECRET)
    down = KnowledgeBaseClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    with pytest.raises(KnowledgeBaseUnavailable):
        down.suggest("router")
    app = create_app(knowledge_base=down)
    client = app.test_client()
    resp = client.get("/suggestions?q=my+router+keeps+dropping")
    assert resp.status_code == 200 and resp.get_json()["items"] == [] and resp.get_json()["unavailable"] is True
    assert client.post("/suggestions/1/feedback", json={"helped": True}).status_code == 503
    assert client.get("/chat").status_code == 200  # the chat page itself does not need the console
    app.extensions["intake_chat"].close()
