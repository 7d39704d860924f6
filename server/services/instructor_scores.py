"""Score changes an instructor makes: overrides (audited) and BestScore recomputation.

record_result only ever raises a best score; an override or a regrade can lower
one, so these recompute the member's best from all their graded attempts.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models.base import utcnow
from server.models.instructor import AuditLog, ResultHistory
from server.models.submission import BestScore, Submission
from server.models.user import User
from server.services import events
from server.services.errors import StatusError


class ScoreError(StatusError, ValueError):
    pass


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


def keep_history(
    sub: Submission, reason: str, *, actor: User | None = None, regrade_id: int | None = None
) -> ResultHistory:
    """Copy the submission's current result into the history table (not committed)."""
    row = ResultHistory(
        submission_id=sub.id,
        reason=reason,
        status=sub.status,
        score=sub.score,
        max_score=sub.max_score,
        result=copy.deepcopy(sub.result),
        executed_notebook=sub.executed_notebook,
        exercise_version=sub.exercise_version,
        graded_at=sub.graded_at,
        replaced_at=utcnow(),
        actor_id=actor.id if actor else None,
        regrade_id=regrade_id,
    )
    db.session.add(row)
    return row


def audit(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    comment: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit entry (not committed: it lands with the change it describes)."""
    row = AuditLog(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        comment=comment,
        detail=detail or {},
        created_at=utcnow(),
    )
    db.session.add(row)
    return row


def override(actor: User, sub: Submission, score: float, comment: str) -> Submission:
    """Set a graded submission's score by hand; the old result goes to history, the change to the audit log."""
    comment = (comment or "").replace("\x00", "").strip()
    if not comment:
        raise ScoreError(400, "comment_required", "Say why the score changes (comment).")
    if sub.status not in ("graded", "error"):
        raise ScoreError(
            409, "not_graded", "Wait until the submission is graded before overriding it."
        )
    if not (0 <= score <= sub.max_score):
        raise ScoreError(400, "bad_score", f"The score must be between 0 and {sub.max_score:g}.")
    before = sub.score
    keep_history(sub, "override", actor=actor)
    result = copy.deepcopy(sub.result) if sub.result else {"tests": []}
    result["score"] = score
    result["override"] = {
        "score": score,
        "previous_score": before,
        "comment": comment,
        "by": actor.display_name,
        "at": utcnow().isoformat(),
    }
    sub.result = result
    sub.score = float(score)
    sub.status = "graded"
    sub.graded_at = sub.graded_at or utcnow()
    audit(
        actor,
        "override",
        "submission",
        sub.id,
        comment=comment,
        detail={
            "from": before,
            "to": score,
            "member_id": sub.user_id,
            "exercise": sub.exercise.slug,
        },
    )
    moved = recompute_best(sub.user_id, sub.exercise_id)
    db.session.commit()
    events.publish(f"submission:{sub.id}", "graded", _public(sub))
    if moved:
        events.publish(
            "leaderboard", "changed", {"user_id": sub.user_id, "exercise_id": sub.exercise_id}
        )
    return sub


def _public(sub: Submission) -> dict[str, Any]:
    from server.services.submissions import public_view

    return public_view(sub)
