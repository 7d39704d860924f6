"""The extension objects, created unbound; create_app binds them."""

from __future__ import annotations

import os

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from huey import RedisHuey, SqliteHuey

from server.config import instance_dir
from server.models.base import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _make_huey(name: str):
    """Huey on Redis when REDIS_URL is set, else on a SQLite file in instance/.

    Created at import time because tasks are declared with its decorator; tests
    switch it to immediate mode so jobs run inline.
    """
    url = os.environ.get("REDIS_URL")
    if url:
        return RedisHuey(name, url=url, blocking=True)
    return SqliteHuey(name, filename=str(instance_dir() / f"queue-{name}.db"))


# ADVENTURES_QUEUE names the queues, so two deployments (or test runs) can share one Redis.
_QUEUE = os.environ.get("ADVENTURES_QUEUE", "adventures")
huey = _make_huey(_QUEUE)
# Jobs for exercises that declare requires_gpu go here, so only GPU workers take them.
huey_gpu = _make_huey(f"{_QUEUE}-gpu")
