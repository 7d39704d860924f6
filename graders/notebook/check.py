"""`adventures exercises check` for a notebook exercise: can its checks be passed, and failed?

The reference solution, wrapped as a one-cell notebook, must get full marks
through the same sandboxed pipeline a member's upload takes; the starter
notebook must get zero, with feedback on every check; the starter must be in
course style (a `# GRADED FUNCTION: <name>` cell per checked function, with
START/END CODE HERE markers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from graders.markers import END, START, header, starts_with_header
from graders.notebook.pipeline import expected_values, grade_notebook
from graders.notebook.read import NotebookError
from graders.notebook.result import GradeResult
from graders.spec import ExerciseSpec


@dataclass
class NotebookCheck:
    problems: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    reference: GradeResult | None = None
    starter: GradeResult | None = None


def reference_module_path(spec: ExerciseSpec, root: Path) -> Path:
    assert spec.notebook is not None and spec.notebook.reference is not None
    name = spec.notebook.reference.removeprefix("reference.")
    return root / "reference" / (name.replace(".", "/") + ".py")


def reference_notebook(spec: ExerciseSpec, root: Path, folder: Path | None = None) -> bytes:
    """The reference as a notebook a member could have uploaded: the solution notebook itself,
    or the reference module's source in one cell."""
    assert spec.notebook is not None
    if spec.notebook.solution is not None:
        return ((folder or root / "exercises" / spec.slug) / spec.notebook.solution).read_bytes()
    source = reference_module_path(spec, root).read_text(encoding="utf-8")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    return nbformat.writes(nb).encode("utf-8")


def starter_problems(spec: ExerciseSpec, starter: bytes) -> list[str]:
    """Course-style markers for every checked function (an expression check needs none: it
    reads what the member's own cells computed)."""
    assert spec.notebook is not None
    nb = nbformat.reads(starter.decode("utf-8"), as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    problems = []
    for function in sorted({c.function for c in spec.notebook.checks if c.function}):
        cells = [s for s in sources if starts_with_header(s, function)]
        if not cells:
            problems.append(f"starter: no cell starts with '{header(function)}'")
        elif not (START in cells[0] and END in cells[0]):
            problems.append(f"starter: the {function} cell lacks {START} / {END}")
    return problems


def check_exercise(
    spec: ExerciseSpec,
    folder: Path,
    runner: Any,
    *,
    pool: Any = None,
    datasets_root: Path | None = None,
) -> NotebookCheck:
    """Grade the reference (must be full marks) and the starter (must be zero, with feedback)."""
    report = NotebookCheck()
    if spec.notebook is None:
        report.problems.append(f"{spec.slug}: not a notebook exercise")
        return report
    where = f"{folder / 'exercise.yaml'}: notebook"
    values, errors = expected_values(
        spec, runner, folder=folder, pool=pool, datasets_root=datasets_root
    )
    report.values = values
    for name, message in errors.items():
        report.problems.append(f"{where}.checks[{name!r}]: the reference failed: {message}")
    if errors:
        return report
    root = Path(getattr(runner, "root", None) or folder.parent.parent)
    try:
        reference = reference_notebook(spec, root, folder)
    except OSError as exc:
        report.problems.append(f"{where}.reference: cannot read the reference: {exc}")
        return report
    starter_path = folder / spec.notebook.starter
    try:
        starter = starter_path.read_bytes()
    except OSError as exc:
        report.problems.append(f"{where}.starter: cannot read {starter_path}: {exc}")
        return report
    try:
        report.problems.extend(starter_problems(spec, starter))
    except (ValueError, UnicodeDecodeError) as exc:
        report.problems.append(f"{where}.starter: not a notebook: {exc}")
        return report

    for label, data in (("reference", reference), ("starter", starter)):
        try:
            result = grade_notebook(
                spec,
                folder,
                data,
                runner=runner,
                reference_values=values,
                pool=pool,
                datasets_root=datasets_root,
            )
        except NotebookError as exc:
            report.problems.append(f"{where}.{label}: rejected as an upload: {exc.message}")
            continue
        setattr(report, label, result)
        if result.status != "graded":
            report.problems.append(f"{where}.{label}: the grader failed: {result.error}")
            continue
        if label == "reference" and not result.full_marks:
            failing = [
                f"{t.name}: {t.output.splitlines()[-1]}"
                for t in result.tests
                if t.status != "passed"
            ]
            report.problems.append(
                f"{where}.reference: scores {result.score:g}/{result.max_score:g}, not full marks "
                f"({'; '.join(failing)[:600]})"
            )
        if label == "starter":
            if result.score > 0:
                passing = [t.name for t in result.tests if t.status == "passed"]
                report.problems.append(
                    f"{where}.starter: scores {result.score:g} (passes {', '.join(passing)}); "
                    "a starter must score zero"
                )
            silent = [t.name for t in result.tests if len(t.output.splitlines()) < 2]
            if silent:
                report.problems.append(f"{where}.starter: no feedback for {', '.join(silent)}")
    return report
