"""A worker whose sandbox cannot start keeps notebook uploads queued, says so, and grades them later.

No real sandbox here: the warm-up and the grader are replaced by ones that fail
the way graders.notebook does (SandboxError; a result whose error starts "sandbox:").
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from graders.notebook import GradeResult, SandboxError
from graders.notebook.check import reference_notebook
from graders.spec import load_spec
from server import jobs
from server.config import REPO_ROOT
from server.extensions import db, huey
from server.models.base import utcnow
from server.models.grader_health import GraderHealth
from server.models.submission import BestScore, Submission
from server.services.grading import health as grader_health
from server.services.grading import results
from server.services.grading.monitor import SandboxMonitor

SLUG = "c3w1-tokenizer"
BWRAP = "setpriv: failed to execute /usr/bin/bwrap"


class FakeGrader:
    """Stands in for graders.notebook.grade_notebook: a sandbox failure, or full marks."""

    def __init__(self) -> None:
        self.sandbox_up = False
        self.calls = 0

    def __call__(self, spec, folder, data, **_kw) -> GradeResult:
        self.calls += 1
        if not self.sandbox_up:
            return GradeResult(
                score=0.0,
                max_score=10.0,
                execution_time=0.1,
                output="The grader failed",
                status="error",
                error=f"sandbox: the sandbox did not start: {BWRAP}",
            )
        return GradeResult(score=10.0, max_score=10.0, execution_time=0.1, output="all passed")


@pytest.fixture
def grader(monkeypatch):
    fake = FakeGrader()
    monkeypatch.setattr(jobs, "grade_notebook_file", fake)
    monkeypatch.setattr(jobs, "reference_keys", lambda *a, **k: {})
    monkeypatch.setattr(grader_health, "_monitor", None)
    return fake


def _monitor(app, fake: FakeGrader) -> SandboxMonitor:
    def warm() -> None:
        if not fake.sandbox_up:
            raise SandboxError(f"the sandbox did not start: {BWRAP}")

    monitor = SandboxMonitor(app, warm)
    grader_health.install(monitor)  # the fixture's monkeypatch puts None back
    return monitor


def _upload(member) -> int:
    spec = load_spec(REPO_ROOT / "exercises" / SLUG / "exercise.yaml")
    res = member.client.post(
        f"/api/exercises/{SLUG}/submissions",
        data={"notebook": (io.BytesIO(reference_notebook(spec, REPO_ROOT)), "mine.ipynb")},
        headers={"Authorization": f"Bearer {member.token}"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 202, res.get_json()
    return res.get_json()["id"]


def _sub(app, sub_id: int) -> Submission:
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        db.session.expunge(sub)
        return sub


def _health_rows(app) -> list[GraderHealth]:
    with app.app_context():
        rows = db.session.scalars(select(GraderHealth)).all()
        db.session.expunge_all()
        return rows


def test_health_is_recorded_down_then_up(seeded, grader, caplog):
    monitor = _monitor(seeded, grader)
    with seeded.app_context():
        assert monitor.check_once() is False
    [row] = _health_rows(seeded)
    assert not row.healthy and BWRAP in row.reason
    assert "notebook grading is offline" in caplog.text and BWRAP in caplog.text
    with seeded.app_context():
        health = grader_health.current()
        assert not health.online and BWRAP in health.reason
    assert grader_health.sandbox_down() is not None

    grader.sandbox_up = True
    with seeded.app_context():
        assert monitor.check_once() is True
        assert grader_health.current().online
    [row] = _health_rows(seeded)
    assert row.healthy and row.reason is None
    assert grader_health.sandbox_down() is None


def test_job_during_downtime_stays_queued_then_grades_after_recovery(seeded, grader, api):
    monitor = _monitor(seeded, grader)
    with seeded.app_context():
        monitor.check_once()  # the worker's start-up: down
    alice = api("alice")
    sub_id = _upload(alice)  # the job runs inline and finds the sandbox down
    sub = _sub(seeded, sub_id)
    assert sub.status == "queued" and sub.score is None and sub.job_attempts == 0
    assert grader.calls == 0  # the grader was not run at all
    doc = alice.get(f"/api/submissions/{sub_id}").get_json()
    assert doc["status"] == "queued" and doc["score"] is None

    grader.sandbox_up = True
    with seeded.app_context():
        assert monitor.check_once()  # recovery requeues the waiting upload; it grades inline
    sub = _sub(seeded, sub_id)
    assert sub.status == "graded" and sub.score == 10.0 and grader.calls == 1


def test_sandbox_failure_in_a_job_is_requeued_not_scored(seeded, grader, api):
    monitor = _monitor(seeded, grader)
    grader.sandbox_up = True
    with seeded.app_context():
        monitor.check_once()  # healthy at start
    grader.sandbox_up = False  # ... then bubblewrap breaks under a running job
    alice = api("alice")
    sub_id = _upload(alice)
    sub = _sub(seeded, sub_id)
    assert sub.status == "queued" and sub.score is None and sub.result is None
    assert grader.calls == 1 and sub.job_attempts == 1
    assert monitor.down_reason and BWRAP in monitor.down_reason
    with seeded.app_context():
        assert db.session.scalar(select(BestScore)) is None  # no 0 on the board
        assert not grader_health.current().online

    grader.sandbox_up = True
    with seeded.app_context():
        assert monitor.check_once()
    sub = _sub(seeded, sub_id)
    assert sub.status == "graded" and sub.score == 10.0
    with seeded.app_context():
        assert db.session.scalar(select(BestScore.score)) == 10.0


def test_inline_sandbox_failures_stop_after_bounded_attempts_without_a_score(seeded, grader, api):
    """No monitor (inline jobs): each failure is recorded; the last attempt ends without a score."""
    alice = api("alice")
    sub_id = _upload(alice)
    with seeded.app_context():
        assert not grader_health.current().online  # inline jobs record the failure too
    for _ in range(results.MAX_JOB_ATTEMPTS - 1):
        with seeded.app_context():
            jobs._grade_notebook(sub_id)
    sub = _sub(seeded, sub_id)
    assert sub.status == "error" and sub.score is None and sub.error.startswith("sandbox:")
    assert grader.calls == results.MAX_JOB_ATTEMPTS
    with seeded.app_context():
        assert db.session.scalar(select(BestScore)) is None


def test_exercise_page_and_dashboard_say_grading_is_offline(
    seeded, grader, make_user, auth, client
):
    make_user("alice")
    make_user("teach", role="instructor")
    auth.login("alice")
    page = client.get(f"/exercises/{SLUG}").get_data(as_text=True)
    assert "Notebook grading is offline" not in page  # inline jobs, nobody said otherwise

    with seeded.app_context():
        grader_health.record(False, f"the sandbox did not start: {BWRAP}", worker="w1")
    page = client.get(f"/exercises/{SLUG}").get_data(as_text=True)
    assert (
        "Notebook grading is offline right now; your upload is kept and graded when it is back"
        in page
    )
    assert 'id="upload-form"' in page  # uploads are still taken, and queued durably
    auth.logout()
    auth.login("teach")
    dash = client.get("/instructor").get_data(as_text=True)
    assert f"Notebook grading is offline: the sandbox did not start: {BWRAP}" in dash

    with seeded.app_context():
        grader_health.record(True, worker="w1")
    assert "Notebook grading is offline" not in client.get("/instructor").get_data(as_text=True)


def test_a_silent_worker_counts_as_offline(seeded, grader, monkeypatch):
    monkeypatch.setattr(huey, "immediate", False)  # a real deployment: workers send heartbeats
    with seeded.app_context():
        health = grader_health.current()
        assert not health.online and "no grading worker has started" in health.reason
        grader_health.record(True, worker="w1")
        assert grader_health.current().online
        row = db.session.scalar(select(GraderHealth))
        row.checked_at = utcnow() - grader_health.STALE - timedelta(seconds=1)
        db.session.commit()
        health = grader_health.current()
        assert not health.online and "no grading worker has reported" in health.reason
