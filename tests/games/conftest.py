"""Games fixtures: an app without background timers, a small bank of every kind, a host."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from server.extensions import db
from server.models.base import utcnow
from server.models.game import Game

BANK = """
slug: mini-game
title: Mini game
description: One question of each kind, for the games tests.
questions:
  - id: tokenize
    kind: single
    text: Why do we **tokenize** text?
    choices:
      - {id: a, text: Models need numbers, correct: true}
      - {id: b, text: To translate it}
      - {id: c, text: To compress it}
      - {id: d, text: To remove stop words}
    explanation: SECRET-EXPLANATION-1 a Tokenizer turns words into numbers.
  - id: levels
    kind: multi
    text: Which levels can a tokenizer split text at?
    choices:
      - {id: a, text: Characters, correct: true}
      - {id: b, text: Words, correct: true}
      - {id: c, text: Paragraphs}
    explanation: SECRET-EXPLANATION-2 characters and words (and subwords).
  - id: oov
    kind: truefalse
    text: The OOV token gets index 1.
    answer: true
    explanation: SECRET-EXPLANATION-3 index 0 is padding.
  - id: params
    kind: numeric
    text: How many parameters has Embedding(1000, 16)?
    value: 16000
    explanation: SECRET-EXPLANATION-4 1000 x 16.
  - id: pad
    kind: type
    text: Which function pads sequences?
    accepted: [pad_sequences]
    explanation: SECRET-EXPLANATION-5 from keras.
"""

KEYS = {
    "tokenize": "a",
    "levels": ["a", "b"],
    "oov": "true",
    "params": 16000,
    "pad": "pad_sequences",
}
WRONG = {"tokenize": "b", "levels": ["c"], "oov": "false", "params": 1, "pad": "padding"}


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "trivia"
    folder.mkdir()
    (folder / "mini-game.yaml").write_text(BANK)
    return folder


@pytest.fixture
def app(make_app):
    """Timers off and host counters sent at once: tests decide when time passes."""
    return make_app(GAME_TIMERS=False, GAME_COALESCE_S=0, GAME_JOIN_RATE_LIMIT="10000 per minute")


@pytest.fixture
def quiz(app, bank_dir) -> str:
    from server.services.games import banks

    with app.app_context():
        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=bank_dir)
    return "mini-game"


@pytest.fixture
def host(api):
    return api("host", role="instructor")


class Play:
    """A small driver for one game through the public API."""

    def __init__(self, app, client, host, pin: str) -> None:
        self.app = app
        self.client = client
        self.host = host
        self.pin = pin

    def join(self, nickname: str, **extra):
        return self.client.post(f"/api/games/{self.pin}/join", json={"nickname": nickname, **extra})

    def player(self, nickname: str) -> dict:
        res = self.join(nickname)
        assert res.status_code == 201, res.get_json()
        return res.get_json()

    def act(self, action: str, **body):
        return self.host.post(f"/api/games/{self.pin}/{action}", json=body or None)

    def answer(self, player: dict, question: str, answer):
        return self.client.post(
            f"/api/games/{self.pin}/answers",
            json={"player_token": player["player_token"], "question": question, "answer": answer},
        )

    def state(self, player: dict | None = None) -> dict:
        q = f"?token={player['player_token']}" if player else ""
        res = self.client.get(f"/api/games/{self.pin}/state{q}")
        assert res.status_code == 200
        return res.get_json()

    def host_state(self) -> dict:
        return self.host.get(f"/api/games/{self.pin}/state").get_json()

    def expire_question(self, seconds_ago: float = 5.0) -> None:
        """Move the open question's deadline into the past, as if time had run out."""
        with self.app.app_context():
            game = db.session.scalar(select(Game).where(Game.live_pin == self.pin))
            shift = game.question_deadline - utcnow() + timedelta(seconds=seconds_ago)
            db.session.execute(
                update(Game)
                .where(Game.id == game.id)
                .values(
                    question_opened_at=game.question_opened_at - shift,
                    question_deadline=game.question_deadline - shift,
                )
            )
            db.session.commit()


@pytest.fixture
def new_game(app, client, host, quiz):
    def factory(mode: str = "host", **options) -> Play:
        res = host.post("/api/games", json={"quiz": quiz, "mode": mode, **options})
        assert res.status_code == 201, res.get_json()
        play = Play(app, client, host, res.get_json()["pin"])
        play.created = res.get_json()
        return play

    return factory


@pytest.fixture
def live(app):
    """The test's app behind a real threaded HTTP server (for Server-Sent Events)."""
    from tests.browser_support import live_server

    with live_server(app) as base:
        yield base


def find_keys(value, names: set[str], path: str = "") -> list[str]:
    """Paths of every dict key in `names` anywhere inside a JSON value."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in names:
                found.append(f"{path}.{k}")
            found.extend(find_keys(v, names, f"{path}.{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(find_keys(v, names, f"{path}[{i}]"))
    return found


def quizmaster_app(make_app, folder: Path, slug: str, bank: str):
    """An app with one bank and the instructor "quizmaster", for the browser tests."""
    from server.services import accounts
    from server.services.games import banks
    from tests.conftest import PASSWORD

    app = make_app(GAME_COALESCE_S=0, GAME_JOIN_RATE_LIMIT="1000 per minute")
    folder.mkdir()
    (folder / f"{slug}.yaml").write_text(bank)
    with app.app_context():
        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=folder)
        accounts.create_user("quizmaster", PASSWORD, role="instructor")
    return app


def log_in_quizmaster(browser, base: str, viewport: dict):
    """A page of a new browser context, logged in as the quizmaster."""
    import re

    from tests.conftest import PASSWORD

    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "quizmaster")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*(?<!/login)$"))
    return page


def submit_join(page, pin: str, nickname: str) -> None:
    """On /play: send the join form and wait for the lobby."""
    page.fill("input[name=pin]", pin)
    page.fill("input[name=nickname]", nickname)
    page.click("form#join-form button")
    page.wait_for_url(f"**/play/{pin}")
    page.wait_for_selector("#v-wait:not([hidden])")
