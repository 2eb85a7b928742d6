"""The agent console in headless Chromium against the whole system: an agent
signs in (keyboard only), filters, reassigns and replies; unauthorised
requests are refused; what a customer typed is shown as text; every main page
passes axe-core with no serious or critical violation. Sign-in: a supervisor
sets up two-step sign-in and signs in with a code (computed with pyotp, as the
phone would), a locked name is told until when, a forgotten password is reset
from the link in the mail (a real SMTP server), and an administrator reads the
sign-in audit. A grievance sent as confidential from the web form is a 404 page
to an agent outside its group and, to a member, a ticket marked Confidential.

Screenshots: var/screenshots/test_browser_console/<test>/ (printed by each test).
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from testkit import api
from testkit.browser import assert_accessible, sign_in, text_of, wait_until
from testkit.ports import free_port
from testkit.smtp_server import smtp_env, start_smtp
from testkit.waiting import wait_for
from testkit.whole_system import AGENT_PASSWORD, SUPERVISOR

XSS = '<script>window.__xss = 1</script><img src="x" onerror="window.__xss = 2">'
SMTP_PORT = free_port()
# Supervisors sign in with two steps; sam, the harness's administrator, with his password
# alone, as the tests before the sign-in ones here do as often as they need.
SYSTEM_ENV = {**smtp_env(SMTP_PORT), "CONSOLE_TOTP_REQUIRED_ROLES": "supervisor"}


@pytest.fixture(scope="module")
def seeded(system):
    system.load_roster()
    system.add_console_users()
    billing = system.complain(subject="Charged twice", body="I was charged twice for order 1234.",
                              category="billing", language="en", email="rita@example.org")
    delivery = system.complain(subject="Parcel late " + XSS, body="My parcel never arrived. " + XSS,
                               category="delivery", language="pt", email="rui@example.pt")
    for ref in (billing["reference"], delivery["reference"]):
        system.wait_ticket(ref, lambda t: t["assignee"], timeout=60, message=f"{ref} assigned by the router")
    return {"billing": billing["reference"], "delivery": delivery["reference"]}


def test_unauthorised_requests_are_refused(system, seeded, browser, shots):
    console = system.url("console")
    ref = seeded["billing"]
    # No session: pages redirect to sign-in, JSON answers 401, forms without a CSRF token 400.
    page = api.get(f"{console}/tickets/{ref}", allow_redirects=False, timeout=10)
    assert page.status_code == 302 and "/signin?next=" in page.headers["Location"]
    assert api.get(f"{console}/tickets/{ref}/conversation.json", timeout=10).status_code == 401
    assert api.get(f"{console}/roster", allow_redirects=False, timeout=10).status_code == 302

    with requests.Session() as agent:
        signin = agent.get(f"{console}/signin", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', signin).group(1)
        forged = agent.post(f"{console}/signin", data={"name": "ana", "password": AGENT_PASSWORD}, timeout=10)
        assert forged.status_code == 400  # no CSRF token: refused before the password is even checked
        wrong = agent.post(f"{console}/signin", data={"name": "ana", "password": "not-it-at-all",
                                                      "csrf_token": token}, timeout=10)
        assert wrong.status_code == 401 and "do not match" in wrong.text
        ok = agent.post(f"{console}/signin", data={"name": "ana", "password": AGENT_PASSWORD,
                                                   "csrf_token": token}, timeout=10)
        assert ok.status_code == 200 and "My queue" in ok.text
        # An agent is not a supervisor: the roster, waiting queue and live chats are closed to them.
        for path in ("/roster", "/waiting", "/chats"):
            assert agent.get(console + path, timeout=10).status_code == 403, path
        # A state change without the form's token is refused even with a valid session.
        note = agent.post(f"{console}/tickets/{ref}/notes", data={"body": "sneaky"}, timeout=10)
        assert note.status_code == 400
        assert all(n["body"] != "sneaky" for n in system.ticket(ref)["notes"])

    # A customer's link with another ticket's token opens nothing.
    other = system.tracking_url(seeded["delivery"]).split("token=")[1]
    assert api.get(f"{system.url('intake_chat')}/complaints/{ref}?token={other}",
                        timeout=10).status_code == 404

    browser.get(f"{console}/queue")
    wait_until(browser, lambda d: "/signin" in d.current_url, message="redirect to sign-in")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    shots.take("redirected-to-sign-in")
    assert_accessible(browser, "sign-in")


def test_agent_signs_in_with_the_keyboard_filters_reassigns_and_replies(system, seeded, browser, shots):
    console = system.url("console")
    browser.get(f"{console}/signin")
    browser.delete_all_cookies()
    browser.get(f"{console}/signin")
    # Keyboard only: Tab reaches the name field (autofocus may already be there), then the password; Enter submits.
    name = _tab_to(browser, "name")
    shots.take("sign-in-keyboard-focus")
    assert browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", name) != "none"
    ActionChains(browser).send_keys(SUPERVISOR[0], Keys.TAB).perform()
    password = browser.switch_to.active_element
    assert password.get_attribute("id") == "password"
    ActionChains(browser).send_keys(SUPERVISOR[1], Keys.ENTER).perform()
    wait_until(browser, lambda d: "/queue" in d.current_url, message="signed in")
    # On every page the first Tab reaches "Skip to main content", visibly focused.
    ActionChains(browser).send_keys(Keys.TAB).perform()
    skip = browser.switch_to.active_element
    assert skip.text == "Skip to main content"
    assert browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", skip) != "none"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    shots.take("my-queue")
    assert_accessible(browser, "my queue")

    # All tickets, filtered by category.
    browser.get(f"{console}/tickets")
    Select(browser.find_element(By.ID, "f-category")).select_by_value("billing")
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_until(browser, lambda d: "category=billing" in d.current_url, message="filtered")
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table.tickets tbody th a")]
    assert seeded["billing"] in listed and seeded["delivery"] not in listed
    shots.take("tickets-filtered-by-billing")
    assert_accessible(browser, "all tickets")

    # Text search finds the other one; its hostile subject is shown as text, never run.
    browser.get(f"{console}/tickets?q=parcel")
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table.tickets tbody th a")]
    assert listed == [seeded["delivery"]]
    assert "<script>window.__xss = 1</script>" in text_of(browser)
    assert browser.execute_script("return window.__xss === undefined")

    # The ticket page: conversation (escaped), routing explanation, audit trail.
    browser.find_element(By.LINK_TEXT, seeded["delivery"]).click()
    wait_until(browser, lambda d: seeded["delivery"] in d.find_element(By.TAG_NAME, "h1").text)
    main = text_of(browser)
    assert 'onerror="window.__xss = 2"' in main
    assert browser.execute_script("return window.__xss === undefined")
    assert "Why it is routed this way" in main and "Audit trail" in main
    before = system.ticket(seeded["delivery"])["assignee"]
    routing = browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=routing-title]").text
    assert before and f"assigned to {before}" in routing, routing
    shots.take("ticket-page")
    assert_accessible(browser, "ticket page")

    # Reassign to another agent.
    target = "hugo" if before != "hugo" else "ana"
    Select(browser.find_element(By.ID, "assignee")).select_by_value(target)
    browser.find_element(By.CSS_SELECTOR, "form[aria-labelledby=assign-title] button").click()
    wait_until(browser, lambda d: f"Assigned to {target}." in d.find_element(By.CSS_SELECTOR, ".flashes").text,
               message="reassigned")
    assert browser.find_element(By.ID, "ticket-assignee").text == target
    assert system.ticket(seeded["delivery"])["assignee"] == target

    # Reply, and ask the customer for more in the same step.
    browser.find_element(By.ID, "reply-body").send_keys("Your parcel is with the courier; it arrives tomorrow.")
    Select(browser.find_element(By.ID, "reply-status")).select_by_value("pending_customer")
    browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=reply-title] button").click()
    wait_until(browser, lambda d: "Reply sent" in d.find_element(By.CSS_SELECTOR, ".flashes").text)
    assert "it arrives tomorrow" in browser.find_element(By.ID, "conversation").text
    assert browser.find_element(By.ID, "ticket-status").text == "Pending customer"
    shots.take("ticket-after-reassign-and-reply", show="#conversation")

    # The customer sees the reply on their tracking page, with who answered.
    view = api.get(system.tracking_url(seeded["delivery"]) + "&format=json", timeout=10).json()
    assert view["status"] == "pending_customer"
    assert view["messages"][-1] == {**view["messages"][-1], "direction": "out", "author": SUPERVISOR[0]}
    audit = [a["action"] for a in system.ticket(seeded["delivery"])["audit"]]
    assert "assigned" in audit and "replied" in audit


def _tab_to(driver, element_id, most=8):
    """Press Tab until the element with this id has the focus; it is returned."""
    for _ in range(most):
        active = driver.switch_to.active_element
        if active.get_attribute("id") == element_id:
            return active
        ActionChains(driver).send_keys(Keys.TAB).perform()
    raise AssertionError(f"#{element_id} not reached with {most} presses of Tab")


def test_supervisor_pages_show_roster_waiting_queue_and_live_chats(system, seeded, browser, shots):
    sign_in(browser, system, *SUPERVISOR)
    browser.get(f"{system.url('console')}/roster")
    roster = text_of(browser)
    assert "bruno" in roster and "hugo" in roster and "Away" in roster  # gina is away in the sample roster
    shots.take("roster")
    assert_accessible(browser, "roster")
    browser.get(f"{system.url('console')}/waiting")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Waiting queue"
    browser.get(f"{system.url('console')}/chats")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Live chats"
    shots.take("live-chats")


def test_an_agent_writes_a_knowledge_base_article(system, seeded, browser, shots):
    sign_in(browser, system, "ana", AGENT_PASSWORD)
    browser.get(f"{system.url('console')}/kb/new")
    browser.find_element(By.ID, "kb-title").send_keys("Charged twice? Check for a pending authorisation")
    browser.find_element(By.ID, "kb-body").send_keys(
        "A second charge that shows as pending is an authorisation; it disappears within 3 days.")
    Select(browser.find_element(By.ID, "kb-category")).select_by_value("billing")
    browser.find_element(By.ID, "kb-language").send_keys("en")
    assert_accessible(browser, "new article form")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(browser, lambda d: "published" in d.find_element(By.CSS_SELECTOR, ".flashes").text)
    shots.take("knowledge-base")
    found = api.get(f"{system.url('intake_chat')}/suggestions",
                         params={"q": "I was charged twice", "category": "billing"}, timeout=10).json()
    assert [a["title"] for a in found["items"]] == ["Charged twice? Check for a pending authorisation"]


# --- sign-in: two steps, lockout, password reset, audit -----------------------------------------


@pytest.fixture(scope="module")
def mail():
    controller, sink = start_smtp(SMTP_PORT)
    yield sink
    controller.stop()


def console_store(system):
    from services.common.storage.db import make_engine
    from services.console.store import ConsoleStore

    return ConsoleStore(make_engine(f"sqlite:///{system.tmp / 'console.db'}"))


def _type_in(browser, fields: dict, submit="main form button[type=submit]"):
    for element_id, value in fields.items():
        field = browser.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, submit).click()


def _signed_out(browser, console):
    """A browser with nobody signed in, on the sign-in page."""
    browser.get(f"{console}/signin")
    browser.delete_all_cookies()
    browser.get(f"{console}/signin")


def _problem(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, ".error-summary").text


def test_a_supervisor_sets_up_two_step_sign_in_and_then_signs_in_with_a_code(system, seeded, browser, shots):
    store = console_store(system)
    try:
        store.add_user("tess", AGENT_PASSWORD, "supervisor", "Tess Supervisor")
    finally:
        store.engine.dispose()
    console = system.url("console")
    _signed_out(browser, console)
    browser.get(f"{console}/roster")  # asked for before signing in: reached after both steps
    _type_in(browser, {"name": "tess", "password": AGENT_PASSWORD})
    wait_until(browser, lambda d: "/two-step/setup" in d.current_url, message="sent to set up the app")
    assert "Your role signs in with two steps" in text_of(browser)
    assert browser.find_element(By.CSS_SELECTOR, ".qr svg").is_displayed()
    secret = browser.find_element(By.ID, "totp-secret").text.replace(" ", "")
    shots.take("two-step-setup")
    assert_accessible(browser, "two-step setup")
    browser.find_element(By.CSS_SELECTOR, ".steps details summary").click()
    assert pyotp.parse_uri(browser.find_element(By.ID, "totp-uri").get_attribute("href")).secret == secret

    spent = pyotp.TOTP(secret).now()
    _type_in(browser, {"code": spent}, "ol.steps form button[type=submit]")
    wait_until(browser, lambda d: d.find_elements(By.ID, "recovery-codes"), message="recovery codes shown")
    codes = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#recovery-codes code")]
    assert len(codes) == 10
    shots.take("recovery-codes")
    assert_accessible(browser, "recovery codes")
    browser.find_element(By.LINK_TEXT, "I have kept them: continue").click()
    wait_until(browser, lambda d: "/roster" in d.current_url, message="on the page first asked for")

    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait_until(browser, lambda d: "/signin" in d.current_url, message="signed out")
    _type_in(browser, {"name": "tess", "password": AGENT_PASSWORD})
    wait_until(browser, lambda d: "/signin/code" in d.current_url, message="asked for a code")
    shots.take("enter-your-code")
    assert_accessible(browser, "code page")
    # The code used to set the app up is spent (the same code: the clock may have moved on since);
    # the app's next one is good (within the window).
    _type_in(browser, {"code": spent})
    wait_until(browser, lambda d: "/signin/code" in d.current_url and d.find_elements(By.CSS_SELECTOR,
               ".error-summary"), message="the spent code refused")
    _type_in(browser, {"code": pyotp.TOTP(secret).at(time.time() + 30)})
    wait_until(browser, lambda d: "/queue" in d.current_url, message="signed in with the code")
    browser.find_element(By.LINK_TEXT, "Tess Supervisor (supervisor)").click()
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Your account")
    assert "Recovery codes left: 10" in browser.find_element(By.ID, "two-step-state").text
    shots.take("account")
    assert_accessible(browser, "account page")


def test_a_name_locked_after_failed_sign_ins_is_told_until_when(system, seeded, browser, shots):
    console = system.url("console")
    _signed_out(browser, console)
    for attempt in range(5):
        browser.get(f"{console}/signin")
        _type_in(browser, {"name": "emma", "password": f"not her password {attempt}"})
        wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".error-summary"), message="refused")
    message = _problem(browser)
    assert re.search(r"Signing in is temporarily locked .* Try again after \d\d:\d\d:\d\d UTC "
                     r"\(in about 1 minute\)", message), message
    shots.take("sign-in-locked")
    assert_accessible(browser, "locked sign-in")
    # The right password is refused while the lock lasts, with the same words.
    _type_in(browser, {"name": "emma", "password": AGENT_PASSWORD})
    wait_until(browser, lambda d: "temporarily locked" in _problem(d), message="still locked")


def test_a_forgotten_password_is_reset_from_the_link_in_the_mail(system, seeded, browser, shots, mail):
    store = console_store(system)
    try:
        store.edit_user("hugo", email="hugo@example.org")
    finally:
        store.engine.dispose()
    console = system.url("console")
    _signed_out(browser, console)
    browser.find_element(By.LINK_TEXT, "Forgot your password?").click()
    wait_until(browser, lambda d: "/forgot" in d.current_url)
    assert_accessible(browser, "forgot password")
    _type_in(browser, {"who": "hugo@example.org"})
    wait_until(browser, lambda d: d.find_elements(By.ID, "reset-sent"), message="the neutral answer")
    assert "If that is the name or email address of an account" in text_of(browser)
    shots.take("forgot-password-sent")

    sent = wait_for(lambda: mail.to("hugo@example.org"), timeout=30, message="the reset mail")
    link = re.search(r"http://\S+/reset/\S+", sent[0].get_content()).group(0)
    browser.get(link)
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Choose a new password")
    shots.take("choose-a-new-password")
    assert_accessible(browser, "reset page")
    _type_in(browser, {"password": "short", "confirm": "short"})
    wait_until(browser, lambda d: "at least 12 characters" in _problem(d), message="too short refused")
    _type_in(browser, {"password": "hugo's new passphrase", "confirm": "hugo's new passphrase"})
    wait_until(browser, lambda d: "/signin" in d.current_url and "Your password is changed" in text_of(d),
               message="back at sign-in")
    shots.take("password-changed")
    sign_in(browser, system, "hugo", "hugo's new passphrase")
    # The link worked once.
    browser.get(link)
    assert "expired or was already used" in text_of(browser)


def test_an_administrator_reads_the_sign_in_audit(system, seeded, browser, shots):
    sign_in(browser, system, *SUPERVISOR)  # sam, the administrator
    browser.find_element(By.LINK_TEXT, "Sign-in audit").click()
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Sign-in audit")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")]
    assert "signed in sam" in rows[0]  # newest first
    for seen in ("two-step sign-in set up tess", "locked after failed sign-ins emma", "password reset hugo"):
        assert any(seen in row for row in rows), seen
    shots.take("sign-in-audit")
    assert_accessible(browser, "sign-in audit")


def test_a_grievance_sent_as_confidential_is_seen_by_its_group_alone(system, seeded, browser, shots):
    """The customer ticks "This is a confidential grievance" on the web form; an agent outside
    the group gets the 404 page for it, an administrator in the group sees it marked
    Confidential, with the access log naming who looked."""
    from services.common.storage.db import make_engine
    from services.console.store import ConsoleStore

    store = ConsoleStore(make_engine(f"sqlite:///{system.tmp / 'console.db'}"))
    try:
        store.set_groups(SUPERVISOR[0], ["confidential"])
    finally:
        store.engine.dispose()
    browser.get(system.url("intake_chat") + "/")
    browser.find_element(By.ID, "email").send_keys("nina@example.org")
    browser.find_element(By.ID, "subject").send_keys("My supervisor")
    browser.find_element(By.ID, "body").send_keys("My supervisor makes remarks about my religion every day.")
    browser.find_element(By.ID, "confidential").click()
    shots.take("form-confidential", show="#confidential")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(browser, lambda d: "Thank you, we have your complaint" in d.find_element(By.TAG_NAME, "h1").text)
    reference = browser.find_element(By.CSS_SELECTOR, ".reference strong").text
    wait_for(lambda: api.get(f"{system.url('tickets')}/tickets/{reference}", groups=["confidential"],
                             timeout=10).status_code == 200, message="the confidential ticket")

    sign_in(browser, system, "bruno", AGENT_PASSWORD)   # (emma is locked out by the test above)
    browser.get(f"{system.url('console')}/tickets/{reference}")
    assert "religion" not in browser.page_source and f"There is no ticket {reference}" in text_of(browser)
    browser.get(f"{system.url('console')}/tickets?q=religion")
    assert reference not in text_of(browser)

    sign_in(browser, system, *SUPERVISOR)
    browser.get(f"{system.url('console')}/tickets/{reference}")
    assert browser.find_element(By.ID, "confidential-badge").text == "Confidential"
    log = browser.find_element(By.ID, "access-log").text
    assert "sam (agent)" in log and "View" in log
    shots.take("confidential-ticket", show="#confidential-badge")
    assert_accessible(browser, "confidential ticket page")
