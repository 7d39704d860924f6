"""A running job holds a lease its worker renews; a job whose lease ran out (or whose worker on
this machine is gone) was interrupted and is queued again at once, however young it is, and
one with a live lease is left alone, however old. Results still land once.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.submission import BestScore, Submission
from server.services import accounts
from server.services.grading import health, queue, results

SLUG = "c3w1-tokenizer"


@pytest.fixture(autouse=True)
def _nothing_held():
    yield
    results._held.clear()  # a failed test must not leave this process holding ids


@pytest.fixture
def enqueued(monkeypatch):
    """Jobs queue_stale would queue, collected instead of run."""
    seen: list[int] = []
    monkeypatch.setattr(queue, "enqueue", lambda sub: seen.append(sub.id))
    return seen


def _running(app, *, worker: str | None, lease_s: float | None, started_s: float = 5, attempts=1):
    """A notebook submission a worker took `started_s` ago, its lease ending in lease_s."""
    with app.app_context():
        user = accounts.create_user(f"m{utcnow().timestamp():.6f}", "correct horse battery")
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        now = utcnow()
        sub = Submission(
            user_id=user.id,
            exercise_id=exercise.id,
            exercise_version=exercise.version,
            kind="notebook",
            notebook=b"{}",
            filename="mine.ipynb",
            variant={},
            status="running",
            max_score=exercise.points,
            job_attempts=attempts,
            queued_at=now - timedelta(seconds=started_s + 1),
            started_at=now - timedelta(seconds=started_s),
            worker=worker,
            lease_until=None if lease_s is None else now + timedelta(seconds=lease_s),
        )
        db.session.add(sub)
        db.session.commit()
        return sub.id


def _row(app, sub_id: int) -> Submission:
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        db.session.expunge(sub)
        return sub


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_job_whose_lease_ran_out_is_requeued_at_once(seeded, enqueued):
    sub_id = _running(seeded, worker="another-machine:4242", lease_s=-1, started_s=40)
    with seeded.app_context():
        assert queue.requeue_stale() == [sub_id]  # 40 s old: by age it would wait 3 minutes
    sub = _row(seeded, sub_id)
    assert (sub.status, sub.worker, sub.lease_until) == ("queued", None, None)
    with seeded.app_context():
        assert queue.requeue_stale() == []  # queued again just now: not twice
    assert enqueued == [sub_id]


def test_a_job_with_a_live_lease_is_left_alone_however_old(seeded, enqueued):
    sub_id = _running(seeded, worker="another-machine:4242", lease_s=20, started_s=2 * 3600)
    with seeded.app_context():
        assert queue.requeue_stale() == []
        assert queue.requeue_stale(force=True) == []  # a worker starting elsewhere: still alive
    assert _row(seeded, sub_id).status == "running" and enqueued == []


def test_a_job_whose_worker_on_this_machine_is_gone_is_requeued_at_once(seeded, enqueued):
    """What a worker starting after a crash does first: its predecessor's pid is gone."""
    gone = f"{socket.gethostname()}:{_dead_pid()}"
    sub_id = _running(seeded, worker=gone, lease_s=25)
    alive = _running(seeded, worker=f"{socket.gethostname()}:1", lease_s=25)  # pid 1 lives
    with seeded.app_context():
        assert queue.requeue_stale(force=True) == [sub_id]
    assert _row(seeded, alive).status == "running"


def test_a_job_without_a_lease_is_still_judged_by_age(seeded, enqueued):
    """Running when the lease columns were added: the old rule, time limit + 60 s."""
    young = _running(seeded, worker=None, lease_s=None, started_s=60)
    old = _running(seeded, worker=None, lease_s=None, started_s=3600)
    with seeded.app_context():
        assert queue.requeue_stale() == [old]
    assert _row(seeded, young).status == "running"


def _marked_running(seeded) -> int:
    """A queued submission this worker has just started (mark_running)."""
    sub_id = _running(seeded, worker=None, lease_s=None)
    with seeded.app_context():
        sub = db.session.get(Submission, sub_id)
        sub.status = "queued"
        db.session.commit()
        assert results.mark_running(sub)
    return sub_id


def test_the_worker_renews_the_leases_of_the_jobs_it_runs(seeded, enqueued):
    sub_id = _marked_running(seeded)
    sub = _row(seeded, sub_id)
    assert sub.worker == health.worker_name() and sub.job_attempts == 2
    assert timedelta(seconds=25) < sub.lease_until - utcnow() <= results.LEASE
    with seeded.app_context():
        # another worker's job for it (queued twice) does not run it a second time
        assert not results.mark_running(db.session.get(Submission, sub_id))
        db.session.get(Submission, sub_id).lease_until = utcnow() + timedelta(seconds=1)
        db.session.commit()
        assert results.extend_leases() == 1
    assert _row(seeded, sub_id).lease_until - utcnow() > timedelta(seconds=25)
    with seeded.app_context():
        assert queue.requeue_stale(force=True) == []  # ours and running: not interrupted
        results.release(sub_id)  # the job ended without a result (say the database went away)
        assert results.extend_leases() == 0
        assert queue.requeue_stale() == [sub_id]  # our name, not our job: queued again
    assert enqueued == [sub_id]


def test_the_lease_keeper_thread_renews(seeded):
    from server.services.grading.monitor import LeaseKeeper

    sub_id = _marked_running(seeded)
    with seeded.app_context():
        db.session.get(Submission, sub_id).lease_until = utcnow()
        db.session.commit()
    try:
        assert LeaseKeeper(seeded).renew_once() == 1
    finally:
        results.release(sub_id)
    assert _row(seeded, sub_id).lease_until - utcnow() > timedelta(seconds=25)


def test_a_result_from_a_job_that_lost_its_claim_is_dropped(seeded):
    """Its lease ran out and another worker took the submission: the first result is not kept."""
    sub_id = _running(seeded, worker="another-machine:4242", lease_s=20)
    doc = {"score": 10.0, "max_score": 10.0, "status": "graded", "tests": [], "output": ""}
    with seeded.app_context():
        results.record_result(sub_id, doc, owner=health.worker_name())
    sub = _row(seeded, sub_id)
    assert sub.status == "running" and sub.score is None
    with seeded.app_context():
        results.record_result(sub_id, doc, owner="another-machine:4242")
        results.record_result(sub_id, {**doc, "score": 3.0}, owner="another-machine:4242")
        assert db.session.scalar(select(BestScore.score)) == 10.0  # the second one is dropped
    assert _row(seeded, sub_id).score == 10.0


def test_a_job_interrupted_too_often_ends_without_a_score(seeded, enqueued):
    sub_id = _running(seeded, worker="another-machine:4242", lease_s=-1, attempts=3)
    with seeded.app_context():
        assert queue.requeue_stale() == []
        assert db.session.scalar(select(func.count(BestScore.id))) == 0  # no 0 on the board
    sub = _row(seeded, sub_id)
    assert sub.status == "error" and sub.score is None and enqueued == []
    assert sub.error.startswith("Grading was interrupted 3 times")


def test_the_worker_restart_backs_off_then_resets():
    from server.cli import next_restart_delay

    delays, delay = [], None
    for _ in range(7):
        delay = next_restart_delay(delay, uptime=2)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert next_restart_delay(30, uptime=120) == 1  # it stayed up: start over


def test_the_monitor_requeues_every_few_seconds(seeded, monkeypatch):
    """Upkeep (requeue_stale) runs every UPKEEP_S, not once a heartbeat (60 s)."""
    import threading

    from server.services.grading import monitor as monitor_module

    monkeypatch.setattr(monitor_module, "UPKEEP_S", 0.05)
    assert monitor_module.UPKEEP_S * 2 < monitor_module.HEARTBEAT_S
    beats = threading.Semaphore(0)
    monitor = monitor_module.SandboxMonitor(seeded, lambda: None)
    monkeypatch.setattr(monitor, "upkeep", beats.release)
    recorded: list[bool] = []
    monkeypatch.setattr(health, "record", lambda healthy, *a, **k: recorded.append(healthy))
    monitor.start()
    try:
        for _ in range(3):
            assert beats.acquire(timeout=5)
    finally:
        monitor.stop()
    assert recorded == []  # the heartbeat keeps its own, slower pace
