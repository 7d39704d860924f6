"""Shared decks: seeded from the trivia banks and the exercises, refreshed in place, retired."""

from __future__ import annotations

from sqlalchemy import func, select

from server.extensions import db
from server.models.deck import Card, CardState, Deck, Review
from tests.flashcards.conftest import BANK

EXERCISE_SPEC = {
    "slug": "embedding-params",
    "title": "Embedding parameters",
    "kind": "answer",
    "week": 2,
    "points": 1,
    "prompt": "How many parameters has `Embedding({{vocab}}, 16)`?",
    "code": "layer = Embedding({{vocab}}, 16)",
    "tags": ["embedding"],
    "answer": {
        "reference": "reference.answers:embedding_params",
        "params": {"vocab": 10000},
        "compare": "int",
        "format": "an integer",
        "hint": "vocabulary times dimensions",
    },
}


def _bank_deck(app) -> Deck:
    with app.app_context():
        return db.session.scalar(select(Deck).where(Deck.key == "bank:mini"))


def test_seeding_is_idempotent(app, seed_decks):
    first = seed_decks()
    assert (first.decks, first.added) == (2, 2)
    second = seed_decks()
    assert (second.added, second.updated, second.retired) == (0, 0, 0)


def test_reseed_updates_in_place_and_retires_removed_questions(app, api, seed_decks, trivia_dir):
    seed_decks()
    client = api("alice")
    deck_id = _bank_deck(app).id
    for _ in range(2):  # alice studies both cards
        card = client.get(f"/api/decks/{deck_id}/next").get_json()
        client.post(f"/api/cards/{card['id']}/reviews", json={"rating": "easy"})
    head, _sep, _tail = BANK.partition("  - id: print-index")
    (trivia_dir / "mini.yaml").write_text(
        head.replace("Why do we tokenize text?", "Why tokenize at all?")
    )
    report = seed_decks()
    assert (report.updated, report.retired) == (1, 1)
    with app.app_context():
        cards = {
            c.source: c for c in db.session.scalars(select(Card).where(Card.deck_id == deck_id))
        }
        assert (
            cards["why-tokenize"].front == "Why tokenize at all?"
            and not cards["why-tokenize"].retired
        )
        assert cards["print-index"].retired
        states = db.session.scalars(select(CardState.card_id)).all()
        assert states == [cards["why-tokenize"].id]  # the kept card keeps alice's memory
        assert db.session.scalar(select(func.count()).select_from(Review)) == 2  # history stays
    deck = next(d for d in client.get("/api/decks").get_json() if d["id"] == deck_id)
    assert deck["cards"] == 1


def test_removed_bank_retires_its_deck(app, api, seed_decks, trivia_dir):
    seed_decks()
    (trivia_dir / "mini.yaml").unlink()
    kinds = [d["kind"] for d in api("alice").get("/api/decks").get_json()]
    assert "bank" not in kinds


def test_bank_decks_follow_the_games_seeded_banks(app, api, trivia_dir):
    """A numeric key computed by the games' seed shows up on the card; file-only banks skip it."""
    from server.services.games import banks as game_banks

    extra = BANK.replace("slug: mini", "slug: nums").replace("title: Mini bank", "title: Numbers")
    extra += """
  - id: embedding-params
    kind: numeric
    text: How many parameters has Embedding(1000, 16)?
    key_from:
      target: reference.answers:embedding_params
      kwargs: {input_dim: 1000, output_dim: 16}
"""
    (trivia_dir / "nums.yaml").write_text(extra)
    client = api("alice")
    decks = {d["title"]: d for d in client.get("/api/decks").get_json()}
    assert decks["Numbers"]["cards"] == 2  # not computed yet: that question waits
    with app.app_context():
        game_banks.seed_quizzes(
            log=lambda *_: None,
            folder=trivia_dir,
            resolver=lambda target, kwargs: kwargs["input_dim"] * kwargs["output_dim"],
        )
    decks = {d["title"]: d for d in client.get("/api/decks").get_json()}
    assert decks["Numbers"]["cards"] == 3
    cards = client.get(f"/api/decks/{decks['Numbers']['id']}/cards").get_json()["cards"]
    assert cards[-1]["back"] == "**16,000**"


def test_facts_deck_from_computed_reference_values(app, api, seed_decks):
    from graders import codec
    from server.models.exercise import Exercise, ReferenceValue
    from server.services import exercises

    with app.app_context():
        computed = Exercise(
            slug="embedding-params",
            title="Embedding parameters",
            kind="answer",
            week=2,
            points=1,
            spec=EXERCISE_SPEC,
            content_hash="x",
        )
        waiting = Exercise(
            slug="waiting",
            title="Not computed",
            kind="answer",
            week=2,
            points=1,
            content_hash="y",
            spec={
                **EXERCISE_SPEC,
                "slug": "waiting",
                "answer": {**EXERCISE_SPEC["answer"], "params": {"vocab": 7}},
            },
        )
        db.session.add_all([computed, waiting])
        db.session.flush()
        key, _ = exercises.reference_key(computed, exercises.variant_of(computed, None))
        db.session.add(ReferenceValue(key=key, value=codec.dumps(160000)))
        db.session.commit()
    report = seed_decks()
    assert report.skipped == ["waiting"]
    client = api("alice")
    facts = next(d for d in client.get("/api/decks").get_json() if d["kind"] == "facts")
    cards = client.get(f"/api/decks/{facts['id']}/cards").get_json()["cards"]
    assert len(cards) == 1
    assert cards[0]["front"].startswith("How many parameters has `Embedding(10,000, 16)`?")
    assert "layer = Embedding(10000, 16)" in cards[0]["front"]
    assert cards[0]["back"].startswith("**160,000**")
    assert "/exercises/embedding-params" in cards[0]["back_html"]
    assert cards[0]["tags"] == ["week2", "embedding"]


def test_value_markdown_formats():
    from graders.codec import ModelSummary
    from server.services.flashcards.seed import value_markdown

    assert value_markdown(171533) == "**171,533**"
    assert value_markdown(0.5) == "**0.5**"
    assert value_markdown("<OOV>") == "**\\<OOV\\>**"
    assert value_markdown({"i": 1, "love": 2}) == "```python\n{'i': 1, 'love': 2}\n```"
    summary = ModelSummary(
        params=1200, trainable_params=1200, layers=("Embedding", "Dense"), output_shape=(None, 1)
    )
    assert (
        value_markdown(summary) == "**1,200** parameters (Embedding, Dense; output shape (None, 1))"
    )
