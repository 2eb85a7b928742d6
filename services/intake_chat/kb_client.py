"""Knowledge-base suggestions, asked from the agent console's JSON API over
HTTP with a short timeout. Suggestions are a help, never a condition: when the
console is down or slow the customer simply gets none and the form and chat
work as before."""

from __future__ import annotations

import logging
import os

import requests

from services.common import config
from services.common.auth.tokens import ServiceCredentials

log = logging.getLogger("intake_chat")


class KnowledgeBaseUnavailable(RuntimeError):
    pass


def console_url() -> str:
    """CONSOLE_URL, else the console on this machine at CONSOLE_PORT."""
    return config.service_url("console")


def timeout() -> float:
    return float(os.environ.get("KB_TIMEOUT_SECONDS", 1.5))


class KnowledgeBaseClient:
    def __init__(self, base_url: str | None = None, timeout_seconds: float | None = None):
        self.base_url = base_url or console_url()
        self.timeout = timeout() if timeout_seconds is None else timeout_seconds
        self.credentials = ServiceCredentials("intake_chat")

    def suggest(self, query: str, category: str | None = None, language: str | None = None) -> list[dict]:
        params = {"q": query[:2000], "limit": 3}
        if category:
            params["category"] = category
        if language:
            params["language"] = language
        data = self._call("GET", "/api/kb/suggest", params=params)
        return [{k: item.get(k) for k in ("id", "title", "body")} for item in data.get("items", [])]

    def feedback(self, article_id: int, helped: bool, query: str | None) -> dict:
        return self._call("POST", f"/api/kb/articles/{int(article_id)}/feedback",
                          json={"helped": helped, "query": (query or "")[:300]})

    def _call(self, method, path, **kwargs) -> dict:
        try:
            response = requests.request(method, self.base_url + path, timeout=self.timeout,
                                        headers=self.credentials.headers("console"), **kwargs)
        except requests.RequestException as exc:
            raise KnowledgeBaseUnavailable(f"the console did not answer: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise LookupError("no such article")
        if response.status_code >= 400:
            raise KnowledgeBaseUnavailable(f"the console answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise KnowledgeBaseUnavailable("the console's answer was not JSON") from exc
