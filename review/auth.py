"""Who may do what on the review pages: roles and permissions, sessions, CSRF, login rate limit.

- Passwords: argon2id hashes (`pipelines.users`, shared with `pantau users add`).
- Sessions: a cookie signed with itsdangerous under `settings.secret_key`, HTTP-only,
  SameSite=Lax, Secure (configurable for plain-HTTP localhost tests). It holds a random session
  id, the CSRF token, the user id, when it was issued, and a keyed fingerprint of the user's
  password hash (a changed password ends every session). The user and role are read from the
  database on every request, so a disabled user or a changed role takes effect at once.
  Logging out is written to the audit log, and a logged-out session id is refused by every
  worker.
- CSRF: one random token per session, in a hidden field of every form, compared in constant
  time on every POST; the login form has one too (the session exists before the login).
- Login rate limit: failed logins are audit-log rows keyed by a hash of (name, client address);
  LOGIN_LIMIT failures in LOGIN_WINDOW block that pair until the window passes. Counted in the
  database, so every worker and a restart see the same count.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine, func, insert, select

from pipelines import users as user_store
from pipelines.store import schema as s
from pipelines.users import User

log = logging.getLogger(__name__)

# The permission table: the server checks these, the templates only hide what is not allowed.
PERMISSIONS: dict[str, frozenset[str]] = {
    "peninjau": frozenset({"lihat", "tinjau"}),
    "analis": frozenset({"lihat", "tinjau", "lihat_teks_asli"}),
    "admin": frozenset({"lihat", "tinjau", "lihat_teks_asli", "kelola"}),
}
ROLE_NAMES = {"peninjau": "Peninjau", "analis": "Analis", "admin": "Admin"}

SESSION_COOKIE = "pantau_sesi"
SESSION_MAX_AGE = timedelta(hours=12)
LOGIN_LIMIT = 5
LOGIN_WINDOW = timedelta(minutes=15)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def has_permission(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


class LoginRequired(Exception):  # noqa: N818 - control flow, handled by a redirect to /masuk
    def __init__(self, next_path: str = "/") -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):  # noqa: N818 - handled by a 403 page
    pass


class Forbidden(Exception):  # noqa: N818 - handled by a 403 page
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    issued_at: datetime
    user_id: int | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of one request."""

    user: User
    session: Session

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.user.role, self.user.role)

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def can(self, permission: str) -> bool:
        return has_permission(self.user.role, permission)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class Auth:
    """Sessions, CSRF and logins for one app; built once by `review.mount`."""

    def __init__(self, engine: Engine, secret: str, clock: Callable[[], datetime],
                 *, secure_cookies: bool | None = None,
                 hasher: PasswordHasher = user_store.DEFAULT_HASHER) -> None:
        self.engine = engine
        self.hasher = hasher
        self.clock = clock
        self.secure_cookies = secure_cookies  # None: Secure unless plain HTTP to a loopback host
        self._secret = secret
        self._serializer = URLSafeSerializer(secret, salt="pantau.review.sesi")

    # --- the session cookie ------------------------------------------------------------------
    def new_session(self, user: User | None = None) -> Session:
        return Session(sid=secrets.token_urlsafe(18), csrf=secrets.token_urlsafe(24),
                       issued_at=self.clock(), user_id=user.id if user else None,
                       fingerprint=self._fingerprint(user.password_hash) if user else None)

    def _fingerprint(self, password_hash: str) -> str:
        return hmac.new(self._secret.encode(), password_hash.encode(), "sha256").hexdigest()[:16]

    def read_session(self, request: Request) -> Session | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or len(raw) > 1024:
            return None
        try:
            data = self._serializer.loads(raw)
            session = Session(sid=str(data["s"]), csrf=str(data["c"]),
                              issued_at=datetime.fromisoformat(data["t"]),
                              user_id=int(data["u"]) if data.get("u") is not None else None,
                              fingerprint=data.get("f"))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if session.issued_at.tzinfo is None or self.clock() - session.issued_at > SESSION_MAX_AGE:
            return None
        return session

    def write_session(self, request: Request, response: Response, session: Session) -> None:
        value = self._serializer.dumps({"s": session.sid, "c": session.csrf,
                                        "t": session.issued_at.isoformat(), "u": session.user_id,
                                        "f": session.fingerprint})
        response.set_cookie(SESSION_COOKIE, value, max_age=int(SESSION_MAX_AGE.total_seconds()),
                            path="/", secure=self._secure(request), httponly=True, samesite="lax")

    def clear_session(self, request: Request, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self._secure(request),
                               httponly=True, samesite="lax")

    def _secure(self, request: Request) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return not (request.url.scheme == "http" and request.url.hostname in LOOPBACK)

    # --- who is asking ------------------------------------------------------------------------
    def viewer(self, request: Request) -> Viewer | None:
        session = self.read_session(request)
        if session is None or session.user_id is None:
            return None
        user = user_store.find_user(self.engine, user_id=session.user_id)
        if user is None or user.disabled or session.fingerprint != self._fingerprint(user.password_hash):
            return None
        if user.role not in PERMISSIONS:
            return None
        with self.engine.connect() as conn:
            ended = conn.execute(select(s.audit_log.c.id).where(
                s.audit_log.c.action == "logout",
                s.audit_log.c.target == f"sesi:{_digest(session.sid)}").limit(1)).first()
        return None if ended else Viewer(user, session)

    @staticmethod
    def csrf_ok(session: Session | None, token: Any) -> bool:
        return (session is not None and isinstance(token, str) and bool(token)
                and hmac.compare_digest(session.csrf.encode(), token.encode()))

    # --- logging in and out --------------------------------------------------------------------
    def _limit_key(self, name: str, address: str) -> str:
        return "masuk:" + _digest(self._secret, name.strip().lower(), address)

    def blocked_minutes(self, name: str, address: str) -> int:
        """Minutes until this (name, address) may try again; 0 when it may try now."""
        now = self.clock()
        a = s.audit_log
        with self.engine.connect() as conn:
            count, oldest = conn.execute(select(func.count(), func.min(a.c.at)).where(
                a.c.action == "login.gagal", a.c.target == self._limit_key(name, address),
                a.c.at > now - LOGIN_WINDOW)).one()
        if count < LOGIN_LIMIT or oldest is None:
            return 0
        seconds = (oldest + LOGIN_WINDOW - now).total_seconds()
        return max(1, int(-(-seconds // 60)))

    def authenticate(self, name: str, password: str, address: str) -> User | None:
        """The user when name and password match an enabled user; failures are counted."""
        user = user_store.find_user(self.engine, name=name.strip().lower()) if name.strip() else None
        ok = user_store.verify_password(user.password_hash if user else None, password, self.hasher)
        now = self.clock()
        if not ok or user is None or user.disabled:
            with self.engine.begin() as conn:
                conn.execute(insert(s.audit_log).values(
                    at=now, actor=user.name if user else "-", action="login.gagal",
                    target=self._limit_key(name, address), detail={"user_known": user is not None}))
            log.info("failed login (user known: %s)", user is not None)
            return None
        if user_store.needs_rehash(user.password_hash, self.hasher):
            new_hash = user_store.hash_password(password, self.hasher)
            user_store.update_password_hash(self.engine, user.id, new_hash)
            user = replace(user, password_hash=new_hash)
        return user

    def record(self, actor: str, action: str, target: str | None, detail: dict | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(s.audit_log).values(at=self.clock(), actor=actor, action=action,
                                                    target=target, detail=detail))

    def logged_in(self, user: User, session: Session) -> None:
        self.record(user.name, "login", f"sesi:{_digest(session.sid)}")

    def logged_out(self, viewer: Viewer) -> None:
        self.record(viewer.name, "logout", f"sesi:{_digest(viewer.session.sid)}")
