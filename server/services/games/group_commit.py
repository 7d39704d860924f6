"""Group commit for host-paced answers: one transaction for every answer that queued meanwhile.

A game night's answers come in a burst (2,000 phones within 3 s). Committed one by one, the
commit was the bottleneck: SQLite serialises them and blocks the gevent process for each;
PostgreSQL pays a pooled connection, a ping and a WAL flush per answer. Here the first
request to find no write in progress leads: it takes every queued answer, checks and
inserts them in one transaction, and wakes their requests only once that transaction has
committed, so a 200 still means "on disk". Whoever queued first meanwhile leads the next.
On PostgreSQL a few batches are in flight at once (`writers_for`), so one waiting on its round
trips does not hold up the answers behind it. No thread of its own: the same code runs under
gevent, threads and the test client.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from graders.trivia import AnswerShapeError, Question, is_late, score_answer
from server.models.game import Answer, Game
from server.services.games.banks import question_at
from server.services.games.core import GameError
from server.services.games.open_question import (
    CONTEXT,
    FAST_INSERT,
    OpenQuestion,
    OpenQuestions,
    run,
)

MAX_BATCH = 1000
LINGER_S = 0.002

_G = Game.__table__.c
# PostgreSQL: the game's row is read under a share lock, so a reveal (an UPDATE of that row)
# waits for the batch to commit and then counts it; a reveal that committed first is seen.
_CONTEXT_LOCKED = CONTEXT.with_for_update(read=True, of=Game.__table__)
# SQLite takes no lock when it reads: the phase is read again once the INSERT holds the
# write lock, and a reveal that got in between closes the batch.
_RECHECK = select(_G.phase, _G.question_index).where(_G.id == bindparam("game_id"))


@dataclass(eq=False)
class Pending:
    """One answer waiting for its batch; a leader fills in the outcome and wakes it."""

    pin: str
    token_hash: str
    question_id: str
    given: Any
    received_at: datetime
    wake: threading.Event = field(default_factory=threading.Event)
    game_id: int | None = None  # set when accepted
    error: BaseException | None = None  # a GameError to answer with, or what broke the write
    unknown: bool = False  # no live host-paced game with this player: the caller explains why
    finished: bool = False  # the outcome is in (set under the queue's lock, then `wake`)
    promoted: bool = False  # asked to write the next batch (likewise)


def _closed(message: str = "That question closed before your answer arrived.") -> GameError:
    return GameError(409, "closed", message)


def writers_for(engine: Engine) -> int:
    """Batches in flight at once per process. PostgreSQL: several, so a batch waiting on its
    round trips does not hold up the answers behind it. SQLite: one (it has one writer)."""
    return 2 if engine.dialect.name == "postgresql" else 1


class GroupCommit:
    """The queue of answers for one app (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Pending] = []
        self._writers = 0
        self._idle: list[Connection] = []  # handed from batch to batch during a burst
        self.questions = OpenQuestions()  # PostgreSQL's one-statement batches
        self.batches = 0  # for tests and the benchmark: how many transactions carried answers
        self.largest = 0

    def submit(self, engine: Engine, item: Pending) -> Pending:
        """Queue an answer and return once its batch has committed (or failed)."""
        with self._lock:
            self._pending.append(item)
            lead = self._writers < writers_for(engine)
            if lead:
                self._writers += 1
        while True:
            if lead:
                self._lead(engine)
            with self._lock:  # flags and `wake` change only under this lock: nothing is lost
                # Promoted (perhaps after another batch took this answer too): lead, so the
                # writer's place is always handed on.
                lead, item.promoted = item.promoted, False
                if not lead:
                    if item.finished:
                        return item
                    item.wake.clear()
            if not lead:
                item.wake.wait()

    def _lead(self, engine: Engine) -> None:
        # Let the requests already read off the network queue behind this one first: under
        # gevent a SQLite write blocks the whole process, so nothing would queue during it.
        time.sleep(LINGER_S)
        with self._lock:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            conn = self._idle.pop() if self._idle else None
        try:
            if batch:
                # A burst's batches hand connections on: no checkout and ping per batch.
                conn = conn if conn is not None and not conn.closed else engine.connect()
                write_batch(conn, batch, self.questions)
                self.batches += 1
                self.largest = max(self.largest, len(batch))
        except Exception as exc:  # every waiter hears of it (a 500 each), and the queue goes on
            for item in batch:
                if item.error is None and item.game_id is None and not item.unknown:
                    item.error = exc
            if conn is not None:
                conn.invalidate()
                conn.close()
                conn = None
        finally:
            with self._lock:
                for item in batch:
                    item.finished = True
                    item.wake.set()
                following = next((p for p in self._pending if not p.promoted), None)
                if following is not None:
                    following.promoted = True
                    following.wake.set()
                    if conn is not None:
                        self._idle.append(conn)
                        conn = None
                else:
                    self._writers -= 1
                    idle, self._idle = self._idle, []
            if following is None:  # the burst is over: connections back to the pool
                for spare in idle:
                    spare.close()
            if conn is not None:
                conn.close()


def write_batch(
    conn: Connection, batch: list[Pending], questions: OpenQuestions | None = None
) -> None:
    """One transaction per game in the batch (there is nearly always one game); on
    PostgreSQL with `questions`, one statement for the answers whose context is known."""
    by_pin: dict[str, list[Pending]] = defaultdict(list)
    for item in batch:
        by_pin[item.pin].append(item)
    fast = questions is not None and conn.dialect.name == "postgresql"
    for pin, group in by_pin.items():
        if fast:
            _write_known(conn, pin, group, questions)
        else:
            _write_again_once(conn, pin, group)


def _write_again_once(conn: Connection, pin: str, group: list[Pending]) -> dict[str, Any]:
    try:
        return _write_game(conn, pin, group)
    except OperationalError:  # SQLite busy past its timeout, a dropped connection: again
        conn.rollback()
        for item in group:
            item.error, item.game_id, item.unknown = None, None, False
        return _write_game(conn, pin, group)


def _write_known(conn: Connection, pin: str, group: list[Pending], questions: OpenQuestions):
    """The answers this process knows the context of in one statement; the rest, and any
    it could not confirm, in a transaction, whose read then fills in what is known."""
    known = questions.get(pin)
    fast: list[Pending] = []
    rest: list[Pending] = []
    for item in group:
        (fast if known is not None and item.token_hash in known.players else rest).append(item)
    if fast:
        rest += _write_fast(conn, known, fast)
    if rest:  # (only these: an answer the statement took keeps its outcome)
        context = _write_again_once(conn, pin, rest)
        try:
            questions.learn(conn.connection.driver_connection, pin, context)
        except psycopg.Error:  # committed already; the next batch reads the context again
            questions.forget(pin)
            conn.invalidate()


def _write_fast(conn: Connection, known: OpenQuestion, items: list[Pending]) -> list[Pending]:
    """Score with the remembered context and insert what the database confirms; returns the
    answers it could not confirm (the game moved on, a kick, a streak that changed)."""
    owners: list[Pending] = []
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    unconfirmed: list[Pending] = []
    for item in items:
        seat = known.seat(item.token_hash)
        values = _checked(seat, item)
        # Late, another question, a malformed answer: judged against the remembered question,
        # which may be stale. The same phone twice in one batch: rare. Both the careful way.
        if values is None or seat.player_id in seen:
            item.error = None
            unconfirmed.append(item)
            continue
        seen.add(seat.player_id)
        values["prev_streak"] = seat.streak
        rows.append(values)
        owners.append(item)
    if not rows:
        return unconfirmed
    params = {key: [row[key] for row in rows] for key in _FAST_COLUMNS}
    params["answer"] = [json.dumps(row["answer"]) for row in rows]
    game = known.game
    params.update(game_id=game.game_id, seq=game.seq, question_index=game.question_index)
    try:
        outcome = dict(run(conn.connection.driver_connection, FAST_INSERT, params))
    except psycopg.Error:  # a dropped connection: the transactional way, on a fresh one
        conn.invalidate()
        return unconfirmed + owners
    for item, row in zip(owners, rows, strict=True):
        inserted = outcome.get(row["player_id"])
        if inserted is None:
            unconfirmed.append(item)
        elif inserted:
            item.game_id = known.game.game_id
        else:
            item.error = already_answered()
    return unconfirmed


_FAST_COLUMNS = (
    "player_id",
    "prev_streak",
    "question_id",
    "received_at",
    "elapsed_ms",
    "correct",
    "fraction",
    "points",
    "bonus",
    "streak",
)


def _write_game(conn: Connection, pin: str, group: list[Pending]) -> dict[str, Any]:
    """The transactional batch; returns the context it read (token hash: row)."""
    postgres = conn.dialect.name == "postgresql"
    try:
        context = {
            row.token_hash: row
            for row in conn.execute(
                _CONTEXT_LOCKED if postgres else CONTEXT,
                {"pin": pin, "hashes": [i.token_hash for i in group]},
            )
        }
        rows: list[dict[str, Any]] = []
        owners: list[Pending] = []
        seen: set[int] = set()
        for item in group:
            ctx = context.get(item.token_hash)
            if ctx is None or ctx.mode == "self":
                item.unknown = True
                continue
            values = _checked(ctx, item)
            if values is None:
                continue
            if ctx.player_id in seen:  # the same phone twice in one batch
                item.error = already_answered()
                continue
            seen.add(ctx.player_id)
            rows.append(values)
            owners.append(item)
        if not rows:
            conn.rollback()
            return context
        inserted = {row.player_id for row in conn.execute(_insert(conn), rows)}
        game_id, index = rows[0]["game_id"], rows[0]["question_index"]
        if not postgres:  # the INSERT took SQLite's write lock: the phase cannot move now
            now = conn.execute(_RECHECK, {"game_id": game_id}).one()
            if now.phase != "question" or now.question_index != index:
                conn.rollback()
                for item in owners:
                    item.error = _closed()
                return context
        conn.commit()
    except BaseException:
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 - a dropped connection: the first error is the one
            pass
        raise
    for item, values in zip(owners, rows, strict=True):
        if values["player_id"] in inserted:
            item.game_id = game_id
        else:
            item.error = already_answered()
    return context


def already_answered() -> GameError:
    return GameError(409, "already_answered", "You already answered this question.")


def _insert(conn: Connection):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING player_id: a second answer is skipped."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(Answer.__table__)
        .on_conflict_do_nothing(index_elements=["player_id", "question_index"])
        .returning(Answer.__table__.c.player_id)
    )


def _checked(ctx, item: Pending) -> dict[str, Any] | None:
    """The answer's row, scored; None with item.error set when it cannot count."""
    if ctx.phase != "question":
        item.error = _closed("That question is closed; wait for the next one.")
        return None
    question: Question = question_at(ctx.quiz_id, ctx.question_index, ctx.content_hash)
    if item.question_id != question.id:
        item.error = GameError(
            409, "not_open", f"Question '{item.question_id}' is not the open question."
        )
        return None
    try:
        check_in_time(item.received_at, ctx.question_deadline)
        elapsed = (item.received_at - ctx.question_opened_at).total_seconds()
        return scored_row(ctx, question, ctx.question_index, item.given, elapsed, item.received_at)
    except GameError as exc:
        item.error = exc
        return None


def check_in_time(received_at: datetime, deadline: datetime | None) -> None:
    """409 unless the question is open and the answer came before its end (and the grace)."""
    if deadline is None:
        raise GameError(409, "not_open", "That question is not open.")
    late = (received_at - deadline).total_seconds()
    if is_late(late):
        raise GameError(
            409, "late", f"Time was up: your answer arrived {late:.1f} s after the end."
        )


def scored_row(who, question: Question, index, given, elapsed, received_at) -> dict[str, Any]:
    """The answer's row, scored; a 422 for an answer of the wrong shape.

    `who` has game_id, player_id, streak, accuracy_first and streak_bonus.
    """
    elapsed = max(0.0, elapsed)
    try:
        scored = score_answer(
            question, given, elapsed, who.streak, accuracy_first=who.accuracy_first
        )
    except AnswerShapeError as exc:
        raise GameError(422, "bad_answer", str(exc)) from exc
    return dict(
        game_id=who.game_id,
        player_id=who.player_id,
        question_index=index,
        question_id=question.id,
        answer=given,
        received_at=received_at,
        elapsed_ms=int(elapsed * 1000),
        correct=scored.verdict.correct,
        fraction=scored.verdict.fraction,
        points=scored.points,
        bonus=scored.bonus if who.streak_bonus else 0,
        streak=scored.streak,
        counted=True,
    )
