"""Reviews at fixed times land exactly where FSRS itself schedules the same sequence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import fsrs
import pytest

from tests.flashcards.conftest import T0

RATING = {
    "again": fsrs.Rating.Again,
    "hard": fsrs.Rating.Hard,
    "good": fsrs.Rating.Good,
    "easy": fsrs.Rating.Easy,
}

# (time after T0, rating): learning steps, graduation, multi-day reviews (fuzzed), a lapse.
SEQUENCE = [
    (timedelta(0), "good"),
    (timedelta(minutes=11), "good"),
    (timedelta(days=3), "good"),
    (timedelta(days=12), "hard"),
    (timedelta(days=30), "easy"),
    (timedelta(days=120), "again"),
    (timedelta(days=120, minutes=12), "good"),
    (timedelta(days=125), "good"),
]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def drive(own_deck, clock, retention: float, username: str = "alice"):
    client, deck_id, (card_id, *_) = own_deck(1, username)
    if retention != 0.9:
        res = client.post(
            "/api/flashcards/settings",
            json={"desired_retention": retention, "new_cards_per_day": 20},
        )
        assert res.status_code == 200
    scheduler = fsrs.Scheduler(desired_retention=retention)
    ref = fsrs.Card(card_id=card_id)
    seen = []
    for i, (offset, rating) in enumerate(SEQUENCE):
        moment = T0 + offset
        clock.set(moment)
        random.seed(1000 + i)  # the same fuzz draw on both sides
        res = client.post(f"/api/cards/{card_id}/reviews", json={"rating": rating})
        assert res.status_code == 200, res.get_json()
        random.seed(1000 + i)
        ref, _ = scheduler.review_card(ref, RATING[rating], moment)
        body = res.get_json()
        assert parse(body["due"]) == ref.due, (i, rating)
        assert body["state"] == ref.state.name.lower()
        assert body["stability"] == pytest.approx(ref.stability)
        assert body["difficulty"] == pytest.approx(ref.difficulty)
        seen.append(ref.due - moment)
    return seen, client, card_id


def test_due_dates_match_fsrs_for_the_same_sequence(own_deck, clock):
    intervals, client, card_id = drive(own_deck, clock, 0.9)
    # The sequence really went through learning, multi-day (fuzzed) reviews and a lapse.
    assert intervals[0] == timedelta(minutes=10)
    assert max(intervals) > timedelta(days=30)
    assert intervals[5] == timedelta(minutes=10)  # relearning step after "again"
    res = client.post(f"/api/cards/{card_id}/reviews", json={"rating": "good"})
    assert res.get_json()["reps"] == len(SEQUENCE) + 1
    assert res.get_json()["lapses"] == 1


def test_desired_retention_changes_intervals_as_fsrs_does(own_deck, clock):
    low, *_ = drive(own_deck, clock, 0.80, "low")
    high, *_ = drive(own_deck, clock, 0.97, "high")
    assert low[4] > high[4] * 2  # 80 % retention waits much longer than 97 %


def test_review_log_keeps_every_rating(app, own_deck, clock):
    client, deck_id, (card_id, *_) = own_deck(1)
    for rating in ("again", "hard", "good"):
        clock.advance(minutes=2)
        assert (
            client.post(f"/api/cards/{card_id}/reviews", json={"rating": rating}).status_code == 200
        )
    from sqlalchemy import select

    from server.extensions import db
    from server.models.deck import Review

    with app.app_context():
        rows = db.session.scalars(select(Review).order_by(Review.id)).all()
        assert [r.rating for r in rows] == [1, 2, 3]
        assert [r.state_before for r in rows] == [0, 1, 1]
        assert rows[0].reviewed_at == T0 + timedelta(minutes=2)
        assert rows[0].reviewed_at.tzinfo is not None


def test_daily_new_card_limit(own_deck, clock, app):
    client, deck_id, ids = own_deck(5)
    res = client.post(
        "/api/flashcards/settings", json={"desired_retention": 0.9, "new_cards_per_day": 3}
    )
    assert res.status_code == 200
    decks = {d["id"]: d for d in client.get("/api/decks").get_json()}
    assert decks[deck_id]["due"] == {"new": 3, "learning": 0, "review": 0}
    studied = []
    for _ in range(3):
        card = client.get(f"/api/decks/{deck_id}/next").get_json()
        assert card["state"] == "new"
        studied.append(card["id"])
        assert (
            client.post(f"/api/cards/{card['id']}/reviews", json={"rating": "easy"}).status_code
            == 200
        )
    assert studied == ids[:3]  # new cards come in the order they were added
    assert client.get(f"/api/decks/{deck_id}/next").status_code == 204
    decks = {d["id"]: d for d in client.get("/api/decks").get_json()}
    assert decks[deck_id]["due"] == {"new": 0, "learning": 0, "review": 0}
    # A new UTC day brings a fresh allowance (2 new cards are left).
    clock.set(datetime(2025, 3, 4, 0, 0, 1, tzinfo=UTC))
    decks = {d["id"]: d for d in client.get("/api/decks").get_json()}
    assert decks[deck_id]["due"]["new"] == 2


def test_due_counts_split_new_learning_review(own_deck, clock):
    client, deck_id, ids = own_deck(4)
    client.post(f"/api/cards/{ids[0]}/reviews", json={"rating": "again"})  # learning, 1 min
    client.post(f"/api/cards/{ids[1]}/reviews", json={"rating": "easy"})  # review, days
    counts = client.get(f"/api/decks/{deck_id}/next").get_json()["counts"]
    assert counts == {"new": 2, "learning": 1, "review": 0}
    clock.advance(days=60)
    deck = next(d for d in client.get("/api/decks").get_json() if d["id"] == deck_id)
    assert deck["due"] == {"new": 2, "learning": 1, "review": 1}
    # Due learning first, then due reviews, then new cards.
    order = []
    for _ in range(3):
        card = client.get(f"/api/decks/{deck_id}/next").get_json()
        order.append((card["id"], card["state"]))
        client.post(f"/api/cards/{card['id']}/reviews", json={"rating": "easy"})
    assert order == [(ids[0], "learning"), (ids[1], "review"), (ids[2], "new")]


def test_learning_card_shown_ahead_when_nothing_else_is_due(own_deck, clock):
    client, deck_id, (card_id,) = own_deck(1)
    res = client.post(f"/api/cards/{card_id}/reviews", json={"rating": "good"})
    assert parse(res.get_json()["due"]) == T0 + timedelta(minutes=10)
    card = client.get(f"/api/decks/{deck_id}/next").get_json()
    assert card["id"] == card_id and card["state"] == "learning"
    assert set(card["intervals"]) == {"again", "hard", "good", "easy"}
    assert card["intervals"]["again"] < card["intervals"]["easy"]
    client.post(f"/api/cards/{card_id}/reviews", json={"rating": "good"})
    assert client.get(f"/api/decks/{deck_id}/next").status_code == 204


@pytest.mark.parametrize("value", [0.79, 0.98, 1.5, -1])
def test_retention_out_of_bounds_is_refused(api, value):
    client = api("bob")
    res = client.post(
        "/api/flashcards/settings", json={"desired_retention": value, "new_cards_per_day": 20}
    )
    assert res.status_code == 400
    assert "desired_retention" in res.get_json()["message"]
    assert client.get("/api/flashcards/settings").get_json()["desired_retention"] == 0.9


@pytest.mark.parametrize("value", [0.80, 0.97])
def test_retention_bounds_are_accepted(api, value):
    client = api("bob")
    res = client.post(
        "/api/flashcards/settings", json={"desired_retention": value, "new_cards_per_day": 5}
    )
    assert res.status_code == 200
    assert res.get_json()["desired_retention"] == value


def test_retention_service_checks_bounds_too(app, make_user):
    from server.extensions import db
    from server.models.user import User
    from server.services.flashcards import base, reviews

    uid = make_user("carol")
    with app.app_context():
        user = db.session.get(User, uid)
        for bad in (0.7999, 0.9701, float("nan")):
            with pytest.raises(base.InvalidInput):
                reviews.update_settings(user, bad, 20)
        with pytest.raises(base.InvalidInput):
            reviews.update_settings(user, 0.9, -1)
        reviews.update_settings(user, 0.85, 7)
        assert (user.desired_retention, user.new_cards_per_day) == (0.85, 7)
