"""The exercise catalog: seeding from exercises/ and what a member sees of each exercise."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from graders.catalog import load_catalog, spec_hash
from graders.reference import cache_key
from graders.spec import ExerciseSpec
from graders.variants import variant_for
from server.config import REPO_ROOT
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.submission import BestScore, Submission
from server.models.user import User

EXERCISES_DIR = REPO_ROOT / "exercises"


@dataclass
class SeedReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def _datasets_root() -> Path:
    from flask import current_app

    return Path(current_app.config["DATASETS_DIR"])


def seed_exercises(root: Path = EXERCISES_DIR) -> SeedReport:
    """Load every spec; a changed spec gets a new version. Idempotent."""
    specs = load_catalog(root)
    report = SeedReport()
    existing = {e.slug: e for e in db.session.scalars(select(Exercise))}
    for spec in specs:
        # A listed dataset's new version (adventures data add) is a new exercise version.
        digest = spec_hash(spec, root / spec.slug, datasets_root=_datasets_root())
        row = existing.pop(spec.slug, None)
        fields = dict(
            title=spec.title,
            kind=spec.kind,
            week=spec.week,
            position=spec.position,
            points=spec.points,
            spec=spec.model_dump(mode="json"),
            active=True,
        )
        if row is None:
            db.session.add(Exercise(slug=spec.slug, content_hash=digest, version=1, **fields))
            report.added.append(spec.slug)
        elif row.content_hash != digest or not row.active:
            for name, value in fields.items():
                setattr(row, name, value)
            row.version += 1
            row.content_hash = digest
            row.updated_at = utcnow()
            report.updated.append(spec.slug)
        else:
            report.unchanged.append(spec.slug)
    for row in existing.values():
        if row.active:
            row.active = False
            report.retired.append(row.slug)
    db.session.commit()
    return report


def spec_of(exercise: Exercise) -> ExerciseSpec:
    return ExerciseSpec.model_validate(exercise.spec)


def member_key(user: User) -> str:
    """Stable per member across databases: the username, lower-cased."""
    return user.username.lower()


def variant_of(exercise: Exercise, user: User | None) -> dict[str, Any]:
    spec = spec_of(exercise)
    if spec.answer is None:
        return {}
    if user is None:
        return dict(spec.answer.params)
    return variant_for(spec.answer, member_key(user))


def reference_key(exercise: Exercise, variant: dict[str, Any]) -> tuple[str, str]:
    spec = spec_of(exercise)
    assert spec.answer is not None
    # Looked up on every answer: re-stat the reference files at most once a second.
    return cache_key(spec.answer.reference, variant, max_age=1.0), spec.answer.reference


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def fill(text: str | None, variant: dict[str, Any], *, in_code: bool = False) -> str | None:
    """Put a member's variant values into {{name}} placeholders of a prompt or code block."""
    if text is None:
        return None

    def one(match: re.Match) -> str:
        if match.group(1) not in variant:
            return match.group(0)
        value = variant[match.group(1)]
        if isinstance(value, int) and not in_code and abs(value) >= 10_000:
            return f"{value:,}"
        return str(value)

    return _PLACEHOLDER.sub(one, text)


def active_exercises() -> list[Exercise]:
    return list(
        db.session.scalars(
            select(Exercise)
            .where(Exercise.active.is_(True))
            .order_by(Exercise.week, Exercise.position, Exercise.slug)
        )
    )


def get_exercise(slug: str) -> Exercise | None:
    return db.session.scalar(
        select(Exercise).where(Exercise.slug == slug, Exercise.active.is_(True))
    )


def best_scores(user: User) -> dict[int, float]:
    rows = db.session.execute(
        select(BestScore.exercise_id, BestScore.score).where(BestScore.user_id == user.id)
    )
    return {exercise_id: score for exercise_id, score in rows}


def attempts(user: User, exercise: Exercise, limit: int = 50) -> list[Submission]:
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.user_id == user.id, Submission.exercise_id == exercise.id)
            .order_by(Submission.id.desc())
            .limit(limit)
        )
    )


def status_for(exercise: Exercise, best: dict[int, float]) -> str:
    """'new', 'tried' or 'solved' for the exercise list."""
    if exercise.id not in best:
        return "new"
    return "solved" if best[exercise.id] >= exercise.points - 1e-9 else "tried"
