"""Live boards: a graded submission, a finished game or new weights reach open streams within a second."""

from __future__ import annotations

import time

from server.extensions import db
from server.models.game import Player
from server.models.user import User
from server.services.games import service
from server.services.instructor import leaderboard
from tests.instructor.conftest import add_exercise, graded, user_id
from tests.instructor.test_standings import add_game


def test_a_graded_submission_moves_the_board_within_a_second(people, client, sse):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    b = add_exercise(app, "ex-b", points=2)
    graded(app, "ann", a, 2, minutes_ago=10)
    graded(app, "ben", a, 1, minutes_ago=10)
    stream = sse(client, "/api/leaderboard/events")
    first = stream.next("standings").data
    assert [(r["username"], r["movement"]) for r in first] == [("ann", None), ("ben", None)]
    started = time.monotonic()
    graded(app, "ben", b, 2)
    rows = stream.next("standings", timeout=1.0).data
    assert time.monotonic() - started < 1.0
    assert [(r["username"], r["rank"], r["movement"]) for r in rows] == [
        ("ben", 1, 1),
        ("ann", 2, -1),
    ]
    graded(app, "cat", b, 1)  # a newcomer: no previous rank
    rows = stream.next("standings", timeout=1.0).data
    assert [(r["username"], r["movement"]) for r in rows] == [("ben", 0), ("ann", 0), ("cat", None)]


def test_per_exercise_stream_and_projector_names(people, client, sse):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    stream = sse(client, "/api/leaderboard/events?board=exercise:ex-a&projector=1")
    assert stream.next("standings").data == []
    graded(app, "cat", a, 2)
    rows = stream.next("standings", timeout=1.0).data
    assert [r["name"] for r in rows] == ["cat"] and "username" not in rows[0]
    assert client.get("/api/leaderboard/events?board=exercise:nope").status_code == 404


def test_a_finished_game_moves_the_overall_board(people, client, sse):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    graded(app, "ann", a, 2, minutes_ago=5)
    add_game(app, "teach", {"x": (None, 1)})  # makes the quiz the new game uses
    with app.app_context():
        game, _ = service.create_game(user_id(app, "teach"), "t-quiz")
        db.session.add(
            Player(
                game_id=game.id,
                nickname="Benny",
                nickname_key="benny",
                token_hash="b" * 64,
                user_id=user_id(app, "ben"),
                score=900,
            )
        )
        db.session.commit()
        game_id = game.id
    stream = sse(client, "/api/leaderboard/events")
    assert [r["username"] for r in stream.next("standings").data] == ["ann"]  # the game is still on
    started = time.monotonic()
    with app.app_context():
        service.end(service.find_game(game.pin, game_id))
    rows = stream.next("standings", timeout=1.0).data
    assert time.monotonic() - started < 1.0
    # 900 trivia points at the default weight 0.01 beat ann's 2 exercise points
    assert [(r["username"], r["score"], r["movement"]) for r in rows] == [
        ("ben", 9.0, None),
        ("ann", 2.0, -1),
    ]


def test_new_weights_redraw_open_boards(people, client, sse):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    graded(app, "ann", a, 2)
    add_game(app, "teach", {"Ben": ("ben", 100)})
    stream = sse(client, "/api/leaderboard/events")
    assert [r["username"] for r in stream.next("standings").data] == ["ann", "ben"]
    with app.app_context():
        leaderboard.set_weights(db.session.get(User, user_id(app, "teach")), exercises=1, trivia=1)
    rows = stream.next("standings", timeout=1.0).data
    assert [(r["username"], r["score"], r["movement"]) for r in rows] == [
        ("ben", 100.0, 1),
        ("ann", 2.0, -1),
    ]
