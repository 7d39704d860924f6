"""Reference values: looked up by content hash in the database, computed by a worker.

The web process only reads this cache; computing imports TensorFlow, which
happens in graders.reference's child process, started lazily by workers and
the seed command.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from graders import codec
from graders.reference import ReferenceRunner
from server.extensions import db
from server.models.exercise import ReferenceValue

_runner: ReferenceRunner | None = None
_runner_lock = threading.Lock()


def runner() -> ReferenceRunner:
    """One reference child process per worker process, started on first need."""
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = ReferenceRunner()
        return _runner


_MISSING = object()


_KNOWN_MAX = 20_000


def cached(key: str) -> Any:
    """The cached value for key, or the module's _MISSING sentinel."""
    # Per app, key -> encoded value: a key names its content, so a remembered value never goes stale.
    known = current_app.extensions.setdefault("adventures.reference_values", {})
    encoded = known.get(key)
    if encoded is None:
        encoded = db.session.scalar(select(ReferenceValue.value).where(ReferenceValue.key == key))
        if encoded is None:
            return _MISSING
        if len(known) >= _KNOWN_MAX:
            known.clear()
        known[key] = encoded
    return codec.loads(encoded)


def is_missing(value: Any) -> bool:
    return value is _MISSING


def store(key: str, value: Any) -> None:
    """Keep a computed value; a second worker that computed it too is harmless."""
    if not is_missing(cached(key)):
        return
    db.session.add(ReferenceValue(key=key, value=codec.dumps(value)))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def compute(key: str, target: str, kwargs: dict[str, Any]) -> Any:
    """The value for key, computing and storing it when it is not cached yet."""
    value = cached(key)
    if is_missing(value):
        value = runner().call(target, kwargs)
        store(key, value)
    return value
