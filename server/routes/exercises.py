"""Exercise pages and the exercises/submissions API."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup
from pydantic import BaseModel, Field

from server.extensions import csrf, limiter
from server.models.exercise import Exercise
from server.models.user import User
from server.routes import sse
from server.routes.attachments import send_attachment
from server.routes.errors import ApiError
from server.routes.guards import api_login_required, api_user
from server.routes.hardening import CONTENT_SECURITY_POLICY
from server.services import exercises as catalog
from server.services.grading import feedback, health, queue, submit
from server.services.grading.views import (
    SubmissionError,
    executed_html_of,
    get_for,
    public_view,
)
from server.services.live import channels

bp = Blueprint("exercises", __name__)
api = Blueprint("exercises_api", __name__, url_prefix="/api")
csrf.exempt(api)


class AnswerSubmission(BaseModel):
    answer: Any = Field(
        description="kind `answer`: the value in the exercise's answer_format (a string, "
        "number, list or object)"
    )


class NotebookSubmission(BaseModel):
    notebook: bytes = Field(description="kind `notebook`: the .ipynb file (nbformat 4)")


def _submission_limit() -> str:
    return current_app.config["SUBMISSION_RATE_LIMIT"]


def _member_key() -> str:
    user = api_user(optional=True) if request.path.startswith("/api/") else None
    if user is None and current_user.is_authenticated:
        user = current_user
    return f"user:{user.id}" if user else f"ip:{request.remote_addr}"


def exercise_view(exercise: Exercise, user: User | None, *, with_attempts: bool) -> dict[str, Any]:
    spec = catalog.spec_of(exercise)
    variant = catalog.variant_of(exercise, user)
    view: dict[str, Any] = {
        "slug": exercise.slug,
        "title": exercise.title,
        "kind": exercise.kind,
        "week": exercise.week,
        "points": exercise.points,
        "tags": spec.tags,
        "version": exercise.version,
    }
    if with_attempts:
        view["prompt"] = catalog.fill(spec.prompt, variant)
        view["code"] = catalog.fill(spec.code, variant, in_code=True)
        if spec.answer is not None:
            view["variant"] = {k: v for k, v in variant.items() if k in spec.answer.variants}
            view["answer_format"] = spec.answer.format
        if spec.notebook is not None:
            view["starter_url"] = url_for("exercises.starter", slug=exercise.slug)
            view["checks"] = [
                {"name": c.name, "points": c.points, "visibility": c.visibility}
                for c in spec.notebook.checks
            ]
            view["requires_gpu"] = spec.notebook.requires_gpu
        if user is not None:
            rows = catalog.attempts(user, exercise)
            view["attempts"] = [public_view(s) for s in rows]
            best = catalog.best_scores(user).get(exercise.id)
            view["best_score"] = best
            view["status"] = catalog.status_for(exercise, catalog.best_scores(user))
    return view


def _get_or_404(slug: str) -> Exercise:
    exercise = catalog.get_exercise(slug)
    if exercise is None:
        raise ApiError(404, "not_found", f"No exercise '{slug}'; GET /api/exercises lists them.")
    return exercise


# ---- API -----------------------------------------------------------------


@api.get("/exercises")
def api_list():
    """The exercise catalog, with the caller's status when authenticated."""
    user = api_user(optional=True)
    best = catalog.best_scores(user) if user else {}
    out = []
    for exercise in catalog.active_exercises():
        item = exercise_view(exercise, user, with_attempts=False)
        if user:
            item["status"] = catalog.status_for(exercise, best)
            item["best_score"] = best.get(exercise.id)
        out.append(item)
    return jsonify(out)


@api.get("/exercises/<slug>")
@api_login_required
def api_detail(slug: str):
    """One exercise for this member: prompt with their variant, and their attempts."""
    user = api_user()
    exercise = _get_or_404(slug)
    submit.warm_variant(exercise, user)
    return jsonify(exercise_view(exercise, user, with_attempts=True))


@api.post("/exercises/<slug>/submissions")
@api_login_required
@limiter.limit(_submission_limit, key_func=_member_key)
def api_submit(slug: str):
    """Submit an answer (JSON {answer}) or a notebook (multipart field 'notebook')."""
    user = api_user()
    sub = _submit(user, _get_or_404(slug))
    return jsonify(
        id=sub.id,
        status=sub.status,
        score=sub.score,
        max_score=sub.max_score,
        url=url_for("exercises_api.api_submission", submission_id=sub.id),
    ), 202


api_submit.openapi_body = {
    "application/json": AnswerSubmission,
    "multipart/form-data": NotebookSubmission,
}
api_submit.openapi_status = 202


def _submit(user: User, exercise: Exercise):
    if exercise.kind == "notebook":
        upload = request.files.get("notebook")
        if upload is None and request.is_json:
            raise SubmissionError(
                400,
                "wrong_kind",
                "This exercise takes a notebook: send the .ipynb in the multipart field 'notebook'.",
            )
        if upload is None:
            raise SubmissionError(
                400, "no_notebook", "Send the .ipynb file in the multipart field 'notebook'."
            )
        return submit.submit_notebook(
            user, exercise, upload.read(), upload.filename or "notebook.ipynb"
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "answer" not in body:
        raise SubmissionError(400, "bad_json", 'Send JSON {"answer": ...}.')
    return submit.submit_answer(
        user, exercise, body["answer"], max_bytes=current_app.config["MAX_ANSWER_BYTES"]
    )


@api.get("/submissions/<int:submission_id>")
@api_login_required
def api_submission(submission_id: int):
    """A submission's status and result document (Gradescope results.json superset)."""
    return jsonify(public_view(get_for(api_user(), submission_id)))


@api.get("/submissions/<int:submission_id>/events")
@api_login_required
def api_submission_events(submission_id: int):
    """Server-Sent Events: status, then progress (cell k of n), until graded."""
    user = api_user()
    get_for(user, submission_id)

    def snapshot():
        sub = get_for(user, submission_id)
        return sub.status, public_view(sub)

    return sse.stream(
        channels.submission(submission_id),
        snapshot,
        until=lambda kind, data: (
            kind in ("graded", "error")
            or (isinstance(data, dict) and data.get("status") in ("graded", "error"))
        ),
    )


# ---- pages ---------------------------------------------------------------


@bp.get("/exercises")
def index():
    user = current_user if current_user.is_authenticated else None
    best = catalog.best_scores(user) if user else {}
    items = [
        (e, catalog.status_for(e, best) if user else None, best.get(e.id))
        for e in catalog.active_exercises()
    ]
    return render_template("exercises/index.html", items=items)


@bp.route("/exercises/<slug>", methods=["GET", "POST"])
@login_required
def detail(slug: str):
    exercise = catalog.get_exercise(slug)
    if exercise is None:
        abort(404, f"No exercise '{slug}'.")
    user = current_user._get_current_object()
    if request.method == "POST":
        # The one caught error in routes: a refused form re-renders with what was typed in it.
        try:
            if exercise.kind == "notebook":
                upload = request.files.get("notebook")
                if upload is None or not upload.filename:
                    raise SubmissionError(400, "no_notebook", "Choose an .ipynb file to upload.")
                sub = submit.submit_notebook(user, exercise, upload.read(), upload.filename)
                return redirect(url_for("exercises.submission_page", submission_id=sub.id))
            sub = submit.submit_answer(
                user,
                exercise,
                request.form.get("answer", ""),
                max_bytes=current_app.config["MAX_ANSWER_BYTES"],
            )
        except SubmissionError as exc:
            flash(exc.message, "error")
            view = exercise_view(exercise, user, with_attempts=True)
            return render_template(
                "exercises/detail.html",
                ex=view,
                answer=request.form.get("answer", ""),
                grading=_notebook_grading(exercise),
            ), exc.status
        if sub.status in ("queued", "running"):
            return redirect(url_for("exercises.submission_page", submission_id=sub.id))
        return redirect(url_for("exercises.detail", slug=slug, _anchor="result"))
    submit.warm_variant(exercise, user)
    view = exercise_view(exercise, user, with_attempts=True)
    return render_template(
        "exercises/detail.html", ex=view, answer="", grading=_notebook_grading(exercise)
    )


def _notebook_grading(exercise: Exercise):
    """A notebook page says so when no worker can grade it now (uploads still queue)."""
    return health.current() if exercise.kind == "notebook" else None


@bp.get("/exercises/<slug>/starter.ipynb")
def starter(slug: str):
    exercise = catalog.get_exercise(slug)
    spec = catalog.spec_of(exercise) if exercise else None
    if spec is None or spec.notebook is None:
        abort(404, f"No notebook exercise '{slug}'.")
    path = catalog.EXERCISES_DIR / slug / spec.notebook.starter
    return send_attachment(path.read_bytes(), f"{slug}.ipynb", "application/x-ipynb+json")


@bp.get("/submissions/<int:submission_id>")
@login_required
def submission_page(submission_id: int):
    return _submission_template("exercises/submission.html", submission_id)


@bp.get("/submissions/<int:submission_id>/results")
@login_required
def submission_results(submission_id: int):
    """The results part of the page alone: submission.js swaps it in when the grade arrives."""
    return _submission_template("exercises/_results.html", submission_id)


def _submission_template(template: str, submission_id: int) -> str:
    sub = get_for(current_user, submission_id)
    doc = public_view(sub)
    return render_template(template, sub=sub, doc=doc, results=feedback.results_view(sub, doc))


# The site's policy with no scripts at all: the page needs none, and member output gets none.
NOTEBOOK_CSP = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'none'")


@bp.get("/submissions/<int:submission_id>/notebook")
@login_required
def executed_notebook(submission_id: int):
    """The executed notebook inside the site's page: cells sanitised (nh3), no scripts run.

    The worker rendered them (this process never loads nbconvert); a notebook graded before
    it did gets its render queued and a page that reloads itself until the cells are there.
    """
    sub = get_for(current_user, submission_id)
    html = executed_html_of(sub)
    if html is None:
        queue.render_later(sub)
    cells = None if html is None else Markup(html)
    response = make_response(render_template("exercises/notebook.html", sub=sub, cells=cells))
    response.headers["Content-Security-Policy"] = NOTEBOOK_CSP
    return response
