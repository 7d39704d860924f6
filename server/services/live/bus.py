"""The bus: one poller per process reads the shared log and fans events out to subscribers.

Every reader goes through `head()` and `since()`: SSE streams to replay a reconnecting
browser's missed events, caches to tell what changed since they were filled.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from sqlalchemy import create_engine

from server.extensions import db
from server.services.live.logs import Event, Log, RedisLog, TableLog, order


class Subscription:
    def __init__(self, bus: Bus, channel: str) -> None:
        self.bus = bus
        self.channel = channel
        self.queue: queue.Queue[Event] = queue.Queue(maxsize=10_000)
        self.last: tuple[int, int] = (0, 0)

    def get(self, timeout: float) -> Event | None:
        """The next event after the ones already seen, or None when timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                return None
            if order(event.id) > self.last:
                self.last = order(event.id)
                return event

    def close(self) -> None:
        self.bus._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Bus:
    def __init__(self, log: Log) -> None:
        self.log = log
        self._subs: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._poller: threading.Thread | None = None
        self._cursor: str | None = None
        self._closed = False

    def publish(self, channel: str, type_: str, data: dict[str, Any]) -> None:
        self.log.append_many([(channel, type_, data)])

    def publish_many(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        if events:
            self.log.append_many(events)

    def head(self) -> str:
        """The newest event's id: a cache stamped with it is fresh while the head stays."""
        return self.log.head()

    def since(self, channel: str, after: str, *, prefix: bool = False, limit: int = 1000):
        """The channel's events after `after`, oldest first (prefix=True: channels starting so)."""
        return self.log.since(channel, after, prefix=prefix, limit=limit)

    def subscribe(self, channel: str, last_event_id: str | None = None) -> Subscription:
        sub = Subscription(self, channel)
        with self._lock:
            self._subs.setdefault(channel, set()).add(sub)
            if self._poller is None or not self._poller.is_alive():
                self._cursor = self.log.head()
                self._poller = threading.Thread(target=self._poll, daemon=True, name="bus-poller")
                self._poller.start()
        if last_event_id:
            for event in self.log.since(channel, last_event_id):
                sub.queue.put_nowait(event)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.channel]

    def close(self) -> None:
        """Stop the poller and drop the log's connections (an app being torn down)."""
        self._closed = True
        engine = getattr(self.log, "engine", None)
        if engine is not None:
            engine.dispose()

    def _poll(self) -> None:
        while not self._closed:
            try:
                events = self.log.read(self._cursor, timeout=1.0)
            except Exception:  # a database or Redis hiccup must not kill live streams
                time.sleep(0.5)
                continue
            for event in events:
                self._cursor = event.id
                with self._lock:
                    targets = list(self._subs.get(event.channel, ()))
                for sub in targets:
                    try:
                        sub.queue.put_nowait(event)
                    except queue.Full:
                        pass  # a stuck client: it will resync from state on reconnect


def make_bus(app) -> Bus:
    """Redis with REDIS_URL, else the table log on the app's own database."""
    url = app.config.get("REDIS_URL")
    if url:
        return Bus(RedisLog(url))
    with app.app_context():
        # The log has its own engine: a request that publishes while its session holds a
        # pooled connection must never wait on the same pool (20 such requests deadlock it).
        # SQLite too keeps its connections: a fresh one per poll (20 a second) and per
        # publish, each running the connect PRAGMAs, was a tenth of a busy server's time.
        if db.engine.dialect.name == "sqlite":
            engine = create_engine(db.engine.url, pool_size=2, max_overflow=50, pool_timeout=30)
        else:
            engine = create_engine(db.engine.url, pool_size=2, max_overflow=3, pool_pre_ping=True)
    return Bus(TableLog(engine))
