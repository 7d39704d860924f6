"""Accounts: registration, passwords (argon2, NIST 800-63B rules), log-in sessions and tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import delete, func, select, update

from server.extensions import db
from server.models.base import utcnow
from server.models.user import ROLES, ApiToken, User, UserSession
from server.services.errors import StatusError

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD = 8  # NIST 800-63B's minimum for a password the member chooses
MAX_PASSWORD = 1024  # NIST asks for at least 64; argon2 takes any length
SITE_WORDS = ("adventures", "adventure")
# zxcvbn's 0-4 score; 2 means more than a million guesses (not in its common-password, word or
# name lists, nor a keyboard walk, repeat, sequence or date). 3 would refuse random 8-character
# passwords, which NIST counts as fine.
MIN_PASSWORD_SCORE = 2
_ZXCVBN_MAX = 72  # zxcvbn's own cap; a longer password is judged by its first 72 characters
DEFAULT_SESSION_DAYS = 30
DEFAULT_TOKEN_DAYS = 90
# argon2id at OWASP's minimum (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1): about 25 ms
# of one core per hash or check. argon2-cffi's default (m=64 MiB, t=3, p=4) took ~170 ms of CPU
# on four threads, which on a busy 2-core machine made each log-in 1-2 s. Hashes made with other
# parameters still verify and are re-hashed with these at the next log-in.
ARGON2_MEMORY_KIB = 19_456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


class AccountError(StatusError, ValueError):
    """Bad input for an account operation: 409 for a taken username, 400 otherwise."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(409 if code == "username_taken" else 400, code, message)


class TokenError(StatusError):
    """A bearer token that is unknown, revoked or expired: always 401."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(401, code, message)


# ---- passwords ----------------------------------------------------------------------------


def _under_gevent() -> bool:
    """In a gevent worker (gunicorn's, which monkey-patches at start)?"""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")


def _off_loop(fn, *args):
    """Run an argon2 call where it does not stall other requests.

    argon2-cffi releases the GIL while it hashes, but under gevent a call made from a
    greenlet still blocks the one event loop (every other request of the worker) until it
    ends: there it runs in the hub's thread pool and this greenlet waits. Elsewhere (the CLI,
    tests, threaded servers) it is a plain call."""
    if _under_gevent():
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args)
    return fn(*args)


def hash_password(password: str) -> str:
    return _off_loop(_hasher.hash, password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _off_loop(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _weak(message: str) -> AccountError:
    return AccountError(
        "weak_password", f"{message} A few unrelated words make a strong password you can remember."
    )


def _letters(text: str) -> str:
    """Lower-case letters only: 'Alice-2024!' and 'alice' compare as the same context word."""
    return re.sub(r"[\W\d_]+", "", text.lower())


def check_password(password: str, *, username: str = "", display_name: str | None = None) -> None:
    """Refuse a password NIST 800-63B says to refuse, with a message saying why.

    Length 8 to 1024, any characters; not blank, not one repeated character, not built only
    from the username, display name or the site's name (digits and punctuation aside), and
    not guessable per zxcvbn (common-password lists, words, names, keyboard walks, sequences,
    repeats, dates). No composition rules, as NIST advises."""
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise AccountError("weak_password", f"Password must be at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError("bad_password", f"Password must be at most {MAX_PASSWORD} characters.")
    if not password.strip():
        raise _weak("Password must not be only spaces.")
    if len(set(password)) == 1:
        raise _weak("Password must not be one character repeated.")
    letters = _letters(password)
    for what, words in (
        ("your username", [username]),
        ("your name", [display_name or ""]),
        ("the site's name", SITE_WORDS),
    ):
        for word in filter(lambda w: len(w) >= 3, map(_letters, words)):
            if word in letters and not letters.replace(word, ""):
                raise _weak(f"Password must not be made of {what}.")
    context = [w for w in (username, display_name or "", *SITE_WORDS) if w]
    from zxcvbn import zxcvbn  # imported on first use: it loads its word lists (~70 ms)

    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=context)
    if result["score"] < MIN_PASSWORD_SCORE:
        warning = result["feedback"].get("warning") or ""
        raise _weak(f"Password is too easy to guess. {warning}".strip())


def create_user(
    username: str, password: str, *, role: str = "member", display_name: str | None = None
) -> User:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError(
            "bad_username", "Username must be 3-40 letters, digits, dots, dashes or underscores."
        )
    check_password(password, username=username, display_name=display_name)
    if role not in ROLES:
        raise AccountError("bad_role", f"Role must be one of {', '.join(ROLES)}.")
    if find_user(username) is not None:
        raise AccountError("username_taken", f"The username '{username}' is taken; pick another.")
    user = User(
        username=username,
        display_name=(display_name or username)[:80],
        password_hash=hash_password(password),
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
        hash_password("timing-equaliser")  # same cost whether or not the name exists
        return None
    if not _password_matches(user.password_hash, password or ""):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _days(key: str, default: int) -> timedelta:
    value = current_app.config.get(key, default) if has_app_context() else default
    return value if isinstance(value, timedelta) else timedelta(days=int(value))


# ---- log-in sessions ----------------------------------------------------------------------


def start_session(user: User) -> None:
    """Record a new log-in and put its key on `user`, so flask-login's session and remember
    cookie carry `<id>:<key>` (User.get_id); call it right before login_user.

    Lapsed rows are purged here, at log-in, so the table holds only live sessions."""
    now = utcnow()
    db.session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    key = secrets.token_urlsafe(24)
    lifetime = _days("REMEMBER_COOKIE_DURATION", DEFAULT_SESSION_DAYS)
    db.session.add(UserSession(user_id=user.id, key_hash=_digest(key), expires_at=now + lifetime))
    db.session.commit()
    user.session_key = key


def user_for_session(session_id: str) -> User | None:
    """The user loader: `<id>:<key>` from the session or remember cookie, one query; a bare
    id (a cookie from before sessions were recorded), a logged-out or a lapsed key is None."""
    user_id, _, key = (session_id or "").partition(":")
    if not key or not user_id.isdigit():
        return None
    user = db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == int(user_id),
            UserSession.key_hash == _digest(key),
            UserSession.expires_at > utcnow(),
        )
    )
    if user is not None:
        user.session_key = key
    return user


def end_session(user: User) -> None:
    """Log-out: delete this browser's session row, so a copied session or remember cookie
    names nothing afterwards."""
    if user.session_key:
        db.session.execute(
            delete(UserSession).where(UserSession.key_hash == _digest(user.session_key))
        )
        db.session.commit()
        user.session_key = None


def end_other_sessions(user: User) -> int:
    """'Log out everywhere else': every session of `user` but this one; returns how many."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if user.session_key:
        query = query.where(UserSession.key_hash != _digest(user.session_key))
    count = db.session.execute(query).rowcount
    db.session.commit()
    return count or 0


def session_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(UserSession.id)).where(
            UserSession.user_id == user.id, UserSession.expires_at > utcnow()
        )
    )


# ---- bearer tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    id: int
    expires_at: datetime


def issue_token(user: User) -> str:
    return issue_token_details(user).token


def issue_token_details(user: User) -> IssuedToken:
    """A new bearer token, valid for API_TOKEN_DAYS (default 90); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + _days("API_TOKEN_DAYS", DEFAULT_TOKEN_DAYS)
    row = ApiToken(user_id=user.id, token_hash=_digest(token), expires_at=expires)
    db.session.add(row)
    db.session.commit()
    return IssuedToken(token=token, id=row.id, expires_at=expires)


def check_token(token: str) -> tuple[User, int]:
    """The token's user and the token's id, in one query; TokenError (401) when it is unknown,
    revoked or expired, each with what to do."""
    row = db.session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at, ApiToken.expires_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(token))
    ).first()
    if row is None:
        raise TokenError(
            "bad_token", "The bearer token is not valid; get one from POST /api/auth/token."
        )
    user, token_id, last_used, expires = row
    now = utcnow()
    if expires <= now:
        raise TokenError(
            "token_expired",
            f"The bearer token expired on {expires:%Y-%m-%d %H:%M} UTC; "
            "get a new one from POST /api/auth/token.",
        )
    # Note use at most once a minute: a write per API call would serialise every request on SQLite.
    if last_used is None or now - last_used > timedelta(minutes=1):
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    return user, token_id


def user_for_token(token: str) -> User | None:
    """The token's user, or None when it is unknown, revoked or expired."""
    try:
        return check_token(token)[0]
    except TokenError:
        return None


def list_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (expired ones too, until revoked)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> None:
    """Delete one of `user`'s tokens; someone else's (or none) is 404, telling nothing more."""
    deleted = db.session.execute(
        delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    ).rowcount
    db.session.commit()
    if not deleted:
        raise StatusError(404, "not_found", f"You have no API token {token_id}.")


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
    while (
        True
    ):  # 16 random characters pass the password rules all but never; never show one that fails
        password = secrets.token_urlsafe(12)
        try:
            check_password(password, username=username, display_name="Instructor")
            break
        except AccountError:
            continue
    create_user(username, password, role="instructor", display_name="Instructor")
    return username, password
