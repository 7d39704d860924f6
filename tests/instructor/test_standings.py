"""Boards: overall (weighted exercises + trivia), per exercise, per game, per meetup event; ties go to who got there first."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.game import Answer, Game, Player, Quiz
from server.models.submission import Submission
from server.models.user import User
from server.services.instructor import leaderboard
from tests.instructor.conftest import add_exercise, graded, user_id


def add_game(
    app,
    host: str,
    players: dict[str, tuple[str | None, int]],
    *,
    ended: bool = True,
    ended_minutes_ago: float = 0,
) -> int:
    """A game with players {nickname: (username or None, score)}; each scored at a distinct time."""
    with app.app_context():
        quiz = db.session.query(Quiz).filter_by(slug="t-quiz").first()
        if quiz is None:
            quiz = Quiz(
                slug="t-quiz",
                version=1,
                content_hash="h",
                title="Test quiz",
                bank={},
                question_count=1,
            )
            db.session.add(quiz)
            db.session.flush()
        now = utcnow()
        game = Game(
            pin=f"{abs(hash((host, tuple(players)))) % 900000 + 100000}",
            quiz_id=quiz.id,
            host_id=user_id(app, host),
            host_token_hash=hashlib.sha256(repr(players).encode()).hexdigest(),
            phase="ended" if ended else "question",
            ended_at=now - timedelta(minutes=ended_minutes_ago) if ended else None,
        )
        db.session.add(game)
        db.session.flush()
        for i, (nick, (username, score)) in enumerate(players.items()):
            player = Player(
                game_id=game.id,
                nickname=nick,
                nickname_key=nick.lower(),
                token_hash=hashlib.sha256(f"{game.id}{nick}".encode()).hexdigest(),
                user_id=user_id(app, username) if username else None,
                score=score,
            )
            db.session.add(player)
            db.session.flush()
            db.session.add(
                Answer(
                    game_id=game.id,
                    player_id=player.id,
                    question_index=0,
                    question_id="q1",
                    answer="a",
                    received_at=now - timedelta(seconds=60 - i),
                    elapsed_ms=1000 + i,
                    correct=score > 0,
                    points=score,
                )
            )
        db.session.commit()
        return game.id


def names(rows):
    return [r["username"] for r in rows]


def test_overall_sums_best_scores_and_ties_go_to_the_earliest(people, client):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    b = add_exercise(app, "ex-b", points=3)
    graded(app, "ann", a, 2, minutes_ago=10)
    graded(app, "ann", a, 0, minutes_ago=5)  # a worse later attempt changes nothing
    graded(app, "ben", a, 2, minutes_ago=20)  # same total as ann, reached earlier
    graded(app, "cat", a, 1, minutes_ago=30)
    graded(app, "cat", b, 3, minutes_ago=1)
    rows = client.get("/api/leaderboard").get_json()
    assert names(rows) == ["cat", "ben", "ann"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["score"] == 4 and rows[0]["solved"] == 1 and rows[0]["exercises"] == 4
    assert rows[1]["score"] == rows[2]["score"] == 2
    # ann improves on b later than everyone: she passes ben only by points, not by time
    graded(app, "ann", b, 1, minutes_ago=0)
    assert names(client.get("/api/leaderboard").get_json()) == ["cat", "ann", "ben"]


def test_retired_exercises_do_not_count(people, client):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    b = add_exercise(app, "ex-b", points=5)
    graded(app, "ann", a, 2)
    graded(app, "ben", b, 5)
    with app.app_context():
        db.session.get(Exercise, b).active = False
        db.session.commit()
    assert names(client.get("/api/leaderboard").get_json()) == ["ann"]


def test_per_exercise_board(people, client):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    graded(app, "ann", a, 2, minutes_ago=3)
    graded(app, "ben", a, 2, minutes_ago=9)
    graded(app, "cat", a, 1, minutes_ago=30)
    rows = client.get("/api/leaderboard/exercises/ex-a").get_json()
    assert names(rows) == ["ben", "ann", "cat"]
    assert [r["solved"] for r in rows] == [1, 1, 0]
    assert client.get("/api/leaderboard/exercises/nope").status_code == 404
    page = client.get("/leaderboard/exercises/ex-a").get_data(as_text=True)
    assert page.index("ben") < page.index("ann") < page.index("cat")


def test_trivia_points_join_the_overall_board_with_weights(people, client, make_user):
    app = people
    a = add_exercise(app, "ex-a", points=10)
    graded(app, "ann", a, 10, minutes_ago=60)
    graded(app, "ben", a, 5, minutes_ago=60)
    add_game(
        app,
        "teach",
        {"Benny": ("ben", 800), "Guest": (None, 5000), "Cat": ("cat", 300)},
        ended_minutes_ago=1,
    )
    add_game(app, "teach", {"Ann": ("ann", 9999)}, ended=False)  # still running: not counted
    with app.app_context():
        default = leaderboard.standings()
    # default weights: 0.01 per trivia point -> ben 5 + 8 = 13 beats ann's 10
    assert [(r["username"], r["score"]) for r in default] == [
        ("ben", 13.0),
        ("ann", 10.0),
        ("cat", 3.0),
    ]
    assert default[0]["trivia"] == 800 and default[0]["exercises"] == 5
    with app.app_context():
        leaderboard.set_weights(
            db.session.get(User, user_id(app, "teach")), exercises=2.0, trivia=0.0
        )
    rows = client.get("/api/leaderboard").get_json()
    assert [(r["username"], r["score"]) for r in rows] == [("ann", 20.0), ("ben", 10.0)]
    with app.app_context():
        leaderboard.set_weights(
            db.session.get(User, user_id(app, "teach")), exercises=0.0, trivia=1.0
        )
    rows = client.get("/api/leaderboard").get_json()
    assert [(r["username"], r["score"]) for r in rows] == [("ben", 800.0), ("cat", 300.0)]


def test_weights_api_validates_and_audits(people, teacher, client):
    res = teacher.post("/api/instructor/weights", json={"exercises": 1, "trivia": -1})
    assert res.status_code == 400 and "trivia" in res.get_json()["message"]
    res = teacher.post("/api/instructor/weights", json={"exercises": 1.5, "trivia": 0.5})
    assert res.status_code == 200 and res.get_json() == {"exercises": 1.5, "trivia": 0.5}
    assert teacher.get("/api/instructor/weights").get_json() == {"exercises": 1.5, "trivia": 0.5}
    log = teacher.get("/api/instructor/audit").get_json()
    assert log[0]["action"] == "weights" and log[0]["detail"]["to"] == {
        "exercises": 1.5,
        "trivia": 0.5,
    }


def test_game_board_ranks_players_and_ties_by_first_to_score(people, client):
    app = people
    game = add_game(app, "teach", {"Zed": (None, 500), "Amy": ("ann", 500), "Bo": ("ben", 900)})
    rows = client.get(f"/api/leaderboard/games/{game}").get_json()
    # Zed and Amy tie at 500; Zed's scoring answer came first (see add_game)
    assert [r["name"] for r in rows] == ["Bo", "Zed", "Amy"]
    assert rows[1]["user_id"] is None and rows[2]["user_id"] == user_id(app, "ann")
    assert client.get("/api/leaderboard/games/999999").status_code == 404
    assert "Zed" in client.get(f"/leaderboard/games/{game}").get_data(as_text=True)


def test_meetup_event_board_counts_its_window_exercises_and_games(people, teacher, client):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    b = add_exercise(app, "ex-b", points=2)
    other = add_exercise(app, "ex-other", points=50)
    graded(app, "ann", a, 2, minutes_ago=300)  # before the event: not counted
    graded(app, "ann", a, 1, minutes_ago=50)
    graded(app, "ben", a, 2, minutes_ago=40)
    graded(app, "ben", b, 1, minutes_ago=30)
    graded(app, "cat", other, 50, minutes_ago=20)  # not an event exercise
    graded(app, "cat", a, 2, minutes_ago=10)
    in_game = add_game(app, "teach", {"Ann": ("ann", 300), "Cat": ("cat", 100)})
    add_game(app, "teach", {"Ben": ("ben", 10000)})  # not part of the event
    now = utcnow()
    res = teacher.post(
        "/api/instructor/events",
        json={
            "title": "Meetup #7",
            "starts_at": (now - timedelta(minutes=120)).isoformat(),
            "ends_at": (now + timedelta(minutes=60)).isoformat(),
            "exercises": ["ex-a", "ex-b"],
            "games": [in_game],
            "trivia_weight": 0.01,
        },
    )
    assert res.status_code == 201, res.get_json()
    event = res.get_json()
    assert event["exercises"] == ["ex-a", "ex-b"] and event["games"] == [in_game] and event["live"]
    rows = client.get(f"/api/leaderboard/meetups/{event['id']}").get_json()
    # ben 2 + 1 = 3; cat 2 + 1 = 3 (reached later than ben); ann 1 + 3 = 4
    assert [(r["username"], r["score"]) for r in rows] == [("ann", 4.0), ("ben", 3.0), ("cat", 3.0)]
    page = client.get(f"/leaderboard/meetups/{event['id']}").get_data(as_text=True)
    assert "Meetup #7" in page
    bad = teacher.post(
        "/api/instructor/events",
        json={
            "title": "x",
            "starts_at": now.isoformat(),
            "ends_at": now.isoformat(),
            "exercises": [],
        },
    )
    assert bad.status_code == 400 and "ends_at" in bad.get_json()["message"]
    bad = teacher.post(
        "/api/instructor/events",
        json={
            "title": "x",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "exercises": ["nope"],
        },
    )
    assert bad.status_code == 400 and "nope" in bad.get_json()["message"]
    # replace, then delete
    res = teacher.client.put(
        f"/api/instructor/events/{event['id']}",
        json={
            **{k: event[k] for k in ("title", "starts_at", "ends_at")},
            "exercises": ["ex-b"],
            "games": [],
        },
        headers={"Authorization": f"Bearer {teacher.token}"},
    )
    assert res.status_code == 200 and res.get_json()["exercises"] == ["ex-b"]
    assert [
        r["username"] for r in client.get(f"/api/leaderboard/meetups/{event['id']}").get_json()
    ] == ["ben"]
    res = teacher.client.delete(
        f"/api/instructor/events/{event['id']}",
        headers={"Authorization": f"Bearer {teacher.token}"},
    )
    assert res.status_code == 204
    assert client.get(f"/api/leaderboard/meetups/{event['id']}").status_code == 404


def test_projector_view_shows_display_names_only(people, client):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    with app.app_context():
        db.session.get(User, user_id(app, "ann")).display_name = "Annie Hall"
        db.session.commit()
    graded(app, "ann", a, 2)
    page = client.get("/leaderboard?projector=1").get_data(as_text=True)
    assert "Annie Hall" in page
    assert "ann<" not in page and "@ann" not in page and 'class="nav"' not in page
    normal = client.get("/leaderboard").get_data(as_text=True)
    assert 'class="nav"' in normal and "Projector view" in normal


def test_boards_index(people, client):
    add_exercise(people, "ex-a")
    boards = client.get("/api/leaderboard/boards").get_json()
    assert boards["overall"] == "/leaderboard"
    assert boards["exercises"][0]["url"] == "/leaderboard/exercises/ex-a"


def test_the_cached_board_follows_every_change_exactly(people, client, monkeypatch):
    """The overall board is cached and caught up member by member; it must always equal a
    board computed from scratch (overrides lowering scores included)."""
    import random

    from server.services.instructor.scores import override

    caught_up = []
    real = leaderboard._catch_up
    monkeypatch.setattr(
        leaderboard, "_catch_up", lambda *a: caught_up.append(real(*a)) or caught_up[-1]
    )
    app = people
    rng = random.Random(5)
    exercises = [add_exercise(app, f"ex-{i}", points=1 + i) for i in range(3)]
    members = ["ann", "ben", "cat"]
    subs = []
    for step in range(25):
        who, ex = rng.choice(members), rng.choice(exercises)
        with app.app_context():
            points = db.session.get(Exercise, ex).points
        if subs and step % 5 == 4:
            with app.app_context():
                sub = db.session.get(Submission, rng.choice(subs))
                override(db.session.get(User, user_id(app, "teach")), sub, 0.0, "spot check")
        else:
            subs.append(
                graded(
                    app,
                    who,
                    ex,
                    rng.choice([0, points / 2, points]),
                    minutes_ago=rng.uniform(0, 60),
                )
            )
        cached = client.get("/api/leaderboard").get_json()
        with app.app_context():
            fresh = leaderboard.standings(weights_=leaderboard.weights())
        assert cached == fresh, step
    # every change was applied member by member, none needed a full recompute
    assert len(caught_up) >= 10 and all(caught_up)


def test_a_display_name_change_reaches_the_cached_board(people, client, monkeypatch):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    graded(app, "ann", a, 2)
    assert client.get("/api/leaderboard").get_json()[0]["name"] == "ann"
    with app.app_context():
        db.session.get(User, user_id(app, "ann")).display_name = "Ann the Bold"
        db.session.commit()
    assert client.get("/api/leaderboard").get_json()[0]["name"] == "ann"  # cached a while
    monkeypatch.setattr(leaderboard, "CACHE_TTL_S", 0.0)
    assert client.get("/api/leaderboard").get_json()[0]["name"] == "Ann the Bold"


def test_long_boards_draw_the_top_rows_first(people, client, monkeypatch):
    from server.routes import leaderboard as routes

    app = people
    a = add_exercise(app, "ex-a", points=2)
    graded(app, "ann", a, 2)
    graded(app, "ben", a, 1)
    monkeypatch.setattr(routes, "PAGE_ROWS", 1)
    page = client.get("/leaderboard").get_data(as_text=True)
    assert "ann" in page and ">ben<" not in page and "The top 1 of 2" in page
    everyone = client.get("/leaderboard?all=1").get_data(as_text=True)
    assert ">ben<" in everyone and "Show everyone" not in everyone
