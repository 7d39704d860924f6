"""An exception while grading (the grader raises, the executed notebook cannot be saved) is the
submission's error after one attempt: a clear message, no score on the board, no retries and
no "the worker died" minutes later. A regrade of it gets one attempt too. A sandbox failure is
still put back in the queue, not scored.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from graders.notebook import GradeResult, SandboxError
from graders.notebook.check import reference_notebook
from graders.spec import load_spec
from server import jobs
from server.config import REPO_ROOT
from server.extensions import db
from server.models.exercise import Exercise
from server.models.instructor import RegradeItem
from server.models.submission import BestScore, Submission
from server.services import accounts
from server.services.grading import health as grader_health
from server.services.grading import results
from tests.core.test_grader_health import _sub, _upload

SLUG = "c3w1-tokenizer"


class Unsavable(GradeResult):
    """A result whose executed notebook cannot be written (a lone surrogate in an output)."""

    def executed_notebook_bytes(self) -> bytes:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")


class Grader:
    """Stands in for graders.notebook.grade_notebook, doing what `mode` says."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.calls = 0

    def __call__(self, spec, folder, data, **_kw) -> GradeResult:
        self.calls += 1
        if self.mode == "raise":
            raise RuntimeError("the comparison blew up")
        if self.mode == "sandbox":
            raise SandboxError("lost the sandbox: connection reset")
        kind = Unsavable if self.mode == "unsavable" else GradeResult
        return kind(score=10.0, max_score=10.0, execution_time=0.1, output="all passed")


@pytest.fixture
def grader(monkeypatch):
    fake = Grader("ok")
    monkeypatch.setattr(jobs, "grade_notebook_file", fake)
    monkeypatch.setattr(jobs, "reference_keys", lambda *a, **k: {})
    monkeypatch.setattr(grader_health, "_monitor", None)
    return fake


def _no_best(app) -> bool:
    with app.app_context():
        return db.session.scalar(select(func.count(BestScore.id))) == 0


def test_a_grader_that_raises_costs_one_attempt_and_says_so(seeded, grader, api):
    grader.mode = "raise"
    alice = api("alice")
    sub_id = _upload(alice)  # graded inline: the job raises inside
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score, sub.job_attempts, grader.calls) == ("error", None, 1, 1)
    assert (
        sub.error == "The grader could not grade the notebook: RuntimeError: the comparison blew up"
    )
    assert sub.lease_until is None
    doc = alice.get(f"/api/submissions/{sub_id}").get_json()
    assert doc["status"] == "error" and doc["score"] is None
    assert doc["error"] == sub.error and "no score was recorded" in doc["output"]
    assert _no_best(seeded)
    with seeded.app_context():
        jobs._grade_notebook(sub_id)  # a job for it queued twice: nothing more happens
    assert grader.calls == 1


def test_an_unsavable_executed_notebook_is_an_error_and_a_regrade_tries_once(seeded, grader, api):
    grader.mode = "unsavable"
    alice = api("alice")
    teacher = api("teach", role="instructor")
    sub_id = _upload(alice)
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score, sub.job_attempts, grader.calls) == ("error", None, 1, 1)
    assert sub.error.startswith(
        "The grader could not save the executed notebook: UnicodeEncodeError:"
    )
    assert sub.executed_notebook is None and _no_best(seeded)

    job = teacher.post(f"/api/instructor/submissions/{sub_id}/regrade").get_json()
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score, sub.job_attempts, grader.calls) == ("error", None, 1, 2)
    progress = teacher.get(f"/api/instructor/regrades/{job['id']}").get_json()
    assert (progress["done"], progress["finished"]) == (1, True)  # the item settled, once
    assert _no_best(seeded)

    grader.mode = "ok"  # the grader is fixed: the next regrade scores it
    teacher.post(f"/api/instructor/submissions/{sub_id}/regrade")
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score, sub.error) == ("graded", 10.0, None)
    with seeded.app_context():
        assert db.session.scalar(select(BestScore.score)) == 10.0


def test_a_stored_notebook_the_grader_refuses_is_an_error_at_once(seeded, monkeypatch):
    """The real grader (no fake) on a notebook the upload check would now refuse, stored
    before it did: a lone surrogate in a cell."""
    monkeypatch.setattr(grader_health, "_monitor", None)
    spec = load_spec(REPO_ROOT / "exercises" / SLUG / "exercise.yaml")
    nb = json.loads(reference_notebook(spec, REPO_ROOT))
    nb["cells"].append(
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": 'x = "\ud800"'}
    )  # fmt: skip
    with seeded.app_context():
        user = accounts.create_user("alice", "correct horse battery")
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        sub = Submission(
            user_id=user.id,
            exercise_id=exercise.id,
            exercise_version=exercise.version,
            kind="notebook",
            notebook=json.dumps(nb).encode(),  # \ud800 escaped: valid UTF-8 bytes
            filename="mine.ipynb",
            variant={},
            status="queued",
            max_score=exercise.points,
        )
        db.session.add(sub)
        db.session.commit()
        sub_id = sub.id
        jobs.grade_notebook(sub_id)  # the task, inline
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score, sub.job_attempts) == ("error", None, 1)
    assert sub.error.startswith("The grader could not grade the notebook: NotebookError:")
    assert "surrogate" in sub.error
    assert _no_best(seeded)


def test_a_sandbox_that_breaks_under_a_job_puts_it_back(seeded, grader, api):
    """Infrastructure, not the notebook: queued again, not scored, as before."""
    grader.mode = "sandbox"
    alice = api("alice")
    sub_id = _upload(alice)
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score, sub.job_attempts) == ("queued", None, 1)
    assert sub.worker is None and sub.lease_until is None
    assert _no_best(seeded)
    for _ in range(results.MAX_JOB_ATTEMPTS - 1):
        with seeded.app_context():
            jobs._grade_notebook(sub_id)
    sub = _sub(seeded, sub_id)
    assert sub.status == "error" and sub.score is None and sub.error.startswith("sandbox:")
    assert grader.calls == results.MAX_JOB_ATTEMPTS and _no_best(seeded)


def test_a_typed_answer_whose_reference_fails_is_an_error_once(seeded, monkeypatch, api):
    from server.services.grading import references

    calls = []

    def broken(key, target, kwargs):
        calls.append(key)
        raise RuntimeError("the reference solution raised")

    monkeypatch.setattr(references, "compute", broken)
    alice = api("alice")
    res = alice.post(
        "/api/exercises/c3w2-params-embedding-flatten/submissions", json={"answer": "171533"}
    )
    assert res.status_code in (200, 201, 202), res.get_json()
    sub = _sub(seeded, res.get_json()["id"])
    assert (sub.status, sub.score, sub.job_attempts, len(calls)) == ("error", None, 1, 1)
    assert sub.error == (
        "The grader could not compute the reference value: RuntimeError: "
        "the reference solution raised"
    )
    assert _no_best(seeded)


def test_regrade_items_of_a_poison_job_settle_once(seeded, grader, api):
    grader.mode = "raise"
    alice = api("alice")
    teacher = api("teach", role="instructor")
    sub_id = _upload(alice)
    teacher.post(f"/api/instructor/submissions/{sub_id}/regrade")
    with seeded.app_context():
        jobs._grade_notebook(sub_id)  # a stray second job: nothing
        items = db.session.scalars(select(RegradeItem)).all()
        assert [(i.state, i.new_score) for i in items] == [("done", None)]
    assert grader.calls == 2
