"""Browser tests' support: headless Debian Chromium driven by Selenium,
axe-core run inside the pages, and screenshots a reviewer can open.

Chromium, chromedriver and axe-core are installed by scripts/setup.d/browser.sh
(`make test` runs it). Screenshots go to var/screenshots/<test module>/ (git
ignores var/); each test prints where. The fixtures (`browser`, `shots`) are in
tests/e2e/conftest.py; the system the pages come from is testkit/whole_system.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .paths import ROOT
from .waiting import wait_for
from .whole_system import System

AXE_JS = ROOT / "var" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
SERIOUS = ("serious", "critical")


# --- the browser ---------------------------------------------------------------------


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("chromium and chromedriver are missing: run `bash scripts/setup.sh peers` "
                    "(scripts/setup.d/browser.sh installs them)")
    return browser, driver


class Shots:
    """Screenshots under var/screenshots/<module>/, numbered in the order taken."""

    def __init__(self, driver, folder: Path):
        self.driver, self.folder, self.count = driver, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, name: str, show: str | None = None) -> Path:
        """Save the window as it is; `show` (a CSS selector) is scrolled into view first."""
        if show:
            self.driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
                                       show)
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', name)}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path.relative_to(ROOT)}")
        return path


# --- accessibility -------------------------------------------------------------------


def axe_violations(driver, impacts=SERIOUS) -> list[dict]:
    """axe-core's violations of the page now shown, at the given impacts."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS.relative_to(ROOT)} is missing: run `bash scripts/setup.sh peers`")
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE_JS.read_text())
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(function (r) { done(r.violations); })"
        ".catch(function (e) { done({error: String(e)}); });")
    assert not isinstance(result, dict), f"axe-core failed: {result}"
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result if v["impact"] in impacts]


def assert_accessible(driver, page_name: str):
    violations = axe_violations(driver)
    assert violations == [], f"axe-core: serious or critical violations on {page_name}: {violations}"


# --- the Content-Security-Policy ---------------------------------------------------------


def csp_violations(driver) -> list[str]:
    """What Chromium refused to load or run because of a page's Content-Security-Policy,
    since the last call (the browser's console log; the driver asks for it, see
    tests/e2e/conftest.py)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]]


# --- small browser helpers ---------------------------------------------------------------


def wait_until(driver, predicate, timeout=60, message="page condition"):
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def check():
        try:
            return predicate(driver)
        except (StaleElementReferenceException, WebDriverException):
            return False

    return wait_for(check, timeout=timeout, interval=0.25, message=message)


def text_of(driver, css="main") -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css).text


def sign_in(driver, system: System, name: str, password: str):
    from selenium.webdriver.common.by import By

    driver.get(f"{system.url('console')}/signin")
    driver.delete_all_cookies()  # whoever was signed in before
    driver.get(f"{system.url('console')}/signin")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.narrow button[type=submit]").click()
    wait_until(driver, lambda d: "/queue" in d.current_url, message=f"{name} signed in")
