"""Typed answers: the result document, from the member's text and the reference value."""

from __future__ import annotations

import time
from typing import Any

from graders.answers import parse_answer
from graders.compare import compare
from server.models.exercise import Exercise
from server.services.exercises import spec_of


def answer_result(exercise: Exercise, text: str, expected: Any) -> dict[str, Any]:
    """The result document for a typed answer; the expected value is shown only once it is right."""
    started = time.perf_counter()
    spec = spec_of(exercise)
    assert spec.answer is not None
    got = parse_answer(text, spec.answer.compare)
    outcome = compare(
        spec.answer.compare,
        expected,
        got,
        rtol=spec.answer.rtol,
        atol=spec.answer.atol,
        reveal=False,
    )
    points = exercise.points if outcome.passed else 0.0
    output = "Correct!" if outcome.passed else f"{outcome.message}\nHint: {spec.answer.hint}"
    return {
        "score": points,
        "max_score": exercise.points,
        "execution_time": round(time.perf_counter() - started, 6),
        "output": output,
        "tests": [
            {
                "name": exercise.title,
                "score": points,
                "max_score": exercise.points,
                "status": "passed" if outcome.passed else "failed",
                "output": output,
                "visibility": "visible",
            }
        ],
    }
