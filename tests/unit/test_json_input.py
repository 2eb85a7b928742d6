"""The JSON reader every intake and service reads request bodies with: what it
refuses (and says why) and what it keeps. The same inputs sent to every
endpoint over HTTP are in tests/e2e/test_hostile_input.py."""

import re

import pytest

from services.common.web import json_input


def test_the_json_reader_refuses_what_would_hurt_and_keeps_what_is_only_unusual():
    assert json_input.parse(b'{"a": "' + b"[" * 100 + b'"}') == {"a": "[" * 100}
    assert json_input.parse(b'{"a": "\\ud800"}') == {"a": "\ud800"}  # the contract repairs it, not the transport
    assert json_input.parse('{"a": "é"}'.encode("latin-1"), "ISO-8859-1") == {"a": "é"}
    assert json_input.parse(b"\xef\xbb\xbf[1]") == [1]  # a UTF-8 byte order mark is no reason to refuse
    for raw, charset, says in ((b"[" * 33 + b"]" * 33, None, "more than 32 levels deep"),
                               (b'{"a": 1, "a": 2}', None, "key 'a' twice"),
                               (b"[NaN]", None, "NaN is not a JSON value"),
                               (b"[1e400]", None, "too large"),
                               (b"[" + b"9" * 5000 + b"]", None, "too large"),
                               (b"{}", "foo", "charset 'foo' is not one we know"),
                               (b'"\xff"', None, "not valid utf-8 (byte 0xff at position 1)"),
                               (b'"' + b'\\"' * 50_000, None, "Unterminated string")):
        with pytest.raises(json_input.JsonRefused, match=re.escape(says)):
            json_input.parse(raw, charset)
