"""Background calls for games: a timer at a deadline, and coalesced host updates.

Both run `fn` later in a fresh app context, on a thread (a greenlet under
gunicorn's gevent worker). They only ever nudge state that is also settled
lazily on the next request, so a lost timer (a restart) costs nothing but
promptness.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app

from server.extensions import db

log = logging.getLogger(__name__)


def _run(app: Flask, fn: Callable[[], None]) -> None:
    with app.app_context():
        try:
            fn()
        except Exception:  # a timer must never take the process down
            log.exception("game timer failed")
            db.session.rollback()
        finally:
            db.session.remove()


def after(delay_s: float, fn: Callable[[], None]) -> None:
    """Call fn in delay_s seconds (when the app's GAME_TIMERS is on, the default)."""
    app = current_app._get_current_object()
    if not app.config.get("GAME_TIMERS", True):
        return
    timer = threading.Timer(max(0.0, delay_s), _run, (app, fn))
    timer.daemon = True
    timer.start()


class Coalescer:
    """At most one call per key every `interval` seconds: the first at once, the rest merged.

    Used for the host's live counters: a thousand answers make a handful of
    events, each computed from the database when it is sent, so none is stale.
    """

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def request(self, key: str, fn: Callable[[], None], interval: float) -> None:
        app = current_app._get_current_object()
        interval = app.config.get("GAME_COALESCE_S", interval)
        now = time.monotonic()
        with self._lock:
            if key in self._pending:
                return
            wait = self._last.get(key, -1e9) + interval - now
            if wait > 0:
                self._pending.add(key)
            else:
                self._last[key] = now
                if len(self._last) > 10_000:
                    self._forget(now)
        if wait <= 0:
            try:
                fn()
            except Exception:  # the caller's own work is committed; a late counter is fine
                log.exception("game update failed")
                db.session.rollback()
            return
        timer = threading.Timer(wait, self._fire, (app, key, fn))
        timer.daemon = True
        timer.start()

    def _fire(self, app: Flask, key: str, fn: Callable[[], None]) -> None:
        with self._lock:
            self._pending.discard(key)
            self._last[key] = time.monotonic()
        _run(app, fn)

    def _forget(self, now: float) -> None:
        for key in [k for k, t in self._last.items() if now - t > 60]:
            del self._last[key]
