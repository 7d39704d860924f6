"""grade_notebook: upload bytes in, GradeResult out, as an ordered list of small steps.

    read + validate      read.read_notebook           (NotebookError -> 400/413)
    sanitise             sanitise.STEPS               (outputs, attachments, marker, shell)
    reference values     expected_values()            (cache, else ReferenceRunner; in parallel)
    execute              execute.execute              (sandboxed kernel, then the harness cell)
    read the harness     harness.parse_results        (nonce-checked tagged JSON)
    compare              scoring.score_checks         (graders.compare, trusted side)
    result               GradeResult                  (Gradescope superset)

No step touches a database or Flask; the caller stores what comes back.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from graders.notebook.devices import detect_gpus, device_label
from graders.notebook.execute import ExecutionReport, execute
from graders.notebook.harness import harness_source, new_nonce, parse_results
from graders.notebook.hints import hints_for
from graders.notebook.kernel import prepare_spare, take_kernel
from graders.notebook.limits import Limits
from graders.notebook.read import read_notebook
from graders.notebook.result import GradeResult, TestResult
from graders.notebook.sandbox import SandboxError, SandboxPool, default_pool
from graders.notebook.sanitise import sanitise
from graders.notebook.scoring import points_of, score_checks
from graders.spec import CheckSpec, ExerciseSpec

Progress = Callable[[int, int], None]
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")

_cache: OrderedDict[str, Any] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 512


def reference_keys(spec: ExerciseSpec, *, root: Path | None = None) -> dict[str, str]:
    """Content-hash cache key of each check's reference value (graders.reference.check_key)."""
    from graders.reference import check_key

    assert spec.notebook is not None
    return {
        c.name: check_key(spec.notebook.reference, c.function, c.args, c.kwargs, c.setup, root=root)
        for c in spec.notebook.checks
    }


def expected_values(
    spec: ExerciseSpec, runner: Any, known: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Expected value of every check: `known` first, then this process's cache, then runner."""
    assert spec.notebook is not None
    values: dict[str, Any] = dict(known or {})
    errors: dict[str, str] = {}
    missing = [c for c in spec.notebook.checks if c.name not in values]
    if not missing:
        return values, errors
    keys = reference_keys(spec, root=getattr(runner, "root", None)) if missing else {}
    for check in missing:
        key = keys[check.name]
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                values[check.name] = _cache[key]
                continue
        if runner is None:
            errors[check.name] = "no reference value was given and there is no reference runner"
            continue
        try:
            value = _evaluate(runner, spec.notebook.reference, check)
        except Exception as exc:  # noqa: BLE001 - a broken reference is reported, not raised
            errors[check.name] = f"{type(exc).__name__}: {exc}"[:500]
            continue
        values[check.name] = value
        with _cache_lock:
            _cache[key] = value
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return values, errors


def _evaluate(runner: Any, module: str, check: CheckSpec) -> Any:
    return runner.evaluate(module, check.function, check.args, check.kwargs, check.setup)


def _spec_hash(spec: ExerciseSpec, folder: Path) -> str:
    from graders.catalog import spec_hash

    return spec_hash(spec, folder)


def _data_dirs(spec: ExerciseSpec, folder: Path) -> dict[str, Path]:
    """This exercise's data/ and its siblings' (public course data, never specs).

    One sandbox then serves every exercise without restarting; each kernel
    still sees only its own exercise's folder at ./data.
    """
    found = {spec.slug: Path(folder) / "data"}
    for sibling in sorted(Path(folder).parent.glob("*/data")):
        found.setdefault(sibling.parent.name, sibling)
    return {slug: path for slug, path in found.items() if path.is_dir() and _SLUG.fullmatch(slug)}


def warm_up(exercises_root: Path, *, pool: SandboxPool | None = None) -> None:
    """Start the sandbox (the TensorFlow import) and a spare kernel before the first upload.

    A worker calls this once at start; it shows every exercise's data/ so no
    later submission restarts the sandbox.
    """
    data = {
        folder.parent.name: folder
        for folder in sorted(Path(exercises_root).glob("*/data"))
        if folder.is_dir() and _SLUG.fullmatch(folder.parent.name)
    }
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
    passed = sum(1 for t in tests if t.status == "passed")
    return f"{passed} of {len(tests)} checks passed: {score:g} of {max_score:g} points."


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
    limits = (limits or Limits()).with_spec_times(
        spec.notebook.time_limit, spec.notebook.cell_timeout, len(spec.notebook.checks)
    )
    nb = read_notebook(notebook_bytes, limits)
    notes: list[str] = []
    pool = pool or default_pool()
    if spec.notebook.requires_gpu and not pool.config.gpu:
        notes.append(
            "This exercise is meant for a GPU; this grader has none, so it ran on the CPU."
        )
    nb = sanitise(nb, notes)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference") as background:
        expected_future: Future = background.submit(expected_values, spec, runner, reference_values)
        report, raw, nonce, failure = _run(spec, folder, nb, limits, progress, pool)
        expected, reference_errors = expected_future.result()
    checks = spec.notebook.checks
    outcomes = parse_results(
        raw, nonce, {c.name for c in checks}, max_value_bytes=limits.value_bytes
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
        if report.output_truncated:
            notes.append(f"Output was cut at {limits.output_bytes // 1024} KB.")
        notes.extend(
            f"Hint: {h}"
            for h in hints_for((f.ename, f.evalue, f.traceback) for f in report.failures)
        )
        for failure_ in report.failures[:5]:
            notes.append(f"Cell {failure_.number} raised {failure_.ename}: {failure_.evalue[:200]}")
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
        spec_hash=_spec_hash(spec, folder),
        notes=notes,
        executed_notebook=report.notebook if report is not None else nb,
    )


def _run(
    spec: ExerciseSpec,
    folder: Path,
    nb: NotebookNode,
    limits: Limits,
    progress: Progress | None,
    pool: SandboxPool,
) -> tuple[ExecutionReport | None, bytes, str, str | None]:
    """Execute in a fresh sandboxed kernel; (report, result file bytes, nonce, grader failure)."""
    assert spec.notebook is not None
    data = _data_dirs(spec, folder)
    nonce = new_nonce()
    try:
        with pool.slot(data) as slot:
            kernel = take_kernel(slot, spec.slug if spec.slug in data else None, limits)
            try:
                report = execute(
                    kernel, nb, harness_source(nonce, spec.notebook.checks), limits, progress
                )
                raw = kernel.read_result()  # complete: the harness cell has returned
            finally:
                kernel.close(wait=False)  # the zygote reaps it while we score
    except SandboxError as exc:
        return None, b"", nonce, f"sandbox: {exc}"
    return report, raw, nonce, None
