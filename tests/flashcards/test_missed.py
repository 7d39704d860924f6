"""The "missed in games" deck: the game-service hook and the MissedQuestion rows both fill it."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models.deck import Card, Deck


def _missed(decks: list[dict]) -> dict:
    return next(d for d in decks if d["kind"] == "missed")


def test_add_missed_card_is_idempotent_and_shows_in_the_deck(app, api, make_user):
    client = api("alice")
    from server.models.user import User
    from server.services import flashcards

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "alice"))
        first = flashcards.add_missed_card(uid, "mini", "print-index")
        again = flashcards.add_missed_card(uid, "mini", "print-index")
        assert first is not None and again.id == first.id
        assert flashcards.add_missed_card(uid, "mini", "no-such-question") is None
        assert flashcards.add_missed_card(uid, "no-such-bank", "x") is None
        assert db.session.scalar(select(db.func.count()).select_from(Card)) == 1
    deck = _missed(client.get("/api/decks").get_json())
    assert deck["cards"] == 1 and deck["due"]["new"] == 1
    card = client.get(f"/api/decks/{deck['id']}/next").get_json()
    assert card["front"].startswith("What does this print?")
    assert card["back"].startswith("**1**") and "OOV token" in card["back"]
    assert "mini" in card["tags"]


def test_missed_question_rows_become_cards(app, api, make_user):
    from server.models.game import Game, MissedQuestion
    from server.services import game_banks

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
