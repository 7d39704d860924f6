"""A whole host-paced game through the API: scores, streaks, partial credit, ranks, podium."""

from __future__ import annotations

from graders.trivia import question_points, streak_bonus
from tests.games.conftest import KEYS, WRONG


def _play_question(play, players, answers, qid):
    for p, ans in zip(players, answers, strict=True):
        if ans is not None:
            res = play.answer(p, qid, ans)
            assert res.status_code == 200, res.get_json()
            assert res.get_json()["accepted"] is True


def test_whole_game_with_three_players(new_game, app):
    play = new_game()
    assert play.host_state()["phase"] == "lobby"
    ann, bob, cy = (play.player(n) for n in ("Ann", "Bob", "Cy"))
    assert len({ann["player_id"], bob["player_id"], cy["player_id"]}) == 3

    state = play.act("start").get_json()
    assert state["phase"] == "question" and state["question"]["id"] == "tokenize"
    assert [c["text"] for c in state["question"]["choices"]][0] == "Models need numbers"

    # Q1: Ann and Bob right, Cy wrong.
    _play_question(
        play, [ann, bob, cy], [KEYS["tokenize"], KEYS["tokenize"], WRONG["tokenize"]], "tokenize"
    )
    # Everybody answered: the game revealed by itself.
    s = play.state(ann)
    assert s["phase"] == "reveal"
    assert s["reveal"]["correct"] == ["a"]
    assert s["my_answer"]["correct"] is True
    dist = {d["id"]: d["count"] for d in s["distribution"]}
    assert dist == {"a": 2, "b": 1, "c": 0, "d": 0}
    scores = {r["nickname"]: r["score"] for r in s["scores"]}
    # Answers in a test arrive within FULL_POINTS_WINDOW_S (0.5 s): full points, no bonus yet.
    assert scores == {"Ann": 1000, "Bob": 1000, "Cy": 0}

    assert play.act("next").get_json()["phase"] == "standings"
    assert play.act("next").get_json()["question"]["id"] == "levels"

    # Q2 (multi): Ann exact (streak 2 -> +100), Bob one of two right (half, streak resets), Cy none.
    _play_question(play, [ann, bob, cy], [["a", "b"], ["a"], None], "levels")
    assert play.state()["phase"] == "question"  # Cy has not answered
    play.act("reveal")
    s = play.state(bob)
    assert s["my_answer"]["fraction"] == 0.5 and s["my_answer"]["correct"] is False
    scores = {r["nickname"]: r["score"] for r in s["scores"]}
    assert scores["Ann"] == 1000 + 1000 + streak_bonus(2)
    assert scores["Bob"] == 1000 + question_points(1000, 0.1, 20, 0.5)
    assert scores["Cy"] == 0
    ranks = {r["nickname"]: (r["rank"], r["prev_rank"]) for r in s["scores"]}
    assert ranks["Ann"] == (1, 1) and ranks["Bob"] == (2, 1) and ranks["Cy"] == (3, 3)

    # Q3..Q5 through next: the host's single button.
    for qid in ("oov", "params", "pad"):
        play.act("next")  # standings
        st = play.act("next").get_json()
        assert st["phase"] == "question" and st["question"]["id"] == qid
        _play_question(play, [ann, bob, cy], [KEYS[qid], WRONG[qid], KEYS[qid]], qid)
        assert play.state()["phase"] == "reveal"
    play.act("next")
    final = play.act("next").get_json()
    assert final["phase"] == "ended"
    podium = [(p["nickname"], p["score"], p["rank"]) for p in final["podium"]]
    assert podium == [
        ("Ann", 5000 + sum(streak_bonus(k) for k in range(2, 6)), 1),
        ("Cy", 3000 + streak_bonus(2) + streak_bonus(3), 2),
        ("Bob", 1000 + 500, 3),
    ]
    # The PIN is free again; the state still answers (podium on refresh).
    assert play.state()["phase"] == "ended"
    assert play.join("Late").status_code == 409


def test_next_walks_every_phase_and_skip_drops_a_question(new_game):
    play = new_game()
    ann = play.player("Ann")
    play.player("Bob")
    play.act("start")
    assert play.answer(ann, "tokenize", "a").status_code == 200
    state = play.act("skip").get_json()
    assert state["phase"] == "question" and state["question"]["id"] == "levels"
    # The skipped question scored nothing and its answer no longer counts.
    assert {r["nickname"]: r["score"] for r in play.state()["scores"]} == {"Ann": 0, "Bob": 0}
    assert play.answer(ann, "tokenize", "a").status_code == 409
    end = play.act("end").get_json()
    assert end["phase"] == "ended"
    assert play.act("next").status_code == 409


def test_streak_off_and_accuracy_first(new_game):
    play = new_game(streak_bonus=False, accuracy_first=True)
    ann, bob = play.player("Ann"), play.player("Bob")
    play.act("start")
    play.answer(ann, "tokenize", "a")
    play.answer(bob, "tokenize", "a")
    play.act("next")
    play.act("next")
    play.answer(ann, "levels", ["a", "b"])
    play.answer(bob, "levels", ["a", "b"])
    scores = {r["nickname"]: r["score"] for r in play.state()["scores"]}
    # Accuracy first: 1000 per right answer plus at most 9 for speed, no streak bonus.
    assert 2000 <= scores["Ann"] <= 2018 and 2000 <= scores["Bob"] <= 2018


def test_scoring_options_only_in_the_lobby(new_game):
    play = new_game()
    play.player("Ann")
    assert play.act("options", streak_bonus=False).status_code == 200
    assert play.host_state()["options"]["streak_bonus"] is False
    play.act("start")
    res = play.act("options", accuracy_first=True)
    assert res.status_code == 409 and res.get_json()["error"] == "started"
    assert play.act("options", allow_late_join=False).status_code == 200


def test_only_the_hosting_instructor_drives_the_game(new_game, api, client):
    play = new_game()
    other = api("other", role="instructor")
    member = api("member")
    for who in (other, member):
        res = who.post(f"/api/games/{play.pin}/start")
        assert res.status_code == 403
        assert set(res.get_json()) == {"error", "message"}
    assert client.post(f"/api/games/{play.pin}/start").status_code == 401
    assert member.post("/api/games", json={"quiz": "mini-game", "mode": "host"}).status_code == 403
    assert play.host.post("/api/games", json={"quiz": "nope", "mode": "host"}).status_code == 404
    assert play.host.post("/api/games", json={"quiz": "mini-game", "mode": "x"}).status_code == 400


def test_quizzes_are_listed(client, quiz):
    banks = client.get("/api/quizzes").get_json()
    assert {"slug": "mini-game", "title": "Mini game", "questions": 5}.items() <= banks[0].items()
