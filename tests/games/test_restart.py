"""A web server restart mid-question: a new app instance on the same database carries on."""

from __future__ import annotations

from tests.conftest import ApiClient
from tests.games.conftest import Play
from tests.sse import Stream


def _restart(make_app, play: Play) -> Play:
    """A fresh app on the same database: nothing in memory survives but the tokens we hold."""
    app = make_app(GAME_TIMERS=False, GAME_COALESCE_S=0)
    client = app.test_client()
    again = Play(app, client, ApiClient(client, play.host.token), play.pin)
    again.created = play.created
    return again


def test_a_question_survives_a_restart(make_app, new_game):
    play = new_game()
    ann, bob = play.player("Ann"), play.player("Bob")
    play.act("start")
    assert play.answer(ann, "tokenize", "a").status_code == 200

    after = _restart(make_app, play)
    state = after.state(bob)
    assert state["phase"] == "question" and state["question"]["id"] == "tokenize"
    assert 0 < state["remaining_ms"] <= 20_000
    assert after.answer(ann, "tokenize", "a").get_json()["error"] == "already_answered"
    assert after.answer(bob, "tokenize", "b").status_code == 200
    # Both answered: the new instance revealed and scored, counting the answer from before.
    state = after.state(ann)
    assert state["phase"] == "reveal" and state["me"]["score"] == 1000
    assert after.act("next").get_json()["phase"] == "standings"


def test_a_deadline_that_passed_while_down_closes_the_question(make_app, new_game):
    play = new_game()
    ann = play.player("Ann")
    play.player("Bob")
    play.act("start")
    play.answer(ann, "tokenize", "a")
    play.expire_question(seconds_ago=30)  # the server was down past the deadline

    after = _restart(make_app, play)
    res = after.answer(after_player := ann, "tokenize", "b")
    assert res.status_code == 409
    state = after.state(after_player)
    assert state["phase"] == "reveal" and state["my_answer"]["correct"] is True


def test_a_stream_on_the_new_instance_starts_from_the_current_question(make_app, new_game):
    from tests.browser_support import live_server

    play = new_game()
    ann = play.player("Ann")
    play.player("Bob")
    play.act("start")
    after = _restart(make_app, play)
    with live_server(after.app) as base:
        stream = Stream.http(base, f"/api/games/{play.pin}/events?token={ann['player_token']}")
        try:
            snap = stream.next("state").data
            assert snap["phase"] == "question" and snap["question"]["id"] == "tokenize"
            after.act("reveal")
            assert stream.next("reveal").data["question_index"] == 0
        finally:
            stream.close()
