"""Server-Sent Events: what players and the host receive, reconnecting, kicking, fairness."""

from __future__ import annotations

import pytest

from tests.games.conftest import KEYS, find_keys
from tests.sse import Stream

KEY_FIELDS = {"correct", "answer_text", "explanation", "explanation_html", "accepted", "value"}


def _events(live, pin, token, **headers):
    return Stream.http(live, f"/api/games/{pin}/events?token={token}", headers=headers)


def test_players_follow_the_game_over_sse(live, new_game):
    play = new_game()
    ann, bob = play.player("Ann"), play.player("Bob")
    stream = _events(live, play.pin, ann["player_token"])
    host = _events(live, play.pin, play.created["host_token"])
    try:
        first = stream.next()
        assert first.type == "state" and first.data["phase"] == "lobby"
        assert first.data["me"]["nickname"] == "Ann"
        assert host.next().data["players"] == [
            {"id": ann["player_id"], "nickname": "Ann"},
            {"id": bob["player_id"], "nickname": "Bob"},
        ]
        play.act("start")
        q = stream.next("question")
        assert q.data["question"]["id"] == "tokenize" and q.id
        assert 19_000 <= q.data["remaining_ms"] <= 20_000
        assert [c["text"] for c in q.data["question"]["choices"]][1] == "To translate it"
        play.answer(ann, "tokenize", KEYS["tokenize"])
        counter = host.next("answers")
        assert (counter.data["answered"], counter.data["total"]) == (1, 2)
        play.answer(bob, "tokenize", "c")
        reveal = stream.next("reveal")
        # Each player gets their own result and nobody else's.
        assert "results" not in reveal.data
        assert reveal.data["me"]["correct"] is True and reveal.data["me"]["points"] == 1000
        assert reveal.data["me"]["rank"] == 1
        assert reveal.data["reveal"]["correct"] == ["a"]
        assert {d["id"]: d["count"] for d in reveal.data["distribution"]}["c"] == 1
        host_reveal = host.next("reveal")
        assert "results" not in host_reveal.data and "me" not in host_reveal.data
        assert [r["nickname"] for r in host_reveal.data["top"]] == ["Ann", "Bob"]
        play.act("next")
        assert stream.next("standings").data["top"][0]["nickname"] == "Ann"
        play.act("end")
        ended = stream.next("ended")
        assert ended.data["me"] == {"rank": 1, "score": 1000, "correct_answers": 1}
        assert stream.ended()  # the server closes a finished game's stream
    finally:
        stream.close()
        host.close()


def test_a_player_who_drops_out_comes_back_to_the_current_question(live, new_game):
    play = new_game()
    ann, bob = play.player("Ann"), play.player("Bob")
    stream = _events(live, play.pin, ann["player_token"])
    stream.next("state")
    play.act("start")
    seen = stream.next("question")
    play.answer(ann, "tokenize", "a")
    stream.close()  # the phone loses the network...
    play.answer(bob, "tokenize", "a")  # ...the question is revealed and the game moves on
    play.act("next")
    play.act("next")
    back = _events(live, play.pin, ann["player_token"], **{"Last-Event-ID": seen.id})
    try:
        snap = back.next()
        assert snap.type == "state" and snap.data["phase"] == "question"
        assert snap.data["question"]["id"] == "levels"
        assert snap.data["me"]["score"] == 1000 and snap.data["my_answer"] == {"answered": False}
        # Replayed events older than the snapshot are dropped: nothing rewinds the screen.
        play.act("reveal")
        nxt = back.next()
        assert nxt.type == "reveal" and nxt.data["question_index"] == 1
    finally:
        back.close()


def test_a_refresh_during_a_reveal_shows_my_result(live, new_game):
    play = new_game()
    ann = play.player("Ann")
    play.act("start")
    play.answer(ann, "tokenize", "b")
    stream = _events(live, play.pin, ann["player_token"])
    try:
        snap = stream.next("state").data
        assert snap["phase"] == "reveal"
        assert snap["my_answer"]["answered"] is True and snap["my_answer"]["correct"] is False
        assert snap["reveal"]["answer_text"] == "Models need numbers"
    finally:
        stream.close()


def test_a_kicked_player_is_told_and_cannot_come_back(live, new_game):
    play = new_game()
    ann, bob = play.player("Ann"), play.player("Bob")
    stream = _events(live, play.pin, ann["player_token"])
    other = _events(live, play.pin, bob["player_token"])
    try:
        stream.next("state")
        other.next("state")
        assert play.act("kick", player_id=ann["player_id"]).status_code == 200
        assert stream.next().type == "kicked"
        assert stream.ended()
        play.act("start")
        assert other.next().type == "question"  # Bob never saw Ann's kick
    finally:
        stream.close()
        other.close()
    again = _events(live, play.pin, ann["player_token"])
    assert again.status == 403
    res = play.answer(ann, "tokenize", "a")
    assert res.status_code == 403 and res.get_json()["error"] == "kicked"
    res = play.join("Ann2", player_token=ann["player_token"])
    assert res.status_code == 403 and res.get_json()["error"] == "kicked"
    assert play.state(ann)["kicked"] is True and "me" not in play.state(ann)
    assert play.join("ann").get_json()["error"] == "nickname_taken"
    assert [p["nickname"] for p in play.host_state()["players"]] == ["Bob"]
    assert play.act("kick", player_id=ann["player_id"]).status_code == 404


def test_events_need_a_token_of_this_game(live, new_game, client):
    play = new_game()
    other = new_game()
    ann = other.player("Ann")
    assert _events(live, play.pin, ann["player_token"]).status == 403
    assert _events(live, play.pin, "nonsense").status == 403
    assert _events(live, "999999", "x").status in (404, 403)


@pytest.mark.parametrize("question_kind", ["single", "numeric"])
def test_no_client_sees_the_key_before_the_reveal(live, new_game, client, question_kind):
    play = new_game()
    ann, bob = play.player("Ann"), play.player("Bob")
    player_stream = _events(live, play.pin, ann["player_token"])
    host_stream = _events(live, play.pin, play.created["host_token"])
    try:
        # Both streams are subscribed once their first state arrives; events after it are seen.
        assert player_stream.next().type == "state" and host_stream.next().type == "state"
        play.act("start")
        if question_kind == "numeric":  # move to the numeric question (index 3)
            for _ in range(3):
                play.act("skip")
        qid = "params" if question_kind == "numeric" else "tokenize"
        frames = []
        for stream in (player_stream, host_stream):
            frame = stream.next("question")
            while frame.data["question"]["id"] != qid:
                frame = stream.next("question")
            frames.append(frame)
        play.answer(ann, qid, KEYS[qid])  # a right answer moves no score before the reveal
        frames.append(host_stream.next("answers"))
        documents = [
            play.state(),
            play.state(ann),
            play.state(bob),
            play.host_state(),
            *[f.data for f in frames],
        ]
        for doc in documents:
            assert find_keys(doc, KEY_FIELDS) == []
        assert {r["nickname"]: r["score"] for r in play.state()["scores"]} == {"Ann": 0, "Bob": 0}
        report = play.host.get(f"/api/games/{play.pin}/report").get_json()
        open_q = next(q for q in report["questions"] if q["id"] == qid)
        assert open_q["counted"] is False and open_q["correct"] == 0
        assert "answer_text" not in open_q and "distribution" not in open_q
        assert all(p["answers"] == [] for p in report["players"])
        assert play.state(ann)["me"]["score"] == 0
        pages = [
            client.get(f"/play/{play.pin}").get_data(as_text=True),
            play.host.get(f"/games/{play.pin}/host").get_data(as_text=True),
        ]
        text = "\n".join([*pages, *player_stream.raw, *host_stream.raw])
        assert "SECRET-EXPLANATION" not in text
        assert "16000" not in text and "16,000" not in text
        # Once revealed, the key is there: the checks above can fail.
        play.act("reveal")
        after = player_stream.next("reveal").data
        assert find_keys(after, {"correct", "answer_text"})
        assert "SECRET-EXPLANATION" in after["reveal"]["explanation"]
    finally:
        player_stream.close()
        host_stream.close()
