"""Importing a course notebook pair from the instructor's page: checked here, run by a worker.

import_requests.request_import() does at once everything that needs no sandbox (the slug, the
sizes, reading both notebooks, pairing the solution with the blank, the datasets the store must
hold), so a bad upload is refused with a 4xx and nothing is stored. The request then becomes a
row and a job: a grading worker (import_job.run_job) runs the solution once in the sandbox, as
`adventures exercises import` does, writes exercises/<slug>/ and seeds the catalog. The web
process never runs the sandbox. Every change of state is published on
channels.exercise_import(id). This module holds what both sides share.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from graders.notebook.importer import DatasetGuess, Imported, import_exercise
from graders.notebook.read import NotebookError
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.exercise_import import ExerciseImport
from server.services import exercises as catalog
from server.services import live
from server.services.errors import StatusError
from server.services.grading import datasets
from server.services.live import channels

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
# Course notebooks saved with their outputs (plots, long training logs) pass 2 MB easily.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
TIME_LIMITS = {"time_limit": (5, 1800, 180), "cell_timeout": (1, 1800, 60)}
FINISHED = ("done", "failed")
log = logging.getLogger("adventures.imports")


class ImportRefused(StatusError):
    """A refused import; `detail` is extra JSON for the page (notes, missing datasets)."""


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


# ---- the worker's side ----------------------------------------------------------------------


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


def publish(row: ExerciseImport) -> None:
    live.publish(channels.exercise_import(row.id), "status", view(row))
