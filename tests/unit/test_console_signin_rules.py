"""The console's sign-in rules in plain Python: when failed sign-ins lock a name
or an address and for how long, what a password must be, recovery codes, TOTP
codes around the current 30 seconds, and settings that stop the start with
their name. The same rules over HTTP and SQL are
tests/integration/console/test_console_signin.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from services.console import settings, totp
from services.console.sign_in_rules import (
    LockoutPolicy,
    account_key,
    address_key,
    after_failure,
    locked_until,
    looks_like_totp,
    new_recovery_codes,
    normal_recovery_code,
    parse_roles,
    password_problem,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
POLICY = LockoutPolicy()


def fail(state, at, key=account_key("ana"), times=1):
    started = False
    for _ in range(times):
        state, started = after_failure(state, at, POLICY.threshold(key), POLICY)
    return state, started


def test_the_fifth_failure_for_a_name_locks_it_for_a_minute_and_each_next_lock_lasts_twice_as_long_up_to_15():
    state, started = fail(None, T0, times=4)
    assert not started and locked_until(state, T0) is None
    state, started = fail(state, T0)
    assert started and locked_until(state, T0) == T0 + timedelta(seconds=60)
    assert locked_until(state, T0 + timedelta(seconds=60)) is None  # over when its minute is
    lengths, at = [], T0
    for _ in range(6):
        at = state.locked_until
        state, _ = fail(state, at, times=5)
        lengths.append((state.locked_until - at).total_seconds())
    assert lengths == [120, 240, 480, 900, 900, 900]


def test_an_address_locks_after_twenty_failures_and_a_quiet_day_forgets_count_and_doubling():
    key = address_key("203.0.113.7")
    state, started = fail(None, T0, key, times=19)
    assert not started
    state, started = fail(state, T0, key)
    assert started and state.locked_until == T0 + timedelta(seconds=60)
    later = T0 + timedelta(days=1, seconds=61)
    state, started = fail(state, later, key, times=20)
    assert started and state.locked_until == later + timedelta(seconds=60)  # a first lock again
    assert fail(None, T0, key, times=4)[0].failures == 4


def test_a_lockout_policy_refuses_nonsense():
    with pytest.raises(ValueError):
        LockoutPolicy(account_failures=0)
    with pytest.raises(ValueError):
        LockoutPolicy(first_lock=timedelta(seconds=60), longest_lock=timedelta(seconds=10))
    assert LockoutPolicy().lock_for(500) == timedelta(seconds=900)


def test_passwords_need_the_minimum_length_and_are_not_the_name():
    assert "at least 12" in password_problem("short", "ana", 12)
    assert "not your name" in password_problem("Supervisor01", "supervisor01", 12)
    assert "at most" in password_problem("x" * 2000, "ana", 12)
    assert password_problem("a long passphrase", "ana", 12) is None


def test_recovery_codes_are_distinct_readable_and_typed_back_loosely():
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    assert all(len(c) == 14 and c.count("-") == 2 and not set(c) & set("01ilo") for c in codes)
    assert normal_recovery_code(" " + codes[0].upper().replace("-", " ") + " ") == codes[0].replace("-", "")
    assert looks_like_totp("123 456") and not looks_like_totp("12345") and not looks_like_totp("١٢٣٤٥٦")


def test_a_totp_code_matches_its_own_step_and_one_either_side_only():
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)
    step = app.timecode(T0)
    assert totp.matching_step(secret, app.at(T0), T0) == step
    assert totp.matching_step(secret, app.at(T0 - timedelta(seconds=30)), T0) == step - 1
    assert totp.matching_step(secret, app.at(T0 + timedelta(seconds=30)), T0) == step + 1
    assert totp.matching_step(secret, app.at(T0 + timedelta(seconds=90)), T0) is None
    assert totp.matching_step(secret, "abcdef", T0) is None and totp.matching_step(secret, "", T0) is None


def test_the_setup_key_reaches_the_app_as_an_otpauth_uri_and_a_qr_code():
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    uri = totp.setup_uri(secret, "sam", "Complaints console")
    assert uri.startswith("otpauth://totp/Complaints%20console:sam?secret=" + secret)
    assert pyotp.parse_uri(uri).now() == pyotp.TOTP(secret).now()
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg
    assert totp.grouped("ABCDEFGH") == "ABCD EFGH"


def test_unknown_roles_and_wrong_numbers_stop_the_start_with_the_setting_named(monkeypatch):
    assert parse_roles(" supervisor , admin ", ("agent", "supervisor", "admin")) == {"supervisor", "admin"}
    with pytest.raises(ValueError, match="boss"):
        parse_roles("boss", ("agent",))
    settings.check()  # the defaults are good
    for name, value in (("CONSOLE_TOTP_REQUIRED_ROLES", "supervisors"), ("CONSOLE_LOCKOUT_FAILURES", "five"),
                        ("CONSOLE_SESSION_IDLE_MINUTES", "0"), ("CONSOLE_COOKIE_SAMESITE", "None"),
                        ("CONSOLE_PASSWORD_MIN_LENGTH", "4"), ("CONSOLE_PROXY_HOPS", "-1")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name if name != "CONSOLE_TOTP_REQUIRED_ROLES" else "supervisors"):
            settings.check()
        monkeypatch.delenv(name)


def test_only_administrators_read_the_sign_in_audit_and_they_may_do_all_a_supervisor_may():
    from services.console import work_queue

    assert work_queue.allowed("admin", "audit")
    assert not work_queue.allowed("supervisor", "audit") and not work_queue.allowed("agent", "audit")
    assert all(work_queue.allowed("admin", page) for page in work_queue.SUPERVISOR_ONLY)
