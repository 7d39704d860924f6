"""After the game: per-question and per-player results, as JSON and as CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from graders.trivia import answer_text
from server.extensions import db
from server.markdown import render_code, render_markdown
from server.models.base import utcnow
from server.models.game import Answer, Game, Player
from server.services.games import views
from server.services.games.banks import bank_for


def build_report(game: Game) -> dict[str, Any]:
    """Accuracy and average time per question; score, rank and answers per player.

    A question still open (or skipped) is listed with `counted: false` and no
    key, so a report fetched mid-game leaks nothing either. A question's
    accuracy is over the players `present` for it (see _present_for).
    """
    bank = bank_for(game.quiz_id)
    answers = list(
        db.session.scalars(select(Answer).where(Answer.game_id == game.id).order_by(Answer.id))
    )
    players = list(
        db.session.scalars(
            select(Player).where(Player.game_id == game.id).order_by(Player.score.desc(), Player.id)
        )
    )
    active = [p for p in players if not p.kicked]
    by_question: dict[int, list[Answer]] = defaultdict(list)
    by_player: dict[int, list[Answer]] = defaultdict(list)
    for a in answers:
        if a.counted:
            by_question[a.question_index].append(a)
            by_player[a.player_id].append(a)
    settled = _settled_indexes(game, by_question, len(bank.questions))
    opened = _opened_at(game, answers, len(bank.questions))
    questions = []
    for i, q in enumerate(bank.questions):
        rows = by_question.get(i, []) if i in settled else []
        right = sum(1 for a in rows if a.correct)
        present = len(_present_for(game, active, rows, opened.get(i))) if i in settled else 0
        item: dict[str, Any] = {
            "index": i,
            "id": q.id,
            "kind": q.kind,
            "text": q.text,
            "text_html": str(render_markdown(q.text)),
            "code_html": str(render_code(q.code)) if q.code else "",
            "counted": i in settled,
            "answered": len(rows),
            "correct": right,
            "present": present,
            "accuracy": round(right / present, 4) if present else None,
            "avg_time_s": _avg([a.elapsed_ms / 1000 for a in rows]),
        }
        if i in settled:
            item["answer_text"] = answer_text(q)
            item["answer_text_html"] = views.inline_html(item["answer_text"])
            item["distribution"] = views.split_answers(q, [(a.answer, a.correct) for a in rows])
        questions.append(item)
    board = {r["player_id"]: r["rank"] for r in views.standings(game.id)}
    people = []
    for p in players:
        mine = [a for a in by_player.get(p.id, []) if a.question_index in settled]
        people.append(
            {
                "player_id": p.id,
                "nickname": p.nickname,
                "rank": board.get(p.id),
                "score": p.score,
                "correct": sum(1 for a in mine if a.correct),
                "answered": len(mine),
                "avg_time_s": _avg([a.elapsed_ms / 1000 for a in mine]),
                "kicked": p.kicked,
                "member": p.user_id is not None,
                "answers": [
                    {
                        "question_id": a.question_id,
                        "answer": a.answer,
                        "correct": a.correct,
                        "points": a.points + a.bonus,
                        "time_s": round(a.elapsed_ms / 1000, 2),
                    }
                    for a in sorted(mine, key=lambda a: a.question_index)
                ],
            }
        )
    people.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["nickname"].casefold()))
    return {
        "game": {
            "game_id": game.id,
            "pin": game.pin,
            "quiz": bank.slug,
            "title": bank.title,
            "mode": game.mode,
            "phase": game.phase,
            "options": views.options_view(game),
            "created_at": game.created_at.isoformat(),
            "started_at": game.started_at.isoformat() if game.started_at else None,
            "ended_at": game.ended_at.isoformat() if game.ended_at else None,
            "players": len(active),
        },
        "questions": questions,
        "players": people,
    }


def _opened_at(game: Game, answers: list[Answer], count: int) -> dict[int, datetime]:
    """When each host-paced question opened, as far as the rows tell.

    The game keeps only the open question's time; an earlier one opened at
    (arrival - elapsed) of any answer to it. A question nobody answered gets
    the next known opening (or the end) as an upper bound: its accuracy is 0
    whoever counts as present, unless nobody does.
    """
    if game.mode != "host":
        return {}
    known: dict[int, datetime] = {}
    for a in answers:
        at = a.received_at - timedelta(milliseconds=a.elapsed_ms)
        if a.question_index not in known or at < known[a.question_index]:
            known[a.question_index] = at
    if game.question_opened_at is not None and game.question_index >= 0:
        known[game.question_index] = game.question_opened_at
    later = game.ended_at or utcnow()
    opened: dict[int, datetime] = {}
    for i in reversed(range(count)):
        later = known.get(i, later)
        opened[i] = later
    return opened


def _present_for(
    game: Game, active: list[Player], rows: list[Answer], opened: datetime | None
) -> set[int]:
    """The players a question's accuracy counts: whoever answered it, and every active player
    who could have: in a host-paced game one who had joined when it opened (a late joiner
    never saw the earlier questions); in a self-paced one everybody (each question waits for
    each player until the game ends)."""
    present = {a.player_id for a in rows}
    for p in active:
        if opened is None or game.mode != "host" or p.joined_at <= opened:
            present.add(p.id)
    return present


def _settled_indexes(game: Game, by_question: dict[int, list[Answer]], count: int) -> set[int]:
    """Questions whose answers may be shown: revealed ones (host) or answered ones (self-paced)."""
    if game.mode == "self":
        if game.phase == "ended":  # nobody can answer any more: every key may be shown
            return set(range(count))
        return set(by_question) if game.phase != "lobby" else set()
    if game.phase == "ended":
        last = game.question_index
        return set(range(last + 1))
    if game.phase in ("reveal", "standings"):
        return set(range(game.question_index + 1))
    return set(range(max(0, game.question_index)))


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def report_csv(report: dict[str, Any], table: str = "players") -> str:
    """One table as CSV: players (one column per question) or questions."""
    out = io.StringIO()
    writer = csv.writer(out)
    if table == "questions":
        writer.writerow(["#", "question", "kind", "answered", "correct", "accuracy", "avg_time_s"])
        for q in report["questions"]:
            writer.writerow(
                [
                    q["index"] + 1,
                    q["text"],
                    q["kind"],
                    q["answered"],
                    q["correct"],
                    "" if q["accuracy"] is None else q["accuracy"],
                    "" if q["avg_time_s"] is None else q["avg_time_s"],
                ]
            )
        return out.getvalue()
    ids = [q["id"] for q in report["questions"]]
    writer.writerow(["rank", "nickname", "score", "correct", "answered", "avg_time_s", *ids])
    for p in report["players"]:
        got = {a["question_id"]: a for a in p["answers"]}
        cells = []
        for qid in ids:
            a = got.get(qid)
            cells.append("" if a is None else f"{'✓' if a['correct'] else '✗'} {a['points']}")
        writer.writerow(
            [
                "kicked" if p["kicked"] else p["rank"],
                _safe_cell(p["nickname"]),
                p["score"],
                p["correct"],
                p["answered"],
                "" if p["avg_time_s"] is None else p["avg_time_s"],
                *cells,
            ]
        )
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """Nicknames are typed by anyone: keep a spreadsheet from running one as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
