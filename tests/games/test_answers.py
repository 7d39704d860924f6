"""Answers: server-stamped deadlines, the network grace, one answer per question, bad shapes."""

from __future__ import annotations

import threading
import time

from graders.trivia import NETWORK_GRACE_S, question_points
from tests.games.conftest import KEYS


def _error(res, status: int, code: str) -> None:
    assert res.status_code == status, res.get_json()
    body = res.get_json()
    assert body["error"] == code and body["message"]


def test_a_late_answer_is_refused_with_a_message(new_game):
    play = new_game()
    ann = play.player("Ann")
    play.player("Bob")
    play.act("start")
    play.expire_question(seconds_ago=NETWORK_GRACE_S + 1)
    _error(play.answer(ann, "tokenize", "a"), 409, "late")
    # A question whose deadline passed is closed: the next read reveals it.
    assert play.state()["phase"] == "reveal"


def test_an_answer_inside_the_network_grace_counts_as_given_at_the_buzzer(new_game):
    play = new_game()
    ann = play.player("Ann")
    play.player("Bob")
    play.act("start")
    play.expire_question(seconds_ago=NETWORK_GRACE_S / 3)
    assert play.answer(ann, "tokenize", "a").status_code == 200
    play.act("reveal")
    assert play.state(ann)["my_answer"]["points"] == question_points(1000, 20, 20, 1.0) == 500


def test_one_answer_per_player_per_question(new_game):
    play = new_game()
    ann = play.player("Ann")
    play.player("Bob")
    play.act("start")
    assert play.answer(ann, "tokenize", "b").status_code == 200
    _error(play.answer(ann, "tokenize", "a"), 409, "already_answered")
    play.act("reveal")
    assert play.state(ann)["my_answer"]["answer"] == "b"


def test_simultaneous_double_answers_count_once(live, new_game):
    import json
    import urllib.error
    import urllib.request

    play = new_game()
    ann = play.player("Ann")
    play.player("Bob")
    play.act("start")
    codes: list[int | str] = []
    body = json.dumps(
        {"player_token": ann["player_token"], "question": "tokenize", "answer": "a"}
    ).encode()
    gate = threading.Barrier(8)

    def send():
        req = urllib.request.Request(
            f"{live}/api/games/{play.pin}/answers",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        gate.wait()
        try:
            with urllib.request.urlopen(req, timeout=20) as res:
                codes.append(res.status)
        except urllib.error.HTTPError as exc:
            codes.append(exc.code)
        except OSError as exc:  # shown in the assertion below
            codes.append(repr(exc))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes, key=str) == [200] + [409] * 7, codes
    play.act("reveal")
    assert play.state(ann)["me"]["score"] == 1000


def test_answers_to_the_wrong_question_or_shape(new_game):
    play = new_game()
    ann = play.player("Ann")
    _error(play.answer(ann, "tokenize", "a"), 409, "closed")  # not started yet
    play.act("start")
    _error(play.answer(ann, "levels", ["a"]), 409, "not_open")
    _error(play.answer(ann, "tokenize", "z"), 422, "bad_answer")
    _error(play.answer(ann, "tokenize", ["a"]), 422, "bad_answer")
    _error(play.answer(ann, "tokenize", None), 422, "bad_answer")
    _error(play.answer(ann, "tokenize", "x" * 5000), 422, "bad_answer")
    _error(play.answer({"player_token": "forged"}, "tokenize", "a"), 403, "bad_token")
    res = play.client.post(f"/api/games/{play.pin}/answers", json={"question": "tokenize"})
    assert res.status_code == 400 and "player_token" in res.get_json()["message"]
    # Nothing above used up Ann's one answer.
    assert play.answer(ann, "tokenize", "a").status_code == 200


def test_an_answer_after_the_reveal_is_refused(new_game):
    play = new_game()
    ann, bob = play.player("Ann"), play.player("Bob")
    play.act("start")
    play.answer(ann, "tokenize", "a")
    play.act("reveal")
    _error(play.answer(bob, "tokenize", "a"), 409, "closed")


def test_every_kind_is_checked_end_to_end(new_game):
    play = new_game()
    ann = play.player("Ann")
    play.act("start")
    for qid in ("tokenize", "levels", "oov", "params", "pad"):
        assert play.state()["question"]["id"] == qid
        answer = {"params": "16,000", "pad": "Pad Sequences"}.get(qid, KEYS[qid])
        assert play.answer(ann, qid, answer).status_code == 200
        mine = play.state(ann)["my_answer"]
        assert mine["correct"] is True, qid
        play.act("next")
        if qid != "pad":
            play.act("next")
    assert play.state(ann)["me"]["correct_answers"] == 5


def _hosted(make_app, bank_dir, **config):
    """An app with `config`, the test banks and an instructor's API client: (app, client, host)."""
    from server.services import accounts
    from server.services.games import banks
    from tests.conftest import PASSWORD, ApiClient

    app = make_app(**config)
    with app.app_context():
        accounts.create_user("boss", PASSWORD, role="instructor")
        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=bank_dir)
    client = app.test_client()
    token = client.post("/api/auth/token", json={"username": "boss", "password": PASSWORD})
    return app, client, ApiClient(client, token.get_json()["token"])


def test_answer_and_join_rate_limits(make_app, quiz, bank_dir):
    from tests.games.conftest import Play

    app, client, host = _hosted(
        make_app,
        bank_dir,
        GAME_TIMERS=False,
        GAME_COALESCE_S=0,
        GAME_ANSWER_RATE_LIMIT="3 per minute",
        GAME_JOIN_RATE_LIMIT="2 per minute",
    )
    pin = host.post("/api/games", json={"quiz": quiz, "mode": "host"}).get_json()["pin"]
    play = Play(app, client, host, pin)
    ann = play.player("Ann")
    play.player("Bob")
    res = play.join("Cy")
    assert res.status_code == 429 and res.get_json()["error"]
    play.act("start")
    codes = [play.answer(ann, "tokenize", "a").status_code for _ in range(4)]
    assert codes == [200, 409, 409, 429]


def test_a_thousand_players_behind_one_address_join_and_a_flood_stays_bounded(
    make_app, quiz, bank_dir
):
    """A venue's network is one address: joins count per game and grow with it (default limits);
    attempts that make no player run out after the base allowance."""
    from tests.games.conftest import Play

    app, client, host = _hosted(make_app, bank_dir, GAME_TIMERS=False, GAME_COALESCE_S=0)
    venue = host.post("/api/games", json={"quiz": quiz, "mode": "host"}).get_json()["pin"]
    play = Play(app, client, host, venue)
    codes = []
    started = time.monotonic()
    for i in range(1000):  # a room's phones, at most 150 a second (the address's 200/s holds)
        time.sleep(max(0.0, started + i / 150 - time.monotonic()))
        codes.append(play.join(f"player {i}").status_code)
    assert codes.count(201) == 1000, {c: codes.count(c) for c in set(codes)}
    assert host.get(f"/api/games/{venue}/state").get_json()["player_count"] == 1000

    time.sleep(1.1)  # out of the address's 200-per-second window the venue's joins filled
    # the same address flooding a fresh game with attempts that make no player
    other = host.post("/api/games", json={"quiz": quiz, "mode": "host"}).get_json()["pin"]
    flood = Play(app, client, host, other)
    assert flood.join("Ann").status_code == 201
    tries = [flood.join("Ann").status_code for _ in range(100)]  # taken, again and again
    assert tries.count(409) == 60 and set(tries[60:]) == {429}  # base 60 + 1 player
    assert flood.join("Fresh").status_code == 429  # the allowance is spent for this window
    # ...while the venue's game, on the same address, still takes its players
    assert play.join("late comer").status_code == 201
