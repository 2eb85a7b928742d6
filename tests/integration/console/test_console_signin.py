"""Stronger sign-in on the real console application (its Flask app, CSRF on,
through the test client) over SQLite and PostgreSQL, with a real SMTP server
(aiosmtpd) for the password reset mail: two-step sign-in with an authenticator
app (codes computed with pyotp, as the phone would), recovery codes, lockouts
and what they say, password reset links, session expiry and cookies, the
audit page, and the command line. The rules alone are
tests/unit/test_console_signin_rules.py; the same in a browser,
tests/e2e/test_browser_console.py."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import select, update

from services.common.storage.db import make_engine
from services.console.app import create_app
from services.console.migrate import upgrade
from services.console.schema import password_resets, sessions
from services.console.sign_in_rules import LockoutPolicy, address_key
from services.console.store import ConsoleError, ConsoleStore
from testkit.paths import ROOT
from testkit.ports import free_port
from testkit.smtp_server import smtp_env, start_smtp
from testkit.waiting import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

PASSWORD = "a long passphrase"
PUBLIC_URL = "https://console.example.test"


@pytest.fixture(scope="module")
def mail():
    port = free_port()
    controller, sink = start_smtp(port)
    sink.env = smtp_env(port)
    yield sink
    controller.stop()


@pytest.fixture
def store(database_url, monkeypatch, mail):
    for name, value in {**mail.env, "TRACKING_SECRET": "console-signin-test", "CONSOLE_PUBLIC_URL": PUBLIC_URL,
                        "MAIL_FROM": "Console <console@complaints.example.test>"}.items():
        monkeypatch.setenv(name, value)
    with mail.lock:
        mail.received.clear()  # one server for the module; each test reads its own mail
    upgrade(database_url)
    s = ConsoleStore(make_engine(database_url))
    yield s
    s.engine.dispose()


@pytest.fixture
def app(store):
    nothing = SimpleNamespace(close=lambda: None)  # no page used here asks the tickets service or router
    application = create_app(store, tickets=nothing, router=nothing)
    yield application


class Visitor:
    """One browser: its cookies, its CSRF token, its address."""

    def __init__(self, app, address="198.51.100.7"):
        self.client = app.test_client()
        self.environ = {"REMOTE_ADDR": address}
        page = self.get("/signin").get_data(True)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def get(self, path):
        return self.client.get(path, environ_base=self.environ)

    def post(self, path, **form):
        return self.client.post(path, data={"csrf_token": self.csrf, **form}, environ_base=self.environ)

    def sign_in(self, name, password=PASSWORD):
        return self.post("/signin", name=name, password=password)

    def session_cookie(self):
        cookie = self.client.get_cookie("console_session")
        return cookie.value if cookie else None


def problem(response) -> str:
    found = re.search(r'<div class="error-summary" role="alert"><h2>There is a problem</h2><p>(.*?)</p>',
                      response.get_data(True), re.S)
    return " ".join(found.group(1).split()) if found else ""


def code_for(secret, after_seconds=0):
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=after_seconds))


def enrol_in_browser(visitor, name):
    """Password, then the setup page: read the key off it, confirm with the app's code."""
    signed = visitor.sign_in(name)
    assert signed.status_code == 302 and signed.headers["Location"].startswith("/two-step/setup")
    page = visitor.get(signed.headers["Location"]).get_data(True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = visitor.post("/two-step/setup", code=code_for(secret))
    assert done.status_code == 200, problem(done)
    return secret, re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(True))


def audit_events(store, name=None):
    return [e["event"] for e in store.audit.page() if name is None or e["user"] == name]


# --- two-step sign-in ------------------------------------------------------------------------------


def test_a_supervisor_without_an_app_sets_one_up_after_the_password_and_then_signs_in_with_codes(app, store):
    store.add_user("sam", PASSWORD, "supervisor")
    browser = Visitor(app)
    # The password alone does not sign a supervisor in: the page asked for waits behind the setup.
    signed = browser.sign_in("sam")
    halfway = browser.session_cookie()
    assert browser.get("/account").headers["Location"].startswith("/two-step/setup")
    assert browser.get("/tickets/C-0000000000/conversation.json").status_code == 401
    setup = browser.get(signed.headers["Location"]).get_data(True)
    assert "Your role signs in with two steps" in setup
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', setup).group(1).replace(" ", "")
    uri = re.search(r'href="(otpauth://[^"]+)"', setup).group(1).replace("&amp;", "&")
    assert pyotp.parse_uri(uri).secret == secret and "Complaints%20console:sam" in uri
    assert "<svg" in setup  # the QR code
    # Reloading shows the same key; a wrong code says so and changes nothing.
    assert secret.upper() in browser.get("/two-step/setup").get_data(True).replace(" ", "")
    wrong = browser.post("/two-step/setup", code="000000" if code_for(secret) != "000000" else "111111")
    assert wrong.status_code == 400 and "That code is not right" in problem(wrong)
    assert not store.user("sam")["has_totp"]

    done = browser.post("/two-step/setup", code=code_for(secret))
    assert done.status_code == 200 and "They are shown only now" in done.get_data(True)
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(True))
    assert len(set(codes)) == 10
    assert browser.session_cookie() not in (None, halfway)  # a new session value for the step up
    assert store.session(halfway) is None
    assert browser.get("/account").status_code == 200
    assert "Recovery codes left: 10" in browser.get("/account").get_data(True)
    browser.post("/signout")

    # Next time: password, then a code. The setup code cannot be replayed; the next one works.
    again = Visitor(app)
    assert again.sign_in("sam").headers["Location"] == "/signin/code"
    assert "Enter your code" in again.get("/signin/code").get_data(True)
    replay = again.post("/signin/code", code=code_for(secret))
    assert replay.status_code == 401 and "already used" in problem(replay)
    ok = again.post("/signin/code", code=code_for(secret, after_seconds=30), next="/account")
    assert ok.status_code == 302 and ok.headers["Location"] == "/account"
    assert again.get("/account").status_code == 200

    # A lost phone: a recovery code signs in once.
    third = Visitor(app)
    third.sign_in("sam")
    used = third.post("/signin/code", code=codes[0].upper().replace("-", " "))
    assert used.status_code == 302
    assert "Recovery codes left: 9" in third.get("/account").get_data(True)
    fourth = Visitor(app)
    fourth.sign_in("sam")
    assert fourth.post("/signin/code", code=codes[0]).status_code == 401
    assert audit_events(store, "sam")[:6] == ["code_failed", "signin", "recovery_code_used", "signin",
                                              "code_failed", "signout"]


def test_an_agent_may_turn_two_step_sign_in_on_and_off_and_a_supervisor_may_not_turn_it_off(app, store):
    store.add_user("ana", PASSWORD, "agent")
    agent = Visitor(app)
    assert agent.sign_in("ana").headers["Location"] == "/queue"  # agents need no app
    assert "Off: your password alone" in agent.get("/account").get_data(True)
    before = agent.session_cookie()
    page = agent.get("/two-step/setup").get_data(True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert agent.post("/two-step/setup", code=code_for(secret)).status_code == 200
    assert agent.session_cookie() != before and store.session(before) is None
    assert store.user("ana")["has_totp"]
    # Once on, an agent's sign-in asks for a code too.
    other = Visitor(app)
    assert other.sign_in("ana").headers["Location"] == "/signin/code"
    # Turning it off takes a current code.
    assert agent.post("/account/two-step/off", code="123").status_code == 400
    off = agent.post("/account/two-step/off", code=code_for(secret, after_seconds=30))
    assert off.status_code == 302 and not store.user("ana")["has_totp"]
    assert store.second_factors.recovery_codes_left(store.user("ana")["id"]) == 0

    store.add_user("sam", PASSWORD, "supervisor")
    boss = Visitor(app)
    enrol_in_browser(boss, "sam")
    refused = boss.post("/account/two-step/off", code="123456")
    assert refused.status_code == 403 and "administrator can reset" in refused.get_data(True)
    assert "totp_removed" in audit_events(store, "ana") and "totp_enrolled" in audit_events(store, "sam")


def test_a_code_is_accepted_once_even_when_two_workers_are_given_it_at_once(store):
    user = store.add_user("sam", PASSWORD, "supervisor")
    secret = store.second_factors.setup_secret(user["id"])
    now = datetime.now(UTC)
    assert store.second_factors.confirm(user["id"], pyotp.TOTP(secret).at(now), now)
    later = now + timedelta(seconds=60)
    code = pyotp.TOTP(secret).at(later)
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.second_factors.check(user["id"], code, later)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [None] * 5 + ["app"]
    # An older code than the last one accepted is refused too.
    assert store.second_factors.check(user["id"], pyotp.TOTP(secret).at(later - timedelta(seconds=30)), later) is None


# --- lockout ---------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_name_and_the_page_says_until_when_the_same_for_a_name_nobody_has(
        app, store, monkeypatch):
    monkeypatch.setenv("CONSOLE_LOCKOUT_SECONDS", "2")
    store.add_user("ana", PASSWORD, "agent")
    answers = {}
    for name in ("ana", "nobody"):
        browser = Visitor(app)
        for _ in range(4):
            wrong = browser.sign_in(name, "not the password")
            assert wrong.status_code == 401 and "do not match" in problem(wrong)
        locked = browser.sign_in(name, "not the password")
        assert locked.status_code == 429 and 1 <= int(locked.headers["Retry-After"]) <= 2
        answers[name] = re.sub(r"\d\d:\d\d:\d\d", "HH:MM:SS", problem(locked))
        # While locked, even the right password is refused, without being checked.
        again = browser.sign_in(name, PASSWORD)
        assert again.status_code == 429 and "temporarily locked" in problem(again)
    assert answers["ana"] == answers["nobody"]
    assert answers["ana"].startswith("Signing in is temporarily locked after too many failed tries with this name "
                                     "or from this network. Try again after HH:MM:SS UTC (in about 1 minute)")
    assert "reset your password" in answers["ana"]
    assert audit_events(store, "ana")[:3] == ["signin_locked", "lockout", "signin_failed"]

    time.sleep(2.1)  # the lock is over: the right password signs in and the count starts again
    assert Visitor(app).sign_in("ana").status_code == 302
    # The next lock of a name lasts twice as long.
    browser = Visitor(app)
    for _ in range(5):
        locked = browser.sign_in("nobody", "still wrong")
    assert locked.status_code == 429 and 3 <= int(locked.headers["Retry-After"]) <= 4


def test_wrong_codes_count_like_wrong_passwords_and_one_address_trying_many_names_is_locked(
        app, store, monkeypatch):
    monkeypatch.setenv("CONSOLE_LOCKOUT_ADDRESS_FAILURES", "7")
    store.add_user("sam", PASSWORD, "supervisor")
    enrol_in_browser(Visitor(app, "192.0.2.1"), "sam")
    guesser = Visitor(app, "192.0.2.2")
    guesser.sign_in("sam")
    for _ in range(4):
        assert guesser.post("/signin/code", code="000001").status_code == 401
    locked = guesser.post("/signin/code", code="000001")
    assert locked.status_code == 429 and "temporarily locked" in problem(locked)
    assert guesser.get("/signin/code").headers["Location"].startswith("/signin")  # the halfway session ended
    # Another address, other names: seven failures from it lock the address for every name.
    spray = Visitor(app, "203.0.113.9")
    for n in range(6):
        assert spray.sign_in(f"user{n}", "guess-guess-guess").status_code == 401
    assert spray.sign_in("user6", "guess-guess-guess").status_code == 429
    assert spray.sign_in("someone-else", "guess-guess-guess").status_code == 429
    assert Visitor(app, "192.0.2.77").sign_in("someone-else", "guess").status_code == 401  # not from elsewhere


def test_concurrent_failures_are_all_counted_and_locks_forget_after_a_quiet_day(store):
    from services.console.sign_in_locks import SignInLocks

    locks = SignInLocks(store.engine, LockoutPolicy(address_failures=100))
    key, at = address_key("198.51.100.99"), datetime.now(UTC)
    threads = [threading.Thread(target=locks.record_failure, args=([key], at)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.engine.connect() as conn:
        from services.console.schema import sign_in_locks
        assert conn.execute(select(sign_in_locks.c.failures).where(sign_in_locks.c.key == key)).scalar() == 8
    policy_locks = SignInLocks(store.engine, LockoutPolicy())
    until = None
    for _ in range(5):
        until = policy_locks.record_failure(["account:zoe"], at) or until
    assert until == at + timedelta(seconds=60)
    assert policy_locks.locked_until(["account:zoe", key], at) == until
    assert policy_locks.locked_until(["account:zoe"], until) is None


# --- password reset by mail ------------------------------------------------------------------------


def reset_links(mail, address):
    return [re.search(r"https://\S+/reset/\S+", m.get_content()).group(0) for m in mail.to(address)]


def test_a_forgotten_password_is_reset_from_a_mailed_single_use_link_that_ends_every_session(app, store, mail):
    store.add_user("bruno", PASSWORD, "agent", email="Bruno@Example.org")
    signed_in = Visitor(app)
    assert signed_in.sign_in("bruno").status_code == 302
    # The same words whether or not the account exists or has an address.
    texts = set()
    for who in ("bruno", "nobody-at-all", "ghost@example.org"):
        answer = Visitor(app).post("/forgot", who=who)
        assert answer.status_code == 200
        texts.add(re.search(r'<p id="reset-sent">(.*?)</p>', answer.get_data(True), re.S).group(1))
    assert len(texts) == 1 and "works once, for 30 minutes" in " ".join(texts.pop().split())
    links = wait_for(lambda: reset_links(mail, "bruno@example.org"), message="the reset mail")
    message = mail.to("bruno@example.org")[0]
    assert message["Subject"] == "Reset your password for the complaints console"
    assert message["X-Complaints-System"] and message["Message-ID"] and message["Auto-Submitted"]
    link = links[0]
    assert link.startswith(f"{PUBLIC_URL}/reset/")  # never the Host the request came with
    # Asked again at once: no second mail (no mailbox flooding), the same answer.
    Visitor(app).post("/forgot", who="bruno@example.org")
    time.sleep(0.5)
    assert len(mail.to("bruno@example.org")) == 1

    path = link.removeprefix(PUBLIC_URL)
    browser = Visitor(app)
    assert "Choose a new password" in browser.get(path).get_data(True)
    short = browser.post(path, password="short", confirm="short")
    assert short.status_code == 400 and "at least 12 characters" in problem(short)
    differ = browser.post(path, password="a new passphrase", confirm="another one here")
    assert differ.status_code == 400 and "differ" in problem(differ)
    done = browser.post(path, password="a new passphrase", confirm="a new passphrase")
    assert done.status_code == 302 and done.headers["Location"] == "/signin"
    assert "Your password is changed" in browser.get("/signin").get_data(True)
    # Every session of bruno ended; the link is spent; the new password works, the old does not.
    assert signed_in.get("/account").status_code == 302
    assert "Your session has ended" in signed_in.get("/signin").get_data(True)
    assert browser.post(path, password="third passphrase", confirm="third passphrase").status_code == 404
    assert Visitor(app).sign_in("bruno").status_code == 401
    assert Visitor(app).sign_in("bruno", "a new passphrase").status_code == 302
    assert {"reset_requested", "reset_done", "reset_refused"} <= set(audit_events(store))


def test_a_reset_link_expires_and_a_failed_mail_is_in_the_audit(app, store, monkeypatch):
    user = store.add_user("emma", PASSWORD, "agent", email="emma@example.org")
    token = store.resets.issue(user["id"], minutes=30)
    with store.engine.begin() as conn:
        conn.execute(update(password_resets).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    gone = Visitor(app).get(f"/reset/{token}")
    assert gone.status_code == 404 and "expired or was already used" in gone.get_data(True)
    with store.engine.connect() as conn:
        assert conn.execute(select(password_resets.c.token_hash)).scalar() != token  # only a hash is kept
    monkeypatch.setenv("SMTP_PORT", str(free_port()))  # nobody listens there
    with store.engine.begin() as conn:
        conn.execute(password_resets.delete())
    Visitor(app).post("/forgot", who="emma")
    wait_for(lambda: "reset_mail_failed" in audit_events(store, "emma"), message="the failed mail audited")


# --- sessions and cookies ----------------------------------------------------------------------------


def test_sessions_end_when_idle_and_at_their_lifetime_and_cookies_are_http_only_strict_and_secure(
        app, store, monkeypatch):
    store.add_user("ana", PASSWORD, "agent")
    monkeypatch.setenv("CONSOLE_SESSION_IDLE_MINUTES", "0.03")  # 1.8 s
    browser = Visitor(app)
    before = browser.session_cookie()
    browser.sign_in("ana")
    token = browser.session_cookie()
    assert token and token != before
    for _ in range(3):  # busy: each request keeps it alive past the idle time
        time.sleep(0.7)
        assert browser.get("/account").status_code == 200
    time.sleep(2.2)
    gone = browser.get("/account")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/signin")
    assert browser.session_cookie() is None  # the dead cookie is deleted too
    assert store.session(token) is None

    monkeypatch.delenv("CONSOLE_SESSION_IDLE_MINUTES")
    browser.sign_in("ana")
    with store.engine.begin() as conn:  # twelve hours later, however busy
        conn.execute(update(sessions).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert browser.get("/account").status_code == 302

    monkeypatch.setenv("CONSOLE_COOKIE_SAMESITE", "Strict")
    monkeypatch.setenv("CONSOLE_COOKIE_SECURE", "1")
    response = Visitor(app).sign_in("ana")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("console_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie


# --- the audit page --------------------------------------------------------------------------------


def test_administrators_read_the_sign_in_audit_newest_first_and_nobody_else_does(app, store):
    store.add_user("ana", PASSWORD, "agent")
    store.add_user("sam", PASSWORD, "supervisor")
    store.add_user("root", PASSWORD, "admin")
    Visitor(app).sign_in("ana", "wrong-wrong-wrong")
    agent = Visitor(app)
    agent.sign_in("ana")
    assert agent.get("/audit").status_code == 403
    supervisor = Visitor(app)
    enrol_in_browser(supervisor, "sam")
    refused = supervisor.get("/audit")
    assert refused.status_code == 403 and "for administrators" in refused.get_data(True)
    admin = Visitor(app, "192.0.2.50")
    enrol_in_browser(admin, "root")
    page = admin.get("/audit").get_data(True)
    rows = [(event, *re.findall(r"<td>(.*?)</td>", cells, re.S)[1:4])
            for event, cells in re.findall(r'<tr class="audit-(\w+)">(.*?)</tr>', page, re.S)]
    assert [r[0] for r in rows[:3]] == ["signin", "totp_enrolled", "signin"]
    assert rows[0] == ("signin", "signed in", "root", "192.0.2.50")
    assert ("signin_failed", "sign-in failed: wrong name or password", "ana", "198.51.100.7") in rows
    assert "Sign-in audit" in page and 'href="/audit"' in page  # in the administrator's menu
    assert 'href="/audit"' not in agent.get("/account").get_data(True)


# --- the command line ------------------------------------------------------------------------------


def run_console(url, tmp_path, *args, password=None):
    env = {"CONSOLE_DATABASE_URL": url, "VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           **({"CONSOLE_PASSWORD": password} if password else {})}
    return subprocess.run([sys.executable, "-m", "services.console", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_command_line_adds_administrators_edits_users_and_resets_a_lost_second_factor(tmp_path):
    url = f"sqlite:///{tmp_path / 'console.db'}"
    added = run_console(url, tmp_path, "add-user", "root", "--role", "admin", "--email", "root@example.org",
                        password="root passphrase")
    assert added.returncode == 0 and "Created admin root." in added.stdout, added.stderr
    short = run_console(url, tmp_path, "add-user", "lea", password="short")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    store = ConsoleStore(make_engine(url))
    try:
        user = store.user("root")
        secret = store.second_factors.setup_secret(user["id"])
        store.second_factors.confirm(user["id"], pyotp.TOTP(secret).now(), datetime.now(UTC))
        token = store.open_session(user["id"], 1)
        reset = run_console(url, tmp_path, "reset-two-step", "root")
        assert reset.returncode == 0 and "reset" in reset.stdout
        assert not store.user("root")["has_totp"] and store.session(token) is None
        assert store.audit.page()[0]["event"] == "totp_reset"
        assert run_console(url, tmp_path, "reset-two-step", "nobody").returncode == 1

        token = store.open_session(user["id"], 1)
        edited = run_console(url, tmp_path, "edit-user", "root", "--role", "supervisor", "--email", "")
        assert edited.returncode == 0 and "root: supervisor, email none" in edited.stdout
        assert store.session(token) is None  # a new role is taken up at the next sign-in
        changed = run_console(url, tmp_path, "set-password", "root", password="another passphrase")
        assert changed.returncode == 0
        assert store.authenticate("root", "another passphrase")["role"] == "supervisor"
        with pytest.raises(ConsoleError, match="not an email address"):
            store.edit_user("root", email="not-an-address")
    finally:
        store.engine.dispose()
