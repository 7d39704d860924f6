"""Accounts: registration, passwords (argon2) and bearer tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from server.extensions import db
from server.models.base import utcnow
from server.models.user import ROLES, ApiToken, User
from server.services.errors import StatusError

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


class AccountError(StatusError, ValueError):
    """Bad input for an account operation: 409 for a taken username, 400 otherwise."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(409 if code == "username_taken" else 400, code, message)


def create_user(
    username: str, password: str, *, role: str = "member", display_name: str | None = None
) -> User:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError(
            "bad_username", "Username must be 3-40 letters, digits, dots, dashes or underscores."
        )
    if len(password or "") < MIN_PASSWORD:
        raise AccountError("weak_password", f"Password must be at least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise AccountError("bad_password", "Password must be at most 1024 characters.")
    if role not in ROLES:
        raise AccountError("bad_role", f"Role must be one of {', '.join(ROLES)}.")
    if find_user(username) is not None:
        raise AccountError("username_taken", f"The username '{username}' is taken; pick another.")
    user = User(
        username=username,
        display_name=(display_name or username)[:80],
        password_hash=_hasher.hash(password),
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def authenticate(username: str, password: str) -> User | None:
    user = find_user((username or "").strip())
    if user is None:
        _hasher.hash("timing-equaliser")  # same cost whether or not the name exists
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_digest(token)))
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    """One query per API call: the token's user and when the token was last noted."""
    row = db.session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    user, token_id, last_used = row
    now = utcnow()
    # Note use at most once a minute: a write per API call would serialise every request on SQLite.
    if last_used is None or now - last_used > timedelta(minutes=1):
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    return user


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise AccountError("bad_role", f"Role must be one of {', '.join(ROLES)}.")
    user.role = role
    db.session.commit()


def ensure_instructor() -> tuple[str, str] | None:
    """Create the first instructor when there is none; return (username, password) once."""
    if db.session.scalar(select(User).where(User.role == "instructor").limit(1)) is not None:
        return None
    username = "instructor"
    while find_user(username) is not None:
        username = f"instructor{secrets.randbelow(1000)}"
    password = secrets.token_urlsafe(12)
    create_user(username, password, role="instructor", display_name="Instructor")
    return username, password
