"""Is notebook grading up? Workers write their sandbox's state here; the web pages read it.

A worker whose sandbox cannot start (bubblewrap missing or broken) must not turn
members' uploads into "error, 0 points": it records why, keeps notebook jobs
queued, retries the warm-up with a back-off (grading.monitor), and requeues
them when it is back.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from server.extensions import db, huey
from server.models.base import utcnow
from server.models.grader_health import GraderHealth

log = logging.getLogger("adventures.worker")

STALE = timedelta(minutes=3)  # a worker silent this long is taken for gone
FORGET = timedelta(days=1)  # rows of workers long gone are dropped


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def record(healthy: bool, reason: str | None = None, *, worker: str | None = None) -> None:
    """Upsert this worker's row; `since` moves only when the state changes."""
    name = worker or worker_name()
    now = utcnow()
    row = db.session.scalar(select(GraderHealth).where(GraderHealth.worker == name))
    if row is None:
        row = GraderHealth(worker=name, healthy=healthy, since=now)
        db.session.add(row)
    elif row.healthy != healthy:
        row.since = now
    row.healthy = healthy
    row.reason = None if healthy else (reason or "the sandbox did not start")[:2000]
    row.checked_at = now
    db.session.execute(delete(GraderHealth).where(GraderHealth.checked_at < now - FORGET))
    db.session.commit()


@dataclass(frozen=True)
class Health:
    online: bool
    reason: str | None = None
    checked_at: datetime | None = None


def current() -> Health:
    """Online when any worker reported a working sandbox within STALE.

    With inline jobs (tests, no separate worker) nobody sends heartbeats: the
    latest row, if any, decides; none means the web process grades by itself.
    """
    rows = db.session.scalars(select(GraderHealth).order_by(GraderHealth.checked_at.desc())).all()
    if huey.immediate:
        if not rows or rows[0].healthy:
            return Health(True, checked_at=rows[0].checked_at if rows else None)
        return Health(False, rows[0].reason, rows[0].checked_at)
    now = utcnow()
    fresh = [r for r in rows if now - r.checked_at <= STALE]
    if any(r.healthy for r in fresh):
        return Health(True, checked_at=fresh[0].checked_at)
    if fresh:
        return Health(False, fresh[0].reason, fresh[0].checked_at)
    minutes = int(STALE.total_seconds() // 60)
    if rows:
        return Health(
            False,
            f"no grading worker has reported in the last {minutes} minutes",
            rows[0].checked_at,
        )
    return Health(False, "no grading worker has started")


def reason_of(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.removeprefix("sandbox:").strip()


_monitor: Any = None  # this process's monitor.SandboxMonitor, when it runs one


def install(monitor: Any) -> None:
    global _monitor
    _monitor = monitor


def monitor() -> Any:
    """This process's monitor; one inherited through fork has no thread and is ignored."""
    if _monitor is not None and _monitor.pid == os.getpid():
        return _monitor
    return None


def sandbox_down() -> str | None:
    """Why this worker's sandbox is down, or None when jobs may run (or nobody watches it)."""
    m = monitor()
    return m.down_reason if m is not None else None


def report_failure(reason: str) -> None:
    """A job's sandbox failed: the monitor retries; without one (inline jobs) just record it."""
    m = monitor()
    if m is not None:
        m.mark_down(reason)
    else:
        record(False, reason)


def report_success() -> None:
    """A job ran in the sandbox: clear a down row left by inline jobs (no monitor to do it)."""
    if monitor() is not None:
        return  # the monitor's heartbeat keeps the row
    row = db.session.scalar(select(GraderHealth).where(GraderHealth.worker == worker_name()))
    if row is not None and not row.healthy:
        record(True)
