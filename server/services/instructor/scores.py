"""Score overrides an instructor makes: the old result kept in history, the change audited.

An override can lower a best score, so the member's best is recomputed from all their
graded attempts (grading.results.recompute_best) in the same transaction.
"""

from __future__ import annotations

import copy

from server.extensions import db
from server.models.base import utcnow
from server.models.instructor import ResultHistory
from server.models.submission import Submission
from server.models.user import User
from server.services import live
from server.services.audit import audit
from server.services.errors import StatusError
from server.services.grading.results import recompute_best
from server.services.grading.views import public_view
from server.services.live import channels


class ScoreError(StatusError, ValueError):
    pass


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
    published = [(channels.submission(sub.id), "graded", public_view(sub))]
    if moved:
        published.append(channels.board_changed(user_id=sub.user_id, exercise_id=sub.exercise_id))
    live.publish_many(published)
    return sub
