"""Answers: server-stamped deadlines, the network grace, one answer per question, bad shapes."""

from __future__ import annotations

import threading

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


def test_answer_and_join_rate_limits(make_app, quiz, bank_dir):
    from tests.conftest import PASSWORD
    from tests.games.conftest import Play

    app = make_app(
        GAME_TIMERS=False,
        GAME_COALESCE_S=0,
        GAME_ANSWER_RATE_LIMIT="3 per minute",
        GAME_JOIN_RATE_LIMIT="2 per minute",
    )
    from server.services import accounts
    from server.services.games import banks

    with app.app_context():
        accounts.create_user("boss", PASSWORD, role="instructor")
        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=bank_dir)
    client = app.test_client()
    token = client.post("/api/auth/token", json={"username": "boss", "password": PASSWORD})
    from tests.conftest import ApiClient

    host = ApiClient(client, token.get_json()["token"])
    pin = host.post("/api/games", json={"quiz": quiz, "mode": "host"}).get_json()["pin"]
    play = Play(app, client, host, pin)
    ann = play.player("Ann")
    play.player("Bob")
    res = play.join("Cy")
    assert res.status_code == 429 and res.get_json()["error"]
    play.act("start")
    codes = [play.answer(ann, "tokenize", "a").status_code for _ in range(4)]
    assert codes == [200, 409, 409, 429]
