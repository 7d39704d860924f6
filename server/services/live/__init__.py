"""Live updates: the event bus every process shares (web, workers) and its channel names.

Services publish after they commit; SSE routes (routes/sse.py) subscribe; caches ask
`bus().head()` and `bus().since()` what changed. The log is a table by default and a
Redis stream with REDIS_URL; nothing outside this package reads the log's table.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from server.services.live import channels
from server.services.live.bus import Bus, Subscription, make_bus
from server.services.live.logs import Event, order

__all__ = [
    "Bus",
    "Event",
    "Subscription",
    "bus",
    "channels",
    "make_bus",
    "order",
    "publish",
    "publish_many",
]


def bus() -> Bus:
    return current_app.extensions["adventures.bus"]


def publish(channel: str, type_: str, data: dict[str, Any]) -> None:
    """Publish after the service has committed, so a subscriber that reacts sees the rows."""
    bus().publish(channel, type_, data)


def publish_many(events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Several (channel, type, data) events in one write, in order."""
    bus().publish_many(events)
