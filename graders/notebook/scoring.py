"""Trusted side: compare what the harness reported with the reference values, check by check."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from graders.compare import compare, describe
from graders.notebook.harness import CheckOutcome
from graders.notebook.hints import hint_for
from graders.notebook.result import TestResult
from graders.spec import CheckSpec, ExerciseSpec

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRACEBACK_LINES = 12
NONE_HINT = (
    "Your function returned None (the starter's placeholder): write your code between `### START CODE HERE ###` and "
    "`### END CODE HERE ###` and return the result."
)


def points_of(spec: ExerciseSpec) -> dict[str, float]:
    """Each check's share of the exercise's points, in proportion to its own `points`."""
    assert spec.notebook is not None
    checks = spec.notebook.checks
    total = sum(c.points for c in checks) or 1.0
    return {c.name: round(spec.points * c.points / total, 6) for c in checks}


def trim_traceback(text: str, lines: int = TRACEBACK_LINES) -> str:
    """The last lines of a traceback, without colour codes or the grader's own frames."""
    clean = _ANSI.sub("", text or "")
    kept = [line for line in clean.splitlines() if "/opt/adventures/" not in line]
    if len(kept) > lines:
        kept = ["  ..."] + kept[-lines:]
    return "\n".join(kept)


def _placeholder(value: Any) -> bool:
    """None, or a tuple/list of Nones: what the starter's placeholders return."""
    if value is None:
        return True
    return isinstance(value, (tuple, list)) and bool(value) and all(v is None for v in value)


def _call_text(check: CheckSpec) -> str:
    if check.expression is not None:
        return f"`{check.expression}`"

    def show(value: Any) -> str:
        if isinstance(value, dict) and len(value) == 1 and set(value) <= {"$var", "$global"}:
            return str(next(iter(value.values())))  # a setup variable, or the notebook's own
        return describe(value, 60)

    parts = [show(a) for a in check.args] + [f"{k}={show(v)}" for k, v in check.kwargs.items()]
    return f"{check.function}({', '.join(parts)})"


def score_check(
    check: CheckSpec,
    max_score: float,
    outcome: CheckOutcome | None,
    expected: Any,
    *,
    not_run_reason: str,
) -> TestResult:
    visible = check.visibility == "visible"
    if not visible:
        head = "Hidden check: its input is not shown."
    elif check.expression is not None:
        head = f"Evaluated `{check.expression}` in your notebook after all its cells ran."
    else:
        head = f"Called {_call_text(check)}."

    def result(status: str, lines: list[str | None]) -> TestResult:
        text = "\n".join([head, *(line for line in lines if line)])
        score = max_score if status == "passed" else 0.0
        return TestResult(
            check.name, score, max_score, status, text, check.visibility, check.function or ""
        )  # type: ignore[arg-type]

    if outcome is None:
        hint = hint_for("TimeoutError", "") if "time" in not_run_reason else None
        return result("error", [f"Not checked: {not_run_reason}.", hint and f"Hint: {hint}"])
    if not outcome.ok:
        hint = hint_for(
            outcome.error_type,
            outcome.message,
            outcome.traceback,
            function=check.function or "",
            expression=check.expression or "",
        )
        if outcome.stage == "lookup":
            return result("error", [f"{outcome.error_type}: {outcome.message}", f"Hint: {hint}"])
        if outcome.stage == "setup":
            return result(
                "error",
                [
                    f"The check's own setup failed ({outcome.error_type}: {outcome.message[:300]}). "
                    "If your notebook replaces Python or NumPy functions, stop doing that."
                ],
            )
        if outcome.stage == "encode":
            return result(
                "failed",
                [
                    f"The returned value cannot be compared: {outcome.message[:300]}"
                    if visible  # hidden: its size and type could spell out the hidden input
                    else "The returned value cannot be compared (a hidden check shows no values)."
                ],
            )
        if not visible:
            # The member's own message or value could carry the hidden input out: fixed words.
            return result(
                "error",
                [
                    f"{check.function or 'The expression'} raised {outcome.error_type} on the "
                    "hidden input (its message is not shown, so the input stays hidden).",
                    hint_for(outcome.error_type, "")
                    and f"Hint: {hint_for(outcome.error_type, '')}",
                ],
            )
        lines: list[str | None] = [
            f"{_call_text(check) if check.expression else check.function} raised "
            f"{outcome.error_type}: {outcome.message[:500]}"
        ]
        if hint:
            lines.append(f"Hint: {hint}")
        if visible and outcome.traceback:
            lines.append("Traceback (last lines):\n" + trim_traceback(outcome.traceback))
        return result("error", lines)
    try:
        verdict = compare(
            check.compare,
            expected,
            outcome.value,
            rtol=check.rtol,
            atol=check.atol,
            reveal=visible,
        )
    except (ValueError, TypeError) as exc:  # the reference value does not suit the comparison
        return result("error", [f"The grader could not compare the values (our problem): {exc}"])
    if verdict.passed:
        return result("passed", ["Passed."])
    lines = [
        verdict.message if visible else "Not the expected result (a hidden check shows no values)."
    ]
    if _placeholder(outcome.value):
        lines.append(f"Hint: {NONE_HINT}")
    elif check.hint:
        lines.append(f"Hint: {check.hint}")
    return result("failed", lines)


def score_checks(
    spec: ExerciseSpec,
    outcomes: Mapping[str, CheckOutcome],
    expected: Mapping[str, Any],
    *,
    not_run_reason: str,
) -> list[TestResult]:
    assert spec.notebook is not None
    shares = points_of(spec)
    tests = []
    for check in spec.notebook.checks:
        if check.name not in expected:
            tests.append(
                TestResult(
                    check.name,
                    0.0,
                    shares[check.name],
                    "error",
                    "The grader could not compute the expected value (our problem, not yours).",
                    check.visibility,
                    check.function or "",
                )
            )
            continue
        tests.append(
            score_check(
                check,
                shares[check.name],
                outcomes.get(check.name),
                expected[check.name],
                not_run_reason=not_run_reason,
            )
        )
    return tests
