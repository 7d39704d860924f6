"""Recording a grading result: the document, the member's best score, the regrade item it
settles and the bus events, in one transaction. Best scores only move here (and in overrides,
through recompute_best), so the leaderboard's BestScore table always matches the attempts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.extensions import db
from server.models.base import utcnow
from server.models.instructor import Regrade, RegradeItem
from server.models.submission import BestScore, Submission
from server.services import live
from server.services.grading import health
from server.services.grading.views import SubmissionError, public_view
from server.services.live import channels

MAX_JOB_ATTEMPTS = 3


def mark_running(sub: Submission, progress: dict[str, Any] | None = None) -> None:
    sub.status = "running"
    sub.started_at = sub.started_at or utcnow()
    sub.job_attempts += 1
    sub.progress = progress
    db.session.commit()
    live.publish(channels.submission(sub.id), "status", public_view(sub))


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
    device: str | None = None,
) -> Submission:
    """Store a grading result and move the member's best score. Idempotent for retried jobs."""
    sub = db.session.get(Submission, submission_id)
    if sub is None:
        raise SubmissionError(404, "not_found", f"No submission {submission_id}.")
    apply_result(sub, result, executed_notebook=executed_notebook, device=device)
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
    device: str | None = None,
) -> None:
    sub.result = result
    sub.score = float(result.get("score", 0.0))
    sub.max_score = float(result.get("max_score", sub.max_score))
    sub.status = "error" if result.get("status") == "error" else "graded"
    sub.error = result.get("error")
    sub.graded_at = sub.graded_at or utcnow()
    sub.progress = None
    if executed_notebook is not None:
        sub.executed_notebook = executed_notebook
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


def put_back(sub: Submission, reason: str) -> None:
    """Queue it again instead of recording the failure as the member's result.

    Attempts stay bounded (a notebook that keeps killing the sandbox must stop
    somewhere); the last one is an error with no score, so no 0 reaches the board.
    """
    health.report_failure(reason)
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
    live.publish(channels.submission(sub.id), "status", public_view(sub))
