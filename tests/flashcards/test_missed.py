"""The "missed in games" deck: what a member misses in a game comes back as cards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models.deck import Deck


@pytest.fixture
def app(make_app, clock, trivia_dir):
    """The flashcards app, with game timers off: the test's host decides when questions close."""
    return make_app(FLASHCARDS_CLOCK=clock, TRIVIA_DIR=str(trivia_dir), GAME_TIMERS=False)


@pytest.fixture
def mini_quiz(app):
    """The test folder's "mini" bank seeded as a game quiz; returns the Quiz id."""
    from server.services.games import banks as game_banks

    with app.app_context():
        game_banks.seed_quizzes(compute=False, log=lambda *_: None, folder=app.config["TRIVIA_DIR"])
        return game_banks.quiz_by_slug("mini").id


def _missed(decks: list[dict]) -> dict:
    return next(d for d in decks if d["kind"] == "missed")


def _play(host, member, answers: dict[str, str]) -> None:
    """One host-paced game of the mini bank; the member answers each question as given."""
    res = host.post("/api/games", json={"quiz": "mini", "mode": "host"})
    assert res.status_code == 201, res.get_json()
    pin = res.get_json()["pin"]
    res = member.post(f"/api/games/{pin}/join", json={"nickname": "Alice"})
    assert res.status_code == 201, res.get_json()
    token = res.get_json()["player_token"]
    assert host.post(f"/api/games/{pin}/start").status_code == 200
    for number, (question, answer) in enumerate(answers.items()):
        if number:  # reveal -> standings -> the next question
            assert host.post(f"/api/games/{pin}/next").status_code == 200
            assert host.post(f"/api/games/{pin}/next").status_code == 200
        body = {"player_token": token, "question": question, "answer": answer}
        res = member.post(f"/api/games/{pin}/answers", json=body)
        assert res.status_code < 300, res.get_json()
        assert host.post(f"/api/games/{pin}/reveal").status_code == 200  # settles: misses kept
    assert host.post(f"/api/games/{pin}/end").status_code == 200


def test_a_question_missed_in_games_becomes_one_card(app, api, mini_quiz):
    """The real path: the game's reveal keeps the miss, the deck list cards it, once."""
    from server.models.game import Game, MissedQuestion
    from server.models.user import User

    alice = api("alice")
    host = api("host", role="instructor")
    _play(host, alice, {"why-tokenize": "a", "print-index": "2"})  # right, then wrong
    deck = _missed(alice.get("/api/decks").get_json())
    assert deck["cards"] == 1 and deck["due"]["new"] == 1
    first = alice.get(f"/api/decks/{deck['id']}/cards").get_json()["cards"]
    # Missed again in a second game: still the one card.
    _play(host, alice, {"why-tokenize": "a", "print-index": "3"})
    again = alice.get(f"/api/decks/{deck['id']}/cards").get_json()["cards"]
    assert len(first) == 1 and [c["id"] for c in again] == [first[0]["id"]]
    # Misses of a question or bank that is gone since the game make no card.
    with app.app_context():
        alice_id = db.session.scalar(select(User.id).where(User.username == "alice"))
        game_id = db.session.scalar(select(Game.id).limit(1))
        for slug, qid in [("mini", "no-such-question"), ("no-such-bank", "x")]:
            db.session.add(
                MissedQuestion(user_id=alice_id, quiz_slug=slug, question_id=qid, game_id=game_id)
            )
        db.session.commit()
    assert _missed(alice.get("/api/decks").get_json())["cards"] == 1
    card = alice.get(f"/api/decks/{deck['id']}/next").get_json()
    assert card["front"].startswith("What does this print?")
    assert card["back"].startswith("**1**") and "OOV token" in card["back"]
    assert "mini" in card["tags"]


def test_missed_question_rows_become_cards(app, api, make_user):
    from server.models.game import Game, MissedQuestion
    from server.services.games import banks as game_banks

    alice = api("alice")
    bob = api("bob")
    host = make_user("host", role="instructor")
    with app.app_context():
        from server.models.user import User

        alice_id = db.session.scalar(select(User.id).where(User.username == "alice"))
        game_banks.seed_quizzes(compute=False, log=lambda *_: None, folder=app.config["TRIVIA_DIR"])
        quiz = game_banks.quiz_by_slug("mini")
        games = [
            Game(pin=f"12345{i}", quiz_id=quiz.id, host_id=host, host_token_hash=f"{i}" * 64)
            for i in range(2)
        ]
        db.session.add_all(games)
        db.session.flush()
        for game, qid in [
            (games[0], "why-tokenize"),
            (games[0], "print-index"),
            (games[1], "why-tokenize"),
        ]:
            db.session.add(
                MissedQuestion(user_id=alice_id, quiz_slug="mini", question_id=qid, game_id=game.id)
            )
        db.session.commit()
    deck = _missed(alice.get("/api/decks").get_json())
    assert deck["cards"] == 2 and deck["due"]["new"] == 2  # one card per question, not per miss
    fronts = {
        c["front"].splitlines()[0]
        for c in alice.get(f"/api/decks/{deck['id']}/cards").get_json()["cards"]
    }
    assert fronts == {"Why do we tokenize text?", "What does this print?"}
    assert _missed(bob.get("/api/decks").get_json())["cards"] == 0
    assert alice.get(f"/api/decks/{deck['id']}/next").status_code == 200
    assert bob.get(f"/api/decks/{deck['id']}/next").status_code == 404
    # Listing again adds nothing twice.
    assert _missed(alice.get("/api/decks").get_json())["cards"] == 2
    with app.app_context():
        assert (
            db.session.scalar(
                select(db.func.count()).select_from(Deck).where(Deck.kind == "missed")
            )
            == 2
        )
