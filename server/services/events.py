"""The event bus: services publish, SSE endpoints subscribe.

One poller per process reads the shared log (a table by default, a Redis
stream with REDIS_URL) and fans events out to local subscribers, so the web
server, the grading worker and extra web processes all see the same events,
and a reconnecting browser replays what it missed from its Last-Event-ID.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import create_engine, delete, func, insert, select, text

from server.models.base import utcnow
from server.models.bus import BusEvent

POLL_INTERVAL_S = 0.05
KEEP_S = 6 * 3600


@dataclass(frozen=True)
class Event:
    id: str
    channel: str
    type: str
    data: dict[str, Any]


def _order(event_id: str) -> tuple[int, int]:
    """Ids compare as (ms, seq) for Redis stream ids and (n, 0) for table ids."""
    head, _, tail = event_id.partition("-")
    try:
        return int(head), int(tail or 0)
    except ValueError:
        return (0, 0)


class TableLog:
    """The default log: a table every process can poll (SQLite or PostgreSQL)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self._serialize = engine.dialect.name == "postgresql"
        self._published = 0

    def append_many(self, events: list[tuple[str, str, dict]]) -> None:
        """Several events in one statement and transaction: one write per request."""
        now = utcnow()
        rows = [
            {"channel": c, "type": t, "data": json.dumps(d), "created_at": now}
            for c, t, d in events
        ]
        with self.engine.begin() as conn:
            if self._serialize:
                # PostgreSQL hands out ids at insert, not at commit: one publisher at a time
                # keeps id order equal to commit order, so a poller never skips a late id.
                conn.execute(text("SELECT pg_advisory_xact_lock(724311)"))
            conn.execute(insert(BusEvent).values(rows))
            before = self._published
            self._published += len(events)
            if self._published // 500 != before // 500:
                cutoff = utcnow() - timedelta(seconds=KEEP_S)
                conn.execute(delete(BusEvent).where(BusEvent.created_at < cutoff))

    def head(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(select(func.coalesce(func.max(BusEvent.id), 0))).scalar_one())

    def read(self, after: str, timeout: float) -> list[Event]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BusEvent).where(BusEvent.id > int(after)).order_by(BusEvent.id).limit(1000)
            ).all()
        if not rows:
            time.sleep(min(timeout, POLL_INTERVAL_S))
        return [Event(str(r.id), r.channel, r.type, json.loads(r.data)) for r in rows]

    def replay(self, channel: str, after: str) -> list[Event]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BusEvent)
                .where(BusEvent.channel == channel, BusEvent.id > int(_order(after)[0]))
                .order_by(BusEvent.id)
                .limit(1000)
            ).all()
        return [Event(str(r.id), r.channel, r.type, json.loads(r.data)) for r in rows]


class RedisLog:
    """The scale-out log: one Redis stream shared by every web and worker process."""

    def __init__(self, url: str) -> None:
        import os

        import redis

        self.redis = redis.Redis.from_url(url, decode_responses=True)
        # Shares the queue's name, so deployments (and test runs) on one Redis stay apart.
        self.STREAM = f"{os.environ.get('ADVENTURES_QUEUE', 'adventures')}:bus"

    def append_many(self, events: list[tuple[str, str, dict]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for channel, type_, data in events:
            fields = {"channel": channel, "type": type_, "data": json.dumps(data)}
            pipe.xadd(self.STREAM, fields, maxlen=50_000, approximate=True)
        pipe.execute()

    def head(self) -> str:
        last = self.redis.xrevrange(self.STREAM, count=1)
        return last[0][0] if last else "0-0"

    def read(self, after: str, timeout: float) -> list[Event]:
        got = self.redis.xread({self.STREAM: after}, block=int(timeout * 1000), count=1000)
        return [self._event(i, f) for _, entries in got for i, f in entries]

    def replay(self, channel: str, after: str) -> list[Event]:
        start = after if "-" in after else "0-0"
        entries = self.redis.xrange(self.STREAM, min=f"({start}", count=5000)
        return [self._event(i, f) for i, f in entries if f["channel"] == channel]

    @staticmethod
    def _event(event_id: str, fields: dict) -> Event:
        return Event(event_id, fields["channel"], fields["type"], json.loads(fields["data"]))


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
            if _order(event.id) > self.last:
                self.last = _order(event.id)
                return event

    def close(self) -> None:
        self.bus._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Bus:
    def __init__(self, log: TableLog | RedisLog) -> None:
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

    def subscribe(self, channel: str, last_event_id: str | None = None) -> Subscription:
        sub = Subscription(self, channel)
        with self._lock:
            self._subs.setdefault(channel, set()).add(sub)
            if self._poller is None or not self._poller.is_alive():
                self._cursor = self.log.head()
                self._poller = threading.Thread(target=self._poll, daemon=True, name="bus-poller")
                self._poller.start()
        if last_event_id:
            for event in self.log.replay(channel, last_event_id):
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
    from server.extensions import db

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
            engine = create_engine(db.engine.url, pool_size=5, max_overflow=20, pool_pre_ping=True)
    return Bus(TableLog(engine))


def bus() -> Bus:
    return current_app.extensions["adventures.bus"]


def publish(channel: str, type_: str, data: dict[str, Any]) -> None:
    """Publish after the service has committed, so a subscriber that reacts sees the rows."""
    bus().publish(channel, type_, data)


def publish_many(events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Several (channel, type, data) events in one write, in order."""
    bus().publish_many(events)
