"""The checks table of a submission page, as both the page and its live update draw it.

Before a grade the member sees one pending row per check the exercise's spec names, so the
table fills in rather than appearing from nothing. After it, a hint repeated under several
checks (the starter's "returned None" under all of them) is shown once above the table.
"""

from __future__ import annotations

from typing import Any

from graders.notebook.scoring import points_of
from graders.spec import ExerciseSpec
from server.models.submission import Submission

HINT = "Hint: "
FINISHED = ("graded", "error")


def pending_tests(sub: Submission) -> list[dict[str, Any]]:
    """One row per check of the exercise, not yet run (none for answer exercises)."""
    spec = ExerciseSpec.model_validate(sub.exercise.spec)
    if spec.notebook is None:
        return []
    shares = points_of(spec)
    return [
        {
            "name": c.name,
            "status": "pending",
            "visibility": c.visibility,
            "score": None,
            "max_score": shares[c.name],
            "output": "",
        }
        for c in spec.notebook.checks
    ]


def shared_hints(tests: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(hint, how many checks give it) for each hint line found under two or more checks."""
    counts: dict[str, int] = {}
    for test in tests:
        hints = dict.fromkeys(line.strip() for line in (test.get("output") or "").splitlines())
        for line in hints:
            if line.startswith(HINT) and len(line) > len(HINT):
                counts[line] = counts.get(line, 0) + 1
    return [(line[len(HINT) :], n) for line, n in counts.items() if n > 1]


def _without(output: str, lines: set[str]) -> str:
    return "\n".join(line for line in output.splitlines() if line.strip() not in lines)


def results_view(sub: Submission, doc: dict[str, Any]) -> dict[str, Any]:
    """{tests, hints}: the rows to draw (pending ones while it waits) and the shared hints."""
    if doc["status"] not in FINISHED:
        return {"tests": pending_tests(sub), "hints": []}
    tests = doc.get("tests") or []
    hints = shared_hints(tests)
    shown = {HINT + hint for hint, _ in hints}
    rows = [{**t, "output": _without(t.get("output") or "", shown)} for t in tests]
    return {"tests": rows, "hints": hints}
