"""The grading worker's threads: the monitor (sandbox warm-up retries, heartbeats, and
requeueing what interrupted workers left behind; it runs in the worker that consumes the CPU
queue) and the lease keeper (in every consuming process: renews its running jobs' leases)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from flask import Flask

from server.services.grading import health, import_requests, queue, results

log = logging.getLogger("adventures.worker")

UPKEEP_S = 10.0  # requeue interrupted jobs: a lost lease is noticed within this of running out
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
        """Every UPKEEP_S: queue again what interrupted workers left (submissions, imports)."""
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
        """Upkeep every UPKEEP_S; a heartbeat every HEARTBEAT_S while the sandbox is up, a
        warm-up retry with back-off while it is down."""
        delay = RETRY_FIRST_S
        now = time.monotonic()
        beat_at, retry_at = now + HEARTBEAT_S, now + delay
        while not self._stop.is_set():
            self._wake.wait(UPKEEP_S)
            woken = self._wake.is_set()
            self._wake.clear()
            if self._stop.is_set():
                return
            now = time.monotonic()
            if woken:  # a job just reported the sandbox down: retry after the first delay
                delay = RETRY_FIRST_S
                retry_at = now + delay
                continue
            try:
                with self.app.app_context():
                    self.upkeep()
                    if self.down_reason is None:
                        if now >= beat_at:
                            health.record(True)  # heartbeat
                            beat_at = now + HEARTBEAT_S
                    elif now >= retry_at:
                        if self.check_once():
                            delay = RETRY_FIRST_S
                            beat_at = now + HEARTBEAT_S
                        else:
                            delay = min(delay * 2, RETRY_MAX_S)
                        retry_at = now + delay
            except Exception:  # the database may be down too; keep trying
                log.exception("sandbox health check failed")


class LeaseKeeper:
    """Renews the leases of the jobs this process is running, every LEASE_RENEW_S.

    While this thread runs, a job of ours never looks interrupted; when the process dies, its
    leases run out within results.LEASE and grading.queue.requeue_stale queues the jobs again.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def renew_once(self) -> int:
        with self.app.app_context():
            return results.extend_leases()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="job-leases")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(results.LEASE_RENEW_S):
            try:
                self.renew_once()
            except Exception:  # the database may be away; the next beat tries again
                log.exception("renewing the running jobs' leases failed")
