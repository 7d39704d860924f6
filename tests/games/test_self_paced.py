"""Self-paced games: each player's own clock, result right after answering, the host's progress."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from graders.trivia import NETWORK_GRACE_S
from server.extensions import db
from server.models.base import utcnow
from server.models.game import Game, MissedQuestion, Player


def _advance(play, player):
    res = play.client.post(
        f"/api/games/{play.pin}/advance", json={"player_token": player["player_token"]}
    )
    return res


def test_each_player_moves_at_their_own_speed(new_game):
    play = new_game("self", window_s=600)
    ann, bob = play.player("Ann"), play.player("Bob")
    assert _advance(play, ann).status_code == 409  # not started
    state = play.act("start").get_json()
    assert state["phase"] == "running" and 590_000 < state["window_remaining_ms"] <= 600_000

    mine = _advance(play, ann).get_json()
    assert mine["position"] == 0 and mine["question"]["id"] == "tokenize"
    assert mine["my_answer"] == {"answered": False} and "reveal" not in mine
    res = play.answer(ann, "tokenize", "a").get_json()
    # The result comes straight back: it is Ann's own reveal.
    assert res["result"]["correct"] is True and res["reveal"]["correct"] == ["a"]
    assert res["me"]["score"] == 1000 and res["me"]["rank"] == 1
    # Bob has not opened a question: nothing of Ann's reveal reaches him.
    bob_state = play.state(bob)
    assert bob_state["position"] == -1 and bob_state["question"] is None
    assert "reveal" not in bob_state

    nxt = _advance(play, ann).get_json()
    assert nxt["question"]["id"] == "levels"
    progress = {r["nickname"]: r for r in play.host_state()["progress"]}
    assert progress["Ann"]["position"] == 1 and progress["Ann"]["answered"] == 1
    assert progress["Bob"]["position"] == -1
    # An answer to a question Ann is not on is refused.
    assert play.answer(ann, "tokenize", "a").get_json()["error"] in ("already_answered", "not_open")
    assert play.answer(bob, "tokenize", "a").get_json()["error"] == "not_open"


def test_time_runs_out_per_player_and_a_skip_is_a_miss(new_game, api, app):
    member = api("maria")
    play = new_game("self")
    maria = member.post(f"/api/games/{play.pin}/join", json={"nickname": "Maria"}).get_json()
    play.act("start")
    _advance(play, maria)
    play.answer(maria, "tokenize", "a")
    _advance(play, maria)  # on "levels" now, with a streak of 1
    with app.app_context():
        db.session.execute(
            update(Player)
            .where(Player.id == maria["player_id"])
            .values(position_opened_at=utcnow() - timedelta(seconds=20 + NETWORK_GRACE_S + 1))
        )
        db.session.commit()
    state = play.state(maria)
    assert state["my_answer"] == {"answered": False, "correct": False, "points": 0, "bonus": 0}
    assert state["reveal"]["correct"] == ["a", "b"]  # time is up: Maria may see the key
    assert play.answer(maria, "levels", ["a", "b"]).get_json()["error"] == "late"
    _advance(play, maria)  # "oov": skipped without answering
    _advance(play, maria)
    assert play.state(maria)["me"]["streak"] == 0
    with app.app_context():
        missed = db.session.scalars(select(MissedQuestion.question_id)).all()
    assert sorted(missed) == ["levels", "oov"]


def test_finishing_and_the_window_closing(new_game, app):
    play = new_game("self", window_s=60)
    ann = play.player("Ann")
    play.act("start")
    for qid in ("tokenize", "levels", "oov", "params", "pad"):
        assert _advance(play, ann).get_json()["question"]["id"] == qid
    assert play.answer(ann, "pad", "padding").get_json()["result"]["correct"] is False
    done = _advance(play, ann).get_json()
    assert done["position"] == 5 and done["me"]["finished"] is True
    assert _advance(play, ann).get_json()["error"] == "finished"
    assert play.act("next").status_code == 409  # self-paced: no host pacing
    with app.app_context():
        db.session.execute(
            update(Game)
            .where(Game.live_pin == play.pin)
            .values(ends_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert play.state()["phase"] == "ended"


def test_report_shows_every_key_once_a_self_paced_game_ends(new_game):
    play = new_game("self", window_s=600)
    ann = play.player("Ann")
    play.act("start")
    _advance(play, ann)
    play.answer(ann, "tokenize", "a")
    running = play.host.get(f"/api/games/{play.pin}/report").get_json()["questions"]
    # While players may still reach them, keys of unanswered questions stay hidden.
    assert "answer_text" in running[0] and "answer_text" not in running[1]
    play.act("end")
    ended = play.host.get(f"/api/games/{play.pin}/report").get_json()["questions"]
    assert all(q.get("answer_text") for q in ended)
    assert ended[1]["answered"] == 0 and ended[1]["accuracy"] == 0
