"""What instructors see of everyone: the submissions browser, one submission's record, members, the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from server.extensions import db
from server.models.exercise import Exercise
from server.models.instructor import AuditLog, RegradeItem, ResultHistory
from server.models.submission import STATUSES, BestScore, Submission
from server.models.user import ROLES, User
from server.services.audit import audit
from server.services.errors import StatusError
from server.services.grading.views import public_view

PAGE_SIZE = 50
MAX_PAGE = 500


class InstructorError(StatusError, ValueError):
    pass


@dataclass
class Filters:
    exercise: str | None = None
    member: str | None = None
    status: str | None = None


def find_member(ref: str) -> User | None:
    """A member by id or username (any case)."""
    ref = (ref or "").strip()
    if "\x00" in ref or len(ref) > 80:
        return None
    if ref.isdigit():
        return db.session.get(User, int(ref)) if len(ref) <= 9 else None
    return db.session.scalar(select(User).where(func.lower(User.username) == ref.lower()))


def browse(
    filters: Filters, *, limit: int = PAGE_SIZE, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of rows, newest first); unknown filters are 400s, not empty pages."""
    conditions = []
    if any("\x00" in (f or "") for f in (filters.exercise, filters.member, filters.status)):
        raise InstructorError(400, "bad_request", "Filters are plain text.")
    if filters.exercise:
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == filters.exercise))
        if exercise is None:
            raise InstructorError(404, "not_found", f"No exercise '{filters.exercise}'.")
        conditions.append(Submission.exercise_id == exercise.id)
    if filters.member:
        user = find_member(filters.member)
        if user is None:
            raise InstructorError(404, "not_found", f"No member '{filters.member}'.")
        conditions.append(Submission.user_id == user.id)
    if filters.status:
        if filters.status not in STATUSES:
            raise InstructorError(
                400, "bad_status", f"status must be one of {', '.join(STATUSES)}."
            )
        conditions.append(Submission.status == filters.status)
    limit = max(1, min(int(limit), MAX_PAGE))
    total = db.session.scalar(select(func.count(Submission.id)).where(*conditions))
    rows = db.session.execute(
        select(
            Submission.id,
            Submission.kind,
            Submission.status,
            Submission.score,
            Submission.max_score,
            Submission.created_at,
            Submission.graded_at,
            Submission.device,
            Submission.executed_notebook.is_not(None).label("has_notebook"),
            Exercise.slug,
            Exercise.title,
            User.id.label("user_id"),
            User.username,
            User.display_name,
        )
        .join(Exercise, Exercise.id == Submission.exercise_id)
        .join(User, User.id == Submission.user_id)
        .where(*conditions)
        .order_by(Submission.id.desc())
        .limit(limit)
        .offset(max(0, int(offset)))
    ).all()
    return total or 0, [
        {
            "id": r.id,
            "exercise": r.slug,
            "exercise_title": r.title,
            "member": {"id": r.user_id, "username": r.username, "name": r.display_name},
            "kind": r.kind,
            "status": r.status,
            "score": r.score,
            "max_score": r.max_score,
            "created_at": r.created_at.isoformat() if r.created_at else None,
            "graded_at": r.graded_at.isoformat() if r.graded_at else None,
            "device": r.device,
            "has_executed_notebook": bool(r.has_notebook),
        }
        for r in rows
    ]


def submission_record(sub: Submission) -> dict[str, Any]:
    """The full record: the result document, the member, earlier results and the audit trail."""

    history = db.session.scalars(
        select(ResultHistory)
        .where(ResultHistory.submission_id == sub.id)
        .order_by(ResultHistory.id.desc())
    )
    trail = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.target_type == "submission", AuditLog.target_id == sub.id)
        .order_by(AuditLog.id.desc())
    )
    pending = db.session.scalar(
        select(RegradeItem.regrade_id).where(
            RegradeItem.submission_id == sub.id, RegradeItem.state == "pending"
        )
    )
    return {
        **public_view(sub),
        "member": {"id": sub.user.id, "username": sub.user.username, "name": sub.user.display_name},
        "exercise_title": sub.exercise.title,
        "exercise_version": sub.exercise_version,
        "filename": sub.filename,
        "override": (sub.result or {}).get("override"),
        "regrading": pending,
        "history": [
            {
                "id": h.id,
                "reason": h.reason,
                "status": h.status,
                "score": h.score,
                "max_score": h.max_score,
                "exercise_version": h.exercise_version,
                "graded_at": h.graded_at.isoformat() if h.graded_at else None,
                "replaced_at": h.replaced_at.isoformat(),
                "result": h.result,
            }
            for h in history
        ],
        "audit": [audit_view(a) for a in trail],
    }


def get_submission(submission_id: int) -> Submission:
    sub = db.session.get(Submission, submission_id) if 0 < submission_id < 2**31 else None
    if sub is None:
        raise InstructorError(404, "not_found", f"No submission {submission_id}.")
    return sub


# ---- members and roles ---------------------------------------------------------


def members() -> list[dict[str, Any]]:
    """Every account with its activity: submissions, exercises scored, points."""
    subs = dict(
        db.session.execute(
            select(Submission.user_id, func.count(Submission.id)).group_by(Submission.user_id)
        ).all()
    )
    best = {
        uid: (n, total)
        for uid, n, total in db.session.execute(
            select(BestScore.user_id, func.count(BestScore.id), func.sum(BestScore.score)).group_by(
                BestScore.user_id
            )
        )
    }
    users = db.session.scalars(select(User).order_by(User.role.desc(), func.lower(User.username)))
    return [
        {
            "id": u.id,
            "username": u.username,
            "name": u.display_name,
            "role": u.role,
            "created_at": u.created_at.isoformat() if u.created_at else None,
            "submissions": subs.get(u.id, 0),
            "exercises_scored": best.get(u.id, (0, 0))[0],
            "points": round(float(best.get(u.id, (0, 0))[1] or 0), 4),
        }
        for u in users
    ]


def set_role(actor: User, user: User, role: str) -> User:
    """Promote or demote; the last instructor cannot demote themself out of the dashboard."""
    if role not in ROLES:
        raise InstructorError(400, "bad_role", f"role must be one of {', '.join(ROLES)}.")
    if user.role == role:
        return user
    if user.role == "instructor":
        others = db.session.scalar(
            select(func.count(User.id)).where(User.role == "instructor", User.id != user.id)
        )
        if not others:
            raise InstructorError(
                409, "last_instructor", "Promote another instructor before demoting the last one."
            )
    before = user.role
    user.role = role
    audit(
        actor,
        "role",
        "user",
        user.id,
        detail={"from": before, "to": role, "username": user.username},
    )
    db.session.commit()
    return user


# ---- audit log -----------------------------------------------------------------


def audit_view(row: AuditLog) -> dict[str, Any]:
    actor = db.session.get(User, row.actor_id) if row.actor_id else None
    return {
        "id": row.id,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "comment": row.comment,
        "detail": row.detail,
        "actor": actor.display_name if actor else None,
        "created_at": row.created_at.isoformat(),
    }


def audit_log(limit: int = 200) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit))
    return [audit_view(r) for r in rows]
