"""The bus's one interface (head, since) on both logs, and the caches that stamp with it: the
overall board and the exercise statistics stay cached and catch up per change on the table log
and on Redis alike (they used to read the table directly and quietly stopped caching on Redis).
"""

from __future__ import annotations

import uuid

import pytest

from server.services import live
from server.services.instructor import leaderboard
from server.services.instructor import stats as instructor_stats
from server.services.live import channels
from tests.instructor.conftest import add_exercise, graded

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["table", "redis"])
def app(request, make_app, monkeypatch):
    if request.param == "table":
        return make_app()
    monkeypatch.setenv("ADVENTURES_QUEUE", f"test-bus-{uuid.uuid4().hex[:8]}")  # its own stream
    made = make_app(REDIS_URL=REDIS)
    assert type(made.extensions["adventures.bus"].log).__name__ == "RedisLog"
    return made


def test_head_and_since_read_one_channel_after_an_id(app):
    with app.app_context():
        bus = live.bus()
        start = bus.head()
        live.publish(channels.submission(1), "status", {"n": 1})
        live.publish(channels.LEADERBOARD, "changed", {"n": 2})
        live.publish_many(
            [(channels.submission(2), "graded", {"n": 3}), channels.board_changed(x=4)]
        )
        assert bus.head() != start
        board = bus.since(channels.LEADERBOARD, start)
        assert [e.data for e in board] == [{"n": 2}, {"x": 4}]
        assert [e.data["n"] for e in bus.since(channels.SUBMISSION_PREFIX, start, prefix=True)] == [
            1,
            3,
        ]
        assert bus.since(channels.submission(1), start)[0].type == "status"
        assert bus.since(channels.LEADERBOARD, board[0].id) == board[1:]
        assert bus.since(channels.LEADERBOARD, board[-1].id) == []
        assert len(bus.since(channels.SUBMISSION_PREFIX, start, prefix=True, limit=1)) == 1


def test_the_overall_board_stays_cached_and_catches_up(people, monkeypatch):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    graded(app, "ann", a, 1)
    full = []
    counted = leaderboard._all_tallies
    monkeypatch.setattr(leaderboard, "_all_tallies", lambda w: full.append(1) or counted(w))
    with app.app_context():
        assert [r["username"] for r in leaderboard.standings()] == ["ann"]
        assert leaderboard.standings()[0]["score"] == 1
    graded(app, "ben", a, 2)  # one board event: only ben's total is read again
    with app.app_context():
        rows = leaderboard.standings()
    assert [(r["username"], r["score"]) for r in rows] == [("ben", 2), ("ann", 1)]
    assert len(full) == 1  # built once, then caught up from the bus


def test_exercise_statistics_stay_cached_and_catch_up(people, monkeypatch):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    graded(app, "ann", a, 1)
    everything = []
    counts = instructor_stats._counts
    monkeypatch.setattr(
        instructor_stats, "_counts", lambda ids: everything.append(ids) or counts(ids)
    )
    with app.app_context():
        assert instructor_stats.overview()[0]["attempts"] == 1
        assert instructor_stats.overview()[0]["attempts"] == 1
    graded(app, "ben", a, 2)
    with app.app_context():
        assert instructor_stats.overview()[0]["attempts"] == 2
    assert everything[0] is None and all(ids is not None for ids in everything[1:])
