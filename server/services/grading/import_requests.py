"""Asking for an exercise import (checked at once, then queued), and queueing again the imports
a dead worker left behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import url_for
from sqlalchemy import select

from graders.datasets import human_size
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise_import import ExerciseImport
from server.models.user import User
from server.services.audit import audit
from server.services.grading import queue
from server.services.grading.import_job import finish
from server.services.grading.imports import (
    FINISHED,
    ImportRefused,
    Upload,
    check_limits,
    check_slug,
    dataset_rows,
    existing,
    max_bytes,
    missing_message,
    prepare,
)

MAX_ATTEMPTS = 2
QUEUED_GRACE = timedelta(minutes=10)


def request_import(
    user: User,
    *,
    slug: str,
    blank: Upload | None,
    solution: Upload | None,
    force: bool,
    ignored: list[str],
    time_limit: Any = None,
    cell_timeout: Any = None,
) -> ExerciseImport:
    """Check the upload, store it, queue the job; ImportRefused (4xx) stores nothing."""
    slug = check_slug(slug)
    time_limit, cell_timeout = check_limits(time_limit, cell_timeout)
    if blank is None or not blank.data:
        raise ImportRefused(400, "no_notebook", "Choose the notebook (.ipynb) to import.")
    limit = max_bytes()
    for what, upload in (("the notebook", blank), ("the solution", solution)):
        if upload is not None and len(upload.data) > limit:
            raise ImportRefused(
                413,
                "too_large",
                f"{upload.filename or what} is {human_size(len(upload.data))}; the limit is "
                f"{human_size(limit)} per notebook. Clear its outputs and try again.",
            )
    if solution is not None and not solution.data:
        solution = None
    taken = existing(slug)
    if taken and not force:
        raise ImportRefused(
            409,
            "exists",
            f"{taken}: tick 'Overwrite' to replace its notebooks and spec, or choose another slug.",
        )
    busy = db.session.scalar(
        select(ExerciseImport.id).where(
            ExerciseImport.slug == slug, ExerciseImport.status.not_in(FINISHED)
        )
    )
    if busy is not None:
        raise ImportRefused(
            409, "busy", f"Import #{busy} of '{slug}' is still running; wait for it to finish."
        )
    imported = prepare(
        slug,
        blank.data,
        solution.data if solution else None,
        ignored,
        time_limit=time_limit,
        cell_timeout=cell_timeout,
    )
    rows = dataset_rows(imported)
    if any(not r["in_store"] for r in rows):
        raise ImportRefused(
            400,
            "missing_datasets",
            missing_message(rows),
            datasets=rows,
            notes=imported.notes,
            datasets_url=url_for("datasets.datasets_page"),
        )
    now = utcnow()
    row = ExerciseImport(
        slug=slug,
        requested_by=user.id,
        force=bool(force),
        ignored=list(ignored),
        time_limit=time_limit,
        cell_timeout=cell_timeout,
        blank=blank.data,
        blank_name=(blank.filename or "notebook.ipynb")[:255],
        solution=solution.data if solution else None,
        solution_name=(solution.filename or "solution.ipynb")[:255] if solution else None,
        status="queued",
        phase="Waiting for a grading worker",
        result={"notes": imported.notes, "datasets": rows, "functions": imported.functions},
        created_at=now,
        queued_at=now,
    )
    db.session.add(row)
    db.session.flush()
    audit(user, "exercise_import", "exercise_import", row.id, detail={"slug": slug, "force": force})
    db.session.commit()
    enqueue(row.id)
    db.session.refresh(row)  # an inline job (tests) has finished it already
    return row


def enqueue(import_id: int) -> None:
    queue.enqueue_import(import_id)


def requeue_stale(now=None) -> list[int]:
    """Imports a dead worker left running (or a lost job left queued) are queued again, once."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(ExerciseImport).where(ExerciseImport.status.in_(("queued", "running")))
    ).all()
    again = []
    for row in rows:
        if row.status == "running":
            # Generous: the run may first wait for a sandbox slot behind members' grades.
            allowed = timedelta(seconds=max(2 * row.time_limit, row.time_limit + 300))
            stale = row.started_at is not None and now - row.started_at > allowed
        else:
            stale = now - row.queued_at > QUEUED_GRACE
        if not stale:
            continue
        if row.attempts >= MAX_ATTEMPTS:
            finish(
                row.id,
                None,
                "failed",
                dict(row.result or {}),
                "The worker stopped during the import twice; nothing was seeded. Try again.",
            )
            continue
        row.status, row.queued_at, row.phase = "queued", now, "Waiting for a grading worker"
        db.session.commit()
        enqueue(row.id)
        again.append(row.id)
    return again
