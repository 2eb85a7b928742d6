"""The customer's side in headless Chromium, with an agent answering from the
console in a second tab: the web chat (both see each other's messages without
reloading; the follow-up offer when no agent answers), and the web form with
knowledge-base suggestions, the tracking page and the satisfaction survey.

Screenshots: var/screenshots/test_browser_customer/<test>/ (printed by each test).
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from testkit import api
from testkit.browser import assert_accessible, sign_in, text_of, wait_until
from testkit.whole_system import AGENT_PASSWORD, SUPERVISOR

# Short enough for a test to see the "no agent answered" offer, long enough that
# an agent who answers at once never triggers it.
SYSTEM_ENV = {"CHAT_AGENT_WAIT_SECONDS": 8}
ARTICLE = {"title": "Where is my parcel?", "category": "delivery", "language": "en",
           "body": "Track your parcel with the number in your shipping email; most arrive within 5 days."}


@pytest.fixture(scope="module")
def seeded(system):
    system.load_roster()
    system.add_console_users()
    from services.common.storage.db import make_engine
    from services.console.store import ConsoleStore

    store = ConsoleStore(make_engine(f"sqlite:///{system.tmp / 'console.db'}"))
    try:
        return {"article": store.add_article(author="ana", **ARTICLE)}
    finally:
        store.engine.dispose()


def _article(system, article_id) -> dict:
    from services.common.storage.db import make_engine
    from services.console.store import ConsoleStore

    store = ConsoleStore(make_engine(f"sqlite:///{system.tmp / 'console.db'}"))
    try:
        return store.article(article_id)
    finally:
        store.engine.dispose()


def _chat_messages(driver) -> list[str]:
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#chat-messages li")]


def test_customer_chats_and_an_agent_answers_from_the_console(system, seeded, browser, shots):
    chat = f"{system.url('intake_chat')}/chat"
    browser.get(chat)
    browser.execute_script("window.sessionStorage.clear()")
    browser.get(chat)
    assert_accessible(browser, "chat start")
    browser.find_element(By.ID, "chat-name").send_keys("Rui")
    browser.find_element(By.ID, "chat-email").send_keys("rui@example.org")
    Select(browser.find_element(By.ID, "chat-category")).select_by_value("delivery")
    # A knowledge-base suggestion appears while the customer types; they say it did not help.
    browser.find_element(By.ID, "chat-first").send_keys("Where is my parcel? It is <b>late</b> & I need it")
    wait_until(browser, lambda d: d.find_element(By.ID, "suggestions").is_displayed(), message="suggestions")
    assert ARTICLE["title"] in browser.find_element(By.ID, "suggestions").text
    shots.take("chat-suggestion", show="#suggestions")
    browser.find_element(By.CSS_SELECTOR, "#suggestion-list button[aria-label^='No']").click()
    wait_until(browser, lambda d: "Thanks for telling us" in d.find_element(By.ID, "suggestions").text)
    browser.find_element(By.ID, "start-button").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "chat-live").is_displayed(), message="chat started")
    reference = browser.find_element(By.ID, "chat-reference").text
    assert reference.startswith("C-")
    ticket = system.wait_ticket(reference, lambda t: t["assignee"], message="chat ticket assigned")
    assert ticket["channel"] == "chat" and ticket["customer"]["email"] == "rui@example.org"
    wait_until(browser, lambda d: not d.find_element(By.ID, "send-button").get_attribute("disabled"),
               message="the chat is connected")
    assert_accessible(browser, "live chat")
    customer_tab = browser.current_window_handle

    # The agent (the supervisor, who may open any ticket) answers from the console in another tab.
    browser.switch_to.new_window("tab")
    agent_tab = browser.current_window_handle
    sign_in(browser, system, *SUPERVISOR)
    browser.get(f"{system.url('console')}/chats")
    browser.find_element(By.LINK_TEXT, reference).click()
    conversation = browser.find_element(By.ID, "conversation")
    assert "It is <b>late</b> & I need it" in conversation.text
    browser.find_element(By.ID, "reply-body").send_keys("Hello Rui, your parcel left our depot this morning.")
    browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=reply-title] button").click()
    wait_until(browser, lambda d: "Reply sent" in d.find_element(By.CSS_SELECTOR, ".flashes").text)

    # The customer's page shows the answer without a reload, and they write again.
    browser.switch_to.window(customer_tab)
    wait_until(browser, lambda d: any("left our depot" in m for m in _chat_messages(d)), message="reply shown")
    assert any(m.startswith(f"{SUPERVISOR[0]} replied") for m in _chat_messages(browser))
    browser.find_element(By.ID, "chat-message").send_keys("Great, thank you! <script>window.__xss=1</script>")
    browser.find_element(By.ID, "send-button").click()
    wait_until(browser, lambda d: any("Great, thank you!" in m and m.endswith(
        "<script>window.__xss=1</script>") for m in _chat_messages(d)), message="own message shown")
    shots.take("customer-chat")

    # ... and the agent's open ticket page shows it, again without a reload.
    browser.switch_to.window(agent_tab)
    wait_until(browser, lambda d: "Great, thank you!" in d.find_element(By.ID, "conversation").text,
               message="customer message on the agent's page")
    assert browser.execute_script("return window.__xss === undefined")
    shots.take("agent-ticket-live", show="#conversation")
    browser.close()
    browser.switch_to.window(customer_tab)

    # Each message once: the opening message, the reply, the second message.
    messages = system.wait_ticket(reference, lambda t: len(t["messages"]) == 3, message="3 messages")["messages"]
    assert [m["direction"] for m in messages] == ["in", "out", "in"]
    assert [m["channel"] for m in messages] == ["chat", "chat", "chat"]
    assert browser.execute_script("return window.__xss === undefined")
    # The offer to leave it as a ticket never came: an agent answered.
    assert not browser.find_element(By.ID, "chat-offer").is_displayed()

    # Once resolved, the chat offers the survey.
    api.patch(f"{system.url('tickets')}/tickets/{reference}", json={"status": "resolved"},
                   agent=SUPERVISOR[0], timeout=10).raise_for_status()
    wait_until(browser, lambda d: d.find_element(By.ID, "chat-survey").is_displayed(), message="survey link")
    browser.find_element(By.ID, "chat-survey-link").click()
    wait_until(browser, lambda d: "Rate our answer" in d.find_element(By.TAG_NAME, "h1").text)


def test_no_agent_answers_so_the_customer_leaves_it_as_a_ticket_with_whatsapp_follow_up(
        system, seeded, browser, shots):
    chat = f"{system.url('intake_chat')}/chat"
    browser.get(chat)
    browser.execute_script("window.sessionStorage.clear()")
    browser.get(chat)
    browser.find_element(By.ID, "chat-first").send_keys("My invoice shows the wrong address.")
    browser.find_element(By.ID, "start-button").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "chat-live").is_displayed())
    reference = browser.find_element(By.ID, "chat-reference").text
    wait_until(browser, lambda d: d.find_element(By.ID, "chat-offer").is_displayed(), timeout=40,
               message="the follow-up offer after CHAT_AGENT_WAIT_SECONDS")
    shots.take("no-agent-offer", show="#chat-offer")
    assert_accessible(browser, "chat with the follow-up offer")
    browser.find_element(By.ID, "offer-whatsapp").click()
    browser.find_element(By.ID, "offer-address").send_keys("not a number")
    browser.find_element(By.CSS_SELECTOR, "#follow-up-form button").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "offer-error").is_displayed())
    error = browser.find_element(By.ID, "offer-error").text
    assert "country code" in error
    address = browser.find_element(By.ID, "offer-address")
    address.clear()
    address.send_keys("+351 912 345 678")
    browser.find_element(By.CSS_SELECTOR, "#follow-up-form button").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "offer-done").is_displayed() or
               d.find_element(By.ID, "offer-error").text != error, message="follow-up saved")
    assert browser.find_element(By.ID, "offer-done").is_displayed(), browser.find_element(By.ID, "offer-error").text
    assert "WhatsApp at +351912345678" in browser.find_element(By.ID, "offer-done").text
    shots.take("follow-up-chosen", show="#chat-offer")
    ticket = system.ticket(reference)
    assert ticket["follow_up"] == {"channel": "whatsapp", "address": "+351912345678"}


def test_customer_sends_the_form_follows_the_tracking_page_and_rates_the_resolution(
        system, seeded, browser, shots):
    browser.get(system.url("intake_chat") + "/")
    assert_accessible(browser, "complaint form")
    browser.find_element(By.ID, "name").send_keys("Marta")
    browser.find_element(By.ID, "email").send_keys("marta@example.org")
    Select(browser.find_element(By.ID, "category")).select_by_value("delivery")
    # The country is preselected from the browser's language (headless Chromium: en-US); Marta picks hers.
    country = Select(browser.find_element(By.ID, "country"))
    assert country.first_selected_option.get_attribute("value") == "US"
    country.select_by_visible_text("Portugal")
    shots.take("form-country", show="#country")
    browser.find_element(By.ID, "subject").send_keys("Parcel missing")
    browser.find_element(By.ID, "body").send_keys("My parcel has not arrived and I want to know where it is.")
    wait_until(browser, lambda d: d.find_element(By.ID, "suggestions").is_displayed(), message="suggestions")
    browser.find_element(By.CSS_SELECTOR, "#suggestion-list button[aria-label^='Yes']").click()
    wait_until(browser, lambda d: "Glad it helped" in d.find_element(By.ID, "suggestions").text)
    shots.take("form-with-suggestion", show="#suggestions")
    # The "it helped" answer reached the knowledge base, where agents see it.
    wait_until(browser, lambda d: _article(system, seeded["article"]["id"])["helped"] == 1,
               message="feedback recorded")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(browser, lambda d: "Thank you, we have your complaint" in d.find_element(By.TAG_NAME, "h1").text)
    reference = browser.find_element(By.CSS_SELECTOR, ".reference strong").text
    shots.take("received")
    browser.find_element(By.LINK_TEXT, "Follow your complaint").click()
    ticket = system.wait_ticket(reference, message="form ticket")
    assert (ticket["region"], ticket["region_source"]) == ("pt", "form country PT")
    browser.refresh()
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Complaint {reference}"
    assert "Rate our answer" not in text_of(browser)  # not resolved yet
    assert_accessible(browser, "tracking page")

    # The customer adds a message from the tracking page.
    browser.find_element(By.ID, "message-body").send_keys("It was a birthday present, please hurry.")
    browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=write-title] button").click()
    wait_until(browser, lambda d: "Your message was sent" in text_of(d))
    system.wait_ticket(reference, lambda t: len(t["messages"]) == 2, message="second message")

    # An agent answers and resolves it from the console.
    sign_in(browser, system, "hugo", AGENT_PASSWORD)
    browser.get(f"{system.url('console')}/tickets/{reference}")
    browser.find_element(By.ID, "reply-body").send_keys("Found it: it arrives today. Sorry for the wait.")
    Select(browser.find_element(By.ID, "reply-status")).select_by_value("resolved")
    browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=reply-title] button").click()
    wait_until(browser, lambda d: "Reply sent" in d.find_element(By.CSS_SELECTOR, ".flashes").text)

    # Back on the tracking page: the answer, the status, and the survey.
    browser.get(system.tracking_url(reference))
    page = text_of(browser)
    assert "Resolved" in page and "it arrives today" in page and "birthday present" in page
    assert "Rate our answer" in page
    shots.take("tracking-resolved")
    browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=survey-title] button").click()
    wait_until(browser, lambda d: "choose how satisfied you are" in text_of(d),
               message="nothing chosen: a clear error")
    assert_accessible(browser, "survey page with an error")
    browser.find_element(By.CSS_SELECTOR, "label[for=rating-4]").click()
    browser.find_element(By.ID, "survey-comment").send_keys("Quick once you found it.")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(browser, lambda d: "Thank you for rating" in text_of(d))
    assert "You rated us 4 of 5" in text_of(browser)
    shots.take("rated", show="#survey-title")
    assert system.ticket(reference)["survey"]["rating"] == 4
