"""Submissions: validated and stored durably first, then graded inline (a typed answer whose
reference value is cached) or queued for a worker."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from graders import codec
from graders.answers import AnswerFormatError, parse_answer
from graders.notebook import Limits, NotebookError
from graders.notebook.read import read_notebook
from server.extensions import db
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.models.user import User
from server.services import live
from server.services.exercises import reference_key, spec_of, variant_of
from server.services.grading import queue, references
from server.services.grading.answers import answer_result
from server.services.grading.results import apply_result, graded_events, raise_best
from server.services.grading.views import SubmissionError


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
    expected = references.cached(key)
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
    if references.is_missing(expected):
        db.session.commit()  # stored before the job is enqueued, so a worker always finds it
        queue.enqueue(sub)
        return sub
    # Cached: the attempt and its result land in one transaction (one write per answer),
    # and both bus events go out in one more.
    apply_result(sub, answer_result(exercise, text, expected))
    db.session.flush()
    moved = raise_best(sub)
    published = graded_events(sub, moved)
    kept = {name: getattr(sub, name) for name in ("id", "status", "score", "max_score")}
    db.session.commit()
    for name, value in kept.items():  # what the caller reads next, without a reload query
        set_committed_value(sub, name, value)
    live.publish_many(published)
    return sub


def submit_notebook(user: User, exercise: Exercise, data: bytes, filename: str) -> Submission:
    if exercise.kind != "notebook":
        raise SubmissionError(
            400, "wrong_kind", 'This exercise takes a typed answer: JSON {"answer": ...}.'
        )
    limit = current_app.config["MAX_NOTEBOOK_BYTES"]
    if len(data) > limit:
        raise SubmissionError(
            413,
            "too_large",
            f"A notebook may be at most {limit // (1024 * 1024)} MB; clear its outputs and try again.",
        )
    try:
        read_notebook(data, Limits(max_bytes=limit))
    except NotebookError as exc:
        raise SubmissionError(getattr(exc, "status", 400), "bad_notebook", str(exc)) from exc
    sub = Submission(
        user_id=user.id,
        exercise_id=exercise.id,
        exercise_version=exercise.version,
        kind="notebook",
        notebook=data,
        filename=filename[:255],
        variant={},
        status="queued",
        max_score=exercise.points,
    )
    db.session.add(sub)
    db.session.commit()
    queue.enqueue(sub)
    return sub


def warm_variant(exercise: Exercise, user: User) -> None:
    """Queue the member's variant value when it is new, so their first answer grades inline."""
    if exercise.kind != "answer":
        return
    variant = variant_of(exercise, user)
    key, target = reference_key(exercise, variant)
    if references.is_missing(references.cached(key)):
        queue.warm_variant(key, target, variant)
