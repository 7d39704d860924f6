"""The queue's tasks (queued only by services.grading.queue): each loads its submission, calls
the grader, and lets services.grading record what came back. Workers run these; with an
immediate queue (tests, no worker) they run inline in the caller's app.

A grading job claims its submission (results.mark_running: running, this worker, a lease the
worker renews) and ends with exactly one of: the result; an error naming the step that raised
(no score: a poison notebook costs one attempt, not a retry loop); or, when the sandbox itself
failed, the submission put back in the queue (results.put_back).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from flask import Flask, has_app_context
from sqlalchemy.exc import InterfaceError, OperationalError

from graders.notebook.sandbox import SandboxError
from server.extensions import db, huey, huey_gpu
from server.models.submission import Submission
from server.services.exercises import EXERCISES_DIR, reference_key, spec_of
from server.services.grading import datasets, health, import_job, references, rendering, results
from server.services.grading.answers import answer_result

log = logging.getLogger("adventures.worker")

_app: Flask | None = None


def reference_keys(*args, **kwargs):
    """graders.notebook's, imported on first use: the web process imports this module to
    queue jobs, and the notebook runner's stack (nbclient, zmq) would cost it ~25 MB."""
    from graders.notebook.pipeline import reference_keys as keys

    return keys(*args, **kwargs)


def grade_notebook_file(*args, **kwargs):
    """graders.notebook.grade_notebook, imported on first use (why: reference_keys)."""
    from graders.notebook.pipeline import grade_notebook as grade

    return grade(*args, **kwargs)


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


# No Huey retries: an exception while grading is recorded as the submission's error (one
# attempt), and a job that died with its worker is queued again by grading.queue once its
# lease runs out. A retry would only run a poison notebook twice more.
@huey.task()
def grade_answer(submission_id: int) -> None:
    with _context():
        _grade_answer(submission_id)


@huey.task()
def grade_notebook(submission_id: int) -> None:
    with _context():
        _grade_notebook(submission_id)


@huey_gpu.task()
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


@huey.task()
def render_notebook(submission_id: int) -> None:
    """The HTML of an executed notebook stored without it (graded before workers rendered it)."""
    with _context():
        rendering.render_stored(submission_id)


class _Failed(Exception):
    """A step of a grading job failed; the message says which, for the member and the log."""


def _step(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError):
        raise  # the database is away: not the submission's fault; its lease runs out
    except Exception as exc:
        db.session.rollback()
        text = str(exc).strip()
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        raise _Failed(f"The grader could not {what}: {detail[:1000]}") from exc


def _record_failure(submission_id: int, failed: _Failed) -> None:
    """The job raised: an error with no score (not the member's result), recorded once."""
    log.error("submission %s: %s", submission_id, failed, exc_info=failed.__cause__)
    sub = db.session.get(Submission, submission_id)
    results.record_result(
        submission_id,
        results.failure_doc(
            sub,
            str(failed),
            "Grading failed inside the grader, so no score was recorded; "
            "an instructor can regrade it.",
        ),
        owner=health.worker_name(),
    )


def _grade_answer(submission_id: int) -> None:
    """Compute (or read) the reference value, then compare the member's answer with it."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status in ("graded", "error"):
        return
    _claimed(sub, None, _answer)


def _answer(sub: Submission, submission_id: int) -> None:
    exercise = sub.exercise
    key, target = _step("compute the reference value", reference_key, exercise, sub.variant)
    expected = _step("compute the reference value", references.compute, key, target, sub.variant)
    doc = _step("compare the answer", answer_result, exercise, sub.answer or "", expected)
    owner = health.worker_name()
    _step("store the result", results.record_result, submission_id, doc, owner=owner)


def _grade_notebook(submission_id: int) -> None:
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status in ("graded", "error"):
        return  # a retried job after the result landed: nothing to do
    if health.sandbox_down() is not None:
        return  # left queued, no attempt spent: the sandbox monitor requeues it when it is back
    _claimed(sub, {"cell": 0, "cells": None}, _run_notebook)


def _claimed(sub: Submission, progress: dict | None, work) -> None:
    """Run `work` on a submission this worker could claim; a failure inside is recorded."""
    submission_id = sub.id
    if not results.mark_running(sub, progress):
        return  # graded already, or another worker holds it
    try:
        work(sub, submission_id)
    except _Failed as failed:
        _record_failure(submission_id, failed)
    finally:
        results.release(submission_id)  # this process stops renewing its lease


def _run_notebook(sub: Submission, submission_id: int) -> None:
    exercise = sub.exercise
    spec = spec_of(exercise)

    def progress(cell: int, cells: int) -> None:
        results.record_progress(submission_id, {"cell": cell, "cells": cells})

    folder = EXERCISES_DIR / exercise.slug
    store = datasets.store_root()
    try:
        keys = _step(
            "read the reference values",
            reference_keys,
            spec,
            folder=folder,
            datasets_root=store,
        )
        known = {name: references.cached(key) for name, key in keys.items()}
        known = {name: v for name, v in known.items() if not references.is_missing(v)}
        result = _step(
            "grade the notebook",
            grade_notebook_file,
            spec,
            folder,
            sub.notebook or b"",
            runner=references.runner(),
            reference_values=known,
            progress=progress,
            datasets_root=store,
        )
    except _Failed as failed:
        if isinstance(failed.__cause__, SandboxError):  # the sandbox broke, not the notebook
            results.put_back(
                db.session.get(Submission, submission_id), health.reason_of(failed.__cause__)
            )
            return
        raise
    doc = _step("read the grading result", result.to_dict)
    if results.is_infrastructure_failure(doc.get("status"), doc.get("error")):
        results.put_back(sub, (doc.get("error") or "").removeprefix("sandbox:").strip())
        return
    health.report_success()
    executed = _step("save the executed notebook", result.executed_notebook_bytes)
    html = _cells_html(submission_id, result.executed_notebook) if executed is not None else None
    # Keep what this worker computed, so every other worker reads it from the database.
    for name, value in result.reference_values.items():
        if name not in known and name in keys:
            _step("store a reference value", references.store, keys[name], value)
    _step(
        "store the result",
        results.record_result,
        submission_id,
        doc,
        executed_notebook=executed,
        executed_html=html,
        device=result.device,
        owner=health.worker_name(),
    )


def _cells_html(submission_id: int, executed_nb) -> str | None:
    """The notebook page's HTML, or None when it cannot be rendered: the grade never depends
    on it (the page has the render_notebook job try again)."""
    try:
        return _step("render the executed notebook", rendering.cells_html, executed_nb)
    except _Failed as failed:
        log.warning("submission %s: %s", submission_id, failed, exc_info=failed.__cause__)
        return None
