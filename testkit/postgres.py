"""A fresh database on the real PostgreSQL server for one test (or one test
module), dropped afterwards. The server is found through TEST_POSTGRES_URL
(default: postgres on 127.0.0.1:5432, database `test`, trust auth)."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_database():
    """Create a database -> (its SQLAlchemy URL, a function that drops it)."""
    import psycopg2  # here, not at the top: importing testkit needs no database driver

    name = f"complaints_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    url = urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/" + name))

    def drop():
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return url, drop
