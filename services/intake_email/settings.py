"""Settings of the email intake, from environment variables with local defaults.

Mailboxes come from EMAIL_MAILBOXES (a JSON list) or EMAIL_MAILBOXES_FILE (a
JSON file holding the same list, or {"mailboxes": [...]}); a password may be
given by reference (`password_env`) so the file itself holds no secret.
Passwords are kept out of repr() and never logged. A mailbox's optional
`region` (e.g. a mailbox for Portuguese customers: "pt") is the region of
every complaint it receives; without one, the sender's email domain decides
(REGION_BY_EMAIL_DOMAIN, read by regions()).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from services.common.channels.regions import RegionMap

SECURITIES = ("tls", "starttls", "none")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
MAX_REGION = 64   # as the contract's region


class SettingsError(ValueError):
    """A mailbox configuration that cannot work; the message names the entry and field."""


@dataclass(frozen=True)
class Mailbox:
    name: str
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    security: str = "tls"
    folder: str = "INBOX"
    processed_flag: str | None = None   # e.g. "$Complaints" or "\\Seen", set after a message is handled
    move_to: str | None = None          # a folder handled messages are moved to
    ca_file: str | None = None          # trust this CA (self-signed servers) instead of the system's
    idle: bool = True                   # use IMAP IDLE when the server offers it
    region: str | None = None           # the region of everything this mailbox receives

    def describe(self) -> dict:
        """What may be logged or shown: everything but the password."""
        return {"name": self.name, "host": self.host, "port": self.port, "security": self.security,
                "user": self.user, "folder": self.folder, "processed_flag": self.processed_flag,
                "move_to": self.move_to, "idle": self.idle, "region": self.region}


def poll_seconds() -> float:
    """How often a mailbox without IDLE is searched for new mail."""
    return float(os.environ.get("EMAIL_POLL_SECONDS", 30))


def idle_seconds() -> float:
    """How long one IDLE lasts before it is renewed and the folder searched again
    (servers drop IDLE after 30 minutes). It also bounds how late a message can
    be if its arrival was announced in a race with the previous search."""
    return float(os.environ.get("EMAIL_IDLE_SECONDS", 60))


def reconnect_max_seconds() -> float:
    """The longest wait between reconnection attempts (the backoff doubles from 1 s up to this)."""
    return float(os.environ.get("EMAIL_RECONNECT_MAX_SECONDS", 60))


def max_attachment_bytes() -> int:
    """Attachments above this are listed (name, type, size) but not hashed."""
    return int(os.environ.get("EMAIL_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024))


def max_message_bytes() -> int:
    """Messages above this are not downloaded: they go to the quarantine with their headers."""
    return int(os.environ.get("EMAIL_MAX_MESSAGE_BYTES", 25 * 1024 * 1024))


def batch_size() -> int:
    """Messages fetched per IMAP FETCH."""
    return int(os.environ.get("EMAIL_BATCH_SIZE", 20))


def imap_timeout() -> float:
    return float(os.environ.get("EMAIL_IMAP_TIMEOUT_SECONDS", 30))


def regions() -> RegionMap:
    """REGION_BY_COUNTRY and REGION_BY_EMAIL_DOMAIN; raises RegionMapError naming a bad entry."""
    return RegionMap.from_env()


def mailboxes() -> list[Mailbox]:
    """The configured mailboxes; [] when none is configured. Raises SettingsError."""
    text = os.environ.get("EMAIL_MAILBOXES", "").strip()
    path = os.environ.get("EMAIL_MAILBOXES_FILE", "").strip()
    if text and path:
        raise SettingsError("set EMAIL_MAILBOXES or EMAIL_MAILBOXES_FILE, not both")
    where = "EMAIL_MAILBOXES"
    if path:
        where = path
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise SettingsError(f"EMAIL_MAILBOXES_FILE: cannot read {path}: {exc.strerror}") from None
    if not text:
        return []
    return parse_mailboxes(text, where)


def parse_mailboxes(text: str, where: str = "EMAIL_MAILBOXES") -> list[Mailbox]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"{where}: not valid JSON: {exc}") from None
    if isinstance(data, dict) and "mailboxes" in data:
        data = data["mailboxes"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise SettingsError(f"{where}: expected a list of mailboxes")
    result = [_mailbox(entry, f"{where}[{i}]") for i, entry in enumerate(data)]
    names = [m.name for m in result]
    for name in names:
        if names.count(name) > 1:
            raise SettingsError(f"{where}: two mailboxes are named {name!r}; names must be unique")
    return result


def _mailbox(entry, where: str) -> Mailbox:
    if not isinstance(entry, dict):
        raise SettingsError(f"{where}: expected an object")
    unknown = set(entry) - {"name", "host", "port", "security", "user", "password", "password_env", "folder",
                            "processed_flag", "move_to", "ca_file", "idle", "region"}
    if unknown:
        raise SettingsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("host", "user"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise SettingsError(f"{where}.{key}: required")
    security = entry.get("security", "tls")
    if security not in SECURITIES:
        raise SettingsError(f"{where}.security: {security!r} is not one of {', '.join(SECURITIES)}")
    port = entry.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise SettingsError(f"{where}.port: expected a port number")
    password = entry.get("password")
    if "password_env" in entry:
        password = os.environ.get(str(entry["password_env"]))
        if password is None:
            raise SettingsError(f"{where}.password_env: environment variable {entry['password_env']} is not set")
    if not isinstance(password, str):
        raise SettingsError(f"{where}.password: required (or password_env)")
    folder = entry.get("folder", "INBOX")
    name = entry.get("name") or f"{entry['user']}@{entry['host']}/{folder}"
    # The name is part of every message's external id (dedup key): keep it stable.
    if not isinstance(name, str) or len(name) > 200:
        raise SettingsError(f"{where}.name: expected a string of at most 200 characters")
    if not isinstance(entry.get("idle", True), bool):
        raise SettingsError(f"{where}.idle: expected true or false")
    region = entry.get("region")
    if region is not None and (not isinstance(region, str) or not region.strip() or len(region) > MAX_REGION):
        raise SettingsError(f"{where}.region: expected a region name of at most {MAX_REGION} characters, like \"pt\"")
    return Mailbox(name=name, host=entry["host"].strip(), port=port, security=security, user=entry["user"],
                   password=password, folder=folder, processed_flag=entry.get("processed_flag") or None,
                   move_to=entry.get("move_to") or None, ca_file=entry.get("ca_file") or None,
                   idle=entry.get("idle", True), region=region.strip().lower() if region else None)
