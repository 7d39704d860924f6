"""What players do: join, answer (the hot path of a game night), move on in self-paced games."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from graders.trivia import Question
from server.extensions import db
from server.models.base import utcnow
from server.models.game import Answer, Game, Player
from server.services.games import names, scoring, views
from server.services.games.banks import question_at
from server.services.games.core import (
    ANSWERS_EVERY_S,
    GameError,
    active_player,
    coalesce,
    live_game,
    lobby_changed,
    maybe,
    progress_changed,
    question_count,
    require_live,
)
from server.services.games.group_commit import (
    GroupCommit,
    Pending,
    already_answered,
    check_in_time,
    scored_row,
)
from server.services.games.host import reveal, settle_due
from server.services.games.rate import JoinAllowance
from server.services.live import channels, publish

MAX_PLAYERS = 5000


_JOIN_CONTEXT = select(
    Game.id,
    Game.phase,
    Game.locked,
    Game.allow_late_join,
    select(func.count(Player.id))
    .where(Player.game_id == Game.id, Player.kicked.is_(False))
    .scalar_subquery()
    .label("players"),
).where(Game.live_pin == bindparam("pin"))


_INSERT_PLAYER = insert(Player.__table__).returning(Player.__table__.c.id)


def _allowance() -> JoinAllowance:
    """One per app (tests make many apps); GAME_JOIN_ALLOWANCE sets the base (default 60)."""
    base = int(
        current_app.config.get("GAME_JOIN_ALLOWANCE") or os.environ.get("GAME_JOIN_ALLOWANCE") or 60
    )
    found = current_app.extensions.get("adventures.join_allowance")
    if found is None or found.base != base:
        found = current_app.extensions["adventures.join_allowance"] = JoinAllowance(base)
    return found


@dataclass(frozen=True)
class Joined:
    player_id: int
    nickname: str
    token: str  # shown once; only its hash is stored


def join(
    pin: str,
    nickname: str,
    *,
    user_id: int | None = None,
    previous_token: str | None = None,
    address: str | None = None,
) -> Joined:
    """Add a player; returns their id, nickname as shown, and secret token (kept by the phone).

    `address` (the request's) is held to the game's join allowance (see rate.JoinAllowance).
    """
    game = db.session.execute(_JOIN_CONTEXT, {"pin": pin}).first() if names.is_pin(pin) else None
    if game is None:
        require_live(pin)  # says why: no such game, or ended
        raise GameError(404, "no_game", f"No game with PIN {pin}.")
    if address is not None:
        allowed, retry_after = _allowance().hit(address, game.id, game.players)
        if not allowed:
            raise GameError(
                429,
                "too_many_joins",
                f"Too many join attempts from your network; wait {retry_after:.0f} s.",
            )
    if previous_token:
        before = db.session.scalar(
            select(Player.kicked).where(
                Player.token_hash == names.token_hash(previous_token),
                Player.game_id == game.id,
            )
        )
        if before:
            raise GameError(403, "kicked", "The host removed you from this game.")
    if game.locked:
        raise GameError(409, "locked", "The host has locked this game; ask them to unlock it.")
    if game.phase != "lobby" and not game.allow_late_join:
        raise GameError(409, "started", "This game has started and takes no late joins.")
    shown = names.clean_nickname(nickname)  # a NicknameError is a 422 "bad_nickname"
    if game.players >= MAX_PLAYERS:
        raise GameError(409, "full", "This game is full.")
    token = names.new_token()
    try:
        player_id = db.session.execute(
            _INSERT_PLAYER,
            dict(
                game_id=game.id,
                nickname=shown,
                nickname_key=names.nickname_key(shown),
                token_hash=names.token_hash(token),
                user_id=user_id,
                score=0,
                streak=0,
                correct=0,
                kicked=False,
                joined_at=utcnow(),
                position=-1,
            ),
        ).scalar_one()
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise GameError(
            409, "nickname_taken", f"Someone in this game is already '{shown}'; choose another."
        ) from exc
    lobby_changed(game.id)
    return Joined(player_id, shown, token)


# ---- answers ------------------------------------------------------------------------


def answer(
    pin: str, token: str, question_id: str, given: Any, received_at: datetime
) -> dict[str, Any]:
    """Take one answer, stamped with its arrival time; 409 if late, closed or a second one.

    Host-paced answers go through the group commit (one transaction per burst); the 200
    comes once the answer's transaction has committed.
    """
    item = None
    if names.is_pin(pin) and token:
        item = _group().submit(
            db.engine,
            Pending(pin, names.token_hash(token), question_id, given, received_at),
        )
    if item is None or item.unknown:  # self-paced, or an error to explain
        game = require_live(pin)
        player = active_player(game, token)
        if game.mode != "self":
            raise GameError(409, "closed", "That question is closed; wait for the next one.")
        return _answer_self_paced(game, player, question_id, given, received_at)
    if item.error is not None:
        if isinstance(item.error, GameError) and item.error.code == "late":
            game = live_game(pin)  # the timer may have died in a restart
            if game is not None:
                settle_due(game)
        raise item.error
    gid = item.game_id
    coalesce.request(f"answers:{gid}", lambda: _answers_changed(gid), ANSWERS_EVERY_S)
    return {"accepted": True, "question": question_id, "received_at": received_at.isoformat()}


def _group() -> GroupCommit:
    """One queue per app (tests make many apps)."""
    found = current_app.extensions.get("adventures.answer_group")
    if found is None:
        found = current_app.extensions.setdefault("adventures.answer_group", GroupCommit())
    return found


_INSERT_ANSWER = insert(Answer.__table__)


@dataclass(frozen=True)
class _Answerer:
    """What scoring needs to know about the game and the player."""

    game_id: int
    player_id: int
    streak: int
    accuracy_first: bool
    streak_bonus: bool


def _record(who, question: Question, index, given, elapsed, received_at) -> Answer:
    """Score an answer and insert it (a plain INSERT); a second one is a 409.

    `who` has game_id, player_id, streak, accuracy_first and streak_bonus.
    Returns the row as a transient object, for the caller's views.
    """
    values = scored_row(who, question, index, given, elapsed, received_at)
    try:
        db.session.execute(_INSERT_ANSWER, values)
    except IntegrityError as exc:
        db.session.rollback()
        raise already_answered() from exc
    return Answer(**values)


def _answers_changed(game_id: int) -> None:
    """Tell the host how many have answered; when everyone has, reveal."""
    game = maybe(game_id)
    if game is None or game.phase != "question":
        return
    index = game.question_index
    answered = int(
        db.session.scalar(
            select(func.count(Answer.id))
            .join(Player, and_(Player.id == Answer.player_id, Player.kicked.is_(False)))
            .where(Answer.game_id == game_id, Answer.question_index == index)
        )
        or 0
    )
    total = views.player_count(game_id)
    publish(
        channels.game_host(game_id),
        "answers",
        {"seq": game.seq, "question_index": index, "answered": answered, "total": total},
    )
    if answered >= total > 0 and current_app.config.get("GAME_AUTO_REVEAL", True):
        try:
            reveal(game)
        except GameError:
            pass


def _answer_self_paced(game, player, question_id, given, received_at) -> dict[str, Any]:
    if game.phase != "running":
        raise GameError(409, "closed", "The game is not running.")
    index = player.position
    if not 0 <= index < question_count(game) or player.position_opened_at is None:
        raise GameError(409, "not_open", "Open a question first (POST .../advance).")
    question = question_at(game.quiz_id, index)
    if question_id != question.id:
        raise GameError(409, "not_open", f"Question '{question_id}' is not your open question.")
    opened = player.position_opened_at
    check_in_time(received_at, opened + timedelta(seconds=question.time_limit))
    who = _Answerer(game.id, player.id, player.streak, game.accuracy_first, game.streak_bonus)
    row = _record(who, question, index, given, (received_at - opened).total_seconds(), received_at)
    moved = db.session.execute(
        update(Player)
        .where(Player.id == player.id, Player.position == index)
        .values(
            score=Player.score + row.points + row.bonus,
            streak=row.streak,
            correct=Player.correct + int(row.correct),
        )
        .execution_options(synchronize_session=False)
    )
    phase = db.session.scalar(
        select(Game.phase).where(Game.id == game.id).with_for_update(read=True)
    )
    if moved.rowcount != 1 or phase != "running":
        db.session.rollback()
        raise GameError(409, "closed", "That question closed before your answer arrived.")
    if not row.correct and player.user_id:
        scoring.record_missed(game, question.id, [player.user_id])
    db.session.commit()
    progress_changed(game.id)
    player = db.session.get(Player, player.id)
    return {
        "accepted": True,
        "question": question.id,
        "received_at": received_at.isoformat(),
        "result": views.answer_result(row),
        "reveal": views.revealed_question(game.quiz_id, index),
        "me": views.me_view(game, player),
    }


def advance(pin: str, token: str) -> dict[str, Any]:
    """Self-paced: open this player's next question (an unanswered one counts as missed)."""
    game = settle_due(require_live(pin))
    player = active_player(game, token)
    if game.mode != "self":
        raise GameError(409, "host_paced", "In a host-paced game the host moves everyone on.")
    if game.phase != "running":
        raise GameError(409, "not_running", "The game is not running.")
    count = question_count(game)
    index = player.position
    if index >= count:
        raise GameError(409, "finished", "You have answered every question.")
    values: dict[str, Any] = {}
    if index >= 0 and not _answer_id(player.id, index):
        question = question_at(game.quiz_id, index)
        if question.points:
            values["streak"] = 0
        if player.user_id:
            scoring.record_missed(game, question.id, [player.user_id])
    now = utcnow()
    if index + 1 >= count:
        values.update(position=count, finished_at=now)
    else:
        values.update(position=index + 1, position_opened_at=now)
    moved = db.session.execute(
        update(Player)
        .where(Player.id == player.id, Player.position == index)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.rollback()
    else:
        db.session.commit()
        progress_changed(game.id)
    db.session.expire_all()
    return views.player_state(db.session.get(Game, game.id), db.session.get(Player, player.id))


def _answer_id(player_id: int, index: int) -> int:
    return (
        db.session.scalar(
            select(Answer.id).where(Answer.player_id == player_id, Answer.question_index == index)
        )
        or 0
    )
