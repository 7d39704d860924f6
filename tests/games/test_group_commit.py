"""Group commit: answers that arrive while a write is in progress share the next transaction.

Each answer's outcome is still its own (accepted, late, a second answer, a wrong question),
a 200 comes only after the answer's transaction committed, and a failed write reaches
every waiter without stopping the queue.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.game import Answer
from server.services.games import group_commit


def _group(app) -> group_commit.GroupCommit:
    return app.extensions["adventures.answer_group"]


def _players(play, count: int) -> list[dict]:
    return [play.player(f"gc{i}") for i in range(count)]


def _answers(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Answer.id)))


def _hold_first_write(monkeypatch, seconds: float) -> threading.Event:
    """The first batch's write waits `seconds`, so the answers behind it queue up."""
    real = group_commit.write_batch
    entered = threading.Event()
    calls = []

    def slow(conn, batch, *questions):
        calls.append(len(batch))
        if len(calls) == 1:
            entered.set()
            time.sleep(seconds)
        return real(conn, batch, *questions)

    monkeypatch.setattr(group_commit, "write_batch", slow)
    return entered


def _post_answer(live: str, play, player: dict):
    import requests

    body = {"player_token": player["player_token"], "question": "tokenize", "answer": "a"}
    return requests.post(f"{live}/api/games/{play.pin}/answers", json=body, timeout=30)


def _first_then_rest(send, entered: threading.Event, count: int):
    """Player 0's answer enters the (held) first write, then players 1..count-1 send theirs."""
    first = threading.Thread(target=send, args=(0,))
    first.start()
    assert entered.wait(10)
    rest = [threading.Thread(target=send, args=(i,)) for i in range(1, count)]
    for t in rest:
        t.start()
    return first, rest


def test_answers_that_queue_during_a_write_commit_together(live, new_game, monkeypatch):

    play = new_game()
    players = _players(play, 12)
    assert play.act("start").status_code == 200
    monkeypatch.setattr(group_commit, "writers_for", lambda engine: 1)  # SQLite's one writer
    entered = _hold_first_write(monkeypatch, 0.5)
    results: dict[int, tuple[int, dict]] = {}

    def send(i: int) -> None:
        res = _post_answer(live, play, players[i])
        results[i] = (res.status_code, res.json())

    first, rest = _first_then_rest(send, entered, 12)
    time.sleep(0.2)
    # While the first write is held, nothing behind it has been answered or written.
    assert len(results) == 0 and _answers(play.app) == 0
    for t in [first, *rest]:
        t.join(30)
    assert all(code == 200 and body["accepted"] for code, body in results.values()), results
    assert _answers(play.app) == 12
    group = _group(play.app)
    assert group.batches == 2 and group.largest == 11  # one alone, then the eleven queued


def test_with_two_writers_a_slow_batch_does_not_hold_up_the_answers_behind_it(
    live, new_game, monkeypatch
):
    """PostgreSQL's setting: while one batch waits on its round trips, another is written."""

    play = new_game()
    players = _players(play, 8)
    assert play.act("start").status_code == 200
    monkeypatch.setattr(group_commit, "writers_for", lambda engine: 2)
    entered = _hold_first_write(monkeypatch, 3.0)
    done: dict[int, float] = {}

    def send(i: int) -> None:
        res = _post_answer(live, play, players[i])
        assert res.status_code == 200, res.text
        done[i] = time.monotonic()

    started = time.monotonic()
    first, rest = _first_then_rest(send, entered, 8)
    for t in rest:
        t.join(30)
    # All seven were answered while the first batch was still held...
    assert len(done) == 7 and 0 not in done
    assert max(done.values()) - started < 2.5
    first.join(30)
    assert 0 in done and _answers(play.app) == 8  # ...and the held one still counted
    group = _group(play.app)
    with group._lock:
        assert group._writers == 0 and group._pending == []  # every writer's place returned


@pytest.mark.parametrize("known", [False, True], ids=["transaction", "one-statement"])
def test_each_answer_in_a_batch_gets_its_own_outcome(app, new_game, known):
    """Also with the context remembered (PostgreSQL's one-statement batch): what it judged
    against that context is judged again against the database."""
    from datetime import timedelta

    from server.models.base import utcnow
    from server.services.games import names
    from server.services.games.core import GameError

    with app.app_context():
        if known and db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's path: runs in make test's PostgreSQL pass")
    play = new_game()
    first, good, twice, wrong_q, bad_shape, late = _players(play, 6)
    assert play.act("start").status_code == 200
    assert play.answer(first, "tokenize", "a").status_code == 200  # the context is read
    now = utcnow()

    def item(player, question="tokenize", given="a", at=now):
        return group_commit.Pending(
            play.pin, names.token_hash(player["player_token"]), question, given, at
        )

    batch = [
        item(good),
        item(twice, given="b"),
        item(twice, given="a"),  # the same phone twice in one batch
        item(wrong_q, question="levels"),
        item(bad_shape, given=["a", "b"]),
        item(late, at=now + timedelta(seconds=600)),
        item(first, given="b"),  # answered already, in an earlier batch
        group_commit.Pending(play.pin, names.token_hash("nobody"), "tokenize", "a", now),
    ]
    with app.test_request_context():
        with db.engine.connect() as conn:
            group_commit.write_batch(conn, batch, _group(app).questions if known else None)
    codes = [getattr(i.error, "code", None) for i in batch]
    assert codes == [
        None,
        None,
        "already_answered",
        "not_open",
        "bad_answer",
        "late",
        "already_answered",
        None,
    ]
    assert all(isinstance(i.error, GameError) for i in batch if i.error is not None)
    assert batch[0].game_id and batch[1].game_id and batch[-1].unknown
    with app.app_context():
        rows = dict(db.session.execute(select(Answer.player_id, Answer.answer)).all())
    assert rows[twice["player_id"]] == "b"  # the first of the two sends counted
    assert rows[first["player_id"]] == "a" and sorted(rows.values()) == ["a", "a", "b"]


def test_a_second_answer_in_a_later_batch_is_refused(new_game):
    play = new_game()
    p, _ = _players(play, 2)  # one still to answer: no automatic reveal yet
    assert play.act("start").status_code == 200
    assert play.answer(p, "tokenize", "a").status_code == 200
    res = play.answer(p, "tokenize", "b")
    assert res.status_code == 409 and res.get_json()["error"] == "already_answered"
    assert _answers(play.app) == 1


def test_a_reveal_during_a_batch_either_waits_for_it_or_closes_it(app, new_game, monkeypatch):
    """Never an answer counted after the reveal has read the answers.

    PostgreSQL: the batch read the game under a share lock, so the reveal's UPDATE waits
    until the batch commits (and then counts it). SQLite: the reveal commits at once, and
    the batch, re-reading the phase under its write lock, is refused as closed.
    """
    from sqlalchemy import update

    from server.models.base import utcnow
    from server.models.game import Game
    from server.services.games import names

    play = new_game()
    a, b = _players(play, 2)
    assert play.act("start").status_code == 200
    real_checked = group_commit._checked
    reveal: list[threading.Thread] = []
    blocked: list[bool] = []  # was the reveal still waiting, a second after it started?

    def reveal_now(game_id: int) -> None:  # another process's reveal
        with app.app_context():
            db.session.execute(update(Game).where(Game.id == game_id).values(phase="reveal"))
            db.session.commit()

    def checked_then_reveal(ctx, item):
        if not reveal:
            reveal.append(threading.Thread(target=reveal_now, args=(ctx.game_id,)))
            reveal[0].start()
            reveal[0].join(1.0)
            blocked.append(reveal[0].is_alive())
        return real_checked(ctx, item)

    monkeypatch.setattr(group_commit, "_checked", checked_then_reveal)
    batch = [
        group_commit.Pending(
            play.pin, names.token_hash(p["player_token"]), "tokenize", "a", utcnow()
        )
        for p in (a, b)
    ]
    with app.test_request_context():
        postgres = db.engine.dialect.name == "postgresql"
        with db.engine.connect() as conn:
            group_commit.write_batch(conn, batch)
    reveal[0].join(10)
    assert not reveal[0].is_alive()
    assert blocked == [postgres]
    if postgres:
        assert [i.error for i in batch] == [None, None]
        assert _answers(play.app) == 2  # committed before the reveal went on
    else:
        assert [i.error.code for i in batch] == ["closed", "closed"]
        assert _answers(play.app) == 0


def test_a_failed_write_reaches_every_waiter_and_the_queue_goes_on(new_game, monkeypatch):
    play = new_game()
    p, q = _players(play, 2)
    assert play.act("start").status_code == 200
    real = group_commit.write_batch
    fail = [True]

    def flaky(conn, batch, *questions):
        if fail.pop() if fail else False:
            raise RuntimeError("disk on fire")
        return real(conn, batch, *questions)

    monkeypatch.setattr(group_commit, "write_batch", flaky)
    play.app.config["PROPAGATE_EXCEPTIONS"] = False
    assert play.answer(p, "tokenize", "a").status_code == 500
    assert _answers(play.app) == 0
    # Not counted, so the phone may send it again; the queue was not left stuck.
    assert play.answer(p, "tokenize", "a").status_code == 200
    assert play.answer(q, "tokenize", "b").status_code == 200
    assert _answers(play.app) == 2


@pytest.mark.parametrize("mode", ["self"])
def test_self_paced_answers_take_their_own_path(new_game, mode):
    play = new_game(mode)
    (p,) = _players(play, 1)
    assert play.act("start").status_code == 200
    res = play.client.post(
        f"/api/games/{play.pin}/advance", json={"player_token": p["player_token"]}
    )
    assert res.status_code == 200
    question = res.get_json()["question"]["id"]
    res = play.answer(p, question, "a")
    assert res.status_code == 200 and "result" in res.get_json()
