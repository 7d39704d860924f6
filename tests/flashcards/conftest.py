"""Flashcard fixtures: an app whose clock the test sets, a small trivia folder, a member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

BANK = """
slug: mini
title: Mini bank
description: Two questions for the flashcard tests.
questions:
  - id: why-tokenize
    kind: single
    tags: [tokenizer]
    text: Why do we tokenize text?
    choices:
      - {id: a, text: Models need numbers, correct: true}
      - {id: b, text: To translate it}
    explanation: A Tokenizer turns words into numbers.
  - id: print-index
    kind: type
    text: What does this print?
    code: |
      print(tokenizer.word_index['<OOV>'])
    accepted: ["1"]
    explanation: The OOV token takes index 1.
"""


class Clock:
    """A settable UTC clock for config FLASHCARDS_CLOCK."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **kw) -> datetime:
        self.now = self.now + timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def trivia_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "trivia"
    folder.mkdir()
    (folder / "mini.yaml").write_text(BANK)
    return folder


@pytest.fixture
def app(make_app, clock, trivia_dir):
    """The app under test, on the test's clock and its own trivia folder."""
    return make_app(FLASHCARDS_CLOCK=clock, TRIVIA_DIR=str(trivia_dir))


@pytest.fixture
def seed_decks(app):
    """Build the shared decks (bank decks from the test folder, the facts deck)."""

    def run():
        from server.services.flashcards import seed

        with app.app_context():
            return seed.seed_decks()

    return run


@pytest.fixture
def own_deck(app, api):
    """A member 'alice' (ApiClient) with an own deck of n cards: returns (client, deck_id, card_ids)."""

    def factory(n: int = 3, username: str = "alice"):
        client = api(username)
        res = client.post("/api/decks", json={"title": "My deck"})
        assert res.status_code == 201, res.get_json()
        deck_id = res.get_json()["id"]
        ids = []
        for i in range(n):
            res = client.post(
                f"/api/decks/{deck_id}/cards",
                json={"front": f"Q{i}", "back": f"A{i}", "tags": "t"},
            )
            assert res.status_code == 201, res.get_json()
            ids.append(res.get_json()["id"])
        return client, deck_id, ids

    return factory
