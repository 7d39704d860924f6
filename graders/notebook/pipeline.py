"""grade_notebook: upload bytes in, GradeResult out, as an ordered list of small steps.

    read + validate      read.read_notebook           (NotebookError -> 400/413)
    sanitise             sanitise.STEPS               (outputs, attachments, marker, shell)
    reference values     expected_values()            (cache, else ReferenceRunner; in parallel)
    execute              execute.execute              (sandboxed kernel, then the check cells)
    read the harness     harness.parse_results        (nonce-checked, bounded tagged JSON)
    compare              scoring.score_checks         (graders.compare, trusted side)
    result               GradeResult                  (Gradescope superset)

No step touches a database or Flask; the caller stores what comes back.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from graders.notebook.devices import detect_gpus, device_label
from graders.notebook.execute import ExecutionReport, execute
from graders.notebook.harness import (
    Segments,
    cell_names,
    harness_cells,
    new_nonce,
    parse_kernel_notes,
    parse_results,
)
from graders.notebook.hints import hints_for
from graders.notebook.kernel import prepare_spare, take_kernel
from graders.notebook.limits import Limits
from graders.notebook.read import NotebookError, read_notebook
from graders.notebook.result import GradeResult, TestResult
from graders.notebook.sandbox import SandboxError, SandboxPool, default_pool
from graders.notebook.sanitise import sanitise
from graders.notebook.scoring import points_of, score_checks
from graders.probes import probe_of
from graders.spec import CheckSpec, ExerciseSpec

Progress = Callable[[int, int], None]
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")

_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 512


def reference_keys(
    spec: ExerciseSpec,
    *,
    root: Path | None = None,
    folder: Path | None = None,
    datasets_root: Path | None = None,
) -> dict[str, str]:
    """Content-hash cache key of each check's reference value.

    A reference module's key is graders.reference.check_key; a solution notebook's covers the
    exercise's content (solution, data, datasets: spec_hash) and the check itself.
    """
    from graders.reference import canonical_json, check_key

    assert spec.notebook is not None
    if spec.notebook.solution is not None:
        base = _spec_hash(spec, _folder_of(spec, folder, root), datasets_root)
        return {
            c.name: hashlib.sha256(
                f"solution\0{base}\0{canonical_json(c.model_dump(mode='json'))}".encode()
            ).hexdigest()
            for c in spec.notebook.checks
        }
    module = spec.notebook.reference
    assert module is not None
    return {
        c.name: check_key(
            module, c.function, c.args, c.kwargs, c.setup, root=root, probe=probe_of(c)
        )
        for c in spec.notebook.checks
    }


def _folder_of(spec: ExerciseSpec, folder: Path | None, root: Path | None) -> Path:
    if folder is not None:
        return Path(folder)
    from graders.reference import _find_root

    return Path(root or _find_root()) / "exercises" / spec.slug


def expected_values(
    spec: ExerciseSpec,
    runner: Any,
    known: Mapping[str, Any] | None = None,
    *,
    folder: Path | None = None,
    pool: SandboxPool | None = None,
    datasets_root: Path | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Expected value of every check: `known` first, then this process's cache, then the
    reference (runner for a module; the sandbox, running the solution, for a notebook)."""
    assert spec.notebook is not None
    values: dict[str, Any] = dict(known or {})
    errors: dict[str, str] = {}
    missing = [c for c in spec.notebook.checks if c.name not in values]
    if not missing:
        return values, errors
    root = getattr(runner, "root", None)
    keys = reference_keys(spec, root=root, folder=folder, datasets_root=datasets_root)
    uncached = []
    for check in missing:
        with _cache_lock:
            if keys[check.name] in _cache:
                _cache.move_to_end(keys[check.name])
                values[check.name] = _cache[keys[check.name]]
                continue
        uncached.append(check)
    if not uncached:
        return values, errors
    if spec.notebook.solution is not None:
        computed, failed = _solution_values(
            spec, _folder_of(spec, folder, root), uncached, pool, datasets_root
        )
    else:
        computed, failed = _module_values(spec, runner, uncached)
    errors.update(failed)
    for name, value in computed.items():
        values[name] = value
        with _cache_lock:
            _cache[keys[name]] = value
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return values, errors


def _module_values(
    spec: ExerciseSpec, runner: Any, checks: list[CheckSpec]
) -> tuple[dict[str, Any], dict[str, str]]:
    assert spec.notebook is not None and spec.notebook.reference is not None
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for check in checks:
        if runner is None:
            errors[check.name] = "no reference value was given and there is no reference runner"
            continue
        try:
            values[check.name] = _evaluate(runner, spec.notebook.reference, check)
        except Exception as exc:  # noqa: BLE001 - a broken reference is reported, not raised
            errors[check.name] = f"{type(exc).__name__}: {exc}"[:500]
    return values, errors


def _solution_values(
    spec: ExerciseSpec,
    folder: Path,
    checks: list[CheckSpec],
    pool: SandboxPool | None,
    datasets_root: Path | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the exercise's solution notebook, sanitised as a member's is, with these checks.

    Its values come back through the same harness and codec as a member's, so course objects
    (vectorizers, datasets, models) are probed the same way on both sides.
    """
    assert spec.notebook is not None and spec.notebook.solution is not None
    path = folder / spec.notebook.solution
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {}, {c.name: f"cannot read the solution notebook {path}: {exc}" for c in checks}
    limits = _limits_for(spec, Limits(max_bytes=max(len(data), Limits().max_bytes)))
    try:
        nb = read_notebook(data, limits)
    except NotebookError as exc:
        return {}, {c.name: f"the solution notebook is not usable: {exc}" for c in checks}
    nb = _sanitise(spec, nb, [])
    report, raw, nonce, failure = _run(
        spec, folder, nb, limits, None, pool or default_pool(), checks, datasets_root
    )
    if failure:
        return {}, {c.name: failure for c in checks}
    outcomes = parse_results(
        raw,
        nonce,
        {c.name for c in checks},
        max_value_bytes=limits.value_bytes,
        segments=segments_of(report, checks),
    )
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for check in checks:
        outcome = outcomes.get(check.name)
        if outcome is None:
            errors[check.name] = f"the solution gave no value: {_not_run_reason(report)}"
        elif not outcome.ok:
            errors[check.name] = (
                f"the solution failed ({outcome.stage}): {outcome.error_type}: {outcome.message}"
            )[:500]
        else:
            values[check.name] = outcome.value
    cell_errors = [f for f in (report.failures if report else [])]
    if errors and cell_errors:
        first = cell_errors[0]
        for name in errors:
            errors[name] += f" (cell {first.number} raised {first.ename}: {first.evalue[:150]})"
    return values, errors


def _limits_for(spec: ExerciseSpec, limits: Limits | None) -> Limits:
    assert spec.notebook is not None
    limits = (limits or Limits()).with_spec_times(
        spec.notebook.time_limit, spec.notebook.cell_timeout, len(spec.notebook.checks)
    )
    training = spec.notebook.training
    if training == "full":  # one training cell may take the run's whole budget
        limits = replace(limits, cell_timeout=max(limits.cell_timeout or 0, limits.time_limit or 0))
    elif training is not None and not isinstance(training, str):
        limits = replace(limits, epochs_cap=training.cap)
    return limits


def _sanitise(spec: ExerciseSpec, nb: NotebookNode, notes: list[str]) -> NotebookNode:
    assert spec.notebook is not None
    training = spec.notebook.training
    mode: str | int = "full" if training is None else training
    if not isinstance(mode, str):
        mode = mode.cap
    return sanitise(nb, notes, training=mode)


def _evaluate(runner: Any, module: str, check: CheckSpec) -> Any:
    options = probe_of(check)
    if options is None:
        return runner.evaluate(module, check.function, check.args, check.kwargs, check.setup)
    return runner.evaluate(
        module, check.function, check.args, check.kwargs, check.setup, probe=options
    )


def _spec_hash(spec: ExerciseSpec, folder: Path, datasets_root: Path | None = None) -> str:
    from graders.catalog import spec_hash

    return spec_hash(spec, folder, datasets_root=datasets_root)


def _data_dirs(
    spec: ExerciseSpec, folder: Path, datasets_root: Path | None = None
) -> dict[str, Path]:
    """This exercise's data folder and its siblings' (public course data, never specs).

    One sandbox then serves every exercise without restarting; each kernel
    still sees only its own exercise's folder at ./data. With a dataset store, an
    exercise's folder is its view (graders.datasets.data_view): its own data/ plus the
    datasets it lists, as hard links, with the download manifest. Raises DatasetMissing.
    """
    folder = Path(folder)
    if datasets_root is None:
        found = {spec.slug: folder / "data"}
        for sibling in sorted(folder.parent.glob("*/data")):
            found.setdefault(sibling.parent.name, sibling)
    else:
        from graders.datasets import data_view, exercise_views

        found = exercise_views(datasets_root, folder.parent)
        found[spec.slug] = data_view(datasets_root, spec, folder)
    return {slug: path for slug, path in found.items() if path.is_dir() and _SLUG.fullmatch(slug)}


def exercise_data(exercises_root: Path, datasets_root: Path | None = None) -> dict[str, Path]:
    """Every exercise's data folder (its view when there is a store), for a zygote to show."""
    if datasets_root is not None:
        from graders.datasets import exercise_views

        return dict(exercise_views(datasets_root, exercises_root))
    return {
        folder.parent.name: folder
        for folder in sorted(Path(exercises_root).glob("*/data"))
        if folder.is_dir() and _SLUG.fullmatch(folder.parent.name)
    }


def warm_up(
    exercises_root: Path, *, pool: SandboxPool | None = None, datasets_root: Path | None = None
) -> None:
    """Start the sandbox (the TensorFlow import) and a spare kernel before the first upload.

    A worker calls this once at start; it shows every exercise's data so no
    later submission restarts the sandbox.
    """
    data = exercise_data(exercises_root, datasets_root)
    pool = pool or default_pool()
    with pool.slot(data) as slot:
        prepare_spare(slot, Limits())


def _not_run_reason(report: ExecutionReport | None) -> str:
    if report is None:
        return "the notebook did not run"
    if report.harness_problem:
        return report.harness_problem
    if report.kernel_died:
        return "the kernel died before the checks ran"
    if report.timed_out:
        return "the notebook ran out of time before the checks ran"
    return "the check produced no result"


def _summary(tests: list[TestResult], score: float, max_score: float) -> str:
    """The summary line; each noun agrees with its total ("0 of 1 check", "1 of 1 point")."""
    passed = sum(1 for t in tests if t.status == "passed")
    checks = "check" if len(tests) == 1 else "checks"
    points = "point" if max_score == 1 else "points"
    return f"{passed} of {len(tests)} {checks} passed: {score:g} of {max_score:g} {points}."


def grade_notebook(
    spec: ExerciseSpec,
    folder: Path,
    notebook_bytes: bytes,
    *,
    runner: Any = None,
    reference_values: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    pool: SandboxPool | None = None,
    limits: Limits | None = None,
    datasets_root: Path | None = None,
) -> GradeResult:
    """Grade an uploaded notebook against spec's checks.

    Raises NotebookError (with .status 400 or 413) for an upload that is not a
    gradable notebook. Everything that goes wrong while running it (errors,
    timeouts, a dead kernel) is feedback in the result; a failure of the grader
    itself gives a result with status "error". `progress(k, n)` is called as
    member code cell k of n starts.
    """
    started = time.monotonic()
    if spec.notebook is None:
        raise ValueError(f"{spec.slug} is not a notebook exercise")
    folder = Path(folder)
    limits = _limits_for(spec, limits)
    nb = read_notebook(notebook_bytes, limits)
    notes: list[str] = []
    pool = pool or default_pool()
    if spec.notebook.requires_gpu and not pool.config.gpu:
        notes.append(
            "This exercise is meant for a GPU; this grader has none, so it ran on the CPU."
        )
    nb = _sanitise(spec, nb, notes)
    if spec.notebook.solution is not None:
        # The solution runs in the sandbox too: first (once per version, then cached), not beside.
        expected, reference_errors = expected_values(
            spec, runner, reference_values, folder=folder, pool=pool, datasets_root=datasets_root
        )
        report, raw, nonce, failure = _run(
            spec, folder, nb, limits, progress, pool, None, datasets_root
        )
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference") as background:
            expected_future: Future = background.submit(
                expected_values, spec, runner, reference_values
            )
            report, raw, nonce, failure = _run(
                spec, folder, nb, limits, progress, pool, None, datasets_root
            )
            expected, reference_errors = expected_future.result()
    checks = spec.notebook.checks
    segments = segments_of(report, checks)
    outcomes = parse_results(
        raw, nonce, {c.name for c in checks}, max_value_bytes=limits.value_bytes, segments=segments
    )
    tests = score_checks(spec, outcomes, expected, not_run_reason=_not_run_reason(report))
    status, error = "graded", None
    if failure:
        status, error = "error", failure
    elif reference_errors:
        status = "error"
        error = "; ".join(f"{name}: {msg}" for name, msg in reference_errors.items())
    score = round(sum(t.score for t in tests), 6)
    max_score = round(sum(points_of(spec).values()), 6)
    if report is not None:
        notes.extend(report.notes)
        kernel_notes = parse_kernel_notes(raw, nonce, segments=segments)
        notes.extend(n for n in kernel_notes if n not in notes)
        if report.output_truncated:
            notes.append(f"Output was cut at {limits.output_bytes // 1024} KB.")
        notes.extend(
            f"Hint: {h}"
            for h in hints_for((f.ename, f.evalue, f.traceback) for f in report.failures)
        )
        for failure_ in report.failures[:5]:
            # A missing download's message ends with the command the instructor must run.
            keep = 500 if failure_.ename == "DataNotAvailable" else 200
            notes.append(
                f"Cell {failure_.number} raised {failure_.ename}: {failure_.evalue[:keep]}"
            )
    output = "\n".join([_summary(tests, score, max_score), *notes])
    if error:
        output = f"The grader failed: {error}\n{output}"
    return GradeResult(
        score=score,
        max_score=max_score,
        execution_time=time.monotonic() - started,
        output=output,
        tests=tests,
        status=status,  # type: ignore[arg-type]
        error=error,
        device=device_label(detect_gpus()) if pool.config.gpu else "cpu",
        exercise=spec.slug,
        spec_hash=_spec_hash(spec, folder, datasets_root),
        notes=notes,
        executed_notebook=report.notebook if report is not None else nb,
        reference_values=dict(expected),
    )


def segments_of(report: ExecutionReport | None, checks: list[CheckSpec]) -> Segments:
    """Which checks each part of the result file may speak for: the part completed while a
    check cell ran (up to the size noted after it) is that cell's (harness.harness_cells)."""
    ends = report.harness_ends if report is not None else []
    return list(zip(ends, cell_names(checks), strict=False))


def _run(
    spec: ExerciseSpec,
    folder: Path,
    nb: NotebookNode,
    limits: Limits,
    progress: Progress | None,
    pool: SandboxPool,
    checks: list[CheckSpec] | None = None,
    datasets_root: Path | None = None,
) -> tuple[ExecutionReport | None, bytes, str, str | None]:
    """Execute in a fresh sandboxed kernel; (report, result file bytes, nonce, grader failure)."""
    from graders.datasets import DatasetError

    assert spec.notebook is not None
    checks = spec.notebook.checks if checks is None else checks
    nonce = new_nonce()
    try:
        data = _data_dirs(spec, folder, datasets_root)
    except DatasetError as exc:
        return None, b"", nonce, str(exc)
    try:
        with pool.slot(data) as slot:
            kernel = take_kernel(slot, spec.slug if spec.slug in data else None, limits)
            try:
                cells = [cell.source for cell in harness_cells(nonce, checks)]
                report = execute(kernel, nb, cells, limits, progress)
                raw = kernel.read_result()  # complete: the harness cell has returned
            finally:
                kernel.close(wait=False)  # the zygote reaps it while we score
    except SandboxError as exc:
        return None, b"", nonce, f"sandbox: {exc}"
    return report, raw, nonce, None
