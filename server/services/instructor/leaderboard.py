"""Standings: overall (weighted exercise and trivia points), per exercise, per game, per meetup event.

Every board ranks by score, and ties go to who got there first: the time the
member reached their score (the latest of the best scores that make it up).
The overall board reads BestScore (kept by record_result) so it stays one
indexed GROUP BY however many submissions there are.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.game import Answer, Game, Player, Quiz
from server.models.instructor import BoardWeights, MeetupEvent
from server.models.submission import BestScore, Submission
from server.models.user import User
from server.services import live as events
from server.services.audit import audit
from server.services.live import channels

MAX_WEIGHT = 1000.0
# A trivia answer is worth up to ~1,000 points and an exercise a few: 1,000 trivia points
# count like 10 exercise points until the instructor says otherwise.
DEFAULT_TRIVIA_WEIGHT = 0.01
CACHE_TTL_S = 15.0  # a display name changed without an event shows within this many seconds
CATCH_UP_MAX = 200  # more board events than this since the cache: recompute it all
_AFTER_SIZE = 64  # boards kept by board_after: a few boards x the last few events


@dataclass
class Weights:
    exercises: float = 1.0
    trivia: float = DEFAULT_TRIVIA_WEIGHT

    def as_dict(self) -> dict[str, float]:
        return {"exercises": self.exercises, "trivia": self.trivia}


@dataclass
class _Tally:
    """One member's part of a board; the two reach times are kept apart so either can change."""

    exercises: float = 0.0
    trivia: float = 0.0
    solved: int = 0
    exercises_at: datetime | None = None
    trivia_at: datetime | None = None

    _memo: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def reached_at(self) -> datetime | None:
        return self.reached()[0]

    def reached(self) -> tuple[datetime | None, str | None]:
        """(when the score was reached, as ISO text), remembered until a time changes."""
        key = (self.exercises_at, self.trivia_at)
        if self._memo is None or self._memo[0] != key:
            times = [t for t in key if t is not None]
            when = max(times) if times else None
            self._memo = (key, when, when.isoformat() if when else None)
        return self._memo[1], self._memo[2]

    def reach(self, when: datetime | None) -> None:
        if when is not None and (self.exercises_at is None or when > self.exercises_at):
            self.exercises_at = when


@dataclass
class _Board:
    """The cached overall board of one process, and what it was computed from."""

    rest: tuple  # the stamp without the event id: catalog, games, weights
    event_id: Any
    made: float
    weights: Weights
    tallies: dict[int, _Tally]
    names: dict[int, tuple[str, str]]
    parts: dict[int, _Part | None] = field(default_factory=dict)
    order: list[_Part] = field(default_factory=list)
    body: str = "[]"
    _rows: list[dict[str, Any]] | None = None

    def refresh(self, members: Any) -> None:
        """Rebuild these members' parts, then rank everyone (a sort of ready-made parts)."""
        for uid in members:
            self.parts[uid] = _part(uid, self.tallies.get(uid), self.names, self.weights)
        self.order = _ranked(self.parts.values())
        self.body = _as_json(self.order)
        self._rows = None

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:  # built on first use: the JSON route needs only the body
            self._rows = _as_rows(self.order)
        return self._rows


@dataclass(frozen=True)
class _Part:
    """A member's row without its rank, and the same as JSON, kept between changes."""

    key: tuple  # sort key: (-score, reached or far future, user id)
    row: dict[str, Any]
    text: str


# ---- weights -------------------------------------------------------------------


def weights() -> Weights:
    row = db.session.get(BoardWeights, 1)
    return Weights(row.exercises, row.trivia) if row else Weights()


def set_weights(actor: User, exercises: float, trivia: float) -> Weights:
    """Change how the overall board mixes exercise and trivia points (audited, live)."""
    for name, value in (("exercises", exercises), ("trivia", trivia)):
        if not (0 <= value <= MAX_WEIGHT):
            raise ValueError(f"{name}: a weight must be between 0 and {MAX_WEIGHT:g}.")
    row = db.session.get(BoardWeights, 1)
    before = Weights(row.exercises, row.trivia) if row else Weights()
    if row is None:
        row = BoardWeights(id=1)
        db.session.add(row)
    row.exercises, row.trivia = float(exercises), float(trivia)
    row.updated_at, row.updated_by = utcnow(), actor.id
    audit(
        actor,
        "weights",
        "board",
        1,
        detail={"from": before.as_dict(), "to": {"exercises": exercises, "trivia": trivia}},
    )
    db.session.commit()
    events.publish(*channels.board_changed(weights=True))
    return Weights(row.exercises, row.trivia)


# ---- boards --------------------------------------------------------------------


def standings(limit: int | None = None, *, weights_: Weights | None = None) -> list[dict[str, Any]]:
    """The overall board: weighted best exercise scores plus weighted trivia points.

    Cached per process: reading it costs one small stamp query (see _stamp). After a graded
    submission only that member's total is recomputed (the bus event names them), so the
    board stays cheap however many screens show it. The rows returned are shared: read only.
    """
    if weights_ is not None:
        return _rows(_all_tallies(weights_), _names(None), weights_, limit)
    rows = _cached_board(_stamp()).rows
    return rows[:limit] if limit else rows


def standings_json() -> str:
    """The overall board as JSON text, serialised once per change rather than per request."""
    return _cached_board(_stamp()).body


def _cached_board(stamp: tuple) -> _Board:
    state = current_app.extensions.setdefault("adventures.standings", {"lock": threading.Lock()})
    with state["lock"]:
        board = state.get("board")
        fresh = board is not None and board.rest == stamp[1:]
        if fresh and board.event_id != stamp[0]:
            fresh = _catch_up(board, stamp[0])
        if fresh and time.monotonic() - board.made > CACHE_TTL_S:
            _rename(board)
        if not fresh:
            w = weights()
            board = _Board(stamp[1:], stamp[0], time.monotonic(), w, _all_tallies(w), _names(None))
            board.refresh(list(board.tallies))
            state["board"] = board
        return board


def _stamp() -> tuple:
    """One cheap read of everything the overall board depends on.

    Every change that moves the board publishes channels.board_changed(), so the bus's head
    stamps the scores (what moved since is asked with since()); the exercise catalog, ended
    games and the weights are stamped directly, in case they change without an event.
    """
    head = events.bus().head()
    active = Exercise.active.is_(True)
    ended = Game.phase == "ended"
    row = db.session.execute(
        select(
            select(func.count(Exercise.id)).where(active).scalar_subquery(),
            select(func.sum(Exercise.points)).where(active).scalar_subquery(),
            select(func.max(Exercise.updated_at)).scalar_subquery(),
            select(func.count(Game.id)).where(ended).scalar_subquery(),
            select(func.max(Game.ended_at)).where(ended).scalar_subquery(),
            select(BoardWeights.updated_at).where(BoardWeights.id == 1).scalar_subquery(),
        )
    ).one()
    return (head, *row)


def _rename(board: _Board) -> None:
    """Display names change without an event: reread them now and then."""
    names = _names(None)
    changed = [uid for uid in board.tallies if names.get(uid) != board.names.get(uid)]
    board.names = names
    if changed:
        board.refresh(changed)
    board.made = time.monotonic()


def _catch_up(board: _Board, upto: Any) -> bool:
    """Apply the board events since the cached one; False when a full recompute is needed."""
    if board.event_id is None or upto is None:
        return False
    found = events.bus().since(channels.LEADERBOARD, board.event_id, limit=CATCH_UP_MAX + 1)
    if len(found) > CATCH_UP_MAX:
        return False
    members: set[int] = set()
    for event in found:
        data = event.data
        if isinstance(data.get("user_id"), int) and "exercise_id" in data:
            members.add(data["user_id"])
        elif set(data) != {"event_id"}:  # a meetup event's change leaves the overall board be
            return False
    if members and board.weights.exercises:
        totals = _exercise_totals(sorted(members))
        for uid in members:
            tally = board.tallies.setdefault(uid, _Tally())
            tally.exercises, tally.solved, tally.exercises_at = totals.get(uid, (0.0, 0, None))
        missing = [uid for uid in members if uid not in board.names]
        board.names.update(_names(missing))
        board.refresh(members)
    board.event_id = upto
    return True


def _exercise_totals(user_ids: list[int] | None) -> dict[int, tuple[float, int, datetime | None]]:
    """{user_id: (points, exercises solved, when the last best score was reached)}."""
    total = func.sum(BestScore.score)
    solved = func.sum(case((BestScore.score >= Exercise.points - 1e-9, 1), else_=0))
    query = (
        select(BestScore.user_id, total, solved, func.max(BestScore.reached_at))
        .join(Exercise, Exercise.id == BestScore.exercise_id)
        .where(Exercise.active.is_(True))
        .group_by(BestScore.user_id)
    )
    if user_ids is not None:
        query = query.where(BestScore.user_id.in_(user_ids))
    return {
        uid: (float(points or 0), int(n or 0), reached)
        for uid, points, n, reached in db.session.execute(query)
    }


def _all_tallies(w: Weights) -> dict[int, _Tally]:
    tallies: dict[int, _Tally] = {}
    if w.exercises:
        for uid, (points, solved, reached) in _exercise_totals(None).items():
            tallies[uid] = _Tally(exercises=points, solved=solved, exercises_at=reached)
    if w.trivia:
        for uid, (points, reached) in trivia_by_member().items():
            tally = tallies.setdefault(uid, _Tally())
            tally.trivia, tally.trivia_at = points, reached
    return tallies


def exercise_standings(exercise: Exercise, limit: int | None = None) -> list[dict[str, Any]]:
    """One exercise: each member's best score, first to reach it first."""
    query = (
        select(BestScore.user_id, BestScore.score, BestScore.reached_at)
        .where(BestScore.exercise_id == exercise.id)
        .order_by(BestScore.score.desc(), BestScore.reached_at.asc(), BestScore.user_id.asc())
    )
    if limit:
        query = query.limit(limit)
    tallies = {}
    for user_id, score, reached in db.session.execute(query):
        tallies[user_id] = _Tally(
            exercises=float(score),
            solved=int(score >= exercise.points - 1e-9),
            exercises_at=reached,
        )
    return _rows(tallies, _names(list(tallies)), Weights(1.0, 0.0), limit)


def event_standings(event: MeetupEvent, limit: int | None = None) -> list[dict[str, Any]]:
    """A meetup night: best scores on its exercises reached inside its window, plus its games."""
    exercise_ids = [link.exercise_id for link in event.exercises]
    points = dict(
        db.session.execute(
            select(Exercise.id, Exercise.points).where(Exercise.id.in_(exercise_ids))
        ).all()
    )
    best: dict[tuple[int, int], tuple[float, datetime]] = {}
    if exercise_ids:
        rows = db.session.execute(
            select(
                Submission.user_id, Submission.exercise_id, Submission.score, Submission.created_at
            )
            .where(
                Submission.exercise_id.in_(exercise_ids),
                Submission.status == "graded",
                Submission.score.is_not(None),
                Submission.created_at >= event.starts_at,
                Submission.created_at <= event.ends_at,
            )
            .order_by(Submission.created_at, Submission.id)
        )
        for user_id, exercise_id, score, created in rows:
            key = (user_id, exercise_id)
            if key not in best or score > best[key][0] + 1e-9:
                best[key] = (float(score), created)
    tallies: dict[int, _Tally] = {}
    for (user_id, exercise_id), (score, reached) in best.items():
        tally = tallies.setdefault(user_id, _Tally())
        tally.exercises += score
        tally.solved += int(score >= points[exercise_id] - 1e-9)
        tally.reach(reached)
    game_ids = [link.game_id for link in event.games]
    if game_ids:
        for user_id, (trivia, reached) in trivia_by_member(game_ids).items():
            tally = tallies.setdefault(user_id, _Tally())
            tally.trivia, tally.trivia_at = trivia, reached
    weights_ = Weights(event.exercise_weight, event.trivia_weight)
    return _rows(tallies, _names(list(tallies)), weights_, limit)


def game_standings(game_id: int) -> list[dict[str, Any]] | None:
    """One game's players (guests too), by score; None when there is no such game."""
    return game_board(game_id)


def _names(user_ids: list[int] | None) -> dict[int, tuple[str, str]]:
    """{user_id: (display name, username)} for these members (None: everyone)."""
    query = select(User.id, User.display_name, User.username)
    if user_ids is not None:
        if not user_ids:
            return {}
        query = query.where(User.id.in_(user_ids))
    return {uid: (name, username) for uid, name, username in db.session.execute(query)}


_FAR = datetime(9999, 1, 1, tzinfo=UTC)


def _part(
    uid: int, t: _Tally | None, names: dict[int, tuple[str, str]], w: Weights
) -> _Part | None:
    """A member's row on a board, or None when they are not on it (no account, nothing scored)."""
    if t is None or uid not in names:
        return None
    reached, iso = t.reached()
    if not (t.exercises or t.trivia or reached is not None):
        return None
    score = round(w.exercises * t.exercises + w.trivia * t.trivia, 4)
    row = {
        "user_id": uid,
        "name": names[uid][0],
        "username": names[uid][1],
        "score": score,
        "exercises": round(t.exercises, 4),
        "trivia": round(t.trivia, 4),
        "solved": t.solved,
        "reached_at": iso,
    }
    return _Part((-score, reached or _FAR, uid), row, json.dumps(row, separators=(",", ":")))


def _ranked(parts: Any) -> list[_Part]:
    """Rank by weighted score; a tie goes to whoever reached their score first, then to the
    older account."""
    return sorted((p for p in parts if p is not None), key=lambda p: p.key)


def _as_rows(order: list[_Part]) -> list[dict[str, Any]]:
    return [{"rank": rank, **p.row} for rank, p in enumerate(order, start=1)]


def _as_json(order: list[_Part]) -> str:
    """The same rows as JSON text, from each member's JSON kept since their last change."""
    body = ",".join(f'{{"rank":{rank},{p.text[1:]}' for rank, p in enumerate(order, start=1))
    return f"[{body}]"


def _rows(
    tallies: dict[int, _Tally], names: dict[int, tuple[str, str]], w: Weights, limit: int | None
) -> list[dict[str, Any]]:
    order = _ranked(_part(uid, t, names, w) for uid, t in tallies.items())
    return _as_rows(order[:limit] if limit else order)


# ---- board keys (the live stream and the pages name a board this way) ------------


def board(key: str) -> tuple[str, list[dict[str, Any]]] | None:
    """('title', rows) for 'overall', 'exercise:<slug>', 'event:<id>' or 'game:<id>'."""
    if "\x00" in (key or ""):
        return None
    kind, _, ident = (key or "overall").partition(":")
    if kind == "overall":
        return "Overall", standings()
    if kind == "exercise":
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == ident))
        return (exercise.title, exercise_standings(exercise)) if exercise else None
    if kind in ("event", "game") and ident.isdigit() and len(ident) <= 9:
        if kind == "event":
            event = db.session.get(MeetupEvent, int(ident))
            return (event.title, event_standings(event)) if event else None
        rows = game_standings(int(ident))
        return (game_title(int(ident)), rows) if rows is not None else None
    return None


def public(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The projector's rows: display names only, no account names."""
    return [{k: v for k, v in row.items() if k != "username"} for row in rows]


# ---- trivia points (read from the games area's tables) ---------------------------


def trivia_by_member(game_ids: list[int] | None = None) -> dict[int, tuple[float, datetime | None]]:
    """{user_id: (points, when their last counted game ended)} over ended games.

    Guests (players without an account) have no member to credit; kicked players do not count.
    """
    query = (
        select(Player.user_id, func.sum(Player.score), func.max(Game.ended_at))
        .join(Game, Game.id == Player.game_id)
        .where(Game.phase == "ended", Player.user_id.is_not(None), Player.kicked.is_(False))
        .group_by(Player.user_id)
    )
    if game_ids is not None:
        query = query.where(Game.id.in_(game_ids or [0]))
    return {uid: (float(points or 0), ended) for uid, points, ended in db.session.execute(query)}


def game_board(game_id: int) -> list[dict[str, Any]] | None:
    """A game's players by score; a tie goes to whoever scored their last points first."""
    game = db.session.get(Game, game_id) if 0 < game_id < 2**31 else None
    if game is None:
        return None
    last_points = (
        select(Answer.player_id, func.max(Answer.received_at).label("at"))
        .where(
            Answer.game_id == game_id, Answer.counted.is_(True), Answer.points + Answer.bonus > 0
        )
        .group_by(Answer.player_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Player.id,
            Player.nickname,
            Player.user_id,
            Player.score,
            Player.correct,
            last_points.c.at,
        )
        .outerjoin(last_points, last_points.c.player_id == Player.id)
        .where(Player.game_id == game_id, Player.kicked.is_(False))
    ).all()
    far = utcnow().replace(year=9999)
    rows.sort(key=lambda r: (-r.score, r.at or far, r.id))
    return [
        {
            "rank": rank,
            "player_id": r.id,
            "user_id": r.user_id,
            "name": r.nickname,
            "score": float(r.score),
            "correct": r.correct,
            "reached_at": r.at.isoformat() if r.at else None,
        }
        for rank, r in enumerate(rows, start=1)
    ]


def unknown_games(game_ids: list[int]) -> list[int]:
    """The ids among game_ids that name no game."""
    sane = [g for g in game_ids if 0 < g < 2**31]
    found = set(db.session.scalars(select(Game.id).where(Game.id.in_(sane or [0]))))
    return sorted(set(game_ids) - found)


def game_title(game_id: int) -> str:
    row = db.session.execute(
        select(Game.pin, Game.ended_at, Quiz.title)
        .join(Quiz, Quiz.id == Game.quiz_id)
        .where(Game.id == game_id)
    ).first()
    if row is None:
        return f"Game {game_id}"
    return f"{row.title} (PIN {row.pin})"


def games_played(limit: int = 100) -> list[dict[str, Any]]:
    """Game history, newest first, with player counts and the winner."""
    players = (
        select(
            Player.game_id, func.count(Player.id).label("n"), func.max(Player.score).label("top")
        )
        .where(Player.kicked.is_(False))
        .group_by(Player.game_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Game, Quiz.title, Quiz.slug, players.c.n, players.c.top)
        .join(Quiz, Quiz.id == Game.quiz_id)
        .outerjoin(players, players.c.game_id == Game.id)
        .order_by(Game.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": game.id,
            "pin": game.pin,
            "quiz": slug,
            "title": title,
            "mode": game.mode,
            "phase": game.phase,
            "players": int(n or 0),
            "top_score": int(top or 0),
            "created_at": game.created_at.isoformat() if game.created_at else None,
            "ended_at": game.ended_at.isoformat() if game.ended_at else None,
        }
        for game, title, slug, n, top in rows
    ]


def board_after(key: str, event_id: str) -> list[dict[str, Any]] | None:
    """Board `key`'s rows after bus event `event_id`, computed once per process however many
    screens stream it (every open stream asks after the same event)."""
    state = current_app.extensions.setdefault(
        "adventures.board_after", {"lock": threading.Lock(), "rows": OrderedDict()}
    )
    with state["lock"]:
        if (key, event_id) in state["rows"]:
            return state["rows"][(key, event_id)]
    found = board(key)
    rows = found[1] if found else None
    with state["lock"]:
        state["rows"][(key, event_id)] = rows
        while len(state["rows"]) > _AFTER_SIZE:
            state["rows"].popitem(last=False)
    return rows
