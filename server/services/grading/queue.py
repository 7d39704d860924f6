"""The grading queue: the only code that puts jobs on it (server.jobs defines them).

A notebook goes to the GPU queue when its exercise prefers a GPU; everything else to the CPU
queue. Jobs a dead worker left behind, and notebooks that waited while the sandbox was down,
are queued again from here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from server import jobs
from server.extensions import db
from server.models.base import utcnow
from server.models.submission import Submission
from server.services.exercises import spec_of
from server.services.grading.results import MAX_JOB_ATTEMPTS, record_result

QUEUED_GRACE = timedelta(minutes=5)


def enqueue(sub: Submission) -> None:
    """Queue the submission's grading job (inline when the queue is immediate, as in tests)."""
    if sub.kind != "notebook":
        jobs.grade_answer(sub.id)
        return
    spec = spec_of(sub.exercise)
    gpu = bool(spec.notebook and spec.notebook.prefers_gpu)
    (jobs.grade_notebook_gpu if gpu else jobs.grade_notebook)(sub.id)


def warm_variant(key: str, target: str, kwargs: dict[str, Any]) -> None:
    """Compute a member's variant before they answer, so their answer is graded inline."""
    jobs.warm_reference(key, target, kwargs)


def enqueue_import(import_id: int) -> None:
    jobs.run_exercise_import(import_id)


def requeue_waiting() -> list[int]:
    """After the sandbox comes back: queue every notebook submission still waiting."""
    rows = db.session.scalars(
        select(Submission).where(Submission.kind == "notebook", Submission.status == "queued")
    ).all()
    now = utcnow()
    todo = []
    for sub in rows:
        sub.queued_at = now
        todo.append(sub.id)
    db.session.commit()
    for sub_id in todo:
        sub = db.session.get(Submission, sub_id)
        if sub is not None and sub.status == "queued":
            enqueue(sub)
    return todo


def requeue_stale(force: bool = False) -> list[int]:
    """Queue again the jobs a dead worker left behind; give up after MAX_JOB_ATTEMPTS."""
    now = utcnow()
    rows = db.session.scalars(
        select(Submission).where(
            Submission.kind == "notebook",
            or_(Submission.status == "running", Submission.status == "queued"),
        )
    ).all()
    requeued = []
    for sub in rows:
        spec = spec_of(sub.exercise)
        limit = timedelta(seconds=(spec.notebook.time_limit if spec.notebook else 180) + 60)
        stale = (
            sub.status == "running" and sub.started_at is not None and now - sub.started_at > limit
        ) or (
            sub.status == "queued"
            and now - (sub.queued_at or sub.created_at)
            > (QUEUED_GRACE if not force else timedelta(seconds=30))
        )
        if not stale:
            continue
        if sub.job_attempts >= MAX_JOB_ATTEMPTS:
            record_result(
                sub.id,
                {
                    "score": 0.0,
                    "max_score": sub.max_score,
                    "status": "error",
                    "error": "Grading stopped repeatedly (the worker died); an instructor can regrade it.",
                    "output": "Grading stopped repeatedly; an instructor can regrade it.",
                    "tests": [],
                },
            )
            continue
        sub.status = "queued"
        sub.queued_at = now  # judged from now on, so a job waiting its turn is not queued twice
        db.session.commit()
        enqueue(sub)
        requeued.append(sub.id)
    return requeued
