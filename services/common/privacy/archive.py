"""The subject-access export archive: a zip with one JSON file per service that holds
personal data and a manifest. Plain Python (zipfile in memory).

    manifest.json   {"format": "complaints-subject-export", "version": 1, "created_at",
                     "subject": {"emails", "phones", "names"},
                     "services": {"tickets": {"file": "tickets.json", "status": "ok", "records": 12},
                                  "intake_sms": {"status": "unavailable", "error": "..."}, ...}}
    tickets.json    what the tickets service holds: {"service", "records", "tables": {...}}
    notifier.json   ...

A service that did not answer is listed in the manifest as such (the archive is
then incomplete, and says so) instead of the export failing as a whole.
"""

from __future__ import annotations

import io
import json
import zipfile

FORMAT = "complaints-subject-export"
VERSION = 1
MANIFEST = "manifest.json"


def records(part: dict) -> int:
    """How many records a service's part holds: the rows of all its tables."""
    tables = part.get("tables") or {}
    return sum(len(rows) for rows in tables.values() if isinstance(rows, list))


def build(parts: dict[str, dict], failures: dict[str, str], subject: dict, created_at: str) -> bytes:
    """parts: service -> its export (JSON-ready); failures: service -> why it has none."""
    manifest = {"format": FORMAT, "version": VERSION, "created_at": created_at, "subject": subject,
                "complete": not failures, "services": {}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for service, part in sorted(parts.items()):
            name = f"{service}.json"
            archive.writestr(name, json.dumps(part, indent=2, ensure_ascii=False, sort_keys=True))
            manifest["services"][service] = {"file": name, "status": "ok", "records": records(part)}
        for service, why in sorted(failures.items()):
            manifest["services"][service] = {"status": "unavailable", "error": why}
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True))
    return buffer.getvalue()


def read(data: bytes) -> tuple[dict, dict[str, dict]]:
    """(manifest, service -> its part) of an archive made by build()."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        parts = {service: json.loads(archive.read(entry["file"]))
                 for service, entry in manifest["services"].items() if entry.get("file")}
    return manifest, parts


def json_ready(value):
    """A database row's values as JSON: instants in ISO 8601, bytes as text (UTF-8, else
    Latin-1: raw mail is bytes), mappings and lists converted throughout."""
    from datetime import date, datetime

    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, datetime | date):
        from services.common.time.clock import iso

        return iso(value) if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return value


def rows(result) -> list[dict]:
    """SQLAlchemy rows as JSON-ready dicts."""
    return [json_ready(dict(r._mapping)) for r in result]
