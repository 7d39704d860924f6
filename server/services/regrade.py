"""Regrading after an exercise's spec or reference changed.

A regrade keeps each old result document in result_history, puts the
submission back in the queue through the ordinary jobs (server.jobs), and
lets record_result swap the new document in whole. record_result calls
settle() in the same transaction, which closes the regrade item and
recomputes the member's best score (a regrade may lower it). A worker killed
mid-regrade leaves the submission 'running'; notebooks.requeue_stale queues
it again and the item settles once, when its result lands.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.instructor import Regrade, RegradeItem
from server.models.submission import Submission
from server.models.user import User
from server.services.exercises import spec_of
from server.services.instructor_scores import audit, keep_history, recompute_best

REGRADABLE = ("graded", "error")


class RegradeError(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def regrade_submission(actor: User, sub: Submission) -> Regrade:
    if sub.status not in REGRADABLE:
        raise RegradeError(
            409, "in_progress", "This submission is being graded now; regrade it when it is done."
        )
    return _start(actor, sub.exercise, [sub], scope="submission")


def regrade_exercise(actor: User, exercise: Exercise) -> Regrade:
    """Every graded submission of the exercise; ones already queued will use the new spec anyway."""
    subs = list(
        db.session.scalars(
            select(Submission)
            .where(Submission.exercise_id == exercise.id, Submission.status.in_(REGRADABLE))
            .order_by(Submission.id)
        )
    )
    return _start(actor, exercise, subs, scope="exercise")


def _start(actor: User, exercise: Exercise, subs: list[Submission], *, scope: str) -> Regrade:
    busy = set(
        db.session.scalars(
            select(RegradeItem.submission_id).where(
                RegradeItem.state == "pending",
                RegradeItem.submission_id.in_([s.id for s in subs] or [0]),
            )
        )
    )
    todo = [s for s in subs if s.id not in busy]
    regrade = Regrade(
        exercise_id=exercise.id,
        requested_by=actor.id,
        scope=scope,
        total=len(todo),
        created_at=utcnow(),
        finished_at=None if todo else utcnow(),
    )
    db.session.add(regrade)
    db.session.flush()
    for sub in todo:
        history = keep_history(sub, "regrade", actor=actor, regrade_id=regrade.id)
        db.session.flush()
        db.session.add(
            RegradeItem(
                regrade_id=regrade.id,
                submission_id=sub.id,
                history_id=history.id,
                old_score=sub.score,
            )
        )
        # The old result stays visible until the new one replaces it whole.
        sub.status = "queued"
        sub.exercise_version = exercise.version
        sub.started_at = None
        sub.graded_at = None
        sub.job_attempts = 0
        sub.progress = None
    audit(
        actor,
        "regrade",
        "exercise" if scope == "exercise" else "submission",
        exercise.id if scope == "exercise" else (subs[0].id if subs else None),
        detail={"regrade_id": regrade.id, "exercise": exercise.slug, "submissions": len(todo)},
    )
    db.session.commit()
    regrade_id = regrade.id
    for sub_id in [s.id for s in todo]:
        _enqueue(sub_id)
    return db.session.get(Regrade, regrade_id)


def _enqueue(submission_id: int) -> None:
    """The same jobs a first grading uses (inline in tests, a worker otherwise)."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status != "queued":
        return
    if sub.kind == "notebook":
        from server.services import notebooks

        spec = spec_of(sub.exercise)
        notebooks.enqueue(sub, requires_gpu=bool(spec.notebook and spec.notebook.requires_gpu))
    else:
        from server.jobs import grade_answer

        grade_answer(sub.id)


def settle(sub: Submission) -> bool:
    """Called by record_result before it commits: close the item, recompute the best score.

    Returns True when the member's best score changed. A second result for the
    same submission finds no pending item, so it is recorded once.
    """
    item = db.session.scalar(
        select(RegradeItem).where(
            RegradeItem.submission_id == sub.id, RegradeItem.state == "pending"
        )
    )
    if item is None:
        return False
    item.state = "done"
    item.new_score = sub.score
    item.finished_at = utcnow()
    moved = recompute_best(sub.user_id, sub.exercise_id)
    left = db.session.scalar(
        select(func.count(RegradeItem.id)).where(
            RegradeItem.regrade_id == item.regrade_id, RegradeItem.state == "pending"
        )
    )
    if not left:
        db.session.get(Regrade, item.regrade_id).finished_at = utcnow()
    return moved


def progress(regrade_id: int) -> dict[str, Any] | None:
    """Counts for the progress bar: done of total, and how many scores went up or down."""
    regrade = db.session.get(Regrade, regrade_id)
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
