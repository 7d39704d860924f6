"""Configuration read from the environment (see API.md), one class per use."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """The folder for the SQLite file, the secret key and the Huey queue."""
    path = Path(os.environ.get("ADVENTURES_INSTANCE", REPO_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def datasets_dir() -> Path:
    """The dataset store (graders/datasets.py): ADVENTURES_DATASETS, else <instance>/datasets.

    Every web process and worker must see the same folder (see README, "Datasets")."""
    configured = os.environ.get("ADVENTURES_DATASETS", "").strip()
    return Path(configured) if configured else instance_dir() / "datasets"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_dir() / 'adventures.db'}"
    # Heroku-style and bare postgresql:// URLs go through psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _flag(name: str) -> bool | None:
    """An on/off environment variable: 1/true/yes/on or 0/false/no/off; None when unset."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    return value in ("1", "true", "yes", "on")


def secure_cookies() -> bool:
    """Cookies only over HTTPS: SECURE_COOKIES=1/0 decides; unset, PREFERRED_URL_SCHEME=https
    turns it on (the app cannot see the scheme itself behind a TLS-terminating proxy)."""
    flag = _flag("SECURE_COOKIES")
    if flag is not None:
        return flag
    return os.environ.get("PREFERRED_URL_SCHEME", "").strip().lower() == "https"


def secret_key() -> str:
    """SECRET_KEY, or one generated once and kept in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    def __init__(self) -> None:
        self.SECRET_KEY = secret_key()
        self.SQLALCHEMY_DATABASE_URI = database_url()
        # Bounded per process, so `--workers N` stays inside PostgreSQL's 100 connections;
        # gevent serves thousands of requests at once, and those that find the pool busy
        # wait their turn (pool_timeout) instead of failing. Requests hold a connection only
        # while they query: streams hand theirs back, answers share one per batch.
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_pre_ping": True,
            "pool_size": int(os.environ.get("DB_POOL_SIZE", 5)),
            "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", 10)),
            "pool_timeout": int(os.environ.get("DB_POOL_TIMEOUT", 30)),
        }
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        # Notebooks are capped at 2 MB by the grader; the request cap leaves room for multipart.
        self.MAX_CONTENT_LENGTH = 4 * 1024 * 1024
        self.MAX_ANSWER_BYTES = 64 * 1024
        self.MAX_NOTEBOOK_BYTES = 2 * 1024 * 1024
        self.DATASETS_DIR = str(datasets_dir())
        # Dataset uploads stream to disk (their route lifts MAX_CONTENT_LENGTH for itself).
        self.MAX_DATASET_BYTES = int(os.environ.get("MAX_DATASET_BYTES", 2 * 1024**3))
        self.WTF_CSRF_TIME_LIMIT = None
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SECURE = secure_cookies()
        if os.environ.get("PREFERRED_URL_SCHEME"):
            self.PREFERRED_URL_SCHEME = os.environ["PREFERRED_URL_SCHEME"].strip().lower()
        # The remember cookie (flask-login) names a server-side session (UserSession) that
        # lives as long as it does, REMEMBER_DAYS (30 by default); log-out deletes both.
        self.REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("REMEMBER_DAYS", 30)))
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        # Bearer tokens from POST /api/auth/token expire this many days after they are issued.
        self.API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", 90))
        # The address phones are sent to (join link, QR code), e.g. https://trivia.example.org
        # behind a proxy; `adventures run --host 0.0.0.0` sets it to this machine's LAN address.
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "").strip().rstrip("/") or None
        self.GPU_FALLBACK_TO_CPU = os.environ.get("GPU_FALLBACK_TO_CPU", "1") != "0"
        self.SUBMISSION_RATE_LIMIT = os.environ.get("SUBMISSION_RATE_LIMIT", "30 per minute")
        self.AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute")
