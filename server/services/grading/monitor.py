"""The grading worker's monitor thread: sandbox warm-up retries, heartbeats, and requeueing
what dead workers left behind (it runs in the worker that consumes the CPU queue)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from flask import Flask

from server.services.grading import health, import_requests, queue

log = logging.getLogger("adventures.worker")

HEARTBEAT_S = 60.0
RETRY_FIRST_S = 30.0
RETRY_MAX_S = 300.0


class SandboxMonitor:
    """Owns this worker process's view of its sandbox: checks, retries with back-off, heartbeats."""

    def __init__(self, app: Flask, warm: Callable[[], None]) -> None:
        self.app = app
        self.warm = warm
        self.down_reason: str | None = None
        self.pid = os.getpid()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> bool:
        """Warm the sandbox up; record the outcome; requeue the waiting jobs on recovery."""
        try:
            self.warm()
        except Exception as exc:
            reason = health.reason_of(exc)
            log.error(
                "notebook grading is offline: the sandbox cannot start (%s); "
                "notebook jobs stay queued and the warm-up is retried",
                reason,
            )
            self.down_reason = reason
            health.record(False, reason)
            return False
        was_down = self.down_reason is not None
        self.down_reason = None
        health.record(True)
        if was_down:
            ids = queue.requeue_waiting()
            log.info("the sandbox is back: %d queued notebook job(s) requeued", len(ids))
        return True

    def upkeep(self) -> None:
        """Each beat: queue again what dead workers left running (notebooks and imports)."""
        queue.requeue_stale()
        import_requests.requeue_stale()

    def mark_down(self, reason: str) -> None:
        """A job hit a sandbox failure: stop taking notebook jobs and retry soon."""
        if self.down_reason is None:
            log.error("notebook grading is offline: %s; the warm-up will be retried", reason)
        self.down_reason = reason
        health.record(False, reason)
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="sandbox-monitor")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        delay = RETRY_FIRST_S
        while not self._stop.is_set():
            wait = HEARTBEAT_S if self.down_reason is None else delay
            self._wake.wait(wait)
            woken = self._wake.is_set()
            self._wake.clear()
            if self._stop.is_set():
                return
            if woken:  # a job just reported the sandbox down: retry after the first delay
                delay = RETRY_FIRST_S
                continue
            try:
                with self.app.app_context():
                    self.upkeep()
                    if self.down_reason is None:
                        health.record(True)  # heartbeat
                    elif self.check_once():
                        delay = RETRY_FIRST_S
                    else:
                        delay = min(delay * 2, RETRY_MAX_S)
            except Exception:  # the database may be down too; keep trying
                log.exception("sandbox health check failed")
