"""Regrading after an exercise's spec or reference changed.

A regrade keeps each old result document in result_history, puts the
submission back in the queue through the ordinary jobs (grading.queue), and
lets record_result swap the new document in whole. record_result calls
results.settle() in the same transaction, which closes the regrade item and
recomputes the member's best score (a regrade may lower it) and publishes the
regrade's progress. A worker killed mid-regrade leaves the submission
'running'; queue.requeue_stale queues it again and the item settles once,
when its result lands.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, and_, insert, literal, select, update

from server.extensions import db
from server.models.base import UTCDateTime, utcnow
from server.models.exercise import Exercise
from server.models.instructor import Regrade, RegradeItem, ResultHistory
from server.models.submission import Submission
from server.models.user import User
from server.services import live
from server.services.audit import audit
from server.services.errors import StatusError
from server.services.grading import queue
from server.services.live import channels

REGRADABLE = ("graded", "error")


class RegradeError(StatusError, ValueError):
    pass


def regrade_submission(actor: User, sub: Submission) -> Regrade:
    if sub.status not in REGRADABLE:
        raise RegradeError(
            409, "in_progress", "This submission is being graded now; regrade it when it is done."
        )
    return _start(actor, sub.exercise, Submission.id == sub.id, scope="submission", target=sub.id)


def regrade_exercise(actor: User, exercise: Exercise) -> Regrade:
    """Every graded submission of the exercise; ones already queued will use the new spec anyway."""
    return _start(
        actor, exercise, Submission.exercise_id == exercise.id, scope="exercise", target=exercise.id
    )


def _start(actor: User, exercise: Exercise, which, *, scope: str, target: int) -> Regrade:
    """Copy the chosen results to history, queue the submissions, then enqueue their jobs.

    Set-based (INSERT ... SELECT, UPDATE ... WHERE) so regrading thousands of notebooks never
    loads their documents and notebooks into this process.
    """
    now = utcnow()
    regrade = Regrade(
        exercise_id=exercise.id, requested_by=actor.id, scope=scope, total=0, created_at=now
    )
    db.session.add(regrade)
    db.session.flush()
    pending = select(RegradeItem.submission_id).where(RegradeItem.state == "pending")
    chosen = and_(which, Submission.status.in_(REGRADABLE), Submission.id.not_in(pending))
    copied = (
        "submission_id", "reason", "status", "score", "max_score", "result", "executed_notebook",
        "exercise_version", "graded_at", "replaced_at", "actor_id", "regrade_id",
    )  # fmt: skip
    db.session.execute(
        insert(ResultHistory).from_select(
            copied,
            select(
                Submission.id,
                literal("regrade", String),
                Submission.status,
                Submission.score,
                Submission.max_score,
                Submission.result,
                Submission.executed_notebook,
                Submission.exercise_version,
                Submission.graded_at,
                literal(now, UTCDateTime),
                literal(actor.id, Integer),
                literal(regrade.id, Integer),
            ).where(chosen),
        )
    )
    db.session.execute(
        insert(RegradeItem).from_select(
            ("regrade_id", "submission_id", "state", "history_id", "old_score"),
            select(
                ResultHistory.regrade_id,
                ResultHistory.submission_id,
                literal("pending", String),
                ResultHistory.id,
                ResultHistory.score,
            ).where(ResultHistory.regrade_id == regrade.id),
        )
    )
    ids = list(
        db.session.scalars(
            select(RegradeItem.submission_id)
            .where(RegradeItem.regrade_id == regrade.id)
            .order_by(RegradeItem.submission_id)
        )
    )
    # The old result stays visible until the new one replaces it whole.
    db.session.execute(
        update(Submission)
        .where(Submission.id.in_(ids or [0]))
        .values(
            status="queued",
            queued_at=now,
            exercise_version=exercise.version,
            started_at=None,
            graded_at=None,
            job_attempts=0,
            progress=None,
        )
        .execution_options(synchronize_session=False)
    )
    regrade.total = len(ids)
    regrade.finished_at = None if ids else now
    audit(
        actor,
        "regrade",
        scope,
        target,
        detail={"regrade_id": regrade.id, "exercise": exercise.slug, "submissions": len(ids)},
    )
    db.session.commit()
    regrade_id = regrade.id
    live.publish(channels.regrade(regrade_id), "progress", {"id": regrade_id})
    for sub_id in ids:
        sub = db.session.get(Submission, sub_id)
        if sub is not None and sub.status == "queued":
            queue.enqueue(sub)
    return db.session.get(Regrade, regrade_id)


def progress(regrade_id: int) -> dict[str, Any] | None:
    """Counts for the progress bar: done of total, and how many scores went up or down."""
    regrade = db.session.get(Regrade, regrade_id) if 0 < regrade_id < 2**31 else None
    if regrade is None:
        return None
    rows = db.session.execute(
        select(RegradeItem.state, RegradeItem.old_score, RegradeItem.new_score).where(
            RegradeItem.regrade_id == regrade_id
        )
    ).all()
    done = [r for r in rows if r.state == "done"]
    exercise = db.session.get(Exercise, regrade.exercise_id)
    return {
        "id": regrade.id,
        "exercise": exercise.slug if exercise else None,
        "scope": regrade.scope,
        "total": regrade.total,
        "done": len(done),
        "raised": sum(1 for r in done if (r.new_score or 0) > (r.old_score or 0) + 1e-9),
        "lowered": sum(1 for r in done if (r.new_score or 0) < (r.old_score or 0) - 1e-9),
        "finished": regrade.finished_at is not None,
        "created_at": regrade.created_at.isoformat(),
        "finished_at": regrade.finished_at.isoformat() if regrade.finished_at else None,
    }


def recent(limit: int = 20) -> list[dict[str, Any]]:
    ids = db.session.scalars(select(Regrade.id).order_by(Regrade.id.desc()).limit(limit))
    return [p for p in (progress(i) for i in ids) if p]
