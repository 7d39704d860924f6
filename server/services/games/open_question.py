"""The open question of each live game as this process last read it, for PostgreSQL's batches.

Under load every round trip waits for a turn of the busy gevent loop, and the transactional
batch (BEGIN; the game read under a share lock; INSERT; COMMIT) took four: answer p99 was
120-180 ms with 2,000 players on two workers. With the game's row and each player's streak
kept here from the first batch of a question, a batch is scored in this process and written
by one autocommitted statement (`FAST_INSERT`) that checks all of it again under the same
share lock: the game still at that step (`seq`, which every transition moves on), each player
not kicked and still on that streak. Whatever it cannot confirm goes the transactional way,
which explains each refusal. The database stays the record: a stale entry costs a fallback,
never a wrong score.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, namedtuple
from dataclasses import dataclass, field
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import bindparam, select

from server.models.game import Answer, Game, Player, Quiz

KEEP_GAMES = 32  # live games remembered per process; the oldest is forgotten first

_GC, _PC, _QC = Game.__table__.c, Player.__table__.c, Quiz.__table__.c
# What a batch reads: the game's columns repeat on each player's row, one round trip for all.
CONTEXT = (
    select(
        _GC.id.label("game_id"),
        _GC.seq,
        _GC.mode,
        _GC.phase,
        _GC.quiz_id,
        _GC.question_index,
        _GC.question_opened_at,
        _GC.question_deadline,
        _GC.accuracy_first,
        _GC.streak_bonus,
        _PC.id.label("player_id"),
        _PC.token_hash,
        _PC.streak,
        _QC.content_hash,
    )
    .select_from(Game.__table__.join(Player.__table__).join(Quiz.__table__))
    .where(
        _GC.live_pin == bindparam("pin"),
        _PC.token_hash.in_(bindparam("hashes", expanding=True)),
        _PC.kicked.is_(False),
    )
)
# A player's answering context: the game's columns, then the player's, as CONTEXT reads them.
Seat = namedtuple("Seat", CONTEXT.selected_columns.keys())


@dataclass
class OpenQuestion:
    game: Seat  # the game's part is what counts; the player's part is replaced per player
    players: dict[str, tuple[int, int]] = field(default_factory=dict)  # token hash: id, streak

    def seat(self, token_hash: str) -> Seat:
        player_id, streak = self.players[token_hash]
        return self.game._replace(player_id=player_id, token_hash=token_hash, streak=streak)

    def same_step(self, row) -> bool:
        return (row.game_id, row.seq) == (self.game.game_id, self.game.seq)


_G, _P, _A = Game.__tablename__, Player.__tablename__, Answer.__tablename__

# Every player of the game with the game's step, in one snapshot: streaks as of that step.
PLAYERS = f"""
SELECT g.seq, g.phase, p.token_hash, p.id, p.streak
FROM {_G} g JOIN {_P} p ON p.game_id = g.id
WHERE g.id = %(game_id)s AND NOT p.kicked
"""

# The checked insert. Returns each row that passed the checks, and whether it was inserted
# (not: that player had answered this question already). A row that did not pass is absent.
FAST_INSERT = f"""
WITH g AS (
    SELECT id FROM {_G}
    WHERE id = %(game_id)s AND seq = %(seq)s AND phase = 'question'
    FOR SHARE
), v AS (
    SELECT * FROM unnest(
        %(player_id)s::integer[], %(prev_streak)s::integer[], %(question_id)s::text[],
        %(answer)s::text[], %(received_at)s::timestamptz[], %(elapsed_ms)s::integer[],
        %(correct)s::boolean[], %(fraction)s::float8[], %(points)s::integer[],
        %(bonus)s::integer[], %(streak)s::integer[]
    ) AS v(player_id, prev_streak, question_id, answer, received_at, elapsed_ms, correct,
           fraction, points, bonus, streak)
), ok AS (
    SELECT v.* FROM v
    JOIN g ON true
    JOIN {_P} p ON p.id = v.player_id AND p.game_id = g.id AND NOT p.kicked
        AND p.streak = v.prev_streak
), ins AS (
    INSERT INTO {_A} (game_id, player_id, question_index, question_id, answer, received_at,
                      elapsed_ms, correct, fraction, points, bonus, streak, counted)
    SELECT %(game_id)s, player_id, %(question_index)s, question_id, answer::json, received_at,
           elapsed_ms, correct, fraction, points, bonus, streak, true
    FROM ok
    ON CONFLICT (player_id, question_index) DO NOTHING
    RETURNING player_id
)
SELECT ok.player_id, ins.player_id IS NOT NULL FROM ok LEFT JOIN ins USING (player_id)
"""


class OpenQuestions:
    """Per process: live pin -> OpenQuestion. Filled by the transactional batches' reads."""

    def __init__(self) -> None:
        self._by_pin: OrderedDict[str, OpenQuestion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pin: str) -> OpenQuestion | None:
        with self._lock:
            return self._by_pin.get(pin)

    def forget(self, pin: str) -> None:
        with self._lock:
            self._by_pin.pop(pin, None)

    def learn(self, raw, pin: str, context: dict[str, Any]) -> None:
        """After a transactional batch committed: keep what it read (the players it named,
        or, at a new step, every player of the game, read once with one statement)."""
        first = next(iter(context.values()), None)
        if first is None or first.mode != "host" or first.phase != "question":
            self.forget(pin)
            return
        known = self.get(pin)
        if known is not None and known.same_step(first):
            for row in context.values():
                known.players[row.token_hash] = (row.player_id, row.streak)
            return
        rows = run(raw, PLAYERS, {"game_id": first.game_id})
        if not rows or rows[0][0] != first.seq or rows[0][1] != "question":
            self.forget(pin)  # it moved on meanwhile: the next batch reads it again
            return
        fresh = OpenQuestion(Seat(**first._asdict()), {r[2]: (r[3], r[4]) for r in rows})
        with self._lock:
            self._by_pin[pin] = fresh
            self._by_pin.move_to_end(pin)
            while len(self._by_pin) > KEEP_GAMES:
                self._by_pin.popitem(last=False)


def run(raw, sql: str, params: dict[str, Any]) -> list[tuple]:
    """One autocommitted statement on the driver's connection (no BEGIN/COMMIT round trips);
    it commits before its rows come back, so an answer it inserted is durable then."""
    if raw.info.transaction_status != TransactionStatus.IDLE:
        raw.rollback()  # the pool's ping opened it; nothing of a batch's is in it
    raw.autocommit = True
    try:
        return raw.execute(sql, params).fetchall()
    finally:
        if not raw.closed:
            raw.autocommit = False
