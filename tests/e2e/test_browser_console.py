"""The agent console in headless Chromium against the whole system: an agent
signs in (keyboard only), filters, reassigns and replies; unauthorised
requests are refused; what a customer typed is shown as text; every main page
passes axe-core with no serious or critical violation.

Screenshots: var/screenshots/test_browser_console/<test>/ (printed by each test).
"""

from __future__ import annotations

import re

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from testkit import api
from testkit.browser import assert_accessible, sign_in, text_of, wait_until
from testkit.whole_system import AGENT_PASSWORD, SUPERVISOR

XSS = '<script>window.__xss = 1</script><img src="x" onerror="window.__xss = 2">'


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
