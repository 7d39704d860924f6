"""After the game: the report (JSON and CSV), the history, and missed questions for flashcards."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from server.extensions import db
from server.models.game import MissedQuestion
from server.models.user import User


def _finished_game(new_game, member):
    play = new_game()
    maria = member.post(f"/api/games/{play.pin}/join", json={"nickname": "Maria"}).get_json()
    ann, bob = play.player("Ann"), play.player("=Bob")
    play.act("start")
    play.answer(ann, "tokenize", "a")
    play.answer(bob, "tokenize", "a")
    play.answer(maria, "tokenize", "c")  # Maria misses Q1
    play.act("next")
    play.act("next")
    play.answer(ann, "levels", ["a", "b"])
    play.answer(bob, "levels", ["a"])
    play.act("reveal")  # Maria gave no answer: a miss too
    play.act("end")
    return play, maria


def test_report_per_question_and_per_player(new_game, api, app):
    play, maria = _finished_game(new_game, api("maria"))
    report = play.host.get(f"/api/games/{play.pin}/report").get_json()
    assert report["game"]["phase"] == "ended" and report["game"]["players"] == 3
    q1, q2 = report["questions"][:2]
    assert (q1["answered"], q1["correct"], q1["accuracy"]) == (3, 2, round(2 / 3, 4))
    assert q1["answer_text"] == "Models need numbers" and q1["avg_time_s"] is not None
    assert {d["id"]: d["count"] for d in q1["distribution"]} == {"a": 2, "b": 0, "c": 1, "d": 0}
    assert (q2["answered"], q2["correct"]) == (2, 1)
    assert report["questions"][2]["answered"] == 0  # never played
    people = {p["nickname"]: p for p in report["players"]}
    assert people["Ann"]["rank"] == 1 and people["Ann"]["correct"] == 2
    assert people["Maria"]["member"] is True and people["Maria"]["answered"] == 1
    assert [a["question_id"] for a in people["=Bob"]["answers"]] == ["tokenize", "levels"]

    res = play.host.get(f"/api/games/{play.pin}/report?format=csv")
    assert res.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0][:6] == ["rank", "nickname", "score", "correct", "answered", "avg_time_s"]
    assert rows[1][1] == "Ann" and rows[1][6].startswith("✓")
    assert "'=Bob" in [r[1] for r in rows]  # no formula injection into spreadsheets
    res = play.host.get(f"/api/games/{play.pin}/report?format=csv&table=questions")
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[1][:5] == ["1", "Why do we **tokenize** text?", "single", "3", "2"]


def test_reports_are_for_instructors(new_game, api, client):
    play = new_game()
    play.act("end")
    assert client.get(f"/api/games/{play.pin}/report").status_code == 401
    assert api("member").get(f"/api/games/{play.pin}/report").status_code == 403
    other = api("teacher2", role="instructor")
    assert other.get(f"/api/games/{play.pin}/report").status_code == 200


def test_missed_questions_are_kept_for_flashcards(new_game, api, app):
    member = api("maria")
    play, maria = _finished_game(new_game, member)
    from server.services.games import service

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "maria"))
        missed = service.missed_questions(uid)
        assert [(m["quiz_slug"], m["question_id"]) for m in missed] == [
            ("mini-game", "levels"),
            ("mini-game", "tokenize"),
        ]
        assert all(m["game_id"] == play.created["game_id"] for m in missed)
        # Anonymous players leave no rows; nothing is recorded twice.
        assert db.session.scalar(select(db.func.count()).select_from(MissedQuestion)) == 2
    listed = member.get("/api/games/missed").get_json()
    assert [m["question_id"] for m in listed] == ["levels", "tokenize"]


def test_history_and_report_pages(new_game, auth, client, api):
    play, _ = _finished_game(new_game, api("maria"))
    live = new_game()
    history = play.host.get("/api/games").get_json()
    assert [h["pin"] for h in history] == [live.pin, play.pin]
    assert history[1]["players"] == 3 and history[1]["live"] is False
    auth.login("host")
    page = client.get("/games").get_data(as_text=True)
    assert play.pin in page and f"/games/{live.pin}/host" in page
    report = client.get(f"/games/history/{play.created['game_id']}").get_data(as_text=True)
    assert "Maria" in report and "67%" in report
    # The host page of an ended game leads to its report.
    res = client.get(f"/games/{play.pin}/host")
    assert res.status_code == 302 and "/games/history/" in res.location


def test_pages_need_an_instructor(client, auth, make_user, new_game):
    play = new_game()
    assert client.get("/games/new").status_code == 302  # to log in
    make_user("member")
    auth.login("member")
    assert client.get("/games/new").status_code == 403
    assert client.get(f"/games/{play.pin}/host").status_code == 403
    auth.logout()
    make_user("teacher", role="instructor")
    auth.login("teacher")
    assert client.get(f"/games/{play.pin}/host").status_code == 403  # not their game
    assert client.get("/games/new").status_code == 200
    assert b"Host a new game" in client.get("/play").data


def test_create_a_game_from_the_page(client, auth, make_user, quiz):
    make_user("teach", role="instructor")
    auth.login("teach")
    page = client.get("/games/new").get_data(as_text=True)
    assert "Mini game" in page and "Export CSV" in page
    res = client.post(
        "/games/new",
        data={"quiz": quiz, "mode": "host", "streak_bonus": "on", "allow_late_join": "on"},
    )
    assert res.status_code == 302 and res.location.endswith("/host")
    host = client.get(res.location).get_data(as_text=True)
    assert "<svg" in host and "Start" in host  # the QR code is drawn on the server
