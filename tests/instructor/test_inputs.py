"""Hostile input gets a 4xx, never a 500: NUL bytes, ids beyond any integer column, junk bodies."""

from __future__ import annotations

from datetime import timedelta

from server.models.base import utcnow
from tests.instructor.conftest import add_exercise, graded

HUGE = "9" * 25


def test_odd_ids_and_text_are_refused_cleanly(people, teacher, client):
    graded(people, "ann", add_exercise(people, "ex-a"), 1)
    for url, status in (
        ("/api/instructor/submissions?member=%00", 400),
        ("/api/instructor/submissions?exercise=a%00", 400),
        (f"/api/instructor/submissions?member={HUGE}", 404),
        ("/api/instructor/submissions?limit=x&offset=-5", 200),
        (f"/api/instructor/submissions/{HUGE}", 404),
        (f"/api/instructor/submissions/{HUGE}/result.json", 404),
        (f"/api/instructor/regrades/{HUGE}", 404),
        (f"/api/instructor/events/{HUGE}", 404),
        ("/api/instructor/exercises/a%00b", 400),  # bad_text: no path holds a NUL
        ("/api/instructor/exercises/ex-a/similarity", 400),
        (f"/api/leaderboard/games/{HUGE}", 404),
        (f"/api/leaderboard/meetups/{HUGE}", 404),
        ("/api/leaderboard/exercises/a%00b", 400),
        ("/api/leaderboard/events?board=exercise:%00", 400),
        (f"/api/leaderboard/events?board=game:{HUGE}", 404),
        ("/api/leaderboard/events?board=nonsense", 404),
    ):
        res = teacher.get(url)
        assert res.status_code == status, (url, res.status_code)
    assert client.get(f"/leaderboard/games/{HUGE}").status_code == 404
    assert client.get("/leaderboard/exercises/a%00b").status_code == 400


def test_odd_bodies_are_refused_cleanly(people, teacher):
    now = utcnow()
    window = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat()}
    for url, body in (
        ("/api/instructor/events", {"title": "x", **window, "games": [2**40]}),
        ("/api/instructor/events", {"title": "x", **window, "exercises": ["a\x00"]}),
        ("/api/instructor/events", {"title": "\x00", **window}),
        ("/api/instructor/events", {"title": "x", "starts_at": "soon", "ends_at": "later"}),
        ("/api/instructor/weights", {"exercises": "lots", "trivia": 1}),
        ("/api/instructor/weights", {"exercises": 1e400, "trivia": 1}),
        ("/api/instructor/submissions/1/override", {"score": -1, "comment": "x"}),
        ("/api/instructor/submissions/1/override", {"score": 1, "comment": "\x00"}),
        (f"/api/instructor/members/{HUGE}/role", {"role": "member"}),
        ("/api/instructor/members/1/role", {"role": "king"}),
    ):
        res = teacher.post(url, json=body)
        assert 400 <= res.status_code < 500, (url, body, res.status_code)
    assert teacher.post("/api/instructor/weights", data="not json").status_code == 400
