"""The instructor's Import page (/instructor/imports) and its API (/api/instructor/imports).

An import is a form upload (multipart: notebook, solution, slug, force, ignore, time_limit,
cell_timeout). The page's script posts it to the API so a refusal leaves the form as it was;
without the script the form posts to the page route, which answers the same refusals. Both
lift the app's 4 MB request cap for themselves (two notebooks of MAX_IMPORT_NOTEBOOK_BYTES),
so the page route checks its CSRF token itself, after that.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from pydantic import BaseModel, Field

from graders.datasets import human_size
from server.extensions import csrf
from server.routes import sse
from server.routes.guards import api_instructor_required, api_user, instructor_page
from server.routes.hardening import own_text_checks
from server.services.grading import import_requests, imports
from server.services.grading.imports import ImportRefused, Upload
from server.services.live import channels

bp = Blueprint("exercise_imports", __name__)
api = Blueprint("exercise_imports_api", __name__, url_prefix="/api")
csrf.exempt(api)  # API writes from a page carry X-CSRFToken; guards.api_user checks it

_TRUE = ("1", "true", "on", "yes")


class ImportUpload(BaseModel):
    notebook: bytes = Field(description="the blank assignment (.ipynb) as distributed")
    solution: bytes | None = Field(default=None, description="its solved copy (.ipynb)")
    slug: str = Field(description="the new exercise's slug, e.g. c3w1-assignment")
    force: str | None = Field(default=None, description="1: overwrite an existing exercise")
    ignore: str | None = Field(default=None, description="dataset names to ignore, comma-separated")
    time_limit: str | None = Field(default=None, description="seconds for the whole run")
    cell_timeout: str | None = Field(default=None, description="seconds for one cell")


def _doc(data: dict[str, Any]) -> dict[str, Any]:
    """A service view with the links the page and API clients follow."""
    done = data.get("status") == "done"
    return {
        **data,
        "url": url_for("exercise_imports.import_status_page", import_id=data["id"]),
        "api_url": url_for("exercise_imports_api.api_import", import_id=data["id"]),
        "events_url": url_for("exercise_imports_api.api_import_events", import_id=data["id"]),
        "exercise_url": url_for("exercises.detail", slug=data["slug"]) if done else None,
        "instructor_url": url_for("instructor.exercise_page", slug=data["slug"]) if done else None,
        "datasets_url": url_for("datasets.datasets_page"),
    }


def _lift_request_cap() -> None:
    """This route's own cap: two notebooks and the form fields, instead of the app's 4 MB."""
    request.max_content_length = 2 * imports.max_bytes() + (1 << 20)


def _upload(field: str) -> Upload | None:
    file = request.files.get(field)
    if file is None or not file.filename:
        return None
    return Upload(file.read(), file.filename)


def _submit():
    """The form's fields -> imports.request_import (ImportRefused on a bad upload)."""
    form = request.form
    return import_requests.request_import(
        api_user() if request.path.startswith("/api/") else current_user._get_current_object(),
        slug=form.get("slug", ""),
        blank=_upload("notebook"),
        solution=_upload("solution"),
        force=form.get("force", "").lower() in _TRUE,
        ignored=imports.split_names(form.get("ignore", "")),
        time_limit=form.get("time_limit"),
        cell_timeout=form.get("cell_timeout"),
    )


def _refusal(exc: ImportRefused) -> dict[str, Any]:
    return {**exc.detail, "error": exc.code, "message": exc.message}


# ---- API ------------------------------------------------------------------------------------


@api.post("/instructor/imports")
@api_instructor_required
@own_text_checks  # the import refuses a NUL in the slug or a limit, and strips it from names
def api_create_import():
    """Import a blank notebook (and its solution) as exercise SLUG; 202, then a worker runs it."""
    _lift_request_cap()
    return jsonify(_doc(imports.view(_submit()))), 202


api_create_import.openapi_body = {"multipart/form-data": ImportUpload}
api_create_import.openapi_status = 202


@api.get("/instructor/imports")
@api_instructor_required
def api_imports():
    """Recent imports, newest first."""
    return jsonify([_doc(v) for v in imports.recent()])


@api.get("/instructor/imports/<int:import_id>")
@api_instructor_required
def api_import(import_id: int):
    """One import: status, phase, notes, datasets, recorded checks, what was written."""
    return jsonify(_doc(imports.view(imports.get_import(import_id))))


@api.get("/instructor/imports/<int:import_id>/events")
@api_instructor_required
def api_import_events(import_id: int):
    """Server-Sent Events: 'status' on every change, until the import is done or failed."""
    imports.get_import(import_id)

    def snapshot():
        return "status", _doc(imports.view(imports.get_import(import_id)))

    return sse.stream(
        channels.exercise_import(import_id),
        snapshot,
        transform=lambda event: (event.type, _doc(event.data)),
        until=lambda kind, data: isinstance(data, dict) and bool(data.get("finished")),
    )


# ---- pages ----------------------------------------------------------------------------------


def _page(status: int = 200, *, error: dict[str, Any] | None = None):
    form = request.form if request.method == "POST" else {}
    return render_template(
        "instructor/imports.html",
        imports=[_doc(v) for v in imports.recent()],
        limit=imports.max_bytes(),
        limit_text=human_size(imports.max_bytes()),
        error=error,
        form=form,
    ), status


@bp.get("/instructor/imports")
@instructor_page
def imports_page():
    """The upload form and the recent imports."""
    return _page()


@bp.post("/instructor/imports")
@csrf.exempt
@instructor_page
@own_text_checks
def import_form():
    """The form without the page's script: a refusal re-renders the form with its message."""
    _lift_request_cap()
    config = current_app.config
    if config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True):
        csrf.protect()  # what the app does for every other form, once the body may be read
    try:
        row = _submit()
    except ImportRefused as exc:
        return _page(exc.status, error=_refusal(exc))
    return redirect(url_for("exercise_imports.import_status_page", import_id=row.id), 303)


@bp.get("/instructor/imports/<int:import_id>")
@instructor_page
def import_status_page(import_id: int):
    """One import, live: phase and elapsed time, then its notes, checks and outcome."""
    row = imports.get_import(import_id)
    return render_template("instructor/import.html", imp=_doc(imports.view(row)))
