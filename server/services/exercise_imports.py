"""Importing a course notebook pair from the instructor's page: checked here, run by a worker.

request_import() does at once everything that needs no sandbox (the slug, the sizes, reading
both notebooks, pairing the solution with the blank, the datasets the store must hold), so a
bad upload is refused with a 4xx and nothing is stored. The request then becomes a row and a
job (server.jobs.run_exercise_import): a grading worker runs the solution once in the sandbox,
as `adventures exercises import` does, writes exercises/<slug>/ and seeds the catalog. The web
process never runs the sandbox. Every change of state is published on `exercise-import:<id>`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from graders.datasets import human_size
from graders.notebook.importer import DatasetGuess, Imported, import_exercise
from graders.notebook.read import NotebookError
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.exercise_import import ExerciseImport
from server.models.user import User
from server.services import datasets, events
from server.services import exercises as catalog
from server.services.errors import StatusError

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
# Course notebooks saved with their outputs (plots, long training logs) pass 2 MB easily.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
TIME_LIMITS = {"time_limit": (5, 1800, 180), "cell_timeout": (1, 1800, 60)}
FINISHED = ("done", "failed")
MAX_ATTEMPTS = 2
QUEUED_GRACE = timedelta(minutes=10)
log = logging.getLogger("adventures.imports")


class ImportRefused(StatusError):
    """A refused import; `detail` is extra JSON for the page (notes, missing datasets)."""

    def __init__(self, status: int, code: str, message: str, **detail: Any) -> None:
        super().__init__(status, code, message)
        self.detail = detail


@dataclass
class Upload:
    data: bytes
    filename: str

    def __post_init__(self) -> None:
        # Shown on the page and stored as text: no path, no control characters (PostgreSQL
        # refuses NUL in text).
        name = re.sub(r"[\x00-\x1f\x7f]", "", self.filename or "").replace("\\", "/")
        self.filename = name.rsplit("/", 1)[-1][:255]


def max_bytes() -> int:
    return int(current_app.config.get("MAX_IMPORT_NOTEBOOK_BYTES", DEFAULT_MAX_BYTES))


def channel(import_id: int) -> str:
    return f"exercise-import:{import_id}"


def check_slug(slug: str) -> str:
    slug = (slug or "").strip()
    if not SLUG.fullmatch(slug):
        raise ImportRefused(
            400,
            "bad_slug",
            f"Slug {slug!r}: use 2-64 lowercase letters, digits and '-', starting with a letter "
            "or digit (e.g. c3w1-news).",
        )
    return slug


def check_limits(time_limit: Any, cell_timeout: Any) -> tuple[int, int]:
    out = []
    for name, value in (("time_limit", time_limit), ("cell_timeout", cell_timeout)):
        low, high, default = TIME_LIMITS[name]
        if value in (None, ""):
            out.append(default)
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ImportRefused(
                400, "bad_limit", f"{name}: a whole number of seconds from {low} to {high}."
            )
        out.append(number)
    return out[0], out[1]


def split_names(text: str) -> list[str]:
    """Dataset names typed into one field, separated by spaces or commas."""
    return [n[:128] for n in re.split(r"[\s,\x00]+", text or "") if n][:50]


def existing(slug: str) -> str | None:
    """Why `slug` is taken (its folder, or a catalog row), or None when it is free."""
    folder = catalog.EXERCISES_DIR / slug
    if folder.exists():
        return f"exercises/{slug}/ already exists"
    if db.session.scalar(select(Exercise.id).where(Exercise.slug == slug)) is not None:
        return f"the catalog already has an exercise '{slug}'"
    return None


def dataset_rows(imported: Imported) -> list[dict[str, Any]]:
    """Each dataset the notebooks read, whether the store holds it, and the command to add it."""
    store = datasets.store()
    return [
        {
            "name": d.name,
            "urls": list(d.urls),
            "paths": list(d.paths),
            "in_store": store.get(d.name) is not None,
            "command": d.add_command(),
        }
        for d in imported.datasets
    ]


def prepare(
    slug: str, blank: bytes, solution: bytes | None, ignored: list[str], **limits
) -> Imported:
    """The import up to the sandbox run: notebooks read and paired, datasets guessed and filtered."""
    try:
        imported = import_exercise(slug, blank, solution, **limits)
    except NotebookError as exc:
        raise ImportRefused(exc.status, exc.code, exc.message) from None
    kept: list[DatasetGuess] = [d for d in imported.datasets if d.name not in ignored]
    imported.datasets = kept
    imported.spec["notebook"]["datasets"] = [d.to_spec() for d in kept]
    return imported


def missing_message(rows: list[dict[str, Any]]) -> str:
    missing = [r for r in rows if not r["in_store"]]
    names = ", ".join(r["name"] for r in missing)
    return (
        f"The solution reads {'a dataset' if len(missing) == 1 else 'datasets'} the store does "
        f"not hold: {names}. Add {'it' if len(missing) == 1 else 'them'} on the Datasets page "
        "or with " + "; ".join(f"`{r['command']}`" for r in missing) + ", then import again "
        "(a name that is not a dataset this notebook needs: list it under 'Not datasets')."
    )


def request_import(
    user: User,
    *,
    slug: str,
    blank: Upload | None,
    solution: Upload | None,
    force: bool,
    ignored: list[str],
    time_limit: Any = None,
    cell_timeout: Any = None,
) -> ExerciseImport:
    """Check the upload, store it, queue the job; ImportRefused (4xx) stores nothing."""
    slug = check_slug(slug)
    time_limit, cell_timeout = check_limits(time_limit, cell_timeout)
    if blank is None or not blank.data:
        raise ImportRefused(400, "no_notebook", "Choose the notebook (.ipynb) to import.")
    limit = max_bytes()
    for what, upload in (("the notebook", blank), ("the solution", solution)):
        if upload is not None and len(upload.data) > limit:
            raise ImportRefused(
                413,
                "too_large",
                f"{upload.filename or what} is {human_size(len(upload.data))}; the limit is "
                f"{human_size(limit)} per notebook. Clear its outputs and try again.",
            )
    if solution is not None and not solution.data:
        solution = None
    taken = existing(slug)
    if taken and not force:
        raise ImportRefused(
            409,
            "exists",
            f"{taken}: tick 'Overwrite' to replace its notebooks and spec, or choose another slug.",
        )
    busy = db.session.scalar(
        select(ExerciseImport.id).where(
            ExerciseImport.slug == slug, ExerciseImport.status.not_in(FINISHED)
        )
    )
    if busy is not None:
        raise ImportRefused(
            409, "busy", f"Import #{busy} of '{slug}' is still running; wait for it to finish."
        )
    imported = prepare(
        slug,
        blank.data,
        solution.data if solution else None,
        ignored,
        time_limit=time_limit,
        cell_timeout=cell_timeout,
    )
    rows = dataset_rows(imported)
    if any(not r["in_store"] for r in rows):
        raise ImportRefused(
            400,
            "missing_datasets",
            missing_message(rows),
            datasets=rows,
            notes=imported.notes,
        )
    from server.services.instructor_scores import audit

    now = utcnow()
    row = ExerciseImport(
        slug=slug,
        requested_by=user.id,
        force=bool(force),
        ignored=list(ignored),
        time_limit=time_limit,
        cell_timeout=cell_timeout,
        blank=blank.data,
        blank_name=(blank.filename or "notebook.ipynb")[:255],
        solution=solution.data if solution else None,
        solution_name=(solution.filename or "solution.ipynb")[:255] if solution else None,
        status="queued",
        phase="Waiting for a grading worker",
        result={"notes": imported.notes, "datasets": rows, "functions": imported.functions},
        created_at=now,
        queued_at=now,
    )
    db.session.add(row)
    db.session.flush()
    audit(user, "exercise_import", "exercise_import", row.id, detail={"slug": slug, "force": force})
    db.session.commit()
    enqueue(row.id)
    db.session.refresh(row)  # an inline job (tests) has finished it already
    return row


def enqueue(import_id: int) -> None:
    from server.jobs import run_exercise_import

    run_exercise_import(import_id)


# ---- the worker's side ----------------------------------------------------------------------


def _claim(import_id: int) -> int | None:
    """queued -> running, once: of two workers handed the same id, one goes on (this attempt's
    number, or None)."""
    done = db.session.execute(
        update(ExerciseImport)
        .where(ExerciseImport.id == import_id, ExerciseImport.status == "queued")
        .values(
            status="running",
            started_at=utcnow(),
            attempts=ExerciseImport.attempts + 1,
            phase="Reading the notebooks",
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if done.rowcount != 1:
        return None
    return db.session.get(ExerciseImport, import_id).attempts


def _publish(row: ExerciseImport) -> None:
    events.publish(channel(row.id), "status", view(row))


class _Superseded(Exception):
    """requeue_stale judged this attempt dead and queued a new one: leave the row to it."""


def _set(import_id: int, attempt: int | None, **fields: Any) -> ExerciseImport:
    row = db.session.get(ExerciseImport, import_id)
    if attempt is not None and (row.status != "running" or row.attempts != attempt):
        db.session.rollback()
        raise _Superseded()
    for name, value in fields.items():
        setattr(row, name, value)
    db.session.commit()
    _publish(row)
    db.session.commit()  # publishing read the row: end that transaction too
    return row


class _Failed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def run_job(import_id: int) -> None:
    """Run one queued import to its end; every outcome lands in the row (never raises)."""
    attempt = _claim(import_id)
    if attempt is None:
        return  # finished, or another worker has it
    row = db.session.get(ExerciseImport, import_id)
    _publish(row)
    result = dict(row.result or {})
    try:
        try:
            _run(import_id, attempt, result)
        except _Failed as exc:
            _finish(import_id, attempt, "failed", result, exc.message)
        except _Superseded:
            raise
        except Exception as exc:  # a bug or a broken sandbox: say so on the page, keep the worker
            log.exception("import %s failed", import_id)
            db.session.rollback()
            why = f"The import stopped: {type(exc).__name__}: {exc}"
            _finish(import_id, attempt, "failed", result, why)
        else:
            _finish(import_id, attempt, "done", result, None)
    except _Superseded:
        log.warning("import %s: attempt %s was superseded by a newer one", import_id, attempt)


def _finish(
    import_id: int, attempt: int | None, status: str, result: dict[str, Any], error: str | None
) -> None:
    phase = "Imported" if status == "done" else "Not imported"
    _set(
        import_id,
        attempt,
        status=status,
        result=result,
        error=error,
        finished_at=utcnow(),
        phase=phase,
    )


def _run(import_id: int, attempt: int, result: dict[str, Any]) -> None:
    from graders.notebook.importer import write_exercise
    from graders.notebook.record import record_checks
    from graders.spec import ExerciseSpec, SpecError

    row = db.session.get(ExerciseImport, import_id)
    slug, force, ignored = row.slug, row.force, list(row.ignored or [])
    blank, solution = row.blank, row.solution
    limits = {"time_limit": row.time_limit, "cell_timeout": row.cell_timeout}
    taken = existing(slug)
    if taken and not force:
        raise _Failed(f"{taken} (it was free when the import was asked for); nothing written.")
    try:
        imported = prepare(slug, blank, solution, ignored, **limits)
    except ImportRefused as exc:
        raise _Failed(exc.message) from None
    result["notes"] = list(imported.notes)
    result["functions"] = list(imported.functions)
    result["datasets"] = rows = dataset_rows(imported)
    if any(not r["in_store"] for r in rows):
        raise _Failed(missing_message(rows))
    folder = catalog.EXERCISES_DIR / slug
    _set(
        import_id,
        attempt,
        result=dict(result),
        phase=f"Running the solution once in the sandbox (up to {limits['time_limit']} s)",
    )  # committed: no transaction stays open while the sandbox runs
    recording = record_checks(imported, folder, datasets_root=datasets.store_root())
    result["seconds"] = round(recording.seconds, 2)
    result["failures"] = list(recording.failures)
    result["notes"] = [*result["notes"], *recording.notes]
    if recording.problem or not recording.checks:
        why = recording.problem or (
            "the solution's cells never called a graded function"
            if imported.functions
            else "the answer's completed cells print nothing the checks can read"
        )
        raise _Failed(f"No checks recorded: {why}; nothing written.")
    spec = imported.spec
    spec["notebook"]["checks"] = recording.checks
    spec["points"] = float(sum(c["points"] for c in recording.checks))
    result["checks"] = [
        {k: c.get(k) for k in ("name", "function", "expression", "compare", "points", "visibility")}
        for c in recording.checks
    ]
    try:
        ExerciseSpec.model_validate(spec)
    except ValueError as exc:  # pydantic's ValidationError
        raise _Failed(f"The spec would not be valid, nothing written: {exc}") from None
    _set(
        import_id,
        attempt,
        result=dict(result),
        phase="Writing the exercise and seeding the catalog",
    )
    paths = write_exercise(folder, imported, spec)
    result["written"] = [f"exercises/{slug}/{p.name}" for p in paths]
    result["spec_yaml"] = (folder / "exercise.yaml").read_text(encoding="utf-8")
    try:
        report = catalog.seed_exercises(catalog.EXERCISES_DIR)
    except SpecError as exc:
        db.session.rollback()
        raise _Failed(
            f"Written to exercises/{slug}/, but the catalog did not load: {exc}. Fix that "
            "spec, then run `adventures seed`."
        ) from None
    result["seeded"] = (
        "added" if slug in report.added else "updated" if slug in report.updated else "unchanged"
    )


def requeue_stale(now=None) -> list[int]:
    """Imports a dead worker left running (or a lost job left queued) are queued again, once."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(ExerciseImport).where(ExerciseImport.status.in_(("queued", "running")))
    ).all()
    again = []
    for row in rows:
        if row.status == "running":
            # Generous: the run may first wait for a sandbox slot behind members' grades.
            allowed = timedelta(seconds=max(2 * row.time_limit, row.time_limit + 300))
            stale = row.started_at is not None and now - row.started_at > allowed
        else:
            stale = now - row.queued_at > QUEUED_GRACE
        if not stale:
            continue
        if row.attempts >= MAX_ATTEMPTS:
            _finish(
                row.id,
                None,
                "failed",
                dict(row.result or {}),
                "The worker stopped during the import twice; nothing was seeded. Try again.",
            )
            continue
        row.status, row.queued_at, row.phase = "queued", now, "Waiting for a grading worker"
        db.session.commit()
        enqueue(row.id)
        again.append(row.id)
    return again


# ---- what the page shows --------------------------------------------------------------------


def get_import(import_id: int) -> ExerciseImport:
    row = db.session.get(ExerciseImport, import_id) if 0 < import_id < 2**31 else None
    if row is None:
        raise ImportRefused(404, "not_found", f"No import {import_id}.")
    return row


def view(row: ExerciseImport) -> dict[str, Any]:
    """The import as JSON (no URLs: a worker publishes it; the routes add them)."""
    result = row.result or {}
    end = row.finished_at or (utcnow() if row.started_at else None)
    return {
        "id": row.id,
        "slug": row.slug,
        "status": row.status,
        "finished": row.status in FINISHED,
        "phase": row.phase,
        "error": row.error,
        "force": row.force,
        "ignored": list(row.ignored or []),
        "time_limit": row.time_limit,
        "cell_timeout": row.cell_timeout,
        "blank_name": row.blank_name,
        "solution_name": row.solution_name,
        "requested_by": row.requester.username if row.requester else None,
        "attempts": row.attempts,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "elapsed": round((end - row.started_at).total_seconds(), 1) if row.started_at else None,
        "notes": result.get("notes", []),
        "functions": result.get("functions", []),
        "datasets": result.get("datasets", []),
        "failures": result.get("failures", []),
        "checks": result.get("checks", []),
        "seconds": result.get("seconds"),
        "written": result.get("written", []),
        "seeded": result.get("seeded"),
        "spec_yaml": result.get("spec_yaml"),
    }


def recent(limit: int = 20) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(ExerciseImport).order_by(ExerciseImport.id.desc()).limit(limit)
    ).all()
    return [view(r) for r in rows]
