"""The worker's side of an exercise import: claim the row, run the solution in the sandbox,
record the checks, write exercises/<slug>/ and seed the catalog; every outcome lands in the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from graders.notebook.importer import write_exercise
from graders.notebook.record import record_checks
from graders.spec import ExerciseSpec, SpecError
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise_import import ExerciseImport
from server.services import exercises as catalog
from server.services.grading import datasets
from server.services.grading.imports import (
    ImportRefused,
    dataset_rows,
    existing,
    log,
    missing_message,
    prepare,
    publish,
)


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
    publish(row)
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
    publish(row)
    result = dict(row.result or {})
    try:
        try:
            _run(import_id, attempt, result)
        except _Failed as exc:
            finish(import_id, attempt, "failed", result, exc.message)
        except _Superseded:
            raise
        except Exception as exc:  # a bug or a broken sandbox: say so on the page, keep the worker
            log.exception("import %s failed", import_id)
            db.session.rollback()
            why = f"The import stopped: {type(exc).__name__}: {exc}"
            finish(import_id, attempt, "failed", result, why)
        else:
            finish(import_id, attempt, "done", result, None)
    except _Superseded:
        log.warning("import %s: attempt %s was superseded by a newer one", import_id, attempt)


def finish(
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
