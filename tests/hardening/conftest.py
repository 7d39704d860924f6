"""Hardening fixtures: a small world (members, an answer exercise whose value is cached, a deck,
a trivia bank and a live game) for hostile-input tests and the schemathesis run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from graders.spec import ExerciseSpec
from server import create_app
from server.extensions import db
from server.models.exercise import Exercise
from server.services import accounts
from server.services.exercises import reference_key, variant_of
from server.services.grading import references
from tests.conftest import PASSWORD, ApiClient, _empty_tables, test_config
from tests.games.conftest import BANK

ANSWER_SLUG = "count-params"
APP_CONFIG = {
    "GAME_TIMERS": False,
    "GAME_COALESCE_S": 0,
    "GAME_JOIN_RATE_LIMIT": "100000 per minute",
    "GAME_ANSWER_RATE_LIMIT": "100000 per 10 seconds",
}


@pytest.fixture
def app(make_app):
    return make_app(**APP_CONFIG)


def add_answer_exercise(app, slug: str = ANSWER_SLUG, value: int = 5) -> None:
    """A param_count exercise (a pasted model.summary() counts) with its value cached, so
    answers are graded inline and nothing imports TensorFlow."""
    spec = {
        "slug": slug,
        "title": f"Exercise {slug}",
        "kind": "answer",
        "week": 1,
        "points": 2.0,
        "prompt": "How many parameters?",
        "answer": {
            "reference": "reference.answers:value_of_nothing",
            "compare": "param_count",
            "format": "a whole number, or a pasted model.summary()",
            "hint": "Count the parameters layer by layer.",
        },
    }
    with app.app_context():
        row = Exercise(
            slug=slug,
            title=spec["title"],
            kind="answer",
            week=1,
            position=0,
            points=2.0,
            spec=ExerciseSpec.model_validate(spec).model_dump(mode="json"),
            content_hash="test",
            version=1,
            active=True,
        )
        db.session.add(row)
        db.session.commit()
        key, _ = reference_key(row, variant_of(row, None))
        references.store(key, value)


def add_bank(app, folder: Path) -> str:
    from server.services.games import banks

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mini-game.yaml").write_text(BANK)
    with app.app_context():
        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=folder)
    return "mini-game"


def token_for(client, username: str) -> str:
    res = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert res.status_code == 200, res.get_json()
    return res.get_json()["token"]


@dataclass
class World:
    app: object
    client: object
    member: ApiClient
    teacher: ApiClient
    deck_id: int
    card_id: int
    pin: str
    player: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)  # path parameters that name things in this world


def build_world(app, client, tmp_path: Path) -> World:
    with app.app_context():
        accounts.create_user("ann", PASSWORD)
        accounts.create_user("teach", PASSWORD, role="instructor")
    member = ApiClient(client, token_for(client, "ann"))
    teacher = ApiClient(client, token_for(client, "teach"))
    add_answer_exercise(app)
    quiz = add_bank(app, tmp_path / "trivia")
    deck = member.post("/api/decks", json={"title": "Mine"}).get_json()
    card = member.post(f"/api/decks/{deck['id']}/cards", json={"front": "Q", "back": "A"})
    game = teacher.post("/api/games", json={"quiz": quiz, "mode": "host"}).get_json()
    player = client.post(f"/api/games/{game['pin']}/join", json={"nickname": "zed"}).get_json()
    answered = member.post(
        f"/api/exercises/{ANSWER_SLUG}/submissions", json={"answer": "Total params: 5"}
    ).get_json()
    ids = {
        "slug": ANSWER_SLUG,
        "pin": game["pin"],
        "game_id": game["game_id"],
        "deck_id": deck["id"],
        "card_id": card.get_json()["id"],
        "submission_id": answered["id"],
        "user_id": 1,
    }
    return World(app, client, member, teacher, deck["id"], ids["card_id"], game["pin"], player, ids)


@pytest.fixture(scope="module")
def world(database_url, _schema, tmp_path_factory) -> World:
    """One world per test module (accounts cost two argon2 hashes each): tests add to it but
    use only its client, so no function-scoped app empties the tables under it."""
    app = create_app(test_config(database_url, **APP_CONFIG))
    try:
        yield build_world(app, app.test_client(), tmp_path_factory.mktemp("world"))
    finally:
        with app.app_context():
            _empty_tables()
            db.session.remove()
            db.engine.dispose()
        app.extensions["adventures.bus"].close()
