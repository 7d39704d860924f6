"""The instructor dashboard (pages under /instructor) and its JSON API (under /api/instructor).

Every view here is guarded: @instructor_page on pages (anonymous -> log-in,
member -> 403), @api_instructor_required on the API (401 / 403). The access
tests walk the url map, so a new route without a guard fails them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from server.extensions import csrf
from server.routes import sse
from server.routes.attachments import send_attachment
from server.routes.errors import ApiError, json_body
from server.routes.guards import api_instructor_required, api_user, instructor_page
from server.routes.hardening import MAX_DB_INT, clamped_int_arg, db_id
from server.services import exercises as catalog
from server.services.errors import StatusError
from server.services.grading import health as grader_health
from server.services.grading import regrade
from server.services.grading.views import public_view
from server.services.instructor import exports as instructor_exports
from server.services.instructor import leaderboard, similarity
from server.services.instructor import meetups as instructor_events
from server.services.instructor import members as instructor
from server.services.instructor import stats as instructor_stats
from server.services.instructor.scores import override
from server.services.live import channels

bp = Blueprint("instructor", __name__)
api = Blueprint("instructor_api", __name__, url_prefix="/api")
csrf.exempt(api)


GameId = Annotated[int, Field(strict=True, ge=1, le=MAX_DB_INT)]
Weight = Annotated[float, Field(strict=True, ge=0, le=leaderboard.MAX_WEIGHT)]


class OverrideBody(BaseModel):
    model_config = ConfigDict(strict=True)  # no `false` for a number

    score: float = Field(ge=0)
    comment: str = Field(min_length=1, max_length=2000)


class RoleBody(BaseModel):
    model_config = ConfigDict(strict=True)

    role: Literal["member", "instructor"]


class WeightsBody(BaseModel):
    model_config = ConfigDict(strict=True)

    exercises: Weight
    trivia: Weight


class EventBody(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    ends_at: datetime
    exercises: list[str] = Field(default_factory=list, max_length=200)
    games: list[GameId] = Field(default_factory=list, max_length=200)
    exercise_weight: Weight = 1.0
    trivia_weight: Weight = leaderboard.DEFAULT_TRIVIA_WEIGHT


class SubmissionsQuery(BaseModel):
    exercise: str | None = Field(default=None, description="an exercise slug")
    member: str | None = Field(default=None, description="a username or user id")
    status: Literal["queued", "running", "graded", "error"] | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_DB_INT)
    offset: int | None = Field(default=None, ge=0, le=MAX_DB_INT)


class WhichQuery(BaseModel):
    which: Literal["executed", "submitted"] = "executed"


class ThresholdQuery(BaseModel):
    threshold: float = Field(default=0.8, ge=0, le=1)


class LimitQuery(BaseModel):
    limit: int = Field(default=200, ge=1, le=1000)


def _exercise(slug: str):
    """The active exercise with this slug (a slug with a NUL byte names none)."""
    return None if "\x00" in slug else catalog.get_exercise(slug)


def _exercise_or_404(slug: str):
    exercise = _exercise(slug)
    if exercise is None:
        raise instructor.InstructorError(404, "not_found", f"No exercise '{slug}'.")
    return exercise


def _filters() -> instructor.Filters:
    return instructor.Filters(
        exercise=request.args.get("exercise") or None,
        member=request.args.get("member") or None,
        status=request.args.get("status") or None,
    )


def _int_arg(name: str, default: int) -> int:
    """Lenient paging arguments: junk gives the default, huge numbers stop at MAX_DB_INT."""
    return clamped_int_arg(name, default)


# ---- API: submissions ------------------------------------------------------------


@api.get("/instructor/submissions")
@api_instructor_required
def api_submissions():
    """The submissions browser: filter by exercise (slug), member (username or id) and status."""
    total, rows = instructor.browse(
        _filters(), limit=_int_arg("limit", instructor.PAGE_SIZE), offset=_int_arg("offset", 0)
    )
    response = jsonify(rows)
    response.headers["X-Total-Count"] = str(total)
    return response


api_submissions.openapi_query = SubmissionsQuery


@api.get("/instructor/submissions/<int:submission_id>")
@api_instructor_required
def api_submission(submission_id: int):
    """One submission with its member, result history and audit trail."""
    return jsonify(instructor.submission_record(instructor.get_submission(submission_id)))


@api.get("/instructor/submissions/<int:submission_id>/result.json")
@api_instructor_required
def api_result_download(submission_id: int):
    """The result document as a file (Gradescope results.json superset)."""
    sub = instructor.get_submission(submission_id)
    body = json.dumps(public_view(sub), indent=2, sort_keys=True)
    name = f"{sub.exercise.slug}-{sub.user.username}-{sub.id}.json"
    return send_attachment(body, name, "application/json")


@api.get("/instructor/submissions/<int:submission_id>/notebook.ipynb")
@api_instructor_required
def api_notebook_download(submission_id: int):
    """The member's notebook: ?which=executed (default, with outputs) or submitted."""
    sub = instructor.get_submission(submission_id)
    which = request.args.get("which", "executed")
    data = sub.executed_notebook if which == "executed" else sub.notebook
    if data is None:
        raise ApiError(404, "not_found", f"This submission has no {which} notebook.")
    name = f"{sub.exercise.slug}-{sub.user.username}-{sub.id}-{which}.ipynb"
    return send_attachment(data, name, "application/x-ipynb+json")


api_notebook_download.openapi_query = WhichQuery


@api.post("/instructor/submissions/<int:submission_id>/override")
@api_instructor_required
def api_override(submission_id: int):
    """Set a submission's score by hand, with a comment; audited; moves the best score."""
    body = json_body(OverrideBody)
    sub = override(api_user(), instructor.get_submission(submission_id), body.score, body.comment)
    return jsonify(instructor.submission_record(sub))


api_override.openapi_body = OverrideBody


@api.post("/instructor/submissions/<int:submission_id>/regrade")
@api_instructor_required
def api_regrade_submission(submission_id: int):
    """Grade one submission again with the current spec and reference; 202 with progress."""
    job = regrade.regrade_submission(api_user(), instructor.get_submission(submission_id))
    return jsonify(regrade.progress(job.id)), 202


api_regrade_submission.openapi_status = 202


# ---- API: exercises, statistics, regrades, similarity ----------------------------------


@api.get("/instructor/exercises")
@api_instructor_required
def api_exercise_stats():
    """Per-exercise statistics: attempts, members, pass rate, mean score."""
    return jsonify(instructor_stats.overview())


@api.get("/instructor/exercises/<slug>")
@api_instructor_required
def api_exercise_detail(slug: str):
    """One exercise: pass rate per check and a histogram of members' best scores."""
    return jsonify(instructor_stats.exercise_stats(_exercise_or_404(slug)))


@api.post("/instructor/exercises/<slug>/regrade")
@api_instructor_required
def api_regrade_exercise(slug: str):
    """Regrade every graded submission of the exercise; 202 with progress."""
    job = regrade.regrade_exercise(api_user(), _exercise_or_404(slug))
    return jsonify(regrade.progress(job.id)), 202


api_regrade_exercise.openapi_status = 202


@api.get("/instructor/exercises/<slug>/similarity")
@api_instructor_required
def api_similarity(slug: str):
    """Pairs of members with near-identical graded functions (?threshold=0.8)."""
    exercise = _exercise_or_404(slug)
    if exercise.kind != "notebook":
        raise ApiError(400, "wrong_kind", "Similarity compares notebook exercises only.")
    try:
        threshold = min(1.0, max(0.0, float(request.args.get("threshold", 0.8))))
    except ValueError as exc:
        raise ApiError(400, "bad_request", "threshold: a number between 0 and 1.") from exc
    return jsonify(similarity.pairs(exercise, threshold))


api_similarity.openapi_query = ThresholdQuery


@api.get("/instructor/regrades")
@api_instructor_required
def api_regrades():
    """Recent regrades and their progress."""
    return jsonify(regrade.recent())


@api.get("/instructor/regrades/<int:regrade_id>")
@api_instructor_required
def api_regrade(regrade_id: int):
    """One regrade's progress: done of total, scores raised and lowered."""
    data = regrade.progress(regrade_id)
    if data is None:
        raise ApiError(404, "not_found", f"No regrade {regrade_id}.")
    return jsonify(data)


@api.get("/instructor/regrades/<int:regrade_id>/events")
@api_instructor_required
def api_regrade_events(regrade_id: int):
    """Server-Sent Events: 'progress' on every change until the regrade finishes."""
    if regrade.progress(regrade_id) is None:
        raise ApiError(404, "not_found", f"No regrade {regrade_id}.")

    def progress(*_) -> tuple[str, dict | None]:
        return "progress", regrade.progress(regrade_id)

    return sse.stream(
        channels.regrade(regrade_id),
        progress,
        transform=progress,
        until=lambda _type, data: data is None or data["finished"],
    )


# ---- API: members, weights, events, games, audit, exports --------------------------


@api.get("/instructor/members")
@api_instructor_required
def api_members():
    """Every account with its role and activity."""
    return jsonify(instructor.members())


@api.post("/instructor/members/<int:user_id>/role")
@api_instructor_required
def api_set_role(user_id: int):
    """Promote to instructor or demote to member (audited)."""
    body = json_body(RoleBody)
    user = instructor.find_member(str(user_id))
    if user is None:
        raise ApiError(404, "not_found", f"No member {user_id}.")
    instructor.set_role(api_user(), user, body.role)
    return jsonify(id=user.id, username=user.username, role=user.role)


api_set_role.openapi_body = RoleBody


@api.get("/instructor/weights")
@api_instructor_required
def api_weights():
    """How the overall board weighs exercise points and trivia points."""
    return jsonify(leaderboard.weights().as_dict())


@api.post("/instructor/weights")
@api_instructor_required
def api_set_weights():
    """Set the overall board's weights (audited); every open board updates."""
    body = json_body(WeightsBody)
    return jsonify(leaderboard.set_weights(api_user(), body.exercises, body.trivia).as_dict())


api_set_weights.openapi_body = WeightsBody


@api.get("/instructor/events")
@api_instructor_required
def api_events():
    """Meetup events: time windows with their exercises and games."""
    return jsonify(instructor_events.list_events())


@api.post("/instructor/events")
@api_instructor_required
def api_create_event():
    """Create a meetup event; its board is /leaderboard/meetups/<id>."""
    body = json_body(EventBody)
    event = instructor_events.save_event(api_user(), None, **body.model_dump())
    return jsonify(instructor_events.event_view(event)), 201


api_create_event.openapi_body = EventBody
api_create_event.openapi_status = 201


@api.get("/instructor/events/<int:event_id>")
@api_instructor_required
def api_event(event_id: int):
    """One meetup event with its standings."""
    event = instructor_events.get_event(event_id)
    return jsonify(
        {**instructor_events.event_view(event), "standings": leaderboard.event_standings(event)}
    )


@api.put("/instructor/events/<int:event_id>")
@api_instructor_required
def api_update_event(event_id: int):
    """Replace a meetup event's title, window, exercises, games and weights."""
    body = json_body(EventBody)
    event = instructor_events.get_event(event_id)
    instructor_events.save_event(api_user(), event, **body.model_dump())
    return jsonify(instructor_events.event_view(event))


api_update_event.openapi_body = EventBody


@api.delete("/instructor/events/<int:event_id>")
@api_instructor_required
def api_delete_event(event_id: int):
    """Delete a meetup event (scores are untouched)."""
    instructor_events.delete_event(api_user(), instructor_events.get_event(event_id))
    return "", 204


api_delete_event.openapi_status = 204


@api.get("/instructor/games")
@api_instructor_required
def api_games():
    """Game history, newest first, with links to each game's report."""
    return jsonify(
        [
            {
                **g,
                "report_url": url_for("games.report_page", game_id=g["id"]),
                "report_api": f"/api/games/{g['pin']}/report?game={g['id']}",
            }
            for g in leaderboard.games_played()
        ]
    )


@api.get("/instructor/audit")
@api_instructor_required
def api_audit():
    """The audit log: overrides, role changes, regrades, weights and events."""
    return jsonify(instructor.audit_log(limit=max(1, min(_int_arg("limit", 200), 1000))))


api_audit.openapi_query = LimitQuery


@api.get("/instructor/gradebook.csv")
@api_instructor_required
def api_gradebook():
    """The gradebook: members × exercises (best scores), with trivia and overall."""
    return send_attachment(instructor_exports.gradebook_csv(), "gradebook.csv", "text/csv")


# ---- pages -------------------------------------------------------------------------


@bp.get("/instructor")
@instructor_page
def index():
    stats = instructor_stats.overview()
    _, recent = instructor.browse(instructor.Filters(), limit=10)
    return render_template(
        "instructor/index.html",
        stats=stats,
        recent=recent,
        regrades=regrade.recent(5),
        top=leaderboard.standings(limit=5),
        grading=grader_health.current(),
    )


@bp.get("/instructor/submissions")
@instructor_page
def submissions_page():
    filters = _filters()
    page = max(1, _int_arg("page", 1))
    try:
        total, rows = instructor.browse(
            filters, limit=instructor.PAGE_SIZE, offset=(page - 1) * instructor.PAGE_SIZE
        )
    except StatusError as exc:
        flash(exc.message, "error")
        total, rows = 0, []
    return render_template(
        "instructor/submissions.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // instructor.PAGE_SIZE)),
        filters=filters,
        exercises=catalog.active_exercises(),
        statuses=("queued", "running", "graded", "error"),
    )


@bp.get("/instructor/submissions/<int:submission_id>")
@instructor_page
def submission_page(submission_id: int):
    sub = instructor.get_submission(submission_id)
    return render_template(
        "instructor/submission.html",
        sub=sub,
        rec=instructor.submission_record(sub),
        regrade_id=request.args.get("regrade", type=db_id),
    )


@bp.post("/instructor/submissions/<int:submission_id>/override")
@instructor_page
def override_form(submission_id: int):
    here = url_for("instructor.submission_page", submission_id=submission_id)
    try:
        score = float(request.form.get("score", ""))
        override(
            current_user,
            instructor.get_submission(submission_id),
            score,
            request.form.get("comment", ""),
        )
        flash(f"Score set to {score:g}; the change is in the audit log.", "success")
    except ValueError as exc:
        flash(getattr(exc, "message", "The score must be a number."), "error")
    return redirect(here)


@bp.post("/instructor/submissions/<int:submission_id>/regrade")
@instructor_page
def regrade_submission_form(submission_id: int):
    try:
        job = regrade.regrade_submission(current_user, instructor.get_submission(submission_id))
    except StatusError as exc:
        flash(exc.message, "error")
        return redirect(url_for("instructor.submission_page", submission_id=submission_id))
    return redirect(
        url_for("instructor.submission_page", submission_id=submission_id, regrade=job.id)
    )


@bp.get("/instructor/exercises")
@instructor_page
def exercises_page():
    return render_template("instructor/exercises.html", stats=instructor_stats.overview())


@bp.get("/instructor/exercises/<slug>")
@instructor_page
def exercise_page(slug: str):
    exercise = _exercise(slug)
    if exercise is None:
        abort(404, f"No exercise '{slug}'.")
    return render_template(
        "instructor/exercise.html",
        exercise=exercise,
        stats=instructor_stats.exercise_stats(exercise),
        board=leaderboard.exercise_standings(exercise, limit=10),
        regrade_id=request.args.get("regrade", type=db_id),
    )


@bp.post("/instructor/exercises/<slug>/regrade")
@instructor_page
def regrade_exercise_form(slug: str):
    exercise = _exercise(slug)
    if exercise is None:
        abort(404, f"No exercise '{slug}'.")
    job = regrade.regrade_exercise(current_user, exercise)
    flash(f"Regrading {job.total} submission(s) of {exercise.title}.", "success")
    return redirect(url_for("instructor.exercise_page", slug=slug, regrade=job.id))


@bp.get("/instructor/exercises/<slug>/similarity")
@instructor_page
def similarity_page(slug: str):
    exercise = _exercise(slug)
    if exercise is None or exercise.kind != "notebook":
        abort(404, f"No notebook exercise '{slug}'.")
    threshold = min(1.0, max(0.0, request.args.get("threshold", 0.8, type=float)))
    return render_template(
        "instructor/similarity.html",
        exercise=exercise,
        pairs=similarity.pairs(exercise, threshold),
        threshold=threshold,
    )


@bp.get("/instructor/members")
@instructor_page
def members_page():
    return render_template("instructor/members.html", members=instructor.members())


@bp.post("/instructor/members/<int:user_id>/role")
@instructor_page
def role_form(user_id: int):
    user = instructor.find_member(str(user_id))
    if user is None:
        abort(404, f"No member {user_id}.")
    try:
        instructor.set_role(current_user, user, request.form.get("role", ""))
        flash(f"{user.display_name} is now {user.role}.", "success")
    except StatusError as exc:
        flash(exc.message, "error")
    return redirect(url_for("instructor.members_page"))


@bp.get("/instructor/boards")
@instructor_page
def boards_page():
    return render_template(
        "instructor/boards.html",
        weights=leaderboard.weights(),
        events=instructor_events.list_events(),
        exercises=catalog.active_exercises(),
        games=leaderboard.games_played(),
        default_trivia=leaderboard.DEFAULT_TRIVIA_WEIGHT,
    )


@bp.post("/instructor/weights")
@instructor_page
def weights_form():
    try:
        leaderboard.set_weights(
            current_user,
            float(request.form.get("exercises", "")),
            float(request.form.get("trivia", "")),
        )
        flash("Weights saved; every open board has updated.", "success")
    except ValueError as exc:
        flash(str(exc) if "weight" in str(exc) else "Weights must be numbers.", "error")
    return redirect(url_for("instructor.boards_page"))


def _event_form() -> dict:
    def when(name: str) -> datetime:
        return datetime.fromisoformat(request.form.get(name, ""))

    return dict(
        title=request.form.get("title", ""),
        starts_at=when("starts_at"),
        ends_at=when("ends_at"),
        exercises=request.form.getlist("exercises"),
        games=[int(g) for g in request.form.getlist("games") if g.isdigit()],
        exercise_weight=float(request.form.get("exercise_weight") or 1.0),
        trivia_weight=float(request.form.get("trivia_weight") or leaderboard.DEFAULT_TRIVIA_WEIGHT),
    )


@bp.post("/instructor/events")
@instructor_page
def event_create_form():
    try:
        event = instructor_events.save_event(current_user, None, **_event_form())
        flash(f"Event '{event.title}' created.", "success")
    except StatusError as exc:
        flash(exc.message, "error")
    except ValueError:
        flash("Give the start and end as dates and times, and weights as numbers.", "error")
    return redirect(url_for("instructor.boards_page"))


@bp.post("/instructor/events/<int:event_id>/delete")
@instructor_page
def event_delete_form(event_id: int):
    try:
        instructor_events.delete_event(current_user, instructor_events.get_event(event_id))
        flash("Event deleted.", "success")
    except StatusError as exc:
        flash(exc.message, "error")
    return redirect(url_for("instructor.boards_page"))


@bp.get("/instructor/games")
@instructor_page
def games_page():
    """Game history is one page, /games (the dashboard's Games tab leads there)."""
    return redirect(url_for("games.history_page"))


@bp.get("/instructor/audit")
@instructor_page
def audit_page():
    return render_template("instructor/audit.html", entries=instructor.audit_log())
