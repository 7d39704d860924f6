"""The grading result: a superset of Gradescope's results.json.

Gradescope's fields (score, max_score, execution_time, output, tests[] with
name, score, max_score, status, output, visibility) plus ours: `status` of the
whole run (graded, or error when the grader itself failed), the device, the
exercise slug, the spec hash, notes from sanitising and running, and the
executed notebook (kept out of the JSON document; see `executed_notebook_bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import nbformat
from nbformat import NotebookNode

TestStatus = Literal["passed", "failed", "error"]


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    status: TestStatus
    output: str
    visibility: Literal["visible", "hidden"] = "visible"
    function: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "output": self.output,
            "visibility": self.visibility,
            "function": self.function,
        }


@dataclass
class GradeResult:
    score: float
    max_score: float
    execution_time: float
    output: str
    tests: list[TestResult] = field(default_factory=list)
    status: Literal["graded", "error"] = "graded"
    error: str | None = None
    device: str = "cpu"
    exercise: str = ""
    spec_hash: str = ""
    notes: list[str] = field(default_factory=list)
    executed_notebook: NotebookNode | None = None
    # {check name: expected value} as this grade used them, computed ones included: the
    # worker stores the new ones so no other worker computes them again.
    reference_values: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def full_marks(self) -> bool:
        return (
            self.status == "graded" and self.max_score > 0 and self.score >= self.max_score - 1e-9
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": self.output,
            "tests": [t.to_dict() for t in self.tests],
            "status": self.status,
            "error": self.error,
            "device": self.device,
            "exercise": self.exercise,
            "spec_hash": self.spec_hash,
            "notes": list(self.notes),
        }

    def executed_notebook_bytes(self) -> bytes | None:
        if self.executed_notebook is None:
            return None
        return nbformat.writes(self.executed_notebook).encode("utf-8")
