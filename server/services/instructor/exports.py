"""Exports for spreadsheets: the gradebook (members × exercises) as CSV."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from server.extensions import db
from server.models.exercise import Exercise
from server.models.submission import BestScore
from server.models.user import User
from server.services.instructor import leaderboard

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula (display names are member-chosen)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def gradebook_csv() -> str:
    """One row per member, one column per active exercise (best score, blank if never scored)."""
    exercises = list(
        db.session.scalars(
            select(Exercise)
            .where(Exercise.active.is_(True))
            .order_by(Exercise.week, Exercise.position, Exercise.slug)
        )
    )
    best: dict[tuple[int, int], float] = {
        (u, e): s
        for u, e, s in db.session.execute(
            select(BestScore.user_id, BestScore.exercise_id, BestScore.score)
        )
    }
    trivia = {uid: points for uid, (points, _) in leaderboard.trivia_by_member().items()}
    overall = {row["user_id"]: row for row in leaderboard.standings()}
    users = db.session.scalars(
        select(User).where(User.role == "member").order_by(func.lower(User.username))
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "username",
            "display_name",
            *[e.slug for e in exercises],
            "exercise_total",
            "trivia",
            "overall",
            "rank",
        ]
    )
    max_row = [
        "",
        "(max points)",
        *[_number(e.points) for e in exercises],
        _number(sum(e.points for e in exercises)),
        "",
        "",
        "",
    ]
    writer.writerow(max_row)
    for user in users:
        scores = [best.get((user.id, e.id)) for e in exercises]
        standing = overall.get(user.id)
        writer.writerow(
            [
                _cell(user.username),
                _cell(user.display_name),
                *[_number(s) for s in scores],
                _number(sum(s for s in scores if s is not None)),
                _number(trivia.get(user.id, 0.0)),
                _number(standing["score"] if standing else 0.0),
                standing["rank"] if standing else "",
            ]
        )
    return out.getvalue()
