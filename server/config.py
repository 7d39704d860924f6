"""Configuration read from the environment (see API.md), one class per use."""

from __future__ import annotations

import os
import secrets
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
        # gevent serves many requests at once, each holding a connection until it ends.
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_pre_ping": True,
            "pool_size": 10,
            "max_overflow": 90,
            "pool_timeout": 15,
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
        self.GPU_FALLBACK_TO_CPU = os.environ.get("GPU_FALLBACK_TO_CPU", "1") != "0"
        self.SUBMISSION_RATE_LIMIT = os.environ.get("SUBMISSION_RATE_LIMIT", "30 per minute")
        self.AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute")
