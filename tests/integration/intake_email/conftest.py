"""The email intake's tests read a real IMAP server: a Dovecot per test
(testkit/imap_server.py), removed afterwards."""

from __future__ import annotations

import pytest

from testkit.imap_server import Dovecot


@pytest.fixture
def dovecot(tmp_path):
    server = Dovecot(tmp_path).start()
    yield server
    server.remove()
