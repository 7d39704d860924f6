"""Live trivia games: create, join, host actions, answers, and the flashcards' missed questions.

The game is a state machine stored in its row: every phase change is
`UPDATE games ... WHERE seq = :seen` (so two processes, or a double click,
cannot both move it) and deadlines are absolute timestamps, so any web
process serves any game and a restarted one carries on. Events go out on
the bus after each commit: `game:<id>` for everyone, `game:<id>:host` for the
host's extra counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from graders.trivia import NETWORK_GRACE_S, AnswerShapeError, Question, score_answer
from server.extensions import db
from server.models.base import utcnow
from server.models.game import MODES, Answer, Game, MissedQuestion, Player, Quiz
from server.models.user import User
from server.services import game_names, game_scoring, game_views
from server.services.events import publish
from server.services.game_banks import bank_for, question_at, quiz_by_slug
from server.services.game_timers import Coalescer, after

MAX_PLAYERS = 5000
STALE_AFTER = timedelta(hours=12)
LOBBY_EVERY_S = 0.5
ANSWERS_EVERY_S = 0.25
PROGRESS_EVERY_S = 0.5

_coalesce = Coalescer()


class GameError(Exception):
    """A request the game cannot take; routes answer it as {"error": code, "message"}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# ---- finding games and players ------------------------------------------------


def live_game(pin: str) -> Game | None:
    if not game_names.is_pin(pin):
        return None
    return db.session.scalar(select(Game).where(Game.live_pin == pin))


def find_game(pin: str, game_id: int | None = None) -> Game:
    """The live game with this PIN, else the latest ended one (for podiums and reports)."""
    game = None
    if game_id is not None:
        game = db.session.get(Game, game_id)
        game = game if game is not None and game.pin == pin else None
    else:
        game = live_game(pin) or db.session.scalar(
            select(Game).where(Game.pin == pin).order_by(Game.id.desc())
        )
    if game is None:
        raise GameError(404, "no_game", f"No game with PIN {pin}; check the PIN on the big screen.")
    return game


def _require_live(pin: str) -> Game:
    game = live_game(pin)
    if game is None:
        ended = game_names.is_pin(pin) and db.session.scalar(
            select(Game.id).where(Game.pin == pin).limit(1)
        )
        if ended:
            raise GameError(409, "ended", "This game has ended.")
        raise GameError(404, "no_game", f"No game with PIN {pin}; check the PIN on the big screen.")
    return game


def player_by_token(game: Game, token: str | None) -> Player | None:
    if not token:
        return None
    player = db.session.scalar(
        select(Player).where(Player.token_hash == game_names.token_hash(token))
    )
    return player if player is not None and player.game_id == game.id else None


def _active_player(game: Game, token: str | None) -> Player:
    player = player_by_token(game, token)
    if player is None:
        raise GameError(403, "bad_token", "That player token is not in this game; join again.")
    if player.kicked:
        raise GameError(403, "kicked", "The host removed you from this game.")
    return player


def is_host_token(game: Game, token: str | None) -> bool:
    return bool(token) and game_names.token_hash(token) == game.host_token_hash


# ---- creating and joining ------------------------------------------------------


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
    token = game_names.new_token()
    for _ in range(30):
        pin = game_names.new_pin()
        game = Game(
            pin=pin,
            live_pin=pin,
            quiz_id=quiz.id,
            host_id=host_id,
            host_token_hash=game_names.token_hash(token),
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


@dataclass(frozen=True)
class Joined:
    player_id: int
    nickname: str
    token: str  # shown once; only its hash is stored


def join(
    pin: str, nickname: str, *, user_id: int | None = None, previous_token: str | None = None
) -> Joined:
    """Add a player; returns their id, nickname as shown, and secret token (kept by the phone)."""
    game = _require_live(pin)
    if previous_token:
        before = player_by_token(game, previous_token)
        if before is not None and before.kicked:
            raise GameError(403, "kicked", "The host removed you from this game.")
    if game.locked:
        raise GameError(409, "locked", "The host has locked this game; ask them to unlock it.")
    if game.phase != "lobby" and not game.allow_late_join:
        raise GameError(409, "started", "This game has started and takes no late joins.")
    try:
        shown = game_names.clean_nickname(nickname)
    except game_names.NicknameError as exc:
        raise GameError(422, "bad_nickname", str(exc)) from exc
    game_id = game.id
    if game_views.player_count(game_id) >= MAX_PLAYERS:
        raise GameError(409, "full", "This game is full.")
    token = game_names.new_token()
    player = Player(
        game_id=game_id,
        nickname=shown,
        nickname_key=game_names.nickname_key(shown),
        token_hash=game_names.token_hash(token),
        user_id=user_id,
    )
    db.session.add(player)
    try:
        db.session.flush()
        joined = Joined(player.id, shown, token)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise GameError(
            409, "nickname_taken", f"Someone in this game is already '{shown}'; choose another."
        ) from exc
    _lobby_changed(game_id)
    return joined


# ---- host actions ---------------------------------------------------------------------


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


def _broadcast(game_id: int, type_: str, data: dict[str, Any]) -> None:
    publish(game_views.channel(game_id), type_, data)
    host = {k: v for k, v in data.items() if k != "results"}
    publish(game_views.host_channel(game_id), type_, host)


def _fresh(game_id: int) -> Game:
    db.session.expire_all()
    game = db.session.get(Game, game_id)
    assert game is not None
    return game


def _maybe(game_id: int) -> Game | None:
    """The game as now in the database, for timers that may outlive it."""
    db.session.expire_all()
    return db.session.get(Game, game_id)


def start(game: Game) -> Game:
    if game.phase != "lobby":
        raise GameError(409, "started", "The game has already started.")
    if game.mode == "self":
        now = utcnow()
        ends = now + timedelta(seconds=game.window_s) if game.window_s else None
        seq = _transition(game, phase="running", started_at=now, ends_at=ends)
        db.session.commit()
        _broadcast(
            game.id,
            "running",
            {"seq": seq, "phase": "running", "window_remaining_ms": game_views.ms_until(ends)},
        )
        if ends is not None:
            gid = game.id
            after(game.window_s + 0.05, lambda: _settle_by_id(gid))
        return _fresh(game.id)
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
        "question": game_views.public_question(game.quiz_id, index),
        "remaining_ms": question.time_limit * 1000,
    }
    if skipped is not None:
        payload["skipped"] = skipped
    _broadcast(game.id, "question", payload)
    gid = game.id
    after(question.time_limit + NETWORK_GRACE_S + 0.05, lambda: _settle_by_id(gid))
    return _fresh(game.id)


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
    results = game_scoring.settle_question(game, index)
    db.session.commit()
    dist, answered = game_views.distribution(game, index)
    board = game_views.standings(game.id, limit=game_views.TOP_N)
    _broadcast(
        game.id,
        "reveal",
        {
            "seq": seq,
            "phase": "reveal",
            "question_index": index,
            "question": game_views.public_question(game.quiz_id, index),
            "reveal": game_views.revealed_question(game.quiz_id, index),
            "distribution": dist,
            "answered": answered,
            "player_count": len(results),
            "top": board,
            "results": results,
        },
    )
    return _fresh(game.id)


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
        board = game_views.standings(game.id, limit=game_views.TOP_N)
        _broadcast(
            game.id,
            "standings",
            {
                "seq": seq,
                "phase": "standings",
                "question_index": game.question_index,
                "top": board,
                "last": game.question_index + 1 >= _count(game),
            },
        )
        return _fresh(game.id)
    if game.phase == "standings":
        if game.question_index + 1 < _count(game):
            return _open_question(game, game.question_index + 1)
        return end(game)
    raise GameError(409, "ended", "This game has ended.")


def skip(game: Game) -> Game:
    """Drop the open question unscored (or skip the leaderboard) and open the next one."""
    if game.mode != "host" or game.phase not in ("question", "reveal", "standings"):
        raise GameError(409, "nothing_to_skip", "Skip works while a host-paced game is running.")
    dropped = game.question_index if game.phase == "question" else None
    if game.question_index + 1 < _count(game):
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
    results = game_scoring.final_ranks(game)
    db.session.commit()
    board = game_views.standings(game.id, limit=10)
    _broadcast(
        game.id,
        "ended",
        {
            "seq": seq,
            "phase": "ended",
            "podium": board[:3],
            "top": board,
            "player_count": len(results),
            "results": results,
        },
    )
    publish("leaderboard", "changed", {"game_id": game.id})  # hook: boards count ended games
    return _fresh(game.id)


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
    publish(game_views.channel(game.id), "kicked", {"player_id": player_id})
    publish(game_views.host_channel(game.id), "kicked", {"player_id": player_id})
    _lobby_changed(game.id)


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
    game = _fresh(game.id)
    publish(
        game_views.host_channel(game.id),
        "options",
        {"seq": game.seq, "options": game_views.options_view(game)},
    )
    return game


def _count(game: Game) -> int:
    return len(bank_for(game.quiz_id).questions)


def _settle_by_id(game_id: int) -> None:
    game = _maybe(game_id)
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
            and now > game.question_deadline + timedelta(seconds=NETWORK_GRACE_S)
        ):
            return reveal(game)
        if game.mode == "self" and game.phase == "running" and game.ends_at and now > game.ends_at:
            return end(game)
    except GameError:  # another process settled it first
        return _fresh(game.id)
    return game


# ---- answers ------------------------------------------------------------------------


def answer(
    pin: str, token: str, question_id: str, given: Any, received_at: datetime
) -> dict[str, Any]:
    """Take one answer, stamped with its arrival time; 409 if late, closed or a second one."""
    game, player, digest = _game_and_player(pin, token)
    if game.mode == "self":
        return _answer_self_paced(game, player, question_id, given, received_at)
    if game.phase != "question":
        raise GameError(409, "closed", "That question is closed; wait for the next one.")
    index = game.question_index
    question = question_at(game.quiz_id, index, digest)
    if question_id != question.id:
        raise GameError(409, "not_open", f"Question '{question_id}' is not the open question.")
    try:
        _check_in_time(received_at, game.question_deadline)
    except GameError:
        settle_due(game)  # the timer may have died with a restarted process
        raise
    gid = game.id
    elapsed = (received_at - game.question_opened_at).total_seconds()
    _record(game, player, question, index, given, elapsed, received_at)
    # Re-read the game under a share lock now that the answer is written: a reveal
    # that got in first wins (PostgreSQL waits for it; SQLite holds the write lock).
    now = db.session.execute(
        select(Game.phase, Game.question_index).where(Game.id == gid).with_for_update(read=True)
    ).one()
    if now.phase != "question" or now.question_index != index:
        db.session.rollback()
        raise GameError(409, "closed", "That question closed before your answer arrived.")
    db.session.commit()
    _coalesce.request(f"answers:{gid}", lambda: _answers_changed(gid), ANSWERS_EVERY_S)
    return {"accepted": True, "question": question.id, "received_at": received_at.isoformat()}


def _game_and_player(pin: str, token: str) -> tuple[Game, Player, str | None]:
    """The live game, the caller's player and the bank's hash in one query (the hot path)."""
    if game_names.is_pin(pin) and token:
        row = db.session.execute(
            select(Game, Player, Quiz.content_hash)
            .join(Player, Player.game_id == Game.id)
            .join(Quiz, Quiz.id == Game.quiz_id)
            .where(Game.live_pin == pin, Player.token_hash == game_names.token_hash(token))
        ).first()
        if row is not None and not row[1].kicked:
            return row[0], row[1], row[2]
    game = _require_live(pin)  # only to say why not
    return game, _active_player(game, token), None


def _check_in_time(received_at: datetime, deadline: datetime | None) -> None:
    if deadline is None:
        raise GameError(409, "not_open", "That question is not open.")
    late = (received_at - deadline).total_seconds()
    if late > NETWORK_GRACE_S:
        raise GameError(
            409, "late", f"Time was up: your answer arrived {late:.1f} s after the end."
        )


def _record(game, player, question: Question, index, given, elapsed, received_at) -> Answer:
    """Score an answer and insert it (a plain INSERT: the hot path); a second one is a 409.

    Returns the row as a transient object, for the caller's views.
    """
    try:
        scored = score_answer(
            question, given, max(0.0, elapsed), player.streak, accuracy_first=game.accuracy_first
        )
    except AnswerShapeError as exc:
        raise GameError(422, "bad_answer", str(exc)) from exc
    values = dict(
        game_id=game.id,
        player_id=player.id,
        question_index=index,
        question_id=question.id,
        answer=given,
        received_at=received_at,
        elapsed_ms=int(max(0.0, elapsed) * 1000),
        correct=scored.verdict.correct,
        fraction=scored.verdict.fraction,
        points=scored.points,
        bonus=scored.bonus if game.streak_bonus else 0,
        streak=scored.streak,
        counted=True,
    )
    try:
        db.session.execute(insert(Answer).values(**values))
    except IntegrityError as exc:
        db.session.rollback()
        raise GameError(409, "already_answered", "You already answered this question.") from exc
    return Answer(**values)


def _answers_changed(game_id: int) -> None:
    """Tell the host how many have answered; when everyone has, reveal."""
    game = _maybe(game_id)
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
    total = game_views.player_count(game_id)
    publish(
        game_views.host_channel(game_id),
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
    if not 0 <= index < _count(game) or player.position_opened_at is None:
        raise GameError(409, "not_open", "Open a question first (POST .../advance).")
    question = question_at(game.quiz_id, index)
    if question_id != question.id:
        raise GameError(409, "not_open", f"Question '{question_id}' is not your open question.")
    opened = player.position_opened_at
    _check_in_time(received_at, opened + timedelta(seconds=question.time_limit))
    row = _record(
        game, player, question, index, given, (received_at - opened).total_seconds(), received_at
    )
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
        game_scoring.record_missed(game, question.id, [player.user_id])
    db.session.commit()
    _progress_changed(game.id)
    player = db.session.get(Player, player.id)
    return {
        "accepted": True,
        "question": question.id,
        "received_at": received_at.isoformat(),
        "result": game_views.answer_result(row),
        "reveal": game_views.revealed_question(game.quiz_id, index),
        "me": game_views.me_view(game, player),
    }


def advance(pin: str, token: str) -> dict[str, Any]:
    """Self-paced: open this player's next question (an unanswered one counts as missed)."""
    game = settle_due(_require_live(pin))
    player = _active_player(game, token)
    if game.mode != "self":
        raise GameError(409, "host_paced", "In a host-paced game the host moves everyone on.")
    if game.phase != "running":
        raise GameError(409, "not_running", "The game is not running.")
    count = _count(game)
    index = player.position
    if index >= count:
        raise GameError(409, "finished", "You have answered every question.")
    values: dict[str, Any] = {}
    if index >= 0 and not _answer_id(player.id, index):
        question = question_at(game.quiz_id, index)
        if question.points:
            values["streak"] = 0
        if player.user_id:
            game_scoring.record_missed(game, question.id, [player.user_id])
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
        _progress_changed(game.id)
    db.session.expire_all()
    return game_views.player_state(db.session.get(Game, game.id), db.session.get(Player, player.id))


def _answer_id(player_id: int, index: int) -> int:
    return (
        db.session.scalar(
            select(Answer.id).where(Answer.player_id == player_id, Answer.question_index == index)
        )
        or 0
    )


# ---- host notifications -----------------------------------------------------------------


def _lobby_changed(game_id: int) -> None:
    _coalesce.request(f"lobby:{game_id}", lambda: _publish_lobby(game_id), LOBBY_EVERY_S)


def _publish_lobby(game_id: int) -> None:
    game = _maybe(game_id)
    if game is None:
        return
    board = game_views.standings(game_id)
    publish(
        game_views.host_channel(game_id),
        "lobby",
        {
            "seq": game.seq,
            "players": [{"id": r["player_id"], "nickname": r["nickname"]} for r in board],
            "player_count": len(board),
        },
    )


def _progress_changed(game_id: int) -> None:
    _coalesce.request(f"progress:{game_id}", lambda: _publish_progress(game_id), PROGRESS_EVERY_S)


def _publish_progress(game_id: int) -> None:
    game = _maybe(game_id)
    if game is None:
        return
    publish(
        game_views.host_channel(game_id),
        "progress",
        {"seq": game.seq, "progress": game_views.progress(game)},
    )


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
