"""Recording a grading result: the document, the member's best score, the regrade item it
settles and the bus events, in one transaction. Best scores only move here (and in overrides,
through recompute_best), so the leaderboard's BestScore table always matches the attempts.

A job claims its submission first (mark_running): the row names this worker and holds a lease
that this process renews (extend_leases, from grading.monitor.LeaseKeeper) while the job runs.
A lease that runs out means the job was interrupted; grading.queue.requeue_stale queues it again.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update

from server.extensions import db
from server.models.base import UTCDateTime, utcnow
from server.models.instructor import Regrade, RegradeItem
from server.models.submission import BestScore, Submission
from server.services import live
from server.services.grading import health
from server.services.grading.views import SubmissionError, public_view
from server.services.live import channels

log = logging.getLogger("adventures.worker")

MAX_JOB_ATTEMPTS = 3
LEASE = timedelta(seconds=30)  # a running job's claim, renewed every LEASE_RENEW_S
LEASE_RENEW_S = 10.0

_held: set[int] = set()  # the submissions this process is grading now
_held_lock = threading.Lock()


def held() -> set[int]:
    with _held_lock:
        return set(_held)


def mark_running(sub: Submission, progress: dict[str, Any] | None = None) -> bool:
    """Claim the submission for this worker: running, with a lease. False: leave it alone.

    Refused when it has a result already, or another live worker (or another thread of this
    one) holds it: a job queued twice is then graded once. One compare-and-set UPDATE, so two
    workers taking the same submission at once cannot both win.
    """
    me, sub_id = health.worker_name(), sub.id
    with _held_lock:
        if sub_id in _held:
            return False
        _held.add(sub_id)  # before the UPDATE: requeue_stale never sees it ours and not held
    now = utcnow()
    claimable = or_(
        Submission.status == "queued",
        and_(
            Submission.status == "running",
            or_(
                Submission.lease_until.is_(None),
                Submission.lease_until < now,
                Submission.worker == me,
            ),
        ),
    )
    done = db.session.execute(
        update(Submission)
        .where(Submission.id == sub_id, claimable)
        .values(
            status="running",
            worker=me,
            lease_until=now + LEASE,
            started_at=func.coalesce(Submission.started_at, literal(now, UTCDateTime)),
            job_attempts=Submission.job_attempts + 1,
            progress=progress,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.rollback()
        release(sub_id)
        return False
    db.session.commit()  # expires sub: what follows reads the claimed row
    live.publish(channels.submission(sub_id), "status", public_view(sub))
    return True


def release(submission_id: int) -> None:
    """The job has ended (however): stop renewing its lease."""
    with _held_lock:
        _held.discard(submission_id)


def extend_leases() -> int:
    """Renew the leases of the jobs this process is running; how many rows were renewed."""
    ids = held()
    if not ids:
        return 0
    done = db.session.execute(
        update(Submission)
        .where(
            Submission.id.in_(ids),
            Submission.status == "running",
            Submission.worker == health.worker_name(),
        )
        .values(lease_until=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return done.rowcount


def record_progress(submission_id: int, progress: dict[str, Any]) -> None:
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status != "running":
        return
    sub.progress = progress
    db.session.commit()
    live.publish(channels.submission(sub.id), "progress", {"id": sub.id, **progress})


def record_result(
    submission_id: int,
    result: dict[str, Any],
    *,
    executed_notebook: bytes | None = None,
    executed_html: str | None = None,
    device: str | None = None,
    owner: str | None = None,
) -> Submission:
    """Store a grading result and move the member's best score. Idempotent for retried jobs.

    executed_html: the executed notebook's cells as the notebook page shows them (see
    apply_result). With owner (the job's worker_name()), a result that lost its claim is
    dropped: another job recorded one already, or another worker took the submission over
    after this one's lease ran out. So each job's result lands at most once.
    """
    sub = db.session.get(Submission, submission_id, populate_existing=owner is not None)
    if sub is None:
        raise SubmissionError(404, "not_found", f"No submission {submission_id}.")
    if owner is not None and (
        sub.status in ("graded", "error") or (sub.status == "running" and sub.worker != owner)
    ):
        log.warning(
            "submission %s: result dropped, the job lost its claim (now %s by %s)",
            submission_id,
            sub.status,
            sub.worker,
        )
        db.session.rollback()
        return sub
    apply_result(
        sub, result, executed_notebook=executed_notebook, executed_html=executed_html, device=device
    )
    moved = raise_best(sub)
    lowered, regrades = settle(sub)  # a regraded result settles its item once, may lower the best
    published = graded_events(sub, moved or lowered)
    published += [(channels.regrade(r), "progress", {"id": r}) for r in sorted(regrades)]
    db.session.commit()
    live.publish_many(published)
    return sub


def apply_result(
    sub: Submission,
    result: dict[str, Any],
    *,
    executed_notebook: bytes | None = None,
    executed_html: str | None = None,
    device: str | None = None,
) -> None:
    """Swap the result in. A new executed notebook replaces the old one and its HTML together
    (None HTML: its rendering failed, so the page renders it later, never the old one's)."""
    sub.result = result
    score = result.get("score", 0.0)
    sub.score = None if score is None else float(score)  # None: no score, nothing on the board
    if result.get("max_score") is not None:
        sub.max_score = float(result["max_score"])
    sub.status = "error" if result.get("status") == "error" else "graded"
    sub.error = result.get("error")
    sub.graded_at = sub.graded_at or utcnow()
    sub.progress = None
    sub.lease_until = None
    if executed_notebook is not None:
        sub.executed_notebook = executed_notebook
        sub.executed_html = executed_html
    if device is not None:
        sub.device = device


def graded_events(sub: Submission, moved: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """Built before the commit (which expires the row); published after it."""
    out = [(channels.submission(sub.id), "graded", public_view(sub))]
    if moved:
        out.append(channels.board_changed(user_id=sub.user_id, exercise_id=sub.exercise_id))
    return out


def raise_best(sub: Submission) -> bool:
    """Keep BestScore at the highest score and the earliest time it was reached."""
    if sub.score is None:
        return False
    best = db.session.scalar(
        select(BestScore).where(
            BestScore.user_id == sub.user_id, BestScore.exercise_id == sub.exercise_id
        )
    )
    reached = sub.created_at or utcnow()
    if best is None:
        db.session.add(
            BestScore(
                user_id=sub.user_id,
                exercise_id=sub.exercise_id,
                score=sub.score,
                reached_at=reached,
                submission_id=sub.id,
            )
        )
        return True
    if sub.score > best.score + 1e-9 or (
        abs(sub.score - best.score) <= 1e-9 and reached < best.reached_at
    ):
        best.score, best.reached_at, best.submission_id = sub.score, reached, sub.id
        return True
    return False


def recompute_best(user_id: int, exercise_id: int) -> bool:
    """Set BestScore to the highest graded score, reached first; True when it changed.

    Does not commit: the caller commits it with the change that caused it.
    """
    db.session.flush()
    rows = db.session.execute(
        select(Submission.id, Submission.score, Submission.created_at)
        .where(
            Submission.user_id == user_id,
            Submission.exercise_id == exercise_id,
            Submission.status.in_(("graded", "error")),
            Submission.score.is_not(None),
        )
        .order_by(Submission.score.desc(), Submission.created_at.asc(), Submission.id.asc())
        .limit(1)
    ).first()
    best = db.session.scalar(
        select(BestScore).where(BestScore.user_id == user_id, BestScore.exercise_id == exercise_id)
    )
    if rows is None:
        if best is None:
            return False
        db.session.delete(best)
        return True
    if best is None:
        db.session.add(
            BestScore(
                user_id=user_id,
                exercise_id=exercise_id,
                score=rows.score,
                reached_at=rows.created_at,
                submission_id=rows.id,
            )
        )
        return True
    changed = (best.score, best.reached_at, best.submission_id) != (
        rows.score,
        rows.created_at,
        rows.id,
    )
    best.score, best.reached_at, best.submission_id = rows.score, rows.created_at, rows.id
    return changed


def settle(sub: Submission) -> tuple[bool, set[int]]:
    """Called by record_result before it commits: close the item, recompute the best score.

    Returns (whether the member's best score changed, the regrades that moved). A second
    result for the same submission finds no pending item, so it is recorded once.
    """
    items = db.session.scalars(
        select(RegradeItem).where(
            RegradeItem.submission_id == sub.id, RegradeItem.state == "pending"
        )
    ).all()
    if not items:
        return False, set()
    for item in items:  # two regrades started at once may both hold it
        item.state = "done"
        item.new_score = sub.score
        item.finished_at = utcnow()
    moved = recompute_best(sub.user_id, sub.exercise_id)
    db.session.flush()
    for regrade_id in {item.regrade_id for item in items}:
        left = db.session.scalar(
            select(func.count(RegradeItem.id)).where(
                RegradeItem.regrade_id == regrade_id, RegradeItem.state == "pending"
            )
        )
        if not left:
            db.session.get(Regrade, regrade_id).finished_at = utcnow()
    return moved, {item.regrade_id for item in items}


def is_infrastructure_failure(status: str | None, error: str | None) -> bool:
    """The grader's sandbox failed (not the member's code): see graders.notebook.pipeline._run."""
    return status == "error" and (error or "").startswith("sandbox:")


def failure_doc(sub: Submission, error: str, output: str) -> dict[str, Any]:
    """A result that is not the member's: status error and no score (kept off the board)."""
    return {
        "score": None,
        "max_score": sub.max_score,
        "status": "error",
        "error": error,
        "output": output,
        "tests": [],
    }


def put_back(sub: Submission, reason: str) -> None:
    """Queue it again instead of recording the failure as the member's result.

    Attempts stay bounded (a notebook that keeps killing the sandbox must stop
    somewhere); the last one is an error with no score, so no 0 reaches the board
    (recorded like any result, so a regrade item it belongs to settles).
    """
    health.report_failure(reason)
    if sub.job_attempts >= MAX_JOB_ATTEMPTS:
        record_result(
            sub.id,
            failure_doc(
                sub,
                f"sandbox: {reason}",
                "The grader's sandbox failed repeatedly; an instructor can regrade it.",
            ),
        )
        return
    sub.status = "queued"
    sub.queued_at = utcnow()
    sub.worker = None
    sub.lease_until = None
    sub.progress = None
    db.session.commit()
    live.publish(channels.submission(sub.id), "status", public_view(sub))
