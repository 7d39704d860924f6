"""The host's actions on a game: start, open a question, reveal, next, skip, end, kick, options.

Every phase change is `UPDATE games ... WHERE seq = :seen` (so two processes,
or a double click, cannot both move it); events go out after the commit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from graders.trivia import NETWORK_GRACE_S, is_late
from server.extensions import db
from server.models.base import utcnow
from server.models.game import Answer, Game, Player
from server.services.games import scoring, views
from server.services.games.banks import question_at
from server.services.games.core import (
    GameError,
    broadcast,
    fresh,
    lobby_changed,
    maybe,
    question_count,
)
from server.services.games.timers import after
from server.services.live import channels, publish


def _transition(game: Game, **values: Any) -> int:
    """Move the game on if nobody else did since it was read; returns the new seq."""
    values["updated_at"] = utcnow()
    result = db.session.execute(
        update(Game)
        .where(Game.id == game.id, Game.seq == game.seq)
        .values(seq=Game.seq + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise GameError(409, "moved_on", "The game moved on meanwhile; its state is refreshed.")
    return game.seq + 1


def start(game: Game) -> Game:
    if game.phase != "lobby":
        raise GameError(409, "started", "The game has already started.")
    if game.mode == "self":
        now = utcnow()
        ends = now + timedelta(seconds=game.window_s) if game.window_s else None
        seq = _transition(game, phase="running", started_at=now, ends_at=ends)
        db.session.commit()
        broadcast(
            game.id,
            "running",
            {"seq": seq, "phase": "running", "window_remaining_ms": views.ms_until(ends)},
        )
        if ends is not None:
            gid = game.id
            after(game.window_s + 0.05, lambda: _settle_by_id(gid))
        return fresh(game.id)
    return _open_question(game, 0, started=True)


def _open_question(game: Game, index: int, *, started: bool = False, skipped: int | None = None):
    question = question_at(game.quiz_id, index)
    now = utcnow()
    values: dict[str, Any] = {
        "phase": "question",
        "question_index": index,
        "question_opened_at": now,
        "question_deadline": now + timedelta(seconds=question.time_limit),
    }
    if started:
        values["started_at"] = now
    seq = _transition(game, **values)
    if skipped is not None:
        _uncount(game.id, skipped)
    db.session.commit()
    payload = {
        "seq": seq,
        "phase": "question",
        "question_index": index,
        "question": views.public_question(game.quiz_id, index),
        "remaining_ms": question.time_limit * 1000,
    }
    if skipped is not None:
        payload["skipped"] = skipped
    broadcast(game.id, "question", payload)
    gid = game.id
    after(question.time_limit + NETWORK_GRACE_S + 0.05, lambda: _settle_by_id(gid))
    return fresh(game.id)


def _uncount(game_id: int, index: int) -> None:
    db.session.execute(
        update(Answer)
        .where(Answer.game_id == game_id, Answer.question_index == index)
        .values(counted=False)
    )


def reveal(game: Game) -> Game:
    """Close the open question, settle its scores, and show the key and the distribution."""
    if game.mode != "host":
        raise GameError(409, "self_paced", "A self-paced game reveals each answer to its player.")
    if game.phase in ("reveal", "standings"):
        return game  # the timer, the host page and a last answer may all ask; once is enough
    if game.phase != "question":
        raise GameError(409, "no_question", "No question is open.")
    index = game.question_index
    seq = _transition(game, phase="reveal")
    results = scoring.settle_question(game, index)
    db.session.commit()
    dist, answered = views.distribution(game, index)
    board = views.standings(game.id, limit=views.TOP_N)
    broadcast(
        game.id,
        "reveal",
        {
            "seq": seq,
            "phase": "reveal",
            "question_index": index,
            "question": views.public_question(game.quiz_id, index),
            "reveal": views.revealed_question(game.quiz_id, index),
            "distribution": dist,
            "answered": answered,
            "player_count": len(results),
            "top": board,
            "results": results,
        },
    )
    return fresh(game.id)


def next_step(game: Game) -> Game:
    """The host's one button: lobby -> question -> reveal -> standings -> next question -> end."""
    if game.mode == "self":
        if game.phase == "lobby":
            return start(game)
        raise GameError(
            409, "self_paced", "Players move on by themselves; end the game when ready."
        )
    if game.phase == "lobby":
        return start(game)
    if game.phase == "question":
        return reveal(game)
    if game.phase == "reveal":
        seq = _transition(game, phase="standings")
        db.session.commit()
        board = views.standings(game.id, limit=views.TOP_N)
        broadcast(
            game.id,
            "standings",
            {
                "seq": seq,
                "phase": "standings",
                "question_index": game.question_index,
                "top": board,
                "last": game.question_index + 1 >= question_count(game),
            },
        )
        return fresh(game.id)
    if game.phase == "standings":
        if game.question_index + 1 < question_count(game):
            return _open_question(game, game.question_index + 1)
        return end(game)
    raise GameError(409, "ended", "This game has ended.")


def skip(game: Game) -> Game:
    """Drop the open question unscored (or skip the leaderboard) and open the next one."""
    if game.mode != "host" or game.phase not in ("question", "reveal", "standings"):
        raise GameError(409, "nothing_to_skip", "Skip works while a host-paced game is running.")
    dropped = game.question_index if game.phase == "question" else None
    if game.question_index + 1 < question_count(game):
        return _open_question(game, game.question_index + 1, skipped=dropped)
    if dropped is not None:
        _uncount(game.id, dropped)
    return end(game)


def end(game: Game) -> Game:
    """End the game: podium, final ranks, and the PIN is free again."""
    if game.phase == "ended":
        return game
    seq = _transition(game, phase="ended", live_pin=None, ended_at=utcnow())
    if game.mode == "host" and game.phase == "question":
        _uncount(game.id, game.question_index)
    results = scoring.final_ranks(game)
    db.session.commit()
    board = views.standings(game.id)
    broadcast(
        game.id,
        "ended",
        {
            "seq": seq,
            "phase": "ended",
            "podium": board[:3],
            "top": board[:10],
            "player_count": len(results),
            "results": results,
        },
        host_extra={"scores": board},  # the big screen lists everybody
    )
    publish(*channels.board_changed(game_id=game.id))  # boards count ended games
    return fresh(game.id)


def kick(game: Game, player_id: int) -> None:
    result = db.session.execute(
        update(Player)
        .where(Player.id == player_id, Player.game_id == game.id, Player.kicked.is_(False))
        .values(kicked=True)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise GameError(404, "no_player", "No such player in this game.")
    db.session.commit()
    publish(channels.game(game.id), "kicked", {"player_id": player_id})
    publish(channels.game_host(game.id), "kicked", {"player_id": player_id})
    lobby_changed(game.id)


SCORING_OPTIONS = ("streak_bonus", "accuracy_first")


def set_options(game: Game, **options: bool | None) -> Game:
    """Lock/unlock, late joins (any time); streak bonus and accuracy first (in the lobby)."""
    values = {k: v for k, v in options.items() if v is not None}
    if any(k in SCORING_OPTIONS for k in values) and game.phase != "lobby":
        raise GameError(409, "started", "Scoring options can change only in the lobby.")
    if game.phase == "ended":
        raise GameError(409, "ended", "This game has ended.")
    if values:
        db.session.execute(
            update(Game)
            .where(Game.id == game.id)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    game = fresh(game.id)
    publish(
        channels.game_host(game.id),
        "options",
        {"seq": game.seq, "options": views.options_view(game)},
    )
    return game


def _settle_by_id(game_id: int) -> None:
    game = maybe(game_id)
    if game is not None:
        settle_due(game)


def settle_due(game: Game) -> Game:
    """Close what time has closed: a question past its deadline, a self-paced window past its end."""
    now = utcnow()
    try:
        if (
            game.mode == "host"
            and game.phase == "question"
            and game.question_deadline is not None
            and is_late((now - game.question_deadline).total_seconds())
        ):
            return reveal(game)
        if game.mode == "self" and game.phase == "running" and game.ends_at and now > game.ends_at:
            return end(game)
    except GameError:  # another process settled it first
        return fresh(game.id)
    return game
