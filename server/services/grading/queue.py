"""The grading queue: the only code that puts jobs on it (server.jobs defines them).

A notebook goes to the GPU queue when its exercise prefers a GPU; everything else to the CPU
queue. Jobs an interrupted worker left behind (its lease ran out: see results.mark_running),
and notebooks that waited while the sandbox was down, are queued again from here.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from server import jobs
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.services.exercises import spec_of
from server.services.grading import health
from server.services.grading.results import MAX_JOB_ATTEMPTS, failure_doc, held, record_result

QUEUED_GRACE = timedelta(minutes=5)
FORCE_GRACE = timedelta(seconds=30)  # a worker starting up: its predecessor's queue may be lost


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


# The notebook page reloads every few seconds while its HTML is rendered: one job per
# submission per RENDER_AGAIN_S in each web process, not one per reload.
RENDER_AGAIN_S = 30.0
_render_queued: dict[int, float] = {}
_render_lock = threading.Lock()


def render_later(sub: Submission) -> bool:
    """Queue the HTML render of an executed notebook stored without it (graded before the
    worker rendered it, or its rendering failed); False when one was queued just now."""
    now = time.monotonic()
    with _render_lock:
        queued = _render_queued.get(sub.id)
        if queued is not None and now - queued < RENDER_AGAIN_S:
            return False
        for sub_id in [k for k, at in _render_queued.items() if now - at >= RENDER_AGAIN_S]:
            del _render_queued[sub_id]
        _render_queued[sub.id] = now
    jobs.render_notebook(sub.id)
    return True


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
    """Queue again the jobs interrupted workers left behind; give up after MAX_JOB_ATTEMPTS.

    A running job was interrupted when its lease ran out (its worker stopped renewing it) or
    the worker named on it is gone from this machine; one without a lease (started before
    leases existed) when it has run longer than its time limit + 60 s. A queued one whose
    job was lost is queued again after QUEUED_GRACE (FORCE_GRACE when a worker starts).
    Each change is a compare-and-set on the row as it was read, so two workers doing this
    at once queue a submission once.
    """
    now = utcnow()
    rows = db.session.execute(
        select(
            Submission.id,
            Submission.exercise_id,
            Submission.status,
            Submission.worker,
            Submission.lease_until,
            Submission.started_at,
            Submission.queued_at,
            Submission.created_at,
            Submission.job_attempts,
        ).where(Submission.status.in_(("running", "queued")))
    ).all()
    limits: dict[int, timedelta] = {}
    requeued = []
    for row in rows:
        if row.status == "running":
            if not _interrupted(row, now, limits):
                continue
            unchanged = [_same(Submission.worker, row.worker)]
            unchanged.append(_same(Submission.lease_until, row.lease_until))
        else:
            if now - (row.queued_at or row.created_at) <= (FORCE_GRACE if force else QUEUED_GRACE):
                continue
            unchanged = [_same(Submission.queued_at, row.queued_at)]
        gave_up = row.job_attempts >= MAX_JOB_ATTEMPTS
        won = db.session.execute(
            update(Submission)
            .where(Submission.id == row.id, Submission.status == row.status, *unchanged)
            .values(
                status=row.status if gave_up else "queued",
                queued_at=now,  # judged from now on, so a job waiting its turn is not queued twice
                worker=None,
                lease_until=None,
                progress=None,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if won.rowcount != 1:
            continue  # another worker got there first, or the job renewed its lease meanwhile
        sub = db.session.get(Submission, row.id)
        if gave_up:
            record_result(
                sub.id,
                failure_doc(
                    sub,
                    f"Grading was interrupted {row.job_attempts} times (the grading worker "
                    "stopped while running it); no score was recorded.",
                    "Grading stopped repeatedly; an instructor can regrade it.",
                ),
            )
            continue
        enqueue(sub)
        requeued.append(sub.id)
    return requeued


def _same(column, value):
    return column.is_(None) if value is None else column == value


def _interrupted(row, now, limits: dict[int, timedelta]) -> bool:
    if row.lease_until is not None:
        return row.lease_until < now or _owner_gone(row.id, row.worker)
    if row.started_at is None:
        return False
    if row.exercise_id not in limits:
        exercise = db.session.get(Exercise, row.exercise_id)
        spec = spec_of(exercise) if exercise is not None else None
        seconds = spec.notebook.time_limit if spec is not None and spec.notebook else 180
        limits[row.exercise_id] = timedelta(seconds=seconds + 60)
    return now - row.started_at > limits[row.exercise_id]


def _owner_gone(sub_id: int, worker: str | None) -> bool:
    """Is the worker named on a running job certainly gone? Known only on this machine.

    Our own name on a job this process is not running is a gone process's too: an earlier
    worker that had the same pid (a restarted container, say).
    """
    if not worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != health.worker_name().rpartition(":")[0] or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return sub_id not in held()
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False
