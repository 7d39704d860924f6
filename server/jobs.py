"""Queue tasks: load the submission, call the grader, let a service record the result."""

from __future__ import annotations

import threading
from contextlib import nullcontext

from flask import has_app_context
from huey import crontab

from server.extensions import huey, huey_gpu

_app = None
_app_lock = threading.Lock()


def _context():
    """Inline (immediate) jobs reuse the caller's app; a worker process builds its own once."""
    global _app
    if has_app_context():
        return nullcontext()
    with _app_lock:
        if _app is None:
            from server import create_app

            _app = create_app()
    return _app.app_context()


@huey.task(retries=2, retry_delay=2)
def grade_answer(submission_id: int) -> None:
    from server.services import submissions

    with _context():
        submissions.grade_answer_job(submission_id)


@huey.task(retries=2, retry_delay=2)
def grade_notebook(submission_id: int) -> None:
    from server.services import notebooks

    with _context():
        notebooks.grade_job(submission_id)


@huey_gpu.task(retries=2, retry_delay=2)
def grade_notebook_gpu(submission_id: int) -> None:
    from server.services import notebooks

    with _context():
        notebooks.grade_job(submission_id)


@huey.task()
def warm_reference(key: str, target: str, kwargs: dict) -> None:
    """Compute a member's variant before they answer, so their answer is graded inline."""
    from server.services import reference_values

    with _context():
        reference_values.compute(key, target, kwargs)


@huey.task()
def run_exercise_import(import_id: int) -> None:
    """An instructor's notebook import: run the solution in the sandbox, write, seed."""
    from server.services import exercise_imports

    with _context():
        exercise_imports.run_job(import_id)


@huey.periodic_task(crontab(minute="*"))
def requeue_stale_imports() -> None:
    """An import whose worker died is queued again once, then reported as failed."""
    from server.services import exercise_imports

    with _context():
        exercise_imports.requeue_stale()


@huey.periodic_task(crontab(minute="*"))
def requeue_stale() -> None:
    """Jobs whose worker died (SIGKILL, machine lost) are queued again; results record once."""
    from server.services import notebooks

    with _context():
        notebooks.requeue_stale()
