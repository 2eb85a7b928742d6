"""The console's SQL: users and passwords, sessions, knowledge base and feedback.
Its sign-in records have rooms of their own, reached from the store:
second_factors.py (TOTP, recovery codes), sign_in_locks.py, password_resets.py
and audit_log.py.

Passwords are hashed with werkzeug.security (scrypt, salted); a session is a
random cookie value of which only the SHA-256 is stored, so a copy of the
table opens nothing. A session is signed in, or halfway (stage second_factor
or enrol: the password was right, a code is still wanted); it ends after its
lifetime, or sooner when idle.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from services.common.contract.complaint import CATEGORIES, EMAIL_RE, LANGUAGE_RE
from services.common.contract.confidential import GROUP_RE
from services.common.time.clock import now, utc

from . import kb_search, settings
from .audit_log import AuditLog
from .password_resets import PasswordResets
from .schema import ROLES, articles, feedback, sessions, users
from .second_factors import SecondFactors
from .sign_in_locks import SignInLocks
from .sign_in_rules import password_problem

MAX_TITLE = 200
MAX_ARTICLE = 20_000
SIGNED_IN, SECOND_FACTOR, ENROL = "signed_in", "second_factor", "enrol"
# A session's last_seen_at is written at most this often (not on every request), or
# every quarter of the idle timeout if that is shorter.
_TOUCH_EVERY = timedelta(seconds=60)
# Checked against when a name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


class ConsoleError(ValueError):
    """A request the console refuses; the message says why."""


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    if value and (len(value) > 254 or not EMAIL_RE.fullmatch(value)):
        raise ConsoleError(f"{value!r} is not an email address")
    return value or None


class ConsoleStore:
    def __init__(self, engine: Engine, min_password: int | None = None):
        self.engine = engine
        self.min_password = min_password or settings.password_min_length()
        self.second_factors = SecondFactors(engine)
        self.locks = SignInLocks(engine)
        self.resets = PasswordResets(engine)
        self.audit = AuditLog(engine)

    # --- users ------------------------------------------------------------------

    def add_user(self, name: str, password: str, role: str, display_name: str | None = None,
                 email: str | None = None) -> dict:
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise ConsoleError("a user needs a name of 1 to 100 characters (their roster name)")
        if role not in ROLES:
            raise ConsoleError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        self._check_password(password, name)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(users).values(name=name, display_name=display_name, role=role,
                                                  password_hash=generate_password_hash(password), active=True,
                                                  created_at=now(), email=_email(email)))
        except IntegrityError:
            raise ConsoleError(f"there is already a user {name!r} or one with that email address") from None
        return self.user(name)

    def _check_password(self, password: str, name: str) -> None:
        problem = password_problem(password, name, self.min_password)
        if problem:
            raise ConsoleError(problem)

    def set_password(self, name: str, password: str) -> None:
        """A new password ends every session of the user."""
        self._check_password(password, name)
        with self.engine.begin() as conn:
            done = conn.execute(update(users).where(users.c.name == name)
                                .values(password_hash=generate_password_hash(password))).rowcount
            conn.execute(delete(sessions).where(sessions.c.user_id.in_(
                select(users.c.id).where(users.c.name == name))))
        if not done:
            raise ConsoleError(f"no user {name!r}")

    def edit_user(self, name: str, role: str | None = None, email: str | None = None,
                  display_name: str | None = None, active: bool | None = None) -> dict:
        """Change what is given. A new role or (de)activation ends the user's sessions:
        a privilege that changes is taken up at the next sign-in, with a new session."""
        values = {}
        if role is not None:
            if role not in ROLES:
                raise ConsoleError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
            values["role"] = role
        if email is not None:
            values["email"] = _email(email)
        if display_name is not None:
            values["display_name"] = display_name.strip() or None
        if active is not None:
            values["active"] = active
        if not values:
            raise ConsoleError("nothing to change")
        try:
            with self.engine.begin() as conn:
                row = conn.execute(select(users).where(users.c.name == name)).first()
                if row is None:
                    raise ConsoleError(f"no user {name!r}")
                conn.execute(update(users).where(users.c.id == row.id).values(**values))
                if role not in (None, row.role) or active not in (None, row.active):
                    conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
        except IntegrityError:
            raise ConsoleError(f"another user has the email address {values.get('email')!r}") from None
        return self.user(name)

    def set_groups(self, name: str, groups) -> dict:
        """The user's groups, replaced. Taken up at the user's next request (the session
        reads the user each time), so a member removed from a group stops seeing its
        cases at once."""
        wanted = sorted({(g or "").strip() for g in groups} - {""})
        bad = [g for g in wanted if not GROUP_RE.fullmatch(g)]
        if bad:
            raise ConsoleError(f"not a group name: {', '.join(map(repr, bad))} (letters, digits, . _ -, "
                               "at most 64)")
        with self.engine.begin() as conn:
            if not conn.execute(update(users).where(users.c.name == name).values(groups=wanted)).rowcount:
                raise ConsoleError(f"no user {name!r}")
        self.audit.record("groups_changed", name, "command line", ", ".join(wanted) or "no group")
        return self.user(name)

    def user(self, name: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return _user_dict(row) if row else None

    def user_by_id(self, user_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return _user_dict(row) if row else None

    def user_for_reset(self, name_or_email: str) -> dict | None:
        """The active user with this name or email address, if they have an address to mail."""
        typed = (name_or_email or "").strip()[:254]
        if not typed:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where((users.c.name == typed) | (users.c.email == typed.lower()))
                               .order_by((users.c.name == typed).desc())).first()
        return _user_dict(row) if row is not None and row.active and row.email else None

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

    def open_session(self, user_id: int, hours: float, stage: str = SIGNED_IN) -> str:
        token = secrets.token_urlsafe(32)
        at = now()
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < at))
            conn.execute(insert(sessions).values(token_hash=_hash_token(token), user_id=user_id, created_at=at,
                                                 expires_at=at + timedelta(hours=hours), stage=stage,
                                                 last_seen_at=at))
        return token

    def session(self, token: str | None, idle_minutes: float | None = None) -> tuple[dict, str] | None:
        """(user, stage) of a live session; None when there is none, it expired, it was
        idle longer than idle_minutes (then it is ended), or the user was deactivated."""
        if not token:
            return None
        key, at = _hash_token(token), now()
        with self.engine.connect() as conn:
            row = conn.execute(select(users, sessions.c.expires_at, sessions.c.stage, sessions.c.last_seen_at)
                               .join(sessions, sessions.c.user_id == users.c.id)
                               .where(sessions.c.token_hash == key)).first()
        if row is None or not row.active or utc(row.expires_at) <= at:
            return None
        seen = utc(row.last_seen_at)
        if idle_minutes is not None and at - seen > timedelta(minutes=idle_minutes):
            self.close_session(token)
            return None
        if at - seen >= min(_TOUCH_EVERY, timedelta(minutes=(idle_minutes or 60) / 4)):
            with self.engine.begin() as conn:
                conn.execute(update(sessions).where(sessions.c.token_hash == key).values(last_seen_at=at))
        return _user_dict(row), row.stage

    def session_user(self, token: str | None, idle_minutes: float | None = None) -> dict | None:
        """The user of a signed-in session (not one halfway through signing in)."""
        found = self.session(token, idle_minutes)
        return found[0] if found and found[1] == SIGNED_IN else None

    def close_session(self, token: str | None) -> None:
        if token:
            with self.engine.begin() as conn:
                conn.execute(delete(sessions).where(sessions.c.token_hash == _hash_token(token)))

    def close_sessions(self, user_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))

    def reset_password(self, token: str, password: str) -> dict:
        """Redeem a reset link: a new password, every session ended, every other link
        of the user spent. Raises ConsoleError if the password will not do (the link
        stays good) or LookupError if the link is unknown, used or expired."""
        user_id = self.resets.valid_user_id(token)
        if user_id is None:
            raise LookupError("this link is unknown, used or expired")
        user = self.user_by_id(user_id)
        self._check_password(password, user["name"])
        with self.engine.begin() as conn:
            if not self.resets.spend(conn, token, user_id):
                raise LookupError("this link is unknown, used or expired")
            conn.execute(update(users).where(users.c.id == user_id)
                         .values(password_hash=generate_password_hash(password)))
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        return user

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
                "language": row.language, "author": row.author, "created_at": utc(row.created_at).isoformat(),
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
            "active": bool(row.active), "email": row.email, "has_totp": row.totp_secret is not None,
            "groups": list(row.groups or ())}
