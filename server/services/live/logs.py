"""The two logs behind the bus: a table (SQLite or PostgreSQL) by default, a Redis stream
with REDIS_URL. The only code that touches the BusEvent table."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, text

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
    # The SSE frame, made by the first stream that sends the event unchanged (routes/sse.py).
    frame: list[str] = field(default_factory=list, compare=False, repr=False)


class Log(Protocol):
    def append_many(self, events: list[tuple[str, str, dict]]) -> None: ...
    def head(self) -> str: ...
    def read(self, after: str, timeout: float) -> list[Event]: ...
    def since(
        self, channel: str, after: str, *, prefix: bool = False, limit: int = 1000
    ) -> list[Event]: ...


def order(event_id: str) -> tuple[int, int]:
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

    def since(
        self, channel: str, after: str, *, prefix: bool = False, limit: int = 1000
    ) -> list[Event]:
        match = (
            BusEvent.channel.startswith(channel, autoescape=True)
            if prefix
            else BusEvent.channel == channel
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BusEvent)
                .where(match, BusEvent.id > int(order(after)[0]))
                .order_by(BusEvent.id)
                .limit(limit)
            ).all()
        return [Event(str(r.id), r.channel, r.type, json.loads(r.data)) for r in rows]


class RedisLog:
    """The scale-out log: one Redis stream shared by every web and worker process."""

    def __init__(self, url: str) -> None:
        import redis  # only deployments with REDIS_URL need the client

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

    def since(
        self, channel: str, after: str, *, prefix: bool = False, limit: int = 1000
    ) -> list[Event]:
        start = after if "-" in after else "0-0"
        hits: list[Event] = []
        while len(hits) < limit:
            entries = self.redis.xrange(self.STREAM, min=f"({start}", count=5000)
            if not entries:
                break
            start = entries[-1][0]
            hits += [
                self._event(i, f)
                for i, f in entries
                if (f["channel"].startswith(channel) if prefix else f["channel"] == channel)
            ]
        return hits[:limit]

    @staticmethod
    def _event(event_id: str, fields: dict) -> Event:
        return Event(event_id, fields["channel"], fields["type"], json.loads(fields["data"]))
