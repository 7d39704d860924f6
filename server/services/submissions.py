"""Submissions: stored durably first, then graded inline (cached answers) or by a worker."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from graders import codec
from graders.answers import AnswerFormatError, parse_answer
from graders.compare import compare
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.submission import BestScore, Submission
from server.models.user import User
from server.services import events, reference_values
from server.services.errors import StatusError
from server.services.exercises import reference_key, spec_of, variant_of


class SubmissionError(StatusError, ValueError):
    pass


def submit_answer(user: User, exercise: Exercise, answer: Any, *, max_bytes: int) -> Submission:
    """Store an answer attempt; grade it in the same transaction when the value is cached."""
    if exercise.kind != "answer":
        raise SubmissionError(
            400, "wrong_kind", "This exercise takes a notebook upload (multipart field 'notebook')."
        )
    text = answer if isinstance(answer, str) else codec.dumps(answer) if answer is not None else ""
    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise SubmissionError(413, "too_large", f"An answer may be at most {max_bytes // 1024} KB.")
    spec = spec_of(exercise)
    assert spec.answer is not None
    try:
        parse_answer(text, spec.answer.compare)
    except AnswerFormatError as exc:
        raise SubmissionError(400, "bad_answer", f"{exc} Expected: {spec.answer.format}.") from exc
    variant = variant_of(exercise, user)
    key, _ = reference_key(exercise, variant)
    expected = reference_values.cached(key)
    sub = Submission(
        user_id=user.id,
        exercise_id=exercise.id,
        exercise_version=exercise.version,
        kind="answer",
        answer=text,
        variant=variant,
        status="queued",
        max_score=exercise.points,
    )
    db.session.add(sub)
    if reference_values.is_missing(expected):
        db.session.commit()  # stored before the job is enqueued, so a worker always finds it
        from server.jobs import grade_answer

        grade_answer(sub.id)
        return sub
    # Cached: the attempt and its result land in one transaction (one write per answer),
    # and both bus events go out in one more.
    _apply_result(sub, answer_result(exercise, text, expected))
    db.session.flush()
    moved = _raise_best(sub)
    published = _graded_events(sub, moved)
    kept = {name: getattr(sub, name) for name in ("id", "status", "score", "max_score")}
    db.session.commit()
    for name, value in kept.items():  # what the caller reads next, without a reload query
        set_committed_value(sub, name, value)
    events.publish_many(published)
    return sub


def answer_result(exercise: Exercise, text: str, expected: Any) -> dict[str, Any]:
    """The result document for a typed answer; the expected value is shown only once it is right."""
    started = time.perf_counter()
    spec = spec_of(exercise)
    assert spec.answer is not None
    got = parse_answer(text, spec.answer.compare)
    outcome = compare(
        spec.answer.compare,
        expected,
        got,
        rtol=spec.answer.rtol,
        atol=spec.answer.atol,
        reveal=False,
    )
    points = exercise.points if outcome.passed else 0.0
    output = "Correct!" if outcome.passed else f"{outcome.message}\nHint: {spec.answer.hint}"
    return {
        "score": points,
        "max_score": exercise.points,
        "execution_time": round(time.perf_counter() - started, 6),
        "output": output,
        "tests": [
            {
                "name": exercise.title,
                "score": points,
                "max_score": exercise.points,
                "status": "passed" if outcome.passed else "failed",
                "output": output,
                "visibility": "visible",
            }
        ],
    }


def grade_answer_job(submission_id: int) -> None:
    """Worker side: compute (or read) the reference value, then record the result."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status == "graded":
        return
    exercise = sub.exercise
    key, target = reference_key(exercise, sub.variant)
    mark_running(sub)
    expected = reference_values.compute(key, target, sub.variant)
    record_result(sub.id, answer_result(exercise, sub.answer or "", expected))


def mark_running(sub: Submission, progress: dict[str, Any] | None = None) -> None:
    sub.status = "running"
    sub.started_at = sub.started_at or utcnow()
    sub.job_attempts += 1
    sub.progress = progress
    db.session.commit()
    events.publish(f"submission:{sub.id}", "status", public_view(sub))


def record_progress(submission_id: int, progress: dict[str, Any]) -> None:
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.status != "running":
        return
    sub.progress = progress
    db.session.commit()
    events.publish(f"submission:{sub.id}", "progress", {"id": sub.id, **progress})


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
    _apply_result(sub, result, executed_notebook=executed_notebook, device=device)
    moved = _raise_best(sub)
    from server.services import regrade  # hook: a regraded result settles once, may lower the best

    moved = regrade.settle(sub) or moved
    published = _graded_events(sub, moved)
    db.session.commit()
    events.publish_many(published)
    return sub


def _apply_result(
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


def _graded_events(sub: Submission, moved: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """Built before the commit (which expires the row); published after it."""
    out = [(f"submission:{sub.id}", "graded", public_view(sub))]
    if moved:
        out.append(
            ("leaderboard", "changed", {"user_id": sub.user_id, "exercise_id": sub.exercise_id})
        )
    return out


def _raise_best(sub: Submission) -> bool:
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


def public_view(sub: Submission) -> dict[str, Any]:
    """The API document: Gradescope's results.json fields plus our own."""
    result = sub.result or {}
    return {
        **{k: v for k, v in result.items() if k not in ("score", "max_score")},
        "id": sub.id,
        "exercise": sub.exercise.slug,
        "kind": sub.kind,
        "status": sub.status,
        "score": sub.score,
        "max_score": sub.max_score,
        "tests": result.get("tests", []),
        "progress": sub.progress,
        "device": sub.device,
        "answer": sub.answer,
        "created_at": sub.created_at.isoformat() if sub.created_at else None,
        "graded_at": sub.graded_at.isoformat() if sub.graded_at else None,
        "has_executed_notebook": sub.executed_notebook is not None,
    }


def get_for(user: User, submission_id: int) -> Submission:
    """A submission its owner or an instructor may see; 404 for anyone else (no probing)."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or (sub.user_id != user.id and not user.is_instructor):
        raise SubmissionError(404, "not_found", f"No submission {submission_id} of yours.")
    return sub
