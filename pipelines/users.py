"""Users of the review page: creating, listing, disabling them, and their password hashes (argon2id).

Passwords are hashed with argon2-cffi's defaults (argon2id, RFC 9106 low-memory profile); a hash
made with older parameters is upgraded on the next successful login (`needs_rehash`). Roles are
the ids of the review page: `peninjau` (reviewer), `analis`, `admin`; what each may do is the
permission table in `review/auth.py`.

The review page reads the user on every request, and a session is bound to the password hash:
disabling a user, changing their role or setting a new password takes effect at once, and a
new password ends every session of the old one. The last enabled admin can be neither disabled
nor demoted, so nobody is locked out of the users' administration by mistake. Every change is
written to the audit log (never a password or a hash).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipelines.store import schema as s
from triage.errors import PantauError

ROLES = ("peninjau", "analis", "admin")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

DEFAULT_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
_DUMMY = "pantau-dummy-password-for-timing"
_dummy_hashes: dict[tuple[int, int, int], str] = {}


class UserError(PantauError):
    """A user cannot be created or found as asked."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    password_hash: str
    created_at: datetime
    disabled: bool


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    return hasher.hash(password)


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with `hasher`'s cost, verified against when the user does not exist, so that a
    wrong name costs as long as a wrong password."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash(_DUMMY)
    return _dummy_hashes[key]


def verify_password(password_hash: str | None, password: str,
                    hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True when `password` matches; a missing or malformed hash is a mismatch (never raises)."""
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True when the hash was made with other parameters than `hasher`'s (upgrade it at login)."""
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise UserError(
            "user name must be 2-32 characters of lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    return password


def _user(row: Any) -> User:
    return User(row.id, row.name, row.role, row.password_hash, row.created_at, bool(row.disabled))


def create_user(engine: Engine, name: str, role: str, password: str, *, now: datetime,
                hasher: PasswordHasher = DEFAULT_HASHER) -> User:
    """Create one user; the name must be new. Writes an audit-log entry (no secret in it)."""
    check_name(name)
    check_role(role)
    check_password(password)
    password_hash = hash_password(password, hasher)
    try:
        with engine.begin() as conn:
            user_id = conn.execute(insert(s.users).values(
                name=name, role=role, password_hash=password_hash, created_at=now, disabled=False,
            )).inserted_primary_key[0]
            conn.execute(insert(s.audit_log).values(
                at=now, actor="cli", action="user.create", target=f"user:{name}",
                detail={"role": role}))
    except IntegrityError:
        raise UserError(f"a user named {name!r} already exists") from None
    return User(int(user_id), name, role, password_hash, now, False)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(s.users).order_by(s.users.c.name))]


def find_user(engine: Engine, *, name: str | None = None, user_id: int | None = None) -> User | None:
    query = select(s.users)
    if user_id is not None:
        query = query.where(s.users.c.id == user_id)
    else:
        query = query.where(s.users.c.name == name)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return _user(row) if row else None


def update_password_hash(engine: Engine, user_id: int, password_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(s.users).where(s.users.c.id == user_id).values(password_hash=password_hash))


def _change(engine: Engine, name: str, *, now: datetime, action: str, values: dict[str, Any],
            keep_an_admin: bool = False) -> User:
    """Update one user and write the audit entry, in one transaction."""
    detail: dict[str, Any] = {}
    u = s.users
    with engine.begin() as conn:
        row = conn.execute(select(u).where(u.c.name == name)).first()
        if row is None:
            raise UserError(f"no user named {name!r}")
        if keep_an_admin and row.role == "admin" and not row.disabled:
            admins = conn.execute(select(u.c.id).where(u.c.role == "admin", u.c.disabled.is_(False))).all()
            if len(admins) <= 1:
                raise UserError(f"{name!r} is the last enabled admin: add or enable another admin first")
        conn.execute(update(u).where(u.c.id == row.id).values(**values))
        if "role" in values:
            detail = {"role": values["role"], "was": row.role}
        conn.execute(insert(s.audit_log).values(at=now, actor="cli", action=action,
                                                target=f"user:{name}", detail=detail))
        row = conn.execute(select(u).where(u.c.id == row.id)).first()
    return _user(row)


def set_disabled(engine: Engine, name: str, disabled: bool, *, now: datetime) -> User:
    """Disable a user (their sessions end at their next request) or enable them again."""
    return _change(engine, name, now=now, action="user.disable" if disabled else "user.enable",
                   values={"disabled": disabled}, keep_an_admin=disabled)


def set_role(engine: Engine, name: str, role: str, *, now: datetime) -> User:
    check_role(role)
    return _change(engine, name, now=now, action="user.role", values={"role": role},
                   keep_an_admin=role != "admin")


def set_password(engine: Engine, name: str, password: str, *, now: datetime,
                 hasher: PasswordHasher = DEFAULT_HASHER) -> User:
    """A new password (a reset by an administrator): every session of the old one ends."""
    check_password(password)
    return _change(engine, name, now=now, action="user.password",
                   values={"password_hash": hash_password(password, hasher)})
