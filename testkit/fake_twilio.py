"""A small local HTTP server that answers like Twilio's REST API for Messages.json
and Calls.json, records each request, and can be told to fail (400 or 500).

Used by the notifier tests and the load tests. The notifier reaches it through
services/common/twilio_rest.py (TWILIO_API_BASE_URL), i.e. through the twilio
library's own client and its pluggable http client.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 32, "fake-twilio-token"


@dataclass
class TwilioRequest:
    kind: str            # Messages | Calls
    account: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    status: int


class FakeTwilio:
    def __init__(self, port: int):
        self.requests: list[TwilioRequest] = []
        self.failures: dict[str, int] = {}   # recipient (To) -> HTTP status to answer with
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                fake._post(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeTwilio:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, to: str, status: int) -> None:
        """Answer every request for this recipient with a Twilio error (400 or 500)."""
        self.failures[to] = status

    def sent(self, kind: str = "Messages", to: str | None = None) -> list[TwilioRequest]:
        with self.lock:
            return [r for r in self.requests if r.kind == kind and r.status < 300 and to in (None, r.form.get("To"))]

    def attempts(self, to: str) -> list[TwilioRequest]:
        with self.lock:
            return [r for r in self.requests if r.form.get("To") == to]

    def env(self) -> dict[str, str]:
        return {"TWILIO_API_BASE_URL": self.url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_SMS_FROM": "+15005550006", "TWILIO_WHATSAPP_FROM": "+14155238886",
                "TWILIO_VOICE_FROM": "+15005550006"}

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        parts = handler.path.split("?")[0].strip("/").split("/")
        # /2010-04-01/Accounts/{AccountSid}/{Messages|Calls}.json
        if len(parts) != 4 or parts[1] != "Accounts" or parts[3] not in ("Messages.json", "Calls.json"):
            return self._answer(handler, 404, {"code": 20404, "message": "The requested resource was not found",
                                               "status": 404})
        length = int(handler.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        auth = None
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            auth = (user, password)
        kind = parts[3].removesuffix(".json")
        status = self.failures.get(form.get("To", ""), 201)
        if auth != (ACCOUNT_SID, AUTH_TOKEN):
            status = 401
        with self.lock:
            self.requests.append(TwilioRequest(kind, parts[2], form, auth, status))
        if status >= 300:
            return self._answer(handler, status, {"code": 21211 if status == 400 else 20500, "status": status,
                                                  "message": "Invalid 'To' Phone Number" if status == 400
                                                  else "Internal Server Error",
                                                  "more_info": "https://www.twilio.com/docs/errors"})
        prefix = "SM" if kind == "Messages" else "CA"
        self._answer(handler, 201, {"sid": prefix + uuid.uuid4().hex, "account_sid": parts[2],
                                    "to": form.get("To"), "from": form.get("From"), "body": form.get("Body"),
                                    "status": "queued", "api_version": "2010-04-01"})

    @staticmethod
    def _answer(handler, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
