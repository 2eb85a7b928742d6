"""The rules behind the web intake's abuse protection that need no server:
who counts as one client, how limits are read from the environment, what a
customer key shows, when the honeypot is filled, and how a wait is told."""

from __future__ import annotations

import pytest

from services.common.web import rate_limits
from services.intake_chat import abuse, form


@pytest.mark.parametrize("address, client", [
    ("198.51.100.7", "198.51.100.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),     # another address of the same subscriber
    ("::ffff:198.51.100.7", "198.51.100.7"),          # IPv4 seen through an IPv6 socket
    ("not an address", None),
    (None, None),
])
def test_one_client_is_one_ipv4_address_or_one_ipv6_network(address, client):
    assert rate_limits.client_group(address) == client


def test_two_ipv6_networks_are_two_clients():
    assert rate_limits.client_group("2001:db8:1:2::1") != rate_limits.client_group("2001:db8:1:3::1")


def test_limits_are_read_and_checked_from_the_environment(monkeypatch):
    monkeypatch.setenv("SOME_LIMIT", " 10/minute;100/hour ")
    assert rate_limits.limits_setting("SOME_LIMIT", "1/second") == "10/minute;100/hour"
    monkeypatch.setenv("SOME_LIMIT", "")
    assert rate_limits.limits_setting("SOME_LIMIT", "1/second") == ""   # empty: the rule is off
    monkeypatch.delenv("SOME_LIMIT")
    assert rate_limits.limits_setting("SOME_LIMIT", "1/second") == "1/second"
    monkeypatch.setenv("SOME_LIMIT", "ten a minute")
    with pytest.raises(rate_limits.RateLimitConfigError, match="SOME_LIMIT='ten a minute'"):
        rate_limits.limits_setting("SOME_LIMIT", "1/second")


def test_counts_and_the_storage_uri_are_checked(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "-1")
    with pytest.raises(rate_limits.RateLimitConfigError, match="TRUSTED_PROXY_HOPS"):
        rate_limits.check_settings()
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "2")
    monkeypatch.setenv("RATE_LIMIT_STORAGE_URI", "localhost:6379")
    with pytest.raises(rate_limits.RateLimitConfigError, match="RATE_LIMIT_STORAGE_URI"):
        rate_limits.check_settings()
    monkeypatch.setenv("CHAT_SESSIONS_PER_ADDRESS_PER_HOUR", "many")
    monkeypatch.setenv("RATE_LIMIT_STORAGE_URI", "memory://")
    with pytest.raises(rate_limits.RateLimitConfigError, match="CHAT_SESSIONS_PER_ADDRESS_PER_HOUR"):
        abuse.check_settings()


def test_the_intake_defaults_let_a_person_through_and_stop_a_script(monkeypatch):
    for name in ("INTAKE_RATE_LIMIT_PER_ADDRESS", "INTAKE_RATE_LIMIT_PER_CUSTOMER",
                 "CHAT_SESSIONS_PER_ADDRESS_PER_HOUR"):
        monkeypatch.delenv(name, raising=False)
    rules = abuse.rules()
    assert rules["per_address"].limits == "20/minute;200/hour"
    assert rules["by_email"].limits == rules["by_phone"].limits == "5/minute;30/hour"
    assert rules["chat_sessions"].limits == "30/hour"
    monkeypatch.setenv("CHAT_SESSIONS_PER_ADDRESS_PER_HOUR", "0")
    assert abuse.rules()["chat_sessions"].limits == ""


def test_redis_gets_short_timeouts_and_memory_none():
    assert rate_limits.storage_options("redis://cache:6379/0") == {"socket_connect_timeout": 0.5,
                                                                   "socket_timeout": 0.5}
    assert rate_limits.storage_options("memory://") == {}


def test_a_customer_key_is_stable_per_secret_and_shows_no_identity():
    key = rate_limits.pseudonym("email", "ana@example.org", "secret")
    assert key == rate_limits.pseudonym("email", "ana@example.org", "secret")
    assert key.startswith("email:") and "ana" not in key and "example" not in key
    assert key != rate_limits.pseudonym("email", "ana@example.org", "another secret")
    assert key != rate_limits.pseudonym("phone", "ana@example.org", "secret")


@pytest.mark.parametrize("fields, filled", [
    ({}, False),
    ({"website": ""}, False),
    ({"website": "   "}, False),
    ({"website": None}, False),
    ({"website": "http://cheap.example"}, True),
    ({"website": 1}, True),
    ({"website": ["x"]}, True),
])
def test_the_honeypot_is_filled_by_anything_but_nothing(fields, filled):
    assert form.honeypot_filled(fields) is filled


@pytest.mark.parametrize("seconds, told", [(1, "a minute"), (61, "a minute"), (89, "a minute"),
                                           (91, "2 minutes"), (3601, "60 minutes")])
def test_a_wait_is_told_in_whole_minutes(seconds, told):
    assert abuse.wait_text(seconds) == told
