"""What the screens get from the server: markdown rendered for choices, answers and reports,
plain text for Kahoot, accuracy over the players present, and one game-history page."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from server.services.games import banks

CODE_BANK = """
slug: code-bank
title: Code in choices
questions:
  - id: import-tf
    kind: single
    text: How do you import **TensorFlow** in your Python code?
    choices:
      - {id: a, text: "`import tf from ai`"}
      - {id: b, text: "`import tensorflow as tf`", correct: true}
      - {id: c, text: "<script>alert(1)</script>"}
      - {id: d, text: "1. a list? no, a choice"}
    explanation: Every notebook starts with `import tensorflow as tf`.
  - id: fn
    kind: type
    text: Which function pads sequences?
    accepted: [pad_sequences]
    explanation: "`pad_sequences(seqs, maxlen=5)`"
"""


def _quiet(*_):
    return None


@pytest.fixture
def code_quiz(app, tmp_path: Path) -> str:
    folder = tmp_path / "code-banks"
    folder.mkdir()
    (folder / "code-bank.yaml").write_text(CODE_BANK)
    with app.app_context():
        banks.seed_quizzes(compute=False, log=_quiet, folder=folder)
    return "code-bank"


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_choices_answers_and_bars_carry_rendered_markdown(host, client, code_quiz):
    pin = host.post("/api/games", json={"quiz": code_quiz}).get_json()["pin"]
    token = client.post(f"/api/games/{pin}/join", json={"nickname": "Ann"}).get_json()
    host.post(f"/api/games/{pin}/start")
    q = client.get(f"/api/games/{pin}/state").get_json()["question"]
    choices = {c["id"]: c for c in q["choices"]}
    assert choices["b"]["text"] == "`import tensorflow as tf`"  # the plain field stays
    assert choices["b"]["text_html"] == "<code>import tensorflow as tf</code>"
    assert "`" not in _visible(choices["a"]["text_html"])
    assert (
        "<script" not in choices["c"]["text_html"] and "&lt;script&gt;" in choices["c"]["text_html"]
    )
    assert "<ol" not in choices["d"]["text_html"] and "<li" not in choices["d"]["text_html"]
    client.post(
        f"/api/games/{pin}/answers",
        json={"player_token": token["player_token"], "question": "import-tf", "answer": "b"},
    )
    state = host.get(f"/api/games/{pin}/state").get_json()
    assert state["phase"] == "reveal"
    assert state["reveal"]["answer_text_html"] == "<code>import tensorflow as tf</code>"
    bars = {d["id"]: d for d in state["distribution"]}
    assert bars["b"]["text_html"] == "<code>import tensorflow as tf</code>"
    assert "<code>import tensorflow as tf</code>" in state["reveal"]["explanation_html"]

    host.post(f"/api/games/{pin}/end")
    report = host.get(f"/api/games/{pin}/report").get_json()
    first = report["questions"][0]
    assert first["answer_text_html"] == "<code>import tensorflow as tf</code>"
    assert "<strong>TensorFlow</strong>" in first["text_html"]


def test_the_phone_knows_which_answer_it_sent(host, client, code_quiz):
    """A refresh on 'Answer sent' still says which answer went in (only the player's own)."""
    pin = host.post("/api/games", json={"quiz": code_quiz}).get_json()["pin"]
    ann = client.post(f"/api/games/{pin}/join", json={"nickname": "Ann"}).get_json()
    bob = client.post(f"/api/games/{pin}/join", json={"nickname": "Bob"}).get_json()
    host.post(f"/api/games/{pin}/start")
    client.post(
        f"/api/games/{pin}/answers",
        json={"player_token": ann["player_token"], "question": "import-tf", "answer": "a"},
    )
    mine = client.get(f"/api/games/{pin}/state?token={ann['player_token']}").get_json()
    assert mine["phase"] == "question" and mine["my_answer"] == {"answered": True, "answer": "a"}
    theirs = client.get(f"/api/games/{pin}/state?token={bob['player_token']}").get_json()
    assert theirs["my_answer"] == {"answered": False}


def test_report_pages_render_markdown_and_line_up(host, client, auth, code_quiz):
    pin = host.post("/api/games", json={"quiz": code_quiz}).get_json()["pin"]
    game_id = host.get("/api/games").get_json()[0]["game_id"]
    host.post(f"/api/games/{pin}/start")
    host.post(f"/api/games/{pin}/end")
    auth.login("host")
    page = client.get(f"/games/history/{game_id}").get_data(as_text=True)
    assert "<code>import tensorflow as tf</code>" in page
    assert "`import tensorflow as tf`" not in page
    # A table that is also a flex column (app.css's .stack) cannot line its columns up.
    assert not re.search(r'<table class="[^"]*\bstack\b', page)


def test_kahoot_export_is_plain_text(host, code_quiz):
    out = host.get(f"/api/quizzes/{code_quiz}/kahoot.csv")
    assert out.status_code == 200
    rows = list(csv.reader(io.StringIO(out.get_data(as_text=True))))
    assert rows[1][:3] == [
        "How do you import TensorFlow in your Python code?",
        "import tf from ai",
        "import tensorflow as tf",
    ]
    assert not any("`" in cell or "**" in cell for row in rows for cell in row)


def test_accuracy_counts_only_the_players_present_for_a_question(new_game):
    """A late joiner never saw question 1: it does not count against its accuracy."""
    play = new_game()
    ann, bob, dan = play.player("Ann"), play.player("Bob"), play.player("Dan")
    play.act("start")
    play.answer(ann, "tokenize", "a")
    play.answer(bob, "tokenize", "b")
    play.act("reveal")  # Dan was there and gave no answer: he counts
    cy = play.player("Cy")  # joins during the reveal
    play.act("next")
    play.act("next")
    play.answer(ann, "levels", ["a", "b"])
    play.answer(cy, "levels", ["a", "b"])
    play.act("reveal")
    play.act("next")
    play.act("next")  # question 3: nobody answers
    play.act("reveal")
    play.act("end")
    report = play.host.get(f"/api/games/{play.pin}/report").get_json()
    q1, q2, q3 = report["questions"][:3]
    assert [q["accuracy"] for q in (q1, q2, q3)] == [round(1 / 3, 4), 0.5, 0]  # not 1/4 for q1
    assert [q["present"] for q in (q1, q2, q3)] == [3, 4, 4]
    assert dan["player_id"] and report["game"]["players"] == 4


def test_a_player_joining_mid_question_who_answers_is_present(new_game):
    play = new_game()
    ann = play.player("Ann")
    play.act("start")
    late = play.player("Late")
    play.answer(late, "tokenize", "a")
    play.answer(ann, "tokenize", "b")
    play.act("end")
    q1 = play.host.get(f"/api/games/{play.pin}/report").get_json()["questions"][0]
    assert (q1["correct"], q1["present"], q1["accuracy"]) == (1, 2, 0.5)


def test_one_game_history_page(new_game, auth, client, host):
    play = new_game()
    play.player("Ann")
    auth.login("host")
    old = client.get("/instructor/games")
    assert old.status_code == 302 and old.location.endswith("/games")
    page = client.get("/games").get_data(as_text=True)
    game_id = play.created["game_id"]
    for link in (
        f"/games/history/{game_id}",  # report
        f"/games/{play.pin}/host",  # big screen, while live
        f"/leaderboard/games/{game_id}",  # its board
        "format=csv",
    ):
        assert link in page, link
    assert 'aria-label="Dashboard"' in page  # the dashboard's tabs: it is that page too
    assert "Top score" in page
    for games_page in ("/games/new", f"/games/history/{game_id}", "/play"):
        assert 'href="/games"' in client.get(games_page).get_data(as_text=True), games_page
