"""`adventures seed`: load or refresh every bundled exercise, trivia bank and deck. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.services import exercises
from server.services.flashcards import seed as flashcard_seed
from server.services.games import banks
from server.services.grading import references as reference_values


def precompute_references() -> list[str]:
    """Compute each answer exercise's default value now, so first answers grade inline."""
    done = []
    for exercise in exercises.active_exercises():
        if exercise.kind != "answer":
            continue
        variant = exercises.variant_of(exercise, None)
        key, target = exercises.reference_key(exercise, variant)
        reference_values.compute(key, target, variant)
        done.append(exercise.slug)
    return done


def seed_all(*, compute: bool = True, log: Callable[[str], Any] = print) -> None:
    report = exercises.seed_exercises()
    log(
        f"exercises: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.retired)} retired"
    )
    # Areas add their seeders here: trivia banks, flashcard decks.
    log(banks.seed_log_line(banks.seed_quizzes(compute=compute, log=log)))
    if compute:
        slugs = precompute_references()
        log(f"reference values ready for {len(slugs)} short-answer exercises")
    log(flashcard_seed.seed_line())  # after reference values: decks show computed answers
