"""The security headers every answer carries (services/common/web/security_headers.py),
and the pages kept fit for their Content-Security-Policy: no inline script, style or
event handler, which the policy would block without a nonce."""

from __future__ import annotations

import re

import pytest

from services.common.web import security_headers as sh
from testkit.paths import ROOT


def answer(policy=sh.CONSOLE_PAGES, headers=(("Content-Type", "text/html"),), environ=None, hsts="0",
           monkeypatch=None):
    """The headers a wrapped WSGI app sends for one request."""
    if monkeypatch:
        monkeypatch.setenv("HSTS_SECONDS", hsts)
    sent = {}

    def app(environ, start_response):
        start_response("200 OK", list(headers))
        return [b"body"]

    def start_response(status, response_headers, exc_info=None):
        sent["headers"] = response_headers

    body = sh.wrap(app, policy)({"wsgi.url_scheme": "http", **(environ or {})}, start_response)
    assert list(body) == [b"body"]
    return dict(sent["headers"])


def test_every_answer_gets_the_headers_that_stop_sniffing_framing_and_referrer_leaks(monkeypatch):
    got = answer(sh.CUSTOMER_PAGES, monkeypatch=monkeypatch)
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["X-Frame-Options"] == "DENY"
    assert got["Referrer-Policy"] == "no-referrer"
    assert got["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in got["Permissions-Policy"] and "microphone=()" in got["Permissions-Policy"]
    csp = got["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp


def test_pages_may_load_only_their_own_scripts_styles_and_fetches_and_apis_nothing():
    pages = dict(d.strip().split(" ", 1) for d in sh.CONSOLE_PAGES.csp.split(";"))
    assert pages["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src", "form-action", "img-src"):
        assert pages[directive] == "'self'", directive
    assert sh.CONSOLE_PAGES.referrer == "same-origin"
    assert "default-src 'none'" in sh.JSON_API.csp and "'self'" not in sh.JSON_API.csp


def test_a_route_cannot_weaken_the_policy_but_keeps_its_own_caching(monkeypatch):
    got = answer(headers=[("Content-Type", "text/javascript"), ("Cache-Control", "no-cache"),
                          ("content-security-policy", "default-src *"), ("X-Frame-Options", "ALLOWALL")],
                 monkeypatch=monkeypatch)
    assert got["Content-Security-Policy"] == sh.CONSOLE_PAGES.csp
    assert got["X-Frame-Options"] == "DENY"
    assert got["Cache-Control"] == "no-cache"
    assert "content-security-policy" not in got


def test_a_dynamic_answer_is_never_stored_by_a_browser_or_proxy(monkeypatch):
    assert answer(monkeypatch=monkeypatch)["Cache-Control"] == "no-store"


def test_hsts_only_when_configured_and_over_https_directly_or_behind_a_proxy(monkeypatch):
    assert "Strict-Transport-Security" not in answer(monkeypatch=monkeypatch)
    assert "Strict-Transport-Security" not in answer(hsts="31536000", monkeypatch=monkeypatch)
    over_tls = answer(environ={"wsgi.url_scheme": "https"}, hsts="31536000", monkeypatch=monkeypatch)
    assert over_tls["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    proxied = answer(environ={"HTTP_X_FORWARDED_PROTO": "https, http"}, hsts="600", monkeypatch=monkeypatch)
    assert proxied["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    assert "Strict-Transport-Security" not in answer(environ={"wsgi.url_scheme": "https"}, monkeypatch=monkeypatch)


def test_a_bad_hsts_setting_stops_the_start(monkeypatch):
    monkeypatch.setenv("HSTS_SECONDS", "a year")
    with pytest.raises(ValueError):
        sh.wrap(lambda e, s: [], sh.JSON_API)
    monkeypatch.setenv("HSTS_SECONDS", "-1")
    with pytest.raises(ValueError, match="HSTS_SECONDS"):
        sh.wrap(lambda e, s: [], sh.JSON_API)


# --- the pages the policy applies to ----------------------------------------------------

TEMPLATES = sorted((ROOT / "services").glob("*/templates/*.html"))
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle=", re.I),
    "event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "another origin's resource": re.compile(r"<(script|link|img|iframe)[^>]*\s(src|href)=[\"']?(https?:)?//", re.I),
}


def inline_content(text: str) -> list[str]:
    return [what for what, pattern in INLINE.items() if pattern.search(text)]


def test_no_page_has_inline_script_style_or_handlers_the_policy_would_block():
    assert TEMPLATES, "no templates found"
    offending = {str(p.relative_to(ROOT)): found for p in TEMPLATES if (found := inline_content(p.read_text()))}
    assert offending == {}


def test_the_template_check_sees_what_a_browser_would_block():
    assert inline_content('<script src="/static/chat.js"></script><p class="x">') == []
    assert inline_content("<script>alert(1)</script>") == ["inline script"]
    assert inline_content('<div style="color: red">') == ["style attribute"]
    assert inline_content('<button onclick="go()">') == ["event handler attribute"]
    assert inline_content('<script src="https://cdn.example/x.js"></script>') == ["another origin's resource"]
