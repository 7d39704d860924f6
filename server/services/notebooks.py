"""Notebook submissions: validated and stored before they are queued; graded by a worker."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from graders.notebook import Limits, NotebookError, expected_values, grade_notebook, reference_keys
from graders.notebook.read import read_notebook
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.models.user import User
from server.services import datasets, events, grader_health, reference_values
from server.services.exercises import EXERCISES_DIR, spec_of
from server.services.submissions import (
    SubmissionError,
    mark_running,
    public_view,
    record_progress,
    record_result,
)

MAX_JOB_ATTEMPTS = 3
QUEUED_GRACE = timedelta(minutes=5)


def submit_notebook(user: User, exercise: Exercise, data: bytes, filename: str) -> Submission:
    if exercise.kind != "notebook":
        raise SubmissionError(
            400, "wrong_kind", 'This exercise takes a typed answer: JSON {"answer": ...}.'
        )
    limit = current_app.config["MAX_NOTEBOOK_BYTES"]
    if len(data) > limit:
        raise SubmissionError(
            413,
            "too_large",
            f"A notebook may be at most {limit // (1024 * 1024)} MB; clear its outputs and try again.",
        )
    try:
        read_notebook(data, Limits(max_bytes=limit))
    except NotebookError as exc:
        raise SubmissionError(getattr(exc, "status", 400), "bad_notebook", str(exc)) from exc
    spec = spec_of(exercise)
    sub = Submission(
        user_id=user.id,
        exercise_id=exercise.id,
        exercise_version=exercise.version,
        kind="notebook",
        notebook=data,
        filename=filename[:255],
        variant={},
        status="queued",
        max_score=exercise.points,
    )
    db.session.add(sub)
    db.session.commit()
    enqueue(sub, requires_gpu=bool(spec.notebook and spec.notebook.prefers_gpu))
    return sub


def enqueue(sub: Submission, *, requires_gpu: bool) -> None:
    from server.jobs import grade_notebook as cpu_job
    from server.jobs import grade_notebook_gpu as gpu_job

    (gpu_job if requires_gpu else cpu_job)(sub.id)


def grade_job(submission_id: int) -> None:
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status in ("graded", "error"):
        return  # a retried job after the result landed: nothing to do
    if grader_health.sandbox_down() is not None:
        return  # left queued, no attempt spent: the sandbox monitor requeues it when it is back
    exercise = sub.exercise
    spec = spec_of(exercise)
    mark_running(sub, {"cell": 0, "cells": None})

    def progress(cell: int, cells: int) -> None:
        record_progress(submission_id, {"cell": cell, "cells": cells})

    folder = EXERCISES_DIR / exercise.slug
    store = datasets.store_root()
    keys = reference_keys(spec, folder=folder, datasets_root=store)
    known = {name: reference_values.cached(key) for name, key in keys.items()}
    known = {name: v for name, v in known.items() if not reference_values.is_missing(v)}
    runner = reference_values.runner()
    result = grade_notebook(
        spec,
        folder,
        sub.notebook or b"",
        runner=runner,
        reference_values=known,
        progress=progress,
        datasets_root=store,
    )
    doc = result.to_dict()
    if is_infrastructure_failure(doc.get("status"), doc.get("error")):
        _put_back(sub, (doc.get("error") or "").removeprefix("sandbox:").strip())
        return
    grader_health.report_success()
    if len(known) < len(keys):
        # Keep what this worker computed, so every other worker reads it from the database.
        values, _errors = expected_values(spec, runner, known, folder=folder, datasets_root=store)
        for name, value in values.items():
            if name not in known:
                reference_values.store(keys[name], value)
    record_result(
        submission_id,
        doc,
        executed_notebook=result.executed_notebook_bytes(),
        device=result.device,
    )


def is_infrastructure_failure(status: str | None, error: str | None) -> bool:
    """The grader's sandbox failed (not the member's code): see graders.notebook.pipeline._run."""
    return status == "error" and (error or "").startswith("sandbox:")


def _put_back(sub: Submission, reason: str) -> None:
    """Queue it again instead of recording the failure as the member's result.

    Attempts stay bounded (a notebook that keeps killing the sandbox must stop
    somewhere); the last one is an error with no score, so no 0 reaches the board.
    """
    grader_health.report_failure(reason)
    if sub.job_attempts >= MAX_JOB_ATTEMPTS:
        sub.status = "error"
        sub.score = None
        sub.error = f"sandbox: {reason}"
        sub.result = {
            "status": "error",
            "error": sub.error,
            "output": "The grader's sandbox failed repeatedly; an instructor can regrade it.",
            "tests": [],
        }
        sub.graded_at = utcnow()
    else:
        sub.status = "queued"
        sub.queued_at = utcnow()
    sub.progress = None
    db.session.commit()
    events.publish(f"submission:{sub.id}", "status", public_view(sub))


def requeue_waiting() -> list[int]:
    """After the sandbox comes back: queue every notebook submission still waiting."""
    rows = db.session.scalars(
        select(Submission).where(Submission.kind == "notebook", Submission.status == "queued")
    ).all()
    now = utcnow()
    todo = []
    for sub in rows:
        sub.queued_at = now
        spec = spec_of(sub.exercise)
        todo.append((sub.id, bool(spec.notebook and spec.notebook.prefers_gpu)))
    db.session.commit()
    for sub_id, gpu in todo:
        sub = db.session.get(Submission, sub_id)
        if sub is not None and sub.status == "queued":
            enqueue(sub, requires_gpu=gpu)
    return [sub_id for sub_id, _ in todo]


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
        enqueue(sub, requires_gpu=bool(spec.notebook and spec.notebook.prefers_gpu))
        requeued.append(sub.id)
    return requeued
