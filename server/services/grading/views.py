"""A submission as the API shows it, and who may see it."""

from __future__ import annotations

from typing import Any

import nbformat
from nbformat import NotebookNode

from server.extensions import db
from server.models.submission import Submission
from server.models.user import User
from server.services.errors import StatusError


class SubmissionError(StatusError, ValueError):
    pass


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


def _require_executed(sub: Submission) -> None:
    if sub.executed_notebook is None:
        raise SubmissionError(404, "not_found", "This submission has no executed notebook (yet).")


def executed_html_of(sub: Submission) -> str | None:
    """The executed notebook's cells as the worker rendered them; None: not rendered yet."""
    _require_executed(sub)
    return sub.executed_html


def executed_notebook_of(sub: Submission) -> NotebookNode:
    _require_executed(sub)
    return nbformat.reads(sub.executed_notebook.decode("utf-8"), as_version=4)
