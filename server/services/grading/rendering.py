"""The executed notebook's cells as HTML, rendered in the worker and stored with the result.

The web process only serves Submission.executed_html: nbconvert would cost each gunicorn
worker ~25-35 MB. server.jobs renders it when it records a grade; rows graded before that
(or whose rendering failed) are rendered by the render_notebook job, which the notebook page
queues on their first view (queue.render_later).
"""

from __future__ import annotations

import logging

from markupsafe import escape
from nbformat import NotebookNode
from sqlalchemy import update

from server.extensions import db
from server.models.submission import Submission
from server.services.grading.views import executed_notebook_of

log = logging.getLogger("adventures.worker")


# What the page shows when the render job failed too (the grade's own render was the first
# try): rendering is deterministic, so reloading would only fail again.
NOT_SHOWN = (
    '<p class="flash" id="notebook-not-shown" role="status">This notebook could not be shown '
    "as a page ({reason}). Your grade and each check's feedback are on the submission page.</p>"
)


def cells_html(nb: NotebookNode) -> str:
    """The cells alone, sanitised (nh3): what the notebook page puts inside the site's page."""
    from graders.notebook.render import render_html  # nbconvert: in workers only

    return render_html(nb, full_page=False)


def render_stored(submission_id: int) -> bool:
    """Render and store a graded submission's missing HTML; False when there was none to make.

    Idempotent: a second job finds the HTML and does nothing. Stored only if the row still
    holds the notebook that was rendered and no HTML, so a regrade landing meanwhile wins. A
    render that fails here stores NOT_SHOWN, so the page stops waiting for it.
    """
    sub = db.session.get(Submission, submission_id)
    if sub is None or sub.executed_notebook is None or sub.executed_html is not None:
        return False
    executed = sub.executed_notebook
    try:
        html = cells_html(executed_notebook_of(sub))
    except Exception as exc:  # noqa: BLE001 - a second failure: say so, stop the page's reloads
        log.warning("submission %s: the notebook view failed again: %r", submission_id, exc)
        html = NOT_SHOWN.format(reason=escape(f"{type(exc).__name__}: {exc}"))
    done = db.session.execute(
        update(Submission)
        .where(
            Submission.id == submission_id,
            Submission.executed_html.is_(None),
            Submission.executed_notebook == executed,
        )
        .values(executed_html=html)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if done.rowcount != 1:
        log.info(
            "submission %s: its notebook changed while rendering; kept the new one", submission_id
        )
        return False
    return True
