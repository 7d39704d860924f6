"""A per-player answer limit that costs a dictionary lookup.

Answers are the hottest request of a game night (a thousand phones within
seconds). Flask-Limiter's in-memory storage starts a timer thread for almost
every hit, about a tenth of the server's time under that load, so answers and
self-paced moves are counted here instead: fixed windows per player token, in
this process. A token can only score once per question anyway; the limit
stops a flood, and with several web processes each enforces it on its share.
Joins are counted per address and per game (JoinAllowance): a room on one
venue or office address fills a game, and a flood from one address stays
bounded; Flask-Limiter keeps a coarse per-address cap across all games.
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


class JoinAllowance:
    """Join attempts per (address, game) in each window: `base`, plus one per player the game
    already has. Joins that make a player raise the allowance as they use it, so a thousand
    phones behind one address all get in; attempts that make none (taken or refused nicknames,
    a script) run out after `base`. A game holds at most MAX_PLAYERS, which bounds the rest.
    """

    def __init__(self, base: int = 60, seconds: int = 60) -> None:
        self.base = base
        self.seconds = seconds
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, address: str, game_id: int, players: int) -> tuple[bool, float]:
        """Windows start at a key's first attempt, so a flood cannot straddle a boundary."""
        now = time.monotonic()
        key = f"{address}|{game_id}"
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.seconds:
                start, count = now, 0
            count += 1
            self._counts[key] = (start, count)
            if len(self._counts) > 50_000:
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.seconds}
        return count <= self.base + players, start + self.seconds - now
