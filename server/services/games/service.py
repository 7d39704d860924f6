"""Live trivia games: the area's public face (create, join, host actions, answers, streams).

A game is a state machine stored in its row with absolute deadlines, so any
web process serves any game and a restarted one carries on. The work is in
host (the host's actions), play (players), views (what each viewer sees),
scoring, report and banks; this module names what routes and other areas
call. Events go out on the bus after each commit: channels.game(id) for
everyone, channels.game_host(id) for the host's extra counters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models.base import utcnow
from server.models.game import MODES, Game, MissedQuestion, Player, Quiz
from server.models.user import User
from server.services.games import names, views
from server.services.games.banks import quiz_by_slug
from server.services.games.core import (
    GameError,
    find_game,
    fresh,
    is_host_token,
    latest_game,
    live_game,
    player_by_token,
)
from server.services.games.host import (
    end,
    kick,
    next_step,
    reveal,
    set_options,
    settle_due,
    skip,
    start,
)
from server.services.games.play import Joined, advance, answer, join

__all__ = [
    "GameError",
    "Joined",
    "advance",
    "answer",
    "create_game",
    "end",
    "find_game",
    "fresh",
    "game_by_id",
    "history",
    "host_of",
    "host_snapshot",
    "is_host_token",
    "join",
    "kick",
    "latest_game",
    "live_game",
    "missed_questions",
    "next_step",
    "player_by_token",
    "player_snapshot",
    "reveal",
    "set_options",
    "settle_due",
    "skip",
    "start",
    "stream_viewer",
]

STALE_AFTER = timedelta(hours=12)


def create_game(
    host_id: int,
    quiz_slug: str,
    mode: str = "host",
    *,
    streak_bonus: bool = True,
    accuracy_first: bool = False,
    allow_late_join: bool = True,
    window_s: int | None = None,
) -> tuple[Game, str]:
    """A new game in its lobby with a fresh PIN; returns it and the host token (shown once)."""
    quiz = quiz_by_slug(quiz_slug)
    if quiz is None:
        raise GameError(
            404, "no_quiz", f"No trivia bank '{quiz_slug}'; GET /api/quizzes lists them."
        )
    if mode not in MODES:
        raise GameError(400, "bad_mode", "mode is 'host' (host-paced) or 'self' (self-paced).")
    _free_stale_pins()
    token = names.new_token()
    for _ in range(30):
        pin = names.new_pin()
        game = Game(
            pin=pin,
            live_pin=pin,
            quiz_id=quiz.id,
            host_id=host_id,
            host_token_hash=names.token_hash(token),
            mode=mode,
            streak_bonus=streak_bonus,
            accuracy_first=accuracy_first,
            allow_late_join=allow_late_join,
            window_s=window_s if mode == "self" else None,
        )
        db.session.add(game)
        try:
            db.session.commit()
        except IntegrityError:  # the PIN is live in another game: draw again
            db.session.rollback()
            continue
        return game, token
    raise GameError(503, "no_pin", "No free game PIN right now; try again in a moment.")


def _free_stale_pins() -> None:
    """Games idle for half a day give their PIN back (a host who closed the laptop)."""
    now = utcnow()
    db.session.execute(
        update(Game)
        .where(Game.live_pin.is_not(None), Game.updated_at < now - STALE_AFTER)
        .values(live_pin=None, phase="ended", ended_at=now)
    )
    db.session.commit()


# ---- event streams -----------------------------------------------------------------------


_STREAM_PLAYER = (
    select(Player.game_id, Player.id, Player.kicked)
    .join(Game, Game.id == Player.game_id)
    .where(Player.token_hash == bindparam("token_hash"), Game.pin == bindparam("pin"))
)
_SNAPSHOT = (
    select(Game, Player, Quiz.content_hash)
    .join(Player, Player.game_id == Game.id)
    .join(Quiz, Quiz.id == Game.quiz_id)
    .where(Game.id == bindparam("game_id"), Player.id == bindparam("player_id"))
)


def stream_viewer(pin: str, token: str | None, user_id: int | None) -> tuple[int, int | None]:
    """Who opens an event stream: (game id, player id) for a player, (game id, None) for the host."""
    if token and names.is_pin(pin):
        row = db.session.execute(
            _STREAM_PLAYER, {"token_hash": names.token_hash(token), "pin": pin}
        ).first()
        if row is not None:
            if row.kicked:
                raise GameError(403, "kicked", "The host removed you from this game.")
            return row.game_id, row.id
    game = find_game(pin)
    if is_host_token(game, token) or (user_id is not None and user_id == game.host_id):
        return game.id, None
    raise GameError(403, "bad_token", "Send ?token= with your player token (join first).")


def player_snapshot(game_id: int, player_id: int) -> dict[str, Any]:
    """A player's state as a stream starts, with what time has closed settled first."""
    game, player, digest = db.session.execute(
        _SNAPSHOT, {"game_id": game_id, "player_id": player_id}
    ).one()
    settled = settle_due(game)
    if settled is not game:  # a reveal moved the scores
        player = db.session.get(Player, player_id)
    return views.player_state(settled, player, digest)


def host_snapshot(game_id: int) -> Game:
    """The host's game as a stream starts, with what time has closed settled first."""
    return settle_due(db.session.get(Game, game_id))


# ---- finished games -------------------------------------------------------------------


def game_by_id(game_id: int) -> Game | None:
    return db.session.get(Game, game_id)


def host_of(game: Game) -> User | None:
    """The instructor who hosted the game (None if their account is gone)."""
    return db.session.get(User, game.host_id)


# ---- history and flashcards ---------------------------------------------------------------


def history(limit: int = 200) -> list[dict[str, Any]]:
    """Recent games, newest first, for the instructors' history page."""
    counts = (
        select(Player.game_id, func.count(Player.id).label("n"))
        .where(Player.kicked.is_(False))
        .group_by(Player.game_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Game, Quiz.title, User.display_name, counts.c.n)
        .join(Quiz, Quiz.id == Game.quiz_id)
        .join(User, User.id == Game.host_id)
        .outerjoin(counts, counts.c.game_id == Game.id)
        .order_by(Game.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "game_id": g.id,
            "pin": g.pin,
            "live": g.live_pin is not None,
            "quiz": title,
            "host": host,
            "mode": g.mode,
            "phase": g.phase,
            "players": n or 0,
            "created_at": g.created_at.isoformat(),
            "ended_at": g.ended_at.isoformat() if g.ended_at else None,
        }
        for g, title, host, n in rows
    ]


def missed_questions(user_id: int) -> list[dict[str, Any]]:
    """The questions this member missed in games, newest first (read by the flashcards area).

    Each item: {quiz_slug, question_id, game_id, missed_at (aware datetime)}.
    """
    rows = db.session.scalars(
        select(MissedQuestion)
        .where(MissedQuestion.user_id == user_id)
        .order_by(MissedQuestion.missed_at.desc(), MissedQuestion.id.desc())
    )
    return [
        {
            "quiz_slug": r.quiz_slug,
            "question_id": r.question_id,
            "game_id": r.game_id,
            "missed_at": r.missed_at,
        }
        for r in rows
    ]
