"""Hostile input gets a 4xx naming the problem, never a 500: ids beyond any integer column, JSON
nested a thousand levels deep, NUL bytes and lone surrogates, `false` for a number.

Several of these were 500s only on PostgreSQL (NUL in text, integer out of range); the suite
runs there too with ADVENTURES_TEST_DATABASE_URL (see tests/conftest.py)."""

from __future__ import annotations

import json

import pytest

from server.routes.hardening import MAX_DB_INT, MAX_JSON_DEPTH

HUGE = "9" * 20  # past 2**64: OverflowError on SQLite, "integer out of range" on PostgreSQL
JUST_OVER = str(MAX_DB_INT + 1)


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def _raw_post(client, url: str, text: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(url, data=text, content_type="application/json", headers=headers)


# ---- ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("big", [HUGE, JUST_OVER])
def test_huge_ids_in_paths_are_404(world, big):
    member, teacher = world.member, world.teacher
    for url in (
        f"/api/submissions/{big}",
        f"/api/submissions/{big}/events",
        f"/api/decks/{big}/next",
        f"/api/decks/{big}/cards",
        f"/api/instructor/submissions/{big}",
        f"/api/instructor/regrades/{big}/events",
    ):
        who = teacher if "/instructor/" in url else member
        res = who.get(url)
        assert res.status_code == 404, (url, res.status_code)
        assert res.get_json()["error"] == "not_found"
    res = member.post(f"/api/cards/{big}/reviews", json={"rating": "good"})
    assert res.status_code == 404
    member.client.post("/login", data={"username": "ann", "password": "correct horse battery"})
    for url in (f"/submissions/{big}", f"/submissions/{big}/notebook", f"/flashcards/decks/{big}"):
        assert member.client.get(url).status_code == 404, url


def test_ids_that_fit_still_route(world):
    assert world.member.get(f"/api/submissions/{MAX_DB_INT}").status_code == 404  # none, but asked
    res = world.member.get(f"/api/decks/{world.deck_id}/cards")
    assert res.status_code == 200 and res.get_json()["cards"][0]["front"] == "Q"


def test_huge_game_id_in_the_query_is_refused(world):
    for query in (f"game={HUGE}", f"game={JUST_OVER}", "game=-1", "game=x"):
        res = world.teacher.get(f"/api/games/{world.pin}/state?{query}")
        assert res.status_code == 400, (query, res.get_json())
        assert res.get_json()["message"].startswith("game:")
        res = world.teacher.get(f"/api/games/{world.pin}/report?{query}")
        assert res.status_code == 400, (query, res.get_json())
    assert world.teacher.get(f"/api/games/{world.pin}/state?game=").status_code == 200


def test_huge_ids_in_json_bodies_are_refused(world):
    pin = world.pin
    for player_id in (10**20, 1e20, MAX_DB_INT + 1, False, "1", 1.0):
        res = world.teacher.post(f"/api/games/{pin}/kick", json={"player_id": player_id})
        assert res.status_code == 400, (player_id, res.get_json())
        assert res.get_json()["error"] == "bad_request"
    res = world.teacher.post(f"/api/games/{pin}/kick", json={"player_id": MAX_DB_INT})
    assert res.status_code == 404  # a whole number that fits: no such player


def test_huge_paging_numbers_are_held_in_range(world):
    for query in (f"limit={HUGE}&offset={HUGE}", f"limit=-{HUGE}", "page=" + HUGE):
        res = world.teacher.get(f"/api/instructor/submissions?{query}")
        assert res.status_code == 200, query
    assert world.teacher.get(f"/api/instructor/audit?limit={HUGE}").status_code == 200


# ---- JSON nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [_deep(1000), "[" * 1000 + "]" * 1000, _deep(MAX_JSON_DEPTH + 1)])
def test_deep_json_is_refused_before_parsing(world, text):
    for url, token in (
        ("/api/auth/token", None),  # anonymous
        ("/api/auth/register", None),
        (f"/api/games/{world.pin}/join", None),
        ("/api/decks", world.member.token),  # a member's
        (f"/api/exercises/{'count-params'}/submissions", world.member.token),  # get_json(silent)
        ("/api/instructor/weights", world.teacher.token),
    ):
        res = _raw_post(world.client, url, text, token)
        assert res.status_code == 400, (url, res.status_code)
        body = res.get_json()
        assert body["error"] == "bad_json" and str(MAX_JSON_DEPTH) in body["message"]


def test_json_as_deep_as_allowed_is_parsed(world):
    answer = json.loads(_deep(MAX_JSON_DEPTH - 2))
    res = world.member.post("/api/exercises/count-params/submissions", json={"answer": answer})
    assert res.status_code == 400 and res.get_json()["error"] == "bad_answer"  # read, then judged
    text = json.dumps({"title": "[[{{" * 40})  # brackets inside strings do not count
    assert _raw_post(world.client, "/api/decks", text, world.member.token).status_code == 201


# ---- NUL bytes and lone surrogates ---------------------------------------------------------


def test_lone_surrogate_in_an_answer_is_refused(world):
    client = world.client
    for answer in ("Total params: 5\ud800", ["\udfff"], {"k\ud800": 1}):
        res = world.member.post("/api/exercises/count-params/submissions", json={"answer": answer})
        assert res.status_code == 400, (answer, res.status_code)
        body = res.get_json()
        assert body["error"] == "bad_text" and body["field"].startswith(
            ("answer", "a key in answer")
        )
    token = world.player["player_token"]
    res = client.post(
        f"/api/games/{world.pin}/answers",
        json={"player_token": token, "question": "pad", "answer": "pad\ud800"},
    )
    assert res.status_code == 400 and res.get_json()["field"] == "answer"
    # A surrogate pair written as JSON escapes is one real character, and welcome.
    text = '{"answer": "Total params: 5 \\ud83d\\ude00"}'
    res = _raw_post(
        world.client, "/api/exercises/count-params/submissions", text, world.member.token
    )
    assert res.status_code == 202, res.get_json()


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"])
def test_bad_text_in_json_fields_is_refused(world, bad):
    client = world.client
    cases = [
        (world.member, "/api/decks", {"title": bad}, "title"),
        (world.member, f"/api/decks/{world.deck_id}/cards", {"front": bad, "back": "x"}, "front"),
        (world.member, f"/api/decks/{world.deck_id}/cards", {"front": "x", "back": bad}, "back"),
        (world.teacher, "/api/games", {"quiz": bad}, "quiz"),
        (None, "/api/auth/register", {"username": bad, "password": "pw pw pw pw"}, "username"),
        (None, "/api/auth/token", {"username": bad, "password": "pw pw pw pw"}, "username"),
        (None, f"/api/games/{world.pin}/join", {"nickname": bad}, "nickname"),
        (world.teacher, "/api/instructor/events", {"title": "x", "exercises": [bad]}, None),
    ]
    for who, url, body, field in cases:
        res = (who or world.member).post(url, json=body) if who else client.post(url, json=body)
        assert res.status_code == 400, (url, body, res.status_code)
        doc = res.get_json()
        assert doc["error"] == "bad_text", (url, doc)
        if field:
            assert doc["field"] == field and doc["message"].startswith(f"{field}:")


def test_nul_in_paths_query_and_forms_is_refused(world):
    client = world.client
    for url in (
        "/api/exercises/a%00b",
        "/api/leaderboard/exercises/a%00b",
        f"/api/games/{world.pin}%00/state",
        "/api/quizzes/mini%00game/kahoot.csv",
        "/api/instructor/exercises/a%00b",
    ):
        res = world.teacher.get(url)
        assert res.status_code == 400, (url, res.status_code)
        assert res.get_json()["error"] == "bad_text"
    res = world.teacher.get(f"/api/games/{world.pin}/state?token=a%00b")
    assert res.status_code == 400 and res.get_json()["field"] == "token"
    res = world.teacher.get("/api/instructor/submissions?member=%00")
    assert res.status_code == 400
    # Pages answer the error page; forms are checked when the view reads them.
    assert client.get("/leaderboard/exercises/a%00b").status_code == 400
    res = client.post("/login", data={"username": "ann\x00", "password": "x"})
    assert res.status_code == 400 and b"NUL" in res.data
    res = client.post("/register", data={"username": "bob\x00", "password": "pw pw pw pw"})
    assert res.status_code == 400


def test_nul_in_upload_file_names_and_csv_imports(world):
    import io

    member = world.member
    res = member.client.post(
        f"/api/decks/{world.deck_id}/import",
        data={"file": (io.BytesIO(b"front,back\nQ,A\n"), "cards\x00.csv")},
        headers={"Authorization": f"Bearer {member.token}"},
    )
    assert res.status_code == 400 and res.get_json()["error"] == "bad_text"
    res = member.client.post(
        f"/api/decks/{world.deck_id}/import",
        data=b"front,back\nQ\x00,A\n",
        content_type="text/csv",
        headers={"Authorization": f"Bearer {member.token}"},
    )
    assert res.status_code == 400 and "NUL" in res.get_json()["message"]
    quiz_csv = "Question,Answer 1,Answer 2,Time limit,Correct answer(s)\nWhy\x00?,a,b,20,1\n"
    res = world.teacher.post(
        "/api/quizzes", json={"slug": "nul-quiz", "title": "NUL quiz", "csv": quiz_csv}
    )
    assert res.status_code == 400 and res.get_json()["error"] == "bad_text"


# ---- numbers are numbers --------------------------------------------------------------------


def test_false_is_not_a_number(world):
    member, teacher = world.member, world.teacher
    cases = [
        (
            member,
            "/api/flashcards/settings",
            {"desired_retention": 0.9, "new_cards_per_day": False},
        ),
        (member, "/api/flashcards/settings", {"desired_retention": False, "new_cards_per_day": 5}),
        (member, f"/api/cards/{world.card_id}/reviews", {"rating": "good", "duration_ms": False}),
        (teacher, "/api/instructor/weights", {"exercises": False, "trivia": 1}),
        (teacher, "/api/games", {"quiz": "mini-game", "mode": "self", "window_s": True}),
        (teacher, "/api/games", {"quiz": "mini-game", "streak_bonus": 0}),
    ]
    for who, url, body in cases:
        res = who.post(url, json=body)
        assert res.status_code == 400, (url, body, res.status_code)
        assert res.get_json()["error"] == "bad_request"
    ok = member.post(
        "/api/flashcards/settings", json={"desired_retention": 1, "new_cards_per_day": 5}
    )
    assert ok.status_code == 400  # 1 is a number (out of range), not a type error
    assert "retention" in ok.get_json()["message"]
    ok = member.post(
        "/api/flashcards/settings", json={"desired_retention": 0.9, "new_cards_per_day": 5}
    )
    assert ok.status_code == 200


# ---- methods --------------------------------------------------------------------------------


def test_405_names_the_allowed_methods(world):
    client = world.client
    res = client.delete("/api/decks")
    assert res.status_code == 405
    assert set(res.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert res.get_json()["error"] == "method_not_allowed"
    res = client.put("/login")
    assert res.status_code == 405 and "POST" in res.headers["Allow"]
