"""What each viewer of a game sees: state snapshots, standings, and per-client event filters.

Fairness lives here: before a question's reveal, nothing built by this module
for anybody (player, host, or the public state) carries the key, the
explanation, or a score that moved because of the open question.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import bindparam, func, select

from graders.trivia import (
    CHOICE_KINDS,
    NETWORK_GRACE_S,
    is_late,
    question_public,
    question_reveal,
)
from server.extensions import db
from server.markdown import render_code, render_markdown
from server.models.base import utcnow
from server.models.game import Answer, Game, Player
from server.services.games.banks import bank_for, cached

TOP_N = 5

# Choices, answers and bar labels are one line of markdown: inline only (no lists or headings
# from a choice like "1. yes"), raw HTML off, and nh3 keeps a few inline tags.
_INLINE = MarkdownIt("commonmark", {"html": False})
_INLINE_TAGS = {"code", "em", "strong", "a", "br", "s", "del", "sub", "sup"}


def inline_html(text: str | None) -> str:
    """One line of markdown (`code`, **bold**) as safe HTML; everything else is escaped."""
    if not text:
        return ""
    return nh3.clean(
        _INLINE.renderInline(text),
        tags=_INLINE_TAGS,
        attributes={"a": {"href", "title"}},
        link_rel="noopener noreferrer",
    )


def ms_until(moment: datetime | None, now: datetime | None = None) -> int | None:
    if moment is None:
        return None
    return max(0, int(((moment - (now or utcnow())).total_seconds()) * 1000))


def public_question(quiz_id: int, index: int) -> dict[str, Any]:
    """A question as shown before its reveal, with its markdown and code rendered once."""
    entry = cached(quiz_id)
    view = entry.views.get(("public", index))
    if view is None:
        question = entry.bank.questions[index]
        view = question_public(question)
        view["index"] = index
        view["count"] = len(entry.bank.questions)
        view["text_html"] = str(render_markdown(question.text))
        view["code_html"] = str(render_code(question.code)) if question.code else ""
        view["choices"] = [{**c, "text_html": inline_html(c["text"])} for c in view["choices"]]
        entry.views[("public", index)] = view
    return view


def revealed_question(quiz_id: int, index: int) -> dict[str, Any]:
    entry = cached(quiz_id)
    view = entry.views.get(("reveal", index))
    if view is None:
        question = entry.bank.questions[index]
        view = question_reveal(question)
        view["explanation_html"] = str(render_markdown(question.explanation))
        view["answer_text_html"] = inline_html(view["answer_text"])
        entry.views[("reveal", index)] = view
    return view


def distribution(game: Game, index: int) -> tuple[list[dict[str, Any]], int]:
    """How the counted answers to question `index` split, and how many players answered."""
    question = bank_for(game.quiz_id).questions[index]
    rows = db.session.execute(
        select(Answer.answer, Answer.correct).where(
            Answer.game_id == game.id, Answer.question_index == index, Answer.counted
        )
    ).all()
    return split_answers(question, rows), len(rows)


def split_answers(question, rows) -> list[dict[str, Any]]:
    if question.kind in CHOICE_KINDS:
        counts: Counter[str] = Counter()
        for answer, _ in rows:
            for choice in answer if isinstance(answer, list) else [answer]:
                counts[str(choice).lower() if isinstance(choice, bool) else choice] += 1
        return [
            {
                "id": c.id,
                "text": c.text,
                "text_html": inline_html(c.text),
                "count": counts.get(c.id, 0),
                "correct": c.correct,
            }
            for c in question.choices
        ]
    right = sum(1 for _, correct in rows if correct)
    return [
        {
            "id": "correct",
            "text": "Correct",
            "text_html": "Correct",
            "count": right,
            "correct": True,
        },
        {
            "id": "wrong",
            "text": "Not correct",
            "text_html": "Not correct",
            "count": len(rows) - right,
            "correct": False,
        },
    ]


# ---- standings ---------------------------------------------------------------


_STANDINGS = (
    select(
        Player.id, Player.nickname, Player.score, Player.correct, Player.prev_rank, Player.streak
    )
    .where(Player.game_id == bindparam("game_id"), Player.kicked.is_(False))
    .order_by(Player.score.desc(), Player.id)
)
_TOP = _STANDINGS.limit(bindparam("limit"))


def standings(game_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Active players by score, with competition ranks (1, 1, 3) and the rank before the last reveal.

    With `limit`, only the first rows: their ranks are still right, as every
    higher score is among them.
    """
    query, params = (_STANDINGS, {}) if limit is None else (_TOP, {"limit": limit})
    out: list[dict[str, Any]] = []
    rank = 0
    last_score = None
    for i, r in enumerate(db.session.execute(query, {"game_id": game_id, **params}), start=1):
        if r.score != last_score:
            rank, last_score = i, r.score
        out.append(
            {
                "rank": rank,
                "player_id": r.id,
                "nickname": r.nickname,
                "score": r.score,
                "correct_answers": r.correct,
                "prev_rank": r.prev_rank,
                "streak": r.streak,
            }
        )
    return out


def rank_of(game_id: int, score: int) -> int:
    return counts(game_id, score)[1] + 1


def player_count(game_id: int) -> int:
    return counts(game_id)[0]


_ACTIVE = (Player.game_id == bindparam("game_id"), Player.kicked.is_(False))
_COUNT = select(func.count(Player.id)).where(*_ACTIVE)
_COUNT_ABOVE = select(
    func.count(Player.id), func.count(Player.id).filter(Player.score > bindparam("score"))
).where(*_ACTIVE)


def counts(game_id: int, score: int | None = None) -> tuple[int, int]:
    """Active players, and how many of them score more than `score`, in one query."""
    if score is None:
        return int(db.session.execute(_COUNT, {"game_id": game_id}).scalar_one()), 0
    total, above = db.session.execute(_COUNT_ABOVE, {"game_id": game_id, "score": score}).one()
    return int(total), int(above)


def me_view(game: Game, player: Player, rank: int | None = None) -> dict[str, Any]:
    return {
        "id": player.id,
        "nickname": player.nickname,
        "score": player.score,
        "rank": rank if rank is not None else rank_of(game.id, player.score),
        "prev_rank": player.prev_rank,
        "streak": player.streak,
        "correct_answers": player.correct,
        "position": player.position,
        "finished": player.finished_at is not None,
    }


def answer_result(row: Answer | None) -> dict[str, Any]:
    """A player's own result for one question, shown once it is revealed to them."""
    if row is None:
        return {"answered": False, "correct": False, "points": 0, "bonus": 0}
    return {
        "answered": True,
        "answer": row.answer,
        "correct": row.correct,
        "fraction": row.fraction,
        "points": row.points,
        "bonus": row.bonus,
        "time_s": round(row.elapsed_ms / 1000, 2),
    }


_ANSWER_OF = select(Answer).where(
    Answer.player_id == bindparam("player_id"), Answer.question_index == bindparam("index")
)


def _answer_of(player_id: int, index: int) -> Answer | None:
    return db.session.scalar(_ANSWER_OF, {"player_id": player_id, "index": index})


# ---- snapshots ---------------------------------------------------------------


def options_view(game: Game) -> dict[str, Any]:
    return {
        "locked": game.locked,
        "allow_late_join": game.allow_late_join,
        "streak_bonus": game.streak_bonus,
        "accuracy_first": game.accuracy_first,
        "window_s": game.window_s,
    }


def base_state(
    game: Game, *, digest: str | None = None, players: int | None = None
) -> dict[str, Any]:
    """The state everyone may see: phase, the open question (public view), top scores."""
    bank = cached(game.quiz_id, digest).bank
    now = utcnow()
    state: dict[str, Any] = {
        "pin": game.pin,
        "game_id": game.id,
        "mode": game.mode,
        "phase": game.phase,
        "seq": game.seq,
        "title": bank.title,
        "quiz": bank.slug,
        "question_index": game.question_index,
        "question_count": len(bank.questions),
        "question": None,
        "remaining_ms": None,
        "options": options_view(game),
        "player_count": player_count(game.id) if players is None else players,
        "grace_ms": int(NETWORK_GRACE_S * 1000),
    }
    if game.mode == "host" and game.phase in ("question", "reveal", "standings"):
        state["question"] = public_question(game.quiz_id, game.question_index)
    if game.mode == "host" and game.phase == "question":
        state["remaining_ms"] = ms_until(game.question_deadline, now)
    if game.mode == "host" and game.phase in ("reveal", "standings"):
        dist, answered = distribution(game, game.question_index)
        state["reveal"] = revealed_question(game.quiz_id, game.question_index)
        state["distribution"] = dist
        state["answered"] = answered
    if game.mode == "self" and game.phase == "running":
        state["window_remaining_ms"] = ms_until(game.ends_at, now)
    board = standings(game.id, limit=TOP_N)  # not the whole list: every phone gets this
    state["top"] = board
    if game.phase == "ended":
        state["podium"] = board[:3]
    return state


def player_state(game: Game, player: Player, digest: str | None = None) -> dict[str, Any]:
    """A player's snapshot: the shared state, their own score and rank, their own answer."""
    total, better = counts(game.id, player.score)
    state = base_state(game, digest=digest, players=total)
    state["me"] = me_view(game, player, rank=better + 1)
    if game.mode == "host" and game.question_index >= 0 and game.phase != "lobby":
        row = _answer_of(player.id, game.question_index)
        if game.phase == "question":  # their own answer only: nothing about the key
            state["my_answer"] = (
                {"answered": True, "answer": row.answer} if row is not None else {"answered": False}
            )
        elif game.phase in ("reveal", "standings"):
            state["my_answer"] = answer_result(row)
    if game.mode == "self" and game.phase in ("running", "ended"):
        state.update(self_paced_view(game, player))
    return state


def self_paced_view(game: Game, player: Player) -> dict[str, Any]:
    """Where a self-paced player is: their question, its time left, or their result on it."""
    count = len(bank_for(game.quiz_id).questions)
    position = player.position
    view: dict[str, Any] = {"position": position, "question_count": count}
    if not 0 <= position < count or game.phase != "running":
        view["question"] = None
        return view
    view["question"] = public_question(game.quiz_id, position)
    limit = view["question"]["time_limit"]
    opened = deadline = None
    if player.position_opened_at is not None:
        opened = player.position_opened_at.timestamp()
        deadline = opened + limit
    now = utcnow().timestamp()
    row = _answer_of(player.id, position)
    closed = opened is not None and is_late(now - opened, limit)
    if row is not None or closed:
        view["my_answer"] = answer_result(row)
        view["reveal"] = revealed_question(game.quiz_id, position)
        view["remaining_ms"] = 0
    else:
        view["my_answer"] = {"answered": False}
        view["remaining_ms"] = max(0, int((deadline - now) * 1000)) if deadline else None
    return view


def host_state(game: Game, *, lists: bool = True) -> dict[str, Any]:
    """The host's snapshot: everything public plus the players and live counters.

    `lists=False` leaves out the full player and score lists outside the lobby
    and the podium: the answer to a host's click then costs little, as it comes
    while the new question is going out to every phone.
    """
    state = base_state(game)
    if lists or game.phase in ("lobby", "ended"):
        board = standings(game.id)
        state["players"] = [{"id": r["player_id"], "nickname": r["nickname"]} for r in board]
        state["scores"] = board
    if game.mode == "host" and game.phase == "question":
        state["answered"] = answered_count(game.id, game.question_index)
    if game.mode == "self":
        state["progress"] = progress(game)
    return state


def public_state(game: Game, *, player: Player | None = None) -> dict[str, Any]:
    """GET /state: {phase, question, players, scores, ...}; with a player token, also `me`."""
    state = player_state(game, player) if player is not None else base_state(game)
    board = standings(game.id)
    state["players"] = [{"id": r["player_id"], "nickname": r["nickname"]} for r in board]
    state["scores"] = [
        {k: r[k] for k in ("rank", "player_id", "nickname", "score", "prev_rank")} for r in board
    ]
    return state


def answered_count(game_id: int, index: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(Answer.id)).where(
                Answer.game_id == game_id, Answer.question_index == index
            )
        )
        or 0
    )


def progress(game: Game) -> list[dict[str, Any]]:
    """Self-paced: every player's position, answers and score, for the host's live table."""
    answered = dict(
        db.session.execute(
            select(Answer.player_id, func.count(Answer.id))
            .where(Answer.game_id == game.id)
            .group_by(Answer.player_id)
        ).all()
    )
    where = {
        pid: (pos, fin is not None)
        for pid, pos, fin in db.session.execute(
            select(Player.id, Player.position, Player.finished_at).where(Player.game_id == game.id)
        ).all()
    }
    out = []
    for r in standings(game.id):
        position, finished = where.get(r["player_id"], (-1, False))
        out.append(
            {
                "player_id": r["player_id"],
                "nickname": r["nickname"],
                "rank": r["rank"],
                "score": r["score"],
                "correct_answers": r["correct_answers"],
                "answered": answered.get(r["player_id"], 0),
                "position": position,
                "finished": finished,
            }
        )
    return out


# ---- per-client event filters -----------------------------------------------------


class PlayerFilter:
    """An SSE transform for one player: drops others' kicks and results, and stale phases.

    `floor` is the seq of the snapshot the stream started with; a phase event
    up to it (replayed after a reconnect) would only rewind the screen.
    """

    def __init__(self, player_id: int) -> None:
        self.player_id = player_id
        self.key = str(player_id)
        self.floor = 0

    def __call__(self, event) -> tuple[str, Any] | None:
        data = event.data
        if event.type == "kicked":
            return ("kicked", data) if data.get("player_id") == self.player_id else None
        if _stale(event.type, data, self.floor):
            return None
        if "results" in data:
            mine = data["results"].get(self.key)
            data = {k: v for k, v in data.items() if k != "results"}
            data["me"] = mine
        return event.type, data


class HostFilter:
    """The host's stream: everything on the host channel but stale phases."""

    def __init__(self) -> None:
        self.floor = 0

    def __call__(self, event) -> tuple[str, Any] | None:
        if _stale(event.type, event.data, self.floor):
            return None
        return event.type, event.data


PHASE_EVENTS = frozenset({"question", "reveal", "standings", "running", "ended"})


def _stale(kind: str, data: dict[str, Any], floor: int) -> bool:
    """A phase event the snapshot already showed (or an older one), or a counter from before it."""
    seq = data.get("seq", floor)
    return seq <= floor if kind in PHASE_EVENTS else seq < floor
