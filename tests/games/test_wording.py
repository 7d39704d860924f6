"""Counts on pages agree with their nouns: "1 player", "2 players" (the `plural` filter)."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.extensions import db
from server.markdown import plural
from server.models.game import Game


def test_plural_filter():
    assert [plural(n, "check") for n in (0, 1, 2)] == ["0 checks", "1 check", "2 checks"]
    assert plural(1, "quiz", "quizzes") == "1 quiz" and plural(3, "quiz", "quizzes") == "3 quizzes"


def test_a_one_player_report_says_player(new_game, auth, make_user):
    play = new_game()
    play.player("Solo")
    assert play.act("start").status_code == 200
    assert play.act("end").status_code == 200
    with play.app.app_context():
        game_id = db.session.scalar(select(Game.id).where(Game.pin == play.pin))
    make_user("boss", role="instructor")
    auth.login("boss")
    page = play.client.get(f"/games/history/{game_id}").get_data(as_text=True)
    assert re.search(r"·\s*1 player\s*·", page), page[:2000]
