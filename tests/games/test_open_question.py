"""PostgreSQL's one-statement answer batches (services/games/open_question.py).

Once a process has read a question's context, a batch of answers is scored with it and
written by one autocommitted statement that checks it again. These tests show that the
fast way scores exactly as the transactional one, and that whatever it cannot confirm (a
new question, a kick, a reveal, a late joiner, a dropped connection) still gets the right
answer. `make test` runs this module in its PostgreSQL pass (ADVENTURES_TEST_DATABASE_URL).
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select

from server.extensions import db
from server.models.game import Answer
from server.services.games import group_commit, open_question
from tests.games.conftest import KEYS, WRONG


@pytest.fixture(autouse=True)
def _postgres_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's path: runs in make test's PostgreSQL pass")


@pytest.fixture
def ways(monkeypatch):
    """Counts how each answer was written: 'fast' (one statement) or 'transaction'."""
    seen = {"fast": 0, "transaction": 0}
    real_fast, real_slow = group_commit._write_fast, group_commit._write_game

    def fast(conn, known, items):
        left = real_fast(conn, known, items)
        seen["fast"] += len(items) - len(left)
        return left

    def slow(conn, pin, group):
        seen["transaction"] += len(group)
        return real_slow(conn, pin, group)

    monkeypatch.setattr(group_commit, "_write_fast", fast)
    monkeypatch.setattr(group_commit, "_write_game", slow)
    return seen


def _rows(app) -> dict[int, Answer]:
    with app.app_context():
        return {a.player_id: a for a in db.session.scalars(select(Answer)).all()}


def _questions(play) -> open_question.OpenQuestions:
    return play.app.extensions["adventures.answer_group"].questions


def test_after_the_first_batch_a_question_is_written_in_one_statement(new_game, ways):
    play = new_game()
    players = [play.player(f"fast{i}") for i in range(4)]
    assert play.act("start").status_code == 200
    assert play.answer(players[0], "tokenize", KEYS["tokenize"]).status_code == 200
    assert ways == {"fast": 0, "transaction": 1}  # nothing known yet: read, then remembered
    known = _questions(play).get(play.pin)
    assert known is not None and len(known.players) == 4  # every player, in one read
    assert play.answer(players[1], "tokenize", KEYS["tokenize"]).status_code == 200
    assert play.answer(players[2], "tokenize", WRONG["tokenize"]).status_code == 200
    assert ways == {"fast": 2, "transaction": 1}
    rows = _rows(play.app)
    first, right, wrong = (rows[p["player_id"]] for p in players[:3])
    # Scored as the transactional way scores: the same rules, the same columns.
    assert right.correct and right.points > 0 and right.streak == 1
    assert right.question_id == "tokenize" and right.answer == "a" and right.counted
    assert (first.correct, first.streak) == (True, 1)
    assert not wrong.correct and wrong.points == 0 and wrong.streak == 0
    assert right.received_at.tzinfo is not None and right.elapsed_ms >= 0


def test_a_second_answer_is_refused_by_the_statement_too(new_game, ways):
    play = new_game()
    p, q, _ = (play.player(n) for n in ("Ann", "Bob", "Cy"))
    assert play.act("start").status_code == 200
    assert play.answer(q, "tokenize", "a").status_code == 200  # fills the context
    assert play.answer(p, "tokenize", "a").status_code == 200
    res = play.answer(p, "tokenize", "b")
    assert res.status_code == 409 and res.get_json()["error"] == "already_answered"
    assert ways == {"fast": 2, "transaction": 1}  # the refusal needed no fallback
    assert _rows(play.app)[p["player_id"]].answer == "a"


def test_the_next_question_reads_the_context_again_and_carries_streaks(new_game, ways):
    play = new_game()
    p, q, r = (play.player(n) for n in ("Ann", "Bob", "Cy"))
    assert play.act("start").status_code == 200
    for who, given in ((p, KEYS["tokenize"]), (q, KEYS["tokenize"]), (r, WRONG["tokenize"])):
        assert play.answer(who, "tokenize", given).status_code == 200
    # Everyone answered: revealed. The leaderboard, then the next question.
    assert play.act("next").status_code == 200
    assert play.act("next").status_code == 200
    before = _questions(play).get(play.pin)
    for who in (p, q):
        res = play.answer(who, "levels", KEYS["levels"])
        assert res.status_code == 200, res.get_json()
    after = _questions(play).get(play.pin)
    assert after is not None and after.game.seq != before.game.seq
    assert after.game.question_index == 1
    rows = {(a.player_id, a.question_index): a for a in _rows_all(play.app)}
    # The second correct answer in a row: the streak the reveal settled, plus one.
    assert rows[(p["player_id"], 1)].streak == 2 and rows[(q["player_id"], 1)].streak == 2
    assert ways["fast"] >= 2  # q's answer (and p's first ones) went the one-statement way


def _rows_all(app) -> list[Answer]:
    with app.app_context():
        return list(db.session.scalars(select(Answer)).all())


def test_a_kicked_player_known_to_the_process_is_refused(new_game, ways):
    play = new_game()
    ann, bob, cy = (play.player(n) for n in ("Ann", "Bob", "Cy"))
    assert play.act("start").status_code == 200
    assert play.answer(bob, "tokenize", "a").status_code == 200  # Ann's seat is remembered
    assert play.act("kick", player_id=ann["player_id"]).status_code == 200
    res = play.answer(ann, "tokenize", "a")
    assert res.status_code == 403 and res.get_json()["error"] == "kicked"
    assert ann["player_id"] not in _rows(play.app)
    assert play.answer(cy, "tokenize", "a").status_code == 200


def test_a_reveal_after_the_context_was_read_closes_the_question(new_game, ways):
    play = new_game()
    ann, bob, cy = (play.player(n) for n in ("Ann", "Bob", "Cy"))
    assert play.act("start").status_code == 200
    assert play.answer(bob, "tokenize", "a").status_code == 200
    assert play.act("reveal").status_code == 200
    res = play.answer(ann, "tokenize", "a")
    assert res.status_code == 409 and res.get_json()["error"] == "closed"
    assert ann["player_id"] not in _rows(play.app)


def test_a_player_who_joins_after_the_read_is_learnt(new_game, ways):
    play = new_game(allow_late_join=True)
    ann, bob = play.player("Ann"), play.player("Bob")
    assert play.act("start").status_code == 200
    assert play.answer(ann, "tokenize", "a").status_code == 200
    late = play.player("Late")  # after the question's context was read
    assert play.answer(late, "tokenize", "a").status_code == 200  # unknown: a transaction
    known = _questions(play).get(play.pin)
    assert late["player_id"] in {pid for pid, _ in known.players.values()}
    assert play.answer(bob, "tokenize", "a").status_code == 200
    assert ways == {"fast": 1, "transaction": 2}
    assert {ann["player_id"], bob["player_id"], late["player_id"]} <= set(_rows(play.app))


def test_a_dropped_connection_falls_back_and_loses_nothing(new_game, ways, monkeypatch):
    play = new_game()
    ann, bob, cy = (play.player(n) for n in ("Ann", "Bob", "Cy"))
    assert play.act("start").status_code == 200
    assert play.answer(ann, "tokenize", "a").status_code == 200
    real = open_question.run

    def drop_once(raw, sql, params):
        if sql is open_question.FAST_INSERT and not drops:
            drops.append(True)
            raw.close()  # the server went away mid-burst
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real(raw, sql, params)

    drops: list[bool] = []
    monkeypatch.setattr(group_commit, "run", drop_once)
    assert play.answer(bob, "tokenize", "a").status_code == 200
    assert drops == [True]
    assert play.answer(cy, "tokenize", "b").status_code == 200
    assert {ann["player_id"], bob["player_id"], cy["player_id"]} <= set(_rows(play.app))


def test_a_retried_transaction_leaves_the_statements_answers_alone(app, new_game, monkeypatch):
    """A batch mixes known players (the statement) and a late joiner (a transaction); when
    that transaction fails once and is retried, the known players' answers stay accepted."""
    from sqlalchemy.exc import OperationalError

    from server.models.base import utcnow
    from server.services.games import names

    play = new_game(allow_late_join=True)
    ann, bob = play.player("Ann"), play.player("Bob")
    assert play.act("start").status_code == 200
    assert play.answer(ann, "tokenize", "a").status_code == 200  # the context is known now
    late = play.player("Late")
    real, failures = group_commit._write_game, []

    def fails_once(conn, pin, group):
        if not failures:
            failures.append(len(group))
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(conn, pin, group)

    monkeypatch.setattr(group_commit, "_write_game", fails_once)
    now = utcnow()
    batch = [
        group_commit.Pending(play.pin, names.token_hash(p["player_token"]), "tokenize", "a", now)
        for p in (bob, late)
    ]
    with app.test_request_context():
        with db.engine.connect() as conn:
            group_commit.write_batch(conn, batch, _questions(play))
    assert failures == [1]  # only the late joiner went the transactional way
    assert [(i.error, bool(i.game_id)) for i in batch] == [(None, True), (None, True)]
    assert {bob["player_id"], late["player_id"]} <= set(_rows(app))


def test_a_failed_read_of_the_players_costs_nothing_but_the_memory(app, new_game, monkeypatch):
    """The players' read after a committed transaction fails: its answers stand, and so do
    those of the other game in the same batch."""
    from server.models.base import utcnow
    from server.services.games import names

    first, second = new_game(), new_game()
    ann, bob = first.player("Ann"), second.player("Bob")
    first.player("Ann2"), second.player("Bob2")  # noqa: B018 - nobody reveals early
    assert first.act("start").status_code == 200 and second.act("start").status_code == 200
    real = open_question.run

    def players_read_fails(raw, sql, params):
        if sql is open_question.PLAYERS:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real(raw, sql, params)

    monkeypatch.setattr(open_question, "run", players_read_fails)
    now = utcnow()
    batch = [
        group_commit.Pending(play.pin, names.token_hash(p["player_token"]), "tokenize", "a", now)
        for play, p in ((first, ann), (second, bob))
    ]
    questions = open_question.OpenQuestions()
    with app.test_request_context():
        with db.engine.connect() as conn:
            group_commit.write_batch(conn, batch, questions)
    assert [(i.error, bool(i.game_id)) for i in batch] == [(None, True), (None, True)]
    assert questions.get(first.pin) is None and questions.get(second.pin) is None
    monkeypatch.undo()
    with app.test_request_context():
        with db.engine.connect() as conn:
            cy = first.player("Cy")
            again = [
                group_commit.Pending(
                    first.pin, names.token_hash(cy["player_token"]), "tokenize", "a", now
                )
            ]
            group_commit.write_batch(conn, again, questions)
    assert again[0].game_id and questions.get(first.pin) is not None  # read by the next batch
    assert {ann["player_id"], bob["player_id"]} <= set(_rows(app))
