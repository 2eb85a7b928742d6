"""The console's SQL: users and passwords, sessions, knowledge base and feedback.

Passwords are hashed with werkzeug.security (scrypt, salted); a session is a
random cookie value of which only the SHA-256 is stored, so a copy of the
table opens nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from services.common.contract.complaint import CATEGORIES, LANGUAGE_RE

from . import kb_search
from .schema import ROLES, articles, feedback, sessions, users

MIN_PASSWORD = 8
MAX_TITLE = 200
MAX_ARTICLE = 20_000
# Checked against when a name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


class ConsoleError(ValueError):
    """A request the console refuses; the message says why."""


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # --- users ------------------------------------------------------------------

    def add_user(self, name: str, password: str, role: str, display_name: str | None = None) -> dict:
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise ConsoleError("a user needs a name of 1 to 100 characters (their roster name)")
        if role not in ROLES:
            raise ConsoleError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD:
            raise ConsoleError(f"the password needs at least {MIN_PASSWORD} characters")
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(users).values(name=name, display_name=display_name, role=role,
                                                  password_hash=generate_password_hash(password), active=True,
                                                  created_at=now()))
        except IntegrityError:
            raise ConsoleError(f"there is already a user {name!r}") from None
        return self.user(name)

    def set_password(self, name: str, password: str) -> None:
        if len(password or "") < MIN_PASSWORD:
            raise ConsoleError(f"the password needs at least {MIN_PASSWORD} characters")
        with self.engine.begin() as conn:
            done = conn.execute(update(users).where(users.c.name == name)
                                .values(password_hash=generate_password_hash(password))).rowcount
            conn.execute(delete(sessions).where(sessions.c.user_id.in_(
                select(users.c.id).where(users.c.name == name))))
        if not done:
            raise ConsoleError(f"no user {name!r}")

    def user(self, name: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return _user_dict(row) if row else None

    def list_users(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [_user_dict(r) for r in conn.execute(select(users).order_by(users.c.name))]

    def authenticate(self, name: str, password: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == (name or "").strip())).first()
        if row is None or not row.active:
            check_password_hash(_DUMMY_HASH, password or "")
            return None
        return _user_dict(row) if check_password_hash(row.password_hash, password or "") else None

    # --- sessions -----------------------------------------------------------------

    def open_session(self, user_id: int, hours: float) -> str:
        token = secrets.token_urlsafe(32)
        at = now()
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < at))
            conn.execute(insert(sessions).values(token_hash=_hash_token(token), user_id=user_id, created_at=at,
                                                 expires_at=at + timedelta(hours=hours)))
        return token

    def session_user(self, token: str | None) -> dict | None:
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(users, sessions.c.expires_at).join(sessions, sessions.c.user_id == users.c.id)
                               .where(sessions.c.token_hash == _hash_token(token))).first()
        if row is None or not row.active or _aware(row.expires_at) <= now():
            return None
        return _user_dict(row)

    def close_session(self, token: str | None) -> None:
        if token:
            with self.engine.begin() as conn:
                conn.execute(delete(sessions).where(sessions.c.token_hash == _hash_token(token)))

    # --- knowledge base -------------------------------------------------------------

    def add_article(self, title: str, body: str, category: str | None, language: str | None, author: str) -> dict:
        errors = article_errors(title, body, category, language)
        if errors:
            raise ConsoleError("; ".join(f"{k}: {v}" for k, v in errors.items()))
        at = now()
        with self.engine.begin() as conn:
            article_id = conn.execute(insert(articles).values(
                title=title.strip(), body=body.strip(), category=category or None,
                language=(language or "").lower() or None, author=author, created_at=at, updated_at=at,
            )).inserted_primary_key[0]
        return self.article(article_id)

    def article(self, article_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(articles).where(articles.c.id == article_id)).first()
            return self._article_dict(conn, row) if row else None

    def list_articles(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [self._article_dict(conn, r) for r in
                    conn.execute(select(articles).order_by(articles.c.updated_at.desc(), articles.c.id.desc()))]

    def suggest(self, query: str, category: str | None = None, language: str | None = None,
                limit: int = 3) -> list[dict]:
        """The articles that best match what the customer is writing (kb_search.rank).
        The knowledge base is small (hundreds of articles): ranked in Python, the same
        on every database."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(articles.c.id, articles.c.title, articles.c.body, articles.c.category,
                                       articles.c.language)).all()
        found = kb_search.rank([kb_search.Article(*r) for r in rows], query, category, language, limit)
        return [{"id": a.id, "title": a.title, "body": a.body, "category": a.category, "language": a.language}
                for a, _ in found]

    def record_feedback(self, article_id: int, helped: bool, query: str | None = None) -> dict:
        if not isinstance(helped, bool):
            raise ConsoleError("'helped' must be true or false")
        with self.engine.begin() as conn:
            if conn.execute(select(articles.c.id).where(articles.c.id == article_id)).first() is None:
                raise LookupError(f"no article {article_id}")
            conn.execute(insert(feedback).values(article_id=article_id, helped=helped,
                                                 query=(query or "")[:300] or None, at=now()))
        return self.article(article_id)

    def _article_dict(self, conn, row) -> dict:
        counts = dict(conn.execute(select(feedback.c.helped, func.count()).where(feedback.c.article_id == row.id)
                                   .group_by(feedback.c.helped)).all())
        return {"id": row.id, "title": row.title, "body": row.body, "category": row.category,
                "language": row.language, "author": row.author, "created_at": _aware(row.created_at).isoformat(),
                "helped": counts.get(True, 0), "not_helped": counts.get(False, 0)}

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))


def article_errors(title, body, category, language) -> dict[str, str]:
    errors = {}
    if not (title or "").strip() or len(title.strip()) > MAX_TITLE:
        errors["title"] = f"give a title of 1 to {MAX_TITLE} characters"
    if not (body or "").strip() or len(body) > MAX_ARTICLE:
        errors["body"] = f"give the article's text (at most {MAX_ARTICLE} characters)"
    if category and category not in CATEGORIES:
        errors["category"] = f"expected one of {', '.join(CATEGORIES)}"
    if language and not LANGUAGE_RE.fullmatch(language):
        errors["language"] = "not a language tag like 'en' or 'pt-BR'"
    return errors


def _user_dict(row) -> dict:
    return {"id": row.id, "name": row.name, "display_name": row.display_name or row.name, "role": row.role,
            "active": bool(row.active)}
