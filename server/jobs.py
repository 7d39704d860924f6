"""The queue's tasks (queued only by services.grading.queue): each loads its submission, calls
the grader, and lets services.grading record what came back. Workers run these; with an
immediate queue (tests, no worker) they run inline in the caller's app.
"""

from __future__ import annotations

from contextlib import nullcontext

from flask import Flask, has_app_context

from graders.notebook import grade_notebook as grade_notebook_file
from graders.notebook import reference_keys
from server.extensions import db, huey, huey_gpu
from server.models.submission import Submission
from server.services.exercises import EXERCISES_DIR, reference_key, spec_of
from server.services.grading import datasets, health, import_job, references, results
from server.services.grading.answers import answer_result

_app: Flask | None = None


def use_app(app: Flask) -> None:
    """The worker's app, made once before consuming (jobs never build one themselves)."""
    global _app
    _app = app


def _context():
    if has_app_context():
        return nullcontext()
    if _app is None:
        raise RuntimeError("server.jobs.use_app(app) must be called before consuming jobs")
    return _app.app_context()


@huey.task(retries=2, retry_delay=2)
def grade_answer(submission_id: int) -> None:
    with _context():
        _grade_answer(submission_id)


@huey.task(retries=2, retry_delay=2)
def grade_notebook(submission_id: int) -> None:
    with _context():
        _grade_notebook(submission_id)


@huey_gpu.task(retries=2, retry_delay=2)
def grade_notebook_gpu(submission_id: int) -> None:
    with _context():
        _grade_notebook(submission_id)


@huey.task()
def warm_reference(key: str, target: str, kwargs: dict) -> None:
    """Compute a member's variant before they answer, so their answer is graded inline."""
    with _context():
        references.compute(key, target, kwargs)


@huey.task()
def run_exercise_import(import_id: int) -> None:
    """An instructor's notebook import: run the solution in the sandbox, write, seed."""
    with _context():
        import_job.run_job(import_id)


def _grade_answer(submission_id: int) -> None:
    """Compute (or read) the reference value, then compare the member's answer with it."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status == "graded":
        return
    exercise = sub.exercise
    key, target = reference_key(exercise, sub.variant)
    results.mark_running(sub)
    expected = references.compute(key, target, sub.variant)
    results.record_result(sub.id, answer_result(exercise, sub.answer or "", expected))


def _grade_notebook(submission_id: int) -> None:
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status in ("graded", "error"):
        return  # a retried job after the result landed: nothing to do
    if health.sandbox_down() is not None:
        return  # left queued, no attempt spent: the sandbox monitor requeues it when it is back
    exercise = sub.exercise
    spec = spec_of(exercise)
    results.mark_running(sub, {"cell": 0, "cells": None})

    def progress(cell: int, cells: int) -> None:
        results.record_progress(submission_id, {"cell": cell, "cells": cells})

    folder = EXERCISES_DIR / exercise.slug
    store = datasets.store_root()
    keys = reference_keys(spec, folder=folder, datasets_root=store)
    known = {name: references.cached(key) for name, key in keys.items()}
    known = {name: v for name, v in known.items() if not references.is_missing(v)}
    result = grade_notebook_file(
        spec,
        folder,
        sub.notebook or b"",
        runner=references.runner(),
        reference_values=known,
        progress=progress,
        datasets_root=store,
    )
    doc = result.to_dict()
    if results.is_infrastructure_failure(doc.get("status"), doc.get("error")):
        results.put_back(sub, (doc.get("error") or "").removeprefix("sandbox:").strip())
        return
    health.report_success()
    # Keep what this worker computed, so every other worker reads it from the database.
    for name, value in result.reference_values.items():
        if name not in known and name in keys:
            references.store(keys[name], value)
    results.record_result(
        submission_id,
        doc,
        executed_notebook=result.executed_notebook_bytes(),
        device=result.device,
    )
