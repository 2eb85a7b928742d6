"""Browser tests' support: one whole system per test module (RabbitMQ vhost,
tickets, router, console, intake_chat, each a real process on its own SQLite
file), headless Debian Chromium driven by Selenium, axe-core run inside the
pages, and screenshots a reviewer can open.

Chromium, chromedriver and axe-core are installed by scripts/setup.d/browser.sh
(`make test` runs it). Screenshots go to var/screenshots/<test module>/ (git
ignores var/); each test prints where.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import requests
from conftest import ROOT, Rabbit, ServiceProcess, free_port, wait_for

from services.common.reference import tracking_token

AXE_JS = ROOT / "var" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
SECRET = "browser-test-tracking-secret"
SUPERVISOR = ("sam", "sam-password-1")
AGENT_PASSWORD = "agent-password-1"
AGENTS = ("ana", "bruno", "hugo", "emma")
SERIOUS = ("serious", "critical")


class System:
    """The services as `make run` starts them, on a fresh vhost and fresh databases."""

    def __init__(self, tmp: Path, rabbit: Rabbit, **env):
        self.tmp, self.rabbit, self.extra = tmp, rabbit, env
        self.procs: dict[str, ServiceProcess] = {}
        self.ports = {name: free_port() for name in ("tickets", "router", "console", "intake_chat")}

    def url(self, name) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name) -> dict:
        env = dict(os.environ)
        env.update({
            "PYTHONUNBUFFERED": "1",
            "VAR_DIR": str(self.tmp / "var"),
            "TRACKING_SECRET": SECRET,
            "AMQP_URI": self.rabbit.amqp_uri,
            "DATABASE_URL": f"sqlite:///{self.tmp / (name + '.db')}",
            "ROUTER_URL": self.url("router"),
            "CONSOLE_URL": self.url("console"),
            "PUBLIC_BASE_URL": self.url("intake_chat"),
            "ROUTER_SWEEP_SECONDS": "1",
            "CHAT_POLL_SECONDS": "1",
            # Generous: these tests share two cores with everything else a CI machine runs.
            "RPC_TIMEOUT_SECONDS": "15",
            "CONSOLE_BOOTSTRAP_ADMIN": ":".join(SUPERVISOR),
            "CONSOLE_WORKERS": "1",
            **{f"{n.upper()}_PORT": str(p) for n, p in self.ports.items()},
        })
        env.update({k: str(v) for k, v in self.extra.items()})
        return env

    def start(self):
        for name in ("tickets", "router", "console", "intake_chat"):
            proc = ServiceProcess(name, self.env(name), [sys.executable, "-m", f"services.{name}"],
                                  f"{self.url(name)}/health/live", self.tmp / f"{name}.log")
            self.procs[name] = proc
            proc.start(timeout=90)
        return self

    def stop(self):
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {n} log ---\n{p.log()}" for n, p in self.procs.items())

    # --- seeding, through the services' own APIs --------------------------------

    def load_roster(self):
        body = (ROOT / "samples" / "roster.json").read_bytes()
        requests.post(f"{self.url('router')}/roster", data=body, headers={"Content-Type": "application/json"},
                      timeout=30).raise_for_status()

    def add_console_users(self, names=AGENTS, role="agent"):
        from services.common.db import make_engine
        from services.console.store import ConsoleStore

        store = ConsoleStore(make_engine(f"sqlite:///{self.tmp / 'console.db'}"))
        try:
            for name in names:
                if store.user(name) is None:
                    store.add_user(name, AGENT_PASSWORD, role)
        finally:
            store.engine.dispose()

    def complain(self, **fields) -> dict:
        body = {"name": "Ana", "email": "ana@example.org", "body": "Something went wrong", **fields}
        resp = requests.post(f"{self.url('intake_chat')}/complaints", json=body, timeout=30)
        assert resp.status_code == 202, resp.text
        return resp.json()

    def ticket(self, reference) -> dict | None:
        resp = requests.get(f"{self.url('tickets')}/tickets/{reference}", timeout=10)
        return resp.json() if resp.status_code == 200 else None

    def wait_ticket(self, reference, predicate=lambda t: True, timeout=60, message="ticket"):
        return wait_for(lambda: (t := self.ticket(reference)) and predicate(t) and t, timeout=timeout,
                        interval=0.3, message=message)

    def tracking_url(self, reference) -> str:
        return f"{self.url('intake_chat')}/complaints/{reference}?token={tracking_token(reference, SECRET)}"


@pytest.fixture(scope="module")
def system(tmp_path_factory, request):
    rabbit = Rabbit(f"test-{uuid.uuid4().hex[:12]}")
    rabbit.create()
    running = System(tmp_path_factory.mktemp("system"), rabbit, **getattr(request.module, "SYSTEM_ENV", {}))
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        rabbit.delete()


@pytest.fixture(autouse=True)
def _print_logs_on_failure(request):
    yield
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    if failed and "system" in request.fixturenames:
        print(request.getfixturevalue("system").logs())


# --- the browser ---------------------------------------------------------------------


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("chromium and chromedriver are missing: run `bash scripts/setup.sh peers` "
                    "(scripts/setup.d/browser.sh installs them)")
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


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


@pytest.fixture
def shots(browser, request):
    folder = SCREENSHOTS / request.module.__name__ / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    shots = Shots(browser, folder)
    yield shots
    print(f"screenshots of {request.node.name}: {folder.relative_to(ROOT)}/")


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
