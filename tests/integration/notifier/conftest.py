"""Fixtures of the notifier's integration tests: a real SMTP server with login
(aiosmtpd) and the local stand-in for Twilio's REST API."""

from __future__ import annotations

import pytest

from testkit.fake_twilio import FakeTwilio
from testkit.ports import free_port
from testkit.smtp_server import start_smtp


@pytest.fixture
def smtp():
    port = free_port()
    controller, sink = start_smtp(port)
    sink.port = port
    yield sink
    controller.stop()


@pytest.fixture
def twilio():
    fake = FakeTwilio(free_port()).start()
    yield fake
    fake.stop()
