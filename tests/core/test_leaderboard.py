"""Standings: sum of best scores; ties go to who reached the score first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.models.user import User
from server.services.grading.results import record_result


def _graded(app, username: str, exercise: Exercise, score: float, minutes_ago: float) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        sub = Submission(
            user_id=user.id,
            exercise_id=exercise.id,
            exercise_version=1,
            kind="answer",
            answer="x",
            variant={},
            status="queued",
            max_score=exercise.points,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        db.session.add(sub)
        db.session.commit()
        record_result(sub.id, {"score": score, "max_score": exercise.points, "tests": []})


def test_sum_of_best_and_ties(seeded, make_user, client):
    for name in ("ann", "ben", "cat"):
        make_user(name)
    with seeded.app_context():
        exs = db.session.scalars(select(Exercise).where(Exercise.kind == "answer").limit(2)).all()
        for ex in exs:
            db.session.expunge(ex)
    a, b = exs
    _graded(seeded, "ann", a, a.points, minutes_ago=10)
    _graded(seeded, "ann", a, 0, minutes_ago=5)  # a worse later attempt changes nothing
    _graded(seeded, "ben", a, a.points, minutes_ago=20)  # same total, reached earlier
    _graded(seeded, "cat", a, a.points, minutes_ago=30)
    _graded(seeded, "cat", b, b.points, minutes_ago=1)
    rows = client.get("/api/leaderboard").get_json()
    assert [r["username"] for r in rows] == ["cat", "ben", "ann"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["score"] == a.points + b.points
    assert rows[1]["score"] == rows[2]["score"] == a.points
    page = client.get("/leaderboard").get_data(as_text=True)
    assert page.index("cat") < page.index("ben") < page.index("ann")


def test_leaderboard_events_stream_standings(seeded, make_user, client, sse):
    make_user("ann")
    assert sse(client, "/api/leaderboard/events").next("standings").data == []
