"""Fixtures of the whole-system tests: a headless Chromium per test module,
screenshots per test, and the system's logs printed when a test that used it
fails. The system itself is `system` in tests/conftest.py (test_invariant.py
brings its own)."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from testkit.browser import SCREENSHOTS, Shots, chromium_paths, csp_violations
from testkit.paths import ROOT


@pytest.fixture(autouse=True)
def _print_logs_on_failure(request):
    yield
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    if failed and "system" in request.fixturenames:
        logs = getattr(request.getfixturevalue("system"), "logs", None)
        if logs:  # the invariant's system keeps its own account
            print(logs())


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # for csp_violations()
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


@pytest.fixture(autouse=True)
def _no_csp_violations(request):
    """Every browser test also proves the pages' Content-Security-Policy blocks nothing they need."""
    if "browser" not in request.fixturenames:
        yield
        return
    driver = request.getfixturevalue("browser")
    csp_violations(driver)  # what earlier tests of the module left in the log is theirs
    yield
    assert csp_violations(driver) == [], "the Content-Security-Policy blocked part of a page"


@pytest.fixture
def shots(browser, request):
    # The module's own name (test_browser_console), not its dotted import path.
    folder = SCREENSHOTS / request.module.__name__.rpartition(".")[2] / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    shots = Shots(browser, folder)
    yield shots
    print(f"screenshots of {request.node.name}: {folder.relative_to(ROOT)}/")
