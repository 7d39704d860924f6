"""Regrading: old results kept in history, new ones swapped in whole, best scores recomputed,
progress over SSE, and a regrade interrupted by a worker kill recorded once after requeue_stale."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server import jobs
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.instructor import RegradeItem, ResultHistory
from server.models.submission import BestScore, Submission
from server.services.exercises import reference_key
from server.services.grading import queue
from server.services.grading import references as reference_values
from tests.instructor.conftest import add_exercise, graded, notebook_with, result_doc, user_id

ANSWER = 171533


def _store_reference(app, exercise_id: int, value) -> None:
    with app.app_context():
        key, _ = reference_key(db.session.get(Exercise, exercise_id), {})
        reference_values.store(key, value)


def _change_reference(app, exercise_id: int, value) -> None:
    """What `adventures seed` does after a reference fix: a new spec version with a new key."""
    with app.app_context():
        ex = db.session.get(Exercise, exercise_id)
        spec = copy.deepcopy(ex.spec)
        spec["answer"]["reference"] = spec["answer"]["reference"] + "_fixed"
        ex.spec = spec
        ex.version += 1
        db.session.commit()
    _store_reference(app, exercise_id, value)


def _best(app, username: str, exercise_id: int) -> float | None:
    with app.app_context():
        return db.session.scalar(
            select(BestScore.score).where(
                BestScore.user_id == user_id(app, username), BestScore.exercise_id == exercise_id
            )
        )


@pytest.fixture
def answered(people, api):
    """ann answered right, ben answered one more (wrong) under the first reference."""
    app = people
    ex = add_exercise(app, "ex-count", points=2)
    _store_reference(app, ex, ANSWER)
    ids = {}
    for name, answer in (("ann2", str(ANSWER)), ("ben2", str(ANSWER + 1))):
        client = api(name)
        res = client.post("/api/exercises/ex-count/submissions", json={"answer": answer})
        assert res.status_code == 202, res.get_json()
        ids[name] = res.get_json()["id"]
    return app, ex, ids


def test_regrade_an_exercise_after_its_reference_changed(answered, teacher, client):
    app, ex, ids = answered
    assert _best(app, "ann2", ex) == 2 and _best(app, "ben2", ex) == 0
    _change_reference(app, ex, ANSWER + 1)  # the reference had an off-by-one
    res = teacher.post("/api/instructor/exercises/ex-count/regrade")
    assert res.status_code == 202, res.get_json()
    progress = res.get_json()
    # jobs run inline in tests, so the regrade is already done
    assert progress["total"] == 2 and progress["done"] == 2 and progress["finished"]
    assert (progress["raised"], progress["lowered"]) == (1, 1)
    ann = teacher.get(f"/api/instructor/submissions/{ids['ann2']}").get_json()
    ben = teacher.get(f"/api/instructor/submissions/{ids['ben2']}").get_json()
    assert ann["status"] == "graded" and ann["score"] == 0 and "Hint" in ann["tests"][0]["output"]
    assert ben["score"] == 2 and ben["tests"][0]["output"] == "Correct!"
    assert ann["exercise_version"] == 2
    # the old result documents are kept whole in the history
    assert len(ann["history"]) == 1
    old = ann["history"][0]
    assert old["reason"] == "regrade" and old["score"] == 2 and old["exercise_version"] == 1
    assert old["result"]["tests"][0]["output"] == "Correct!"
    # best scores follow, down as well as up; the board too
    assert _best(app, "ann2", ex) == 0 and _best(app, "ben2", ex) == 2
    assert [r["username"] for r in client.get("/api/leaderboard").get_json()][:2] == [
        "ben2",
        "ann2",
    ]
    assert teacher.get("/api/instructor/audit").get_json()[0]["action"] == "regrade"
    assert teacher.get(f"/api/instructor/regrades/{progress['id']}").get_json() == progress
    assert teacher.get("/api/instructor/regrades").get_json()[0]["id"] == progress["id"]


def test_regrade_progress_streams_until_done(answered, teacher, client, sse, monkeypatch, login):
    app, ex, ids = answered
    _change_reference(app, ex, ANSWER + 1)
    queued: list[int] = []
    monkeypatch.setattr(
        queue, "enqueue", lambda sub: queued.append(sub.id)
    )  # the worker has not started yet
    res = teacher.post(f"/api/instructor/submissions/{ids['ann2']}/regrade")
    assert res.status_code == 202
    job = res.get_json()
    assert (job["total"], job["done"], job["finished"]) == (1, 0, False)
    assert queued == [ids["ann2"]]
    # while it waits, the old result is still what the member sees
    with app.app_context():
        sub = db.session.get(Submission, ids["ann2"])
        assert sub.status == "queued" and sub.score == 2 and sub.result["score"] == 2
    # a second regrade of the same submission does not queue it twice
    again = teacher.post(f"/api/instructor/submissions/{ids['ann2']}/regrade")
    assert again.status_code == 409
    # nor does a regrade of the whole exercise: it takes only ben's
    whole = teacher.post("/api/instructor/exercises/ex-count/regrade").get_json()
    assert whole["total"] == 1 and queued == [ids["ann2"], ids["ben2"]]
    login("teach")
    stream = sse(client, f"/api/instructor/regrades/{job['id']}/events")
    assert stream.next("progress").data["done"] == 0
    from server.jobs import grade_answer

    with app.app_context():
        grade_answer(ids["ann2"])  # the worker runs the job
    done = stream.next("progress", timeout=2.0).data
    assert (done["done"], done["finished"], done["lowered"]) == (1, True, 1)


def test_regrade_of_a_submission_being_graded_is_refused(people, teacher):
    app = people
    ex = add_exercise(app, "ex-a")
    with app.app_context():
        sub = Submission(
            user_id=user_id(app, "ann"),
            exercise_id=ex,
            exercise_version=1,
            kind="answer",
            answer="1",
            variant={},
            status="running",
            max_score=2,
        )
        db.session.add(sub)
        db.session.commit()
        sub_id = sub.id
    res = teacher.post(f"/api/instructor/submissions/{sub_id}/regrade")
    assert res.status_code == 409 and res.get_json()["error"] == "in_progress"
    assert teacher.post("/api/instructor/submissions/999999/regrade").status_code == 404
    assert teacher.post("/api/instructor/exercises/nope/regrade").status_code == 404


@dataclass
class FakeResult:
    """What graders.notebook.grade_notebook returns, as far as server.jobs reads it."""

    doc: dict
    executed_notebook: bytes
    device: str = "cpu (test)"
    reference_values: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return copy.deepcopy(self.doc)

    to_json = to_dict

    def executed_notebook_bytes(self) -> bytes:
        return self.executed_notebook


def test_a_regrade_interrupted_by_a_worker_kill_is_recorded_once(people, teacher, monkeypatch):
    app = people
    ex = add_exercise(app, "nb-tok", kind="notebook", points=2)
    nb = notebook_with({"build_word_index": "def build_word_index(s):\n    return {}\n"})
    old_doc = result_doc(2, 2, {"word index": True, "encode": True})
    sub_id = graded(app, "ann", ex, 2, doc=old_doc, notebook=nb, minutes_ago=60)
    assert _best(app, "ann", ex) == 2

    # 1. the regrade is queued; a worker takes the job (mark_running) and is killed
    monkeypatch.setattr(queue, "enqueue", lambda sub: None)
    job = teacher.post(f"/api/instructor/submissions/{sub_id}/regrade").get_json()
    monkeypatch.undo()
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        sub.status, sub.started_at, sub.job_attempts = "running", utcnow() - timedelta(hours=1), 1
        db.session.commit()

    # 2. requeue_stale finds it; the job runs again (inline) with the new checks
    new_doc = result_doc(1, 2, {"word index": True, "encode": False})
    calls: list[int] = []

    def fake_grade(spec, folder, data, **kw):
        calls.append(1)
        assert data == nb
        return FakeResult(new_doc, b'{"executed": true}')

    monkeypatch.setattr(jobs, "grade_notebook_file", fake_grade)
    monkeypatch.setattr(reference_values, "runner", lambda: None)
    monkeypatch.setattr(jobs, "reference_keys", lambda spec, **_: {})  # the fake needs none
    with app.app_context():
        assert queue.requeue_stale() == [sub_id]
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        assert (sub.status, sub.score) == ("graded", 1)
        assert sub.result["tests"] == new_doc["tests"]  # swapped in whole
        assert sub.executed_notebook == b'{"executed": true}'
        history = db.session.scalars(
            select(ResultHistory).where(ResultHistory.submission_id == sub_id)
        ).all()
        assert len(history) == 1 and history[0].result["tests"] == old_doc["tests"]
        assert history[0].executed_notebook == nb
    assert _best(app, "ann", ex) == 1  # lowered with the regrade
    progress = teacher.get(f"/api/instructor/regrades/{job['id']}").get_json()
    assert (progress["done"], progress["finished"], progress["lowered"]) == (1, True, 1)

    # 3. nothing more happens: no second requeue, and a retried job is harmless
    with app.app_context():
        assert queue.requeue_stale() == []
        jobs._grade_notebook(sub_id)
        assert db.session.scalar(select(func.count(ResultHistory.id))) == 1
        assert (
            db.session.scalar(select(func.count(RegradeItem.id)).where(RegradeItem.state == "done"))
            == 1
        )
    assert calls == [1]


def test_a_regraded_submission_waiting_its_turn_is_not_queued_twice(people, teacher, monkeypatch):
    """Staleness counts from when it joined the queue, not from when it was first uploaded."""
    app = people
    ex = add_exercise(app, "nb-wait", kind="notebook", points=2)
    nb = notebook_with({"build_word_index": "def build_word_index(s):\n    return {}\n"})
    sub_id = graded(app, "ann", ex, 2, doc=result_doc(2, 2, {"a": True}), notebook=nb,
                    minutes_ago=24 * 60)  # fmt: skip
    enqueued: list[int] = []
    monkeypatch.setattr(queue, "enqueue", lambda sub: enqueued.append(sub.id))
    teacher.post(f"/api/instructor/submissions/{sub_id}/regrade")
    assert enqueued == [sub_id]
    with app.app_context():
        assert queue.requeue_stale() == []  # uploaded a day ago, queued just now
        sub = db.session.get(Submission, sub_id)
        sub.queued_at = utcnow() - timedelta(minutes=10)  # its job was lost meanwhile
        db.session.commit()
        assert queue.requeue_stale() == [sub_id]
        assert queue.requeue_stale() == []  # queued again just now: not a third time
    assert enqueued == [sub_id, sub_id]
