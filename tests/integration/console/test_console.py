"""The agent console below the browser: its store on SQLite and PostgreSQL,
its command line, and its HTTP answers against the running system (sign-in,
roles, CSRF, the knowledge base API, health, metrics, and a clear 503 when the
tickets service is away). Its rules in plain Python are
tests/unit/test_console_rules.py."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import update

from services.common.storage.db import make_engine
from services.console.migrate import upgrade
from services.console.schema import metadata, sessions
from services.console.store import ConsoleError, ConsoleStore
from testkit import api
from testkit.paths import ROOT
from testkit.waiting import wait_for
from testkit.whole_system import AGENT_PASSWORD, SUPERVISOR

# --- the store, on SQLite and PostgreSQL ------------------------------------------------------


@pytest.fixture
def store(database_url):
    upgrade(database_url)
    s = ConsoleStore(make_engine(database_url))
    yield s
    s.engine.dispose()


def test_migrations_create_exactly_the_declared_schema(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table")] == []


def test_passwords_are_hashed_and_checked(store):
    user = store.add_user("ana", "correct horse", "agent", "Ana Silva")
    assert user == {"id": user["id"], "name": "ana", "display_name": "Ana Silva", "role": "agent", "active": True,
                    "email": None, "has_totp": False, "groups": []}
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM console_users").scalar_one()
    assert "correct horse" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    assert store.authenticate("ana", "correct horse")["name"] == "ana"
    assert store.authenticate("ana", "wrong horse") is None
    assert store.authenticate("nobody", "correct horse") is None
    with pytest.raises(ConsoleError, match="already a user"):
        store.add_user("ana", "another password", "agent")
    with pytest.raises(ConsoleError, match="at least 12"):
        store.add_user("bruno", "short", "agent")
    with pytest.raises(ConsoleError, match="unknown role"):
        store.add_user("bruno", "long enough here", "boss")


def test_sessions_open_expire_and_close(store):
    user = store.add_user("sam", "supervisor pw", "supervisor")
    token = store.open_session(user["id"], hours=1)
    assert store.session_user(token)["role"] == "supervisor"
    assert store.session_user(token + "x") is None and store.session_user(None) is None
    with store.engine.begin() as conn:  # an hour later
        conn.execute(update(sessions).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert store.session_user(token) is None
    token = store.open_session(user["id"], hours=1)
    store.set_password("sam", "a new password")  # signs every session out
    assert store.session_user(token) is None
    token = store.open_session(user["id"], hours=1)
    store.close_session(token)
    assert store.session_user(token) is None


def test_knowledge_base_articles_suggestions_and_feedback(store):
    with pytest.raises(ConsoleError, match="title"):
        store.add_article("", "body", None, None, "ana")
    with pytest.raises(ConsoleError, match="category"):
        store.add_article("Title", "body", "groceries", None, "ana")
    refund = store.add_article("Refund for a double charge", "We refund the second charge within 3 days.",
                               "billing", "en", "ana")
    store.add_article("Parcel tracking", "Use the tracking number.", "delivery", "en", "ana")
    found = store.suggest("charged twice, I want my refund", category="billing", language="en")
    assert [a["id"] for a in found] == [refund["id"]]
    store.record_feedback(refund["id"], True, "charged twice")
    store.record_feedback(refund["id"], False, None)
    article = store.record_feedback(refund["id"], True, "refund")
    assert (article["helped"], article["not_helped"]) == (2, 1)
    with pytest.raises(LookupError):
        store.record_feedback(999, True)


def test_add_user_command_takes_the_password_from_the_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'console.db'}"
    env = {"CONSOLE_DATABASE_URL": url, "CONSOLE_PASSWORD": "from-the-env", "VAR_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "services.console", "add-user", "lea", "--role", "supervisor"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Created supervisor lea." in done.stdout and "from-the-env" not in done.stdout + done.stderr
    again = subprocess.run([sys.executable, "-m", "services.console", "add-user", "lea"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "already a user" in again.stderr
    store = ConsoleStore(make_engine(url))
    assert store.authenticate("lea", "from-the-env")["role"] == "supervisor"
    store.engine.dispose()


# --- over HTTP, against the running system -----------------------------------------------------


def signed_in(system, name, password):
    session = requests.Session()
    page = session.get(f"{system.url('console')}/signin", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = session.post(f"{system.url('console')}/signin",
                        data={"name": name, "password": password, "csrf_token": token}, timeout=10)
    assert resp.status_code == 200, resp.text
    session.csrf = token
    return session


@pytest.fixture(scope="module")
def people(system):
    system.add_console_users(("ana", "bruno"))
    return system


def test_an_agent_may_take_an_unassigned_ticket_but_not_another_agents(people):
    console = people.url("console")
    ref = people.complain(category="billing")["reference"]
    people.wait_ticket(ref)  # no roster loaded here: nobody is assigned
    ana = signed_in(people, "ana", AGENT_PASSWORD)
    taken = ana.post(f"{console}/tickets/{ref}/assign", data={"assignee": "ana", "expected_assignee": "",
                                                              "csrf_token": ana.csrf}, timeout=10)
    assert taken.status_code == 200 and "Assigned to ana." in taken.text
    assert people.ticket(ref)["assignee"] == "ana"
    queue = ana.get(f"{console}/queue", timeout=10).text
    assert ref in queue

    bruno = signed_in(people, "bruno", AGENT_PASSWORD)
    grab = bruno.post(f"{console}/tickets/{ref}/assign", data={"assignee": "bruno", "expected_assignee": "ana",
                                                               "csrf_token": bruno.csrf}, timeout=10)
    assert grab.status_code == 403
    assert people.ticket(ref)["assignee"] == "ana"
    # Someone moved it since the page was shown: refused, with the reason, nothing changed.
    boss = signed_in(people, *SUPERVISOR)
    stale = boss.post(f"{console}/tickets/{ref}/assign", data={"assignee": "bruno", "expected_assignee": "",
                                                               "csrf_token": boss.csrf}, timeout=10)
    assert "Not done" in stale.text and "assigned to ana" in stale.text
    assert people.ticket(ref)["assignee"] == "ana"
    # A refused status change says why.
    closed = ana.post(f"{console}/tickets/{ref}/change", data={"status": "closed", "current_status": "new",
                                                               "csrf_token": ana.csrf}, timeout=10)
    assert "Not done" in closed.text and "cannot change status from new to closed" in closed.text
    # Signing out ends the session on the server too.
    out = ana.post(f"{console}/signout", data={"csrf_token": ana.csrf}, timeout=10)
    assert out.status_code == 200
    assert ana.get(f"{console}/queue", allow_redirects=False, timeout=10).status_code == 302


def test_the_ticket_page_shows_the_region_and_where_it_came_from(people):
    ref = people.complain(country="PT")["reference"]
    found = people.wait_ticket(ref, lambda t: t.get("region"), message="the ticket with its region")
    ana = signed_in(people, "ana", AGENT_PASSWORD)
    page = ana.get(f"{people.url('console')}/tickets/{ref}", timeout=10).text
    shown = re.search(r'<dd id="ticket-region">(.*?)</dd>', page, re.S).group(1)
    assert (found["region"], found["region_source"]) == ("pt", "form country PT")
    assert shown.startswith("pt") and "(from form country PT)" in " ".join(shown.split())


def test_sign_in_never_redirects_to_another_site(people):
    console = people.url("console")
    session = requests.Session()
    page = session.get(f"{console}/signin?next=//evil.example/x", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = session.post(f"{console}/signin", data={"name": SUPERVISOR[0], "password": SUPERVISOR[1],
                                                   "next": "//evil.example/x", "csrf_token": token},
                        allow_redirects=False, timeout=10)
    assert resp.status_code == 302 and resp.headers["Location"] == "/queue"
    cookie = next(c for c in session.cookies if c.name == "console_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Lax"


def test_knowledge_base_api_health_and_metrics(people):
    console = people.url("console")
    assert api.get(f"{console}/api/kb/suggest", params={"q": "x", "limit": "lots"}, timeout=10).status_code == 400
    assert api.post(f"{console}/api/kb/articles/1/feedback", json={"helped": "yes"}, timeout=10).status_code == 400
    assert api.post(f"{console}/api/kb/articles/999/feedback", json={"helped": True},
                         timeout=10).status_code == 404
    assert api.get(f"{console}/api/kb/suggest", params={"q": "nothing matches this"},
                        timeout=10).json() == {"items": []}
    assert api.get(f"{console}/health/ready", timeout=10).json()["checks"] == {"database": "ok", "broker": "ok"}
    signed_in(people, *SUPERVISOR)
    log = people.procs["console"].log()
    assert "created administrator sam" in log and SUPERVISOR[1] not in log  # the bootstrap password is never logged
    metrics = api.get(f"{console}/metrics", timeout=10).text
    assert re.search(r'complaints_console_signins_total\{outcome="ok"\} [1-9]', metrics)
    assert re.search(r'complaints_console_kb_suggestions_total\{outcome="none"\} [1-9]', metrics)


def test_pages_say_so_when_the_tickets_service_does_not_answer(rabbit, tmp_path, monkeypatch):
    # A console on a vhost where no tickets service runs, with a short RPC timeout.
    from services.console.app import create_app
    from services.console.clients import RouterClient, TicketsClient

    monkeypatch.setenv("TRACKING_SECRET", "console-test-secret")
    url = f"sqlite:///{tmp_path / 'console.db'}"
    upgrade(url)
    store = ConsoleStore(make_engine(url))
    store.add_user("ana", AGENT_PASSWORD, "agent")
    app = create_app(store, TicketsClient(rabbit.amqp_uri, timeout=1), RouterClient(rabbit.amqp_uri, timeout=1))
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF is tested over HTTP above; here only the 503
    client = app.test_client()
    assert client.post("/signin", data={"name": "ana", "password": AGENT_PASSWORD}).status_code == 302
    page = client.get("/queue")
    assert page.status_code == 503 and page.headers["Retry-After"] == "10"
    assert "The tickets service is not answering" in page.get_data(True)
    assert client.get("/tickets/C-0000000000/conversation.json").status_code == 503
    app.extensions["console"].close()


# --- confidential cases ------------------------------------------------------------------

GROUP = ["confidential"]


def set_groups(system, name, groups: str) -> subprocess.CompletedProcess:
    env = {"CONSOLE_DATABASE_URL": f"sqlite:///{system.tmp / 'console.db'}", "VAR_DIR": str(system.tmp / "var"),
           "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "services.console", "set-groups", name, groups], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def members(people):
    people.add_console_users(("carla",))
    people.add_console_users(("lead",), role="supervisor")
    for name in ("carla", "lead"):
        done = set_groups(people, name, "confidential")
        assert done.returncode == 0 and f"{name} is in confidential." in done.stdout, done.stderr
    # On the roster too, in the group: the router gives (or leaves) a case only to its members.
    api.put(f"{people.url('router')}/agents/carla", json={"skills": ["billing"], "capacity": 5, "groups": GROUP,
                                                          "status": "away"}, timeout=10).raise_for_status()
    return people


def case(system, **fields) -> str:
    """A complaint sent with the form's "confidential grievance" box ticked, once it is a ticket."""
    reference = system.complain(body="My manager shouts at me in front of the team.", subject="My manager",
                                confidential=True, **fields)["reference"]
    url = f"{system.url('tickets')}/tickets/{reference}"
    wait_for(lambda: api.get(url, groups=GROUP, timeout=10).status_code == 200, message="the confidential ticket")
    return reference


def test_an_agent_outside_the_group_gets_404_and_finds_it_in_no_list(members):
    console = members.url("console")
    ref = case(members)
    api.post(f"{members.url('tickets')}/tickets/{ref}/assignee", json={"assignee": "carla"}, groups=GROUP,
             timeout=10).raise_for_status()
    # (carla is away on the roster, so the router neither takes it from her nor gives her others.)
    ana = signed_in(members, "ana", AGENT_PASSWORD)
    page = ana.get(f"{console}/tickets/{ref}", timeout=10)
    assert page.status_code == 404 and f"There is no ticket {ref}" in page.text and "My manager" not in page.text
    assert ana.get(f"{console}/tickets/{ref}/conversation.json", timeout=10).status_code == 404
    for listing in (f"{console}/tickets", f"{console}/tickets?q=manager", f"{console}/queue"):
        assert ref not in ana.get(listing, timeout=10).text
    noted = ana.post(f"{console}/tickets/{ref}/notes", data={"body": "a peek", "csrf_token": ana.csrf}, timeout=10)
    assert noted.status_code == 404   # "Not done", back to the ticket: which is not there

    carla = signed_in(members, "carla", AGENT_PASSWORD)
    queue = carla.get(f"{console}/queue", timeout=10).text
    assert ref in queue and "Confidential" in queue
    mine = carla.get(f"{console}/tickets/{ref}", timeout=10).text
    assert 'id="confidential-badge"' in mine and "My manager shouts at me" in mine
    assert 'id="access-log"' not in mine and "Who has seen this case" not in mine   # a member, not a supervisor


def test_a_supervisor_in_the_group_sees_who_looked_at_the_case(members):
    console = members.url("console")
    ref = case(members)
    signed_in(members, "carla", AGENT_PASSWORD).get(f"{console}/tickets/{ref}", timeout=10)
    lead = signed_in(members, "lead", AGENT_PASSWORD)
    page = lead.get(f"{console}/tickets/{ref}", timeout=10).text
    log = re.search(r'<table class="audit" id="access-log">(.*?)</table>', page, re.S).group(1)
    assert "carla (agent)" in log and "View" in log and "lead (agent)" in log
    # The administrator who is not in the group: no page, no log.
    boss = signed_in(members, *SUPERVISOR)
    assert boss.get(f"{console}/tickets/{ref}", timeout=10).status_code == 404


def test_a_supervisor_outside_the_group_marks_a_case_and_a_member_opens_it_again(members):
    console = members.url("console")
    ref = members.complain(body="The lamp arrived broken.")["reference"]
    members.wait_ticket(ref)
    boss = signed_in(members, *SUPERVISOR)
    marked = boss.post(f"{console}/tickets/{ref}/confidential", data={"confidential": "yes", "csrf_token": boss.csrf},
                       timeout=10)
    assert marked.status_code == 200 and marked.url.endswith("/queue")
    assert f"{ref} is now a confidential case: only the confidential group sees it." in marked.text
    assert boss.get(f"{console}/tickets/{ref}", timeout=10).status_code == 404
    lead = signed_in(members, "lead", AGENT_PASSWORD)
    page = lead.get(f"{console}/tickets/{ref}", timeout=10).text
    assert "Make visible to every agent" in page
    opened = lead.post(f"{console}/tickets/{ref}/confidential", data={"confidential": "no", "csrf_token": lead.csrf},
                       timeout=10)
    assert "No longer confidential." in opened.text
    assert boss.get(f"{console}/tickets/{ref}", timeout=10).status_code == 200


def test_groups_are_checked_kept_and_cleared(tmp_path):
    url = f"sqlite:///{tmp_path / 'console.db'}"
    upgrade(url)
    store = ConsoleStore(make_engine(url))
    try:
        store.add_user("ana", AGENT_PASSWORD, "agent")
        assert store.set_groups("ana", ["confidential", " hr.leads ", "confidential", ""])["groups"] == [
            "confidential", "hr.leads"]
        with pytest.raises(ConsoleError, match="not a group name: 'hr team'"):
            store.set_groups("ana", ["hr team"])
        with pytest.raises(ConsoleError, match="no user 'nobody'"):
            store.set_groups("nobody", ["confidential"])
        assert store.set_groups("ana", [])["groups"] == []
        assert store.audit.page()[0]["event"] == "groups_changed"
    finally:
        store.engine.dispose()
