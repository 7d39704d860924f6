"""Settling scores: a host-paced question at its reveal, and the final ranks at the end.

Points are computed when an answer arrives (graders.trivia.score_answer,
stamped with the server's clock) but only added to the players' scores here,
at the reveal, so no score moves while a question is open. Missed questions
of logged-in players are recorded for their flashcards at the same moment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from server.extensions import db
from server.models.base import utcnow
from server.models.game import Answer, Game, MissedQuestion, Player
from server.services.games.banks import bank_for


def competition_ranks(scores: dict[int, int]) -> dict[int, int]:
    """Rank by score, ties share a rank (1, 1, 3); ids break nothing, they only order the list."""
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    ranks: dict[int, int] = {}
    last = None
    rank = 0
    for i, (pid, score) in enumerate(ordered, start=1):
        if score != last:
            rank, last = i, score
        ranks[pid] = rank
    return ranks


def settle_question(game: Game, index: int) -> dict[str, dict[str, Any]]:
    """Add question `index`'s counted answers to the scores, inside the caller's transaction.

    Returns each active player's result by player id (as a string, the
    JSON key): their points, new score, rank and rank before the question.
    """
    question = bank_for(game.quiz_id).questions[index]
    answers = {
        a.player_id: a
        for a in db.session.scalars(
            select(Answer).where(
                Answer.game_id == game.id, Answer.question_index == index, Answer.counted
            )
        )
    }
    players = db.session.execute(
        select(Player.id, Player.score, Player.streak, Player.correct, Player.user_id).where(
            Player.game_id == game.id, Player.kicked.is_(False)
        )
    ).all()
    before = competition_ranks({p.id: p.score for p in players})
    rows: dict[int, dict[str, Any]] = {}
    for p in players:
        a = answers.get(p.id)
        if a is not None:
            rows[p.id] = {
                "id": p.id,
                "score": p.score + a.points + a.bonus,
                "streak": a.streak,
                "correct": p.correct + int(a.correct),
            }
        else:
            streak = p.streak if question.points == 0 else 0
            rows[p.id] = {"id": p.id, "score": p.score, "streak": streak, "correct": p.correct}
    after = competition_ranks({pid: r["score"] for pid, r in rows.items()})
    for pid, r in rows.items():
        r["rank"] = after[pid]
        r["prev_rank"] = before[pid]
    if rows:
        db.session.execute(update(Player), list(rows.values()))
    record_missed(
        game,
        question.id,
        [p.user_id for p in players if p.user_id and not _right(answers.get(p.id))],
    )
    results: dict[str, dict[str, Any]] = {}
    for pid, r in rows.items():
        a = answers.get(pid)
        results[str(pid)] = {
            "answered": a is not None,
            "correct": bool(a and a.correct),
            "fraction": a.fraction if a else 0.0,
            "points": a.points if a else 0,
            "bonus": a.bonus if a else 0,
            "score": r["score"],
            "streak": r["streak"],
            "rank": r["rank"],
            "prev_rank": r["prev_rank"],
        }
    return results


def _right(answer: Answer | None) -> bool:
    return answer is not None and answer.correct


def record_missed(game: Game, question_id: str, user_ids: list[int]) -> None:
    """Keep a MissedQuestion per logged-in player who missed; the flashcards area reads them."""
    wanted = set(user_ids)
    if not wanted:
        return
    have = set(
        db.session.scalars(
            select(MissedQuestion.user_id).where(
                MissedQuestion.game_id == game.id, MissedQuestion.question_id == question_id
            )
        )
    )
    slug = bank_for(game.quiz_id).slug
    now = utcnow()
    for user_id in sorted(wanted - have):
        db.session.add(
            MissedQuestion(
                user_id=user_id,
                quiz_slug=slug,
                question_id=question_id,
                game_id=game.id,
                missed_at=now,
            )
        )


def final_ranks(game: Game) -> dict[str, dict[str, Any]]:
    """Store every active player's final rank; returns {player id: {rank, score, correct}}."""
    players = db.session.execute(
        select(Player.id, Player.score, Player.correct).where(
            Player.game_id == game.id, Player.kicked.is_(False)
        )
    ).all()
    ranks = competition_ranks({p.id: p.score for p in players})
    if players:
        db.session.execute(update(Player), [{"id": p.id, "rank": ranks[p.id]} for p in players])
    return {
        str(p.id): {"rank": ranks[p.id], "score": p.score, "correct_answers": p.correct}
        for p in players
    }
