"""Server-Sent Events responses over the event bus, with keep-alives and Last-Event-ID replay."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, request, stream_with_context

from server.extensions import db
from server.services.live import bus

KEEPALIVE_S = 15.0
MIMETYPE = "text/event-stream"  # every stream is made here; tests read the name from here


def _frame(event_type: str, data: Any, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event_type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _event_frame(event, out: tuple[str, Any]) -> str:
    """An event every subscriber gets unchanged is serialised once, not once per stream
    (2,000 phones see the same question); the frame is kept on the process's one copy."""
    if out[0] != event.type or out[1] is not event.data:
        return _frame(out[0], out[1], event.id)
    if not event.frame:
        event.frame.append(_frame(out[0], out[1], event.id))
    return event.frame[0]


def stream(
    channel: str,
    snapshot: Callable[[], tuple[str, Any]] | None = None,
    *,
    transform: Callable[[Any], tuple[str, Any] | None] | None = None,
    until: Callable[[str, Any], bool] | None = None,
    max_seconds: float = 3600.0,
) -> Response:
    """Subscribe first, then send the snapshot, so nothing falls between the two.

    transform(event) may rewrite an event per client (or drop it with None);
    until(type, data) ends the stream after an event, e.g. a graded submission.
    """
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    sub = bus().subscribe(channel, last_event_id=last_id)

    def generate() -> Iterator[str]:
        try:
            yield "retry: 2000\n\n"
            if snapshot is not None:
                event_type, data = snapshot()
                db.session.close()  # hand the connection back before writing to a slow client
                yield _frame(event_type, data)
                if until and until(event_type, data):
                    return
            db.session.close()
            deadline = time.monotonic() + max_seconds
            while time.monotonic() < deadline:
                event = sub.get(timeout=KEEPALIVE_S)
                if event is None:
                    yield ": keep-alive\n\n"
                    continue
                out = (event.type, event.data) if transform is None else transform(event)
                db.session.close()
                if out is None:
                    continue
                yield _event_frame(event, out)
                if until and until(*out):
                    return
        finally:
            sub.close()

    response = Response(stream_with_context(generate()), mimetype=MIMETYPE)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
