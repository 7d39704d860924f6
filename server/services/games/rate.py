"""A per-player answer limit that costs a dictionary lookup.

Answers are the hottest request of a game night (a thousand phones within
seconds). Flask-Limiter's in-memory storage starts a timer thread for almost
every hit, about a tenth of the server's time under that load, so answers and
self-paced moves are counted here instead: fixed windows per player token, in
this process. A token can only score once per question anyway; the limit
stops a flood, and with several web processes each enforces it on its share.
Joins, far fewer, keep Flask-Limiter (shared through Redis when configured).
"""

from __future__ import annotations

import threading
import time

from limits import parse


class WindowLimit:
    """At most `amount` hits per key in each window of `seconds`."""

    def __init__(self, spec: str) -> None:
        item = parse(spec)
        self.spec = spec
        self.amount = item.amount
        self.seconds = item.get_expiry()
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> tuple[bool, float]:
        """Count one hit; returns (allowed, seconds until the window resets)."""
        now = time.monotonic()
        window = int(now // self.seconds)
        with self._lock:
            seen, count = self._counts.get(key, (window, 0))
            count = count + 1 if seen == window else 1
            self._counts[key] = (window, count)
            if len(self._counts) > 50_000:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        return count <= self.amount, (window + 1) * self.seconds - now
