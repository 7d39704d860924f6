"""The exercise catalog: load every spec, hash it for versioning, and check it end to end.

`check_catalog` is what `adventures exercises check` prints: every spec
validated, every short answer's reference value computed (the default
parameters and each per-member variant, up to a cap) and compared with the
value the course prints, the format checked by parsing the value back the way
a member would type it, and notebook exercises handed to the notebook
grader's own check when that module is installed.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders import codec
from graders.answers import AnswerFormatError, parse_answer
from graders.compare import compare, describe
from graders.spec import ExerciseSpec, SpecError, load_spec
from graders.variants import all_variants, variant_count

SPEC_FILE = "exercise.yaml"
VARIANT_CAP = 8
"""Variant combinations computed per exercise by `check_catalog` (the default counts as one)."""

NOTEBOOK_CHECK_MODULE = "graders.notebook.check"


def spec_files(root: Path) -> list[Path]:
    return sorted(root.glob(f"*/{SPEC_FILE}"))


def load_catalog(root: Path) -> list[ExerciseSpec]:
    """Every exercises/*/exercise.yaml, sorted by (week, position, slug); SpecError on any problem."""
    specs: list[ExerciseSpec] = []
    seen: dict[str, Path] = {}
    for path in spec_files(root):
        spec = load_spec(path)
        if spec.slug in seen:
            raise SpecError(f"{path}: slug: '{spec.slug}' is already used by {seen[spec.slug]}")
        seen[spec.slug] = path
        specs.append(spec)
    return sorted(specs, key=lambda s: (s.week, s.position, s.slug))


def content_files(spec: ExerciseSpec, folder: Path) -> list[Path]:
    """The files whose bytes define an exercise version: the yaml, the starter (and solved
    notebook), data/. Store datasets count by their ref digest instead (spec_hash)."""
    files = [folder / SPEC_FILE]
    if spec.notebook is not None:
        files.append(folder / spec.notebook.starter)
        if spec.notebook.solution:
            files.append(folder / spec.notebook.solution)
    data = folder / "data"
    if data.is_dir():
        files.extend(
            sorted(p for p in data.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        )
    return files


INLINE_BYTES = 1 << 20
"""Files up to this size are hashed byte for byte on every call (as before); bigger ones by
their sha256, computed once per (file, inode, size, mtime) in this process. Not ctime: a data
view hard-linking the file changes it."""

_digests: dict[tuple[str, int, int, int, int], bytes] = {}
_digests_lock = threading.Lock()


def _file_part(path: Path) -> bytes:
    """What a file adds to spec_hash: its bytes when small, else its cached sha256."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return b"<missing>"
    if not stat.S_ISREG(st.st_mode):
        return b"<missing>"
    if st.st_size <= INLINE_BYTES:
        return path.read_bytes()
    key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _digests_lock:
        known = _digests.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    part = b"sha256:" + digest.hexdigest().encode()
    with _digests_lock:
        if len(_digests) > 4096:
            _digests.clear()
        _digests[key] = part
    return part


def spec_hash(spec: ExerciseSpec, folder: Path, *, datasets_root: Path | None = None) -> str:
    """sha256 over the exercise's content files (names and bytes); a missing file counts as absent.

    With datasets_root, each dataset the exercise lists adds its current ref digest, so a new
    version of a dataset is a new exercise version; no dataset bytes are read.
    """
    h = hashlib.sha256(b"adventures-exercise-v1\0")
    for path in content_files(spec, folder):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(b"\0")
        h.update(_file_part(path))
        h.update(b"\0")
    uses = spec.notebook.datasets if spec.notebook is not None else []
    if uses and datasets_root is not None:
        from graders.datasets import DatasetStore

        store = DatasetStore(datasets_root)
        h.update(b"datasets\0")
        for use in uses:
            ref = store.get(use.name)
            h.update(f"{use.name}={ref.digest if ref else '<missing>'}\0".encode())
    return h.hexdigest()


# --- checking -------------------------------------------------------------------------


@dataclass
class ComputedValue:
    params: dict[str, Any]
    value: Any = None
    error: str | None = None
    default: bool = False
    course_match: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "params": codec.encode(self.params),
            "value": codec.encode(self.value),
            "shown": describe(self.value, 200),
            "error": self.error,
            "default": self.default,
            "course_match": self.course_match,
        }


@dataclass
class ExerciseCheck:
    slug: str
    path: str
    kind: str | None = None
    week: int | None = None
    position: int = 0
    target: str | None = None
    values: list[ComputedValue] = field(default_factory=list)
    variant_total: int = 1
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "path": self.path,
            "kind": self.kind,
            "week": self.week,
            "position": self.position,
            "target": self.target,
            "ok": self.ok,
            "values": [v.to_json() for v in self.values],
            "variant_total": self.variant_total,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


@dataclass
class CatalogReport:
    exercises: list[ExerciseCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(e.ok for e in self.exercises)

    def problem_count(self) -> int:
        return len(self.problems) + sum(len(e.problems) for e in self.exercises)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problem_count": self.problem_count(),
            "problems": list(self.problems),
            "exercises": [e.to_json() for e in self.exercises],
        }

    def to_text(self) -> str:
        lines = []
        for ex in self.exercises:
            head = "ok  " if ex.ok else "FAIL"
            target = f"  {ex.target}" if ex.target else ""
            lines.append(f"{head} {ex.slug} [{ex.kind or '?'}, week {ex.week}]{target}")
            for v in ex.values:
                label = "default" if v.default else "variant"
                params = ", ".join(
                    f"{k}={_short(val)}" for k, val in v.params.items() if not _bulky(val)
                )
                if v.error:
                    lines.append(f"       {label} ({params}): ERROR {v.error}")
                else:
                    course = " (= course value)" if v.course_match else ""
                    lines.append(f"       {label} ({params}) -> {describe(v.value, 160)}{course}")
            if ex.variant_total > len(ex.values):
                lines.append(
                    f"       ({ex.variant_total} variant combinations; {len(ex.values)} computed)"
                )
            lines.extend(f"       note: {n}" for n in ex.notes)
            lines.extend(f"       problem: {p}" for p in ex.problems)
        lines.extend(f"FAIL {p}" for p in self.problems)
        count = self.problem_count()
        lines.append(
            f"{len(self.exercises)} exercises, {count} problem{'s' if count != 1 else ''}."
        )
        return "\n".join(lines)


def _bulky(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict)) and len(repr(value)) > 40


def _short(value: Any) -> str:
    return describe(value, 40)


def check_catalog(
    root: Path,
    runner: Any,
    *,
    variant_cap: int = VARIANT_CAP,
    datasets_root: Path | None = None,
) -> CatalogReport:
    """Validate every spec and compute every reference value; problems are collected, not raised."""
    report = CatalogReport()
    slugs: dict[str, str] = {}
    for path in spec_files(root):
        folder = path.parent
        check = ExerciseCheck(slug=folder.name, path=str(path))
        report.exercises.append(check)
        try:
            spec = load_spec(path)
        except SpecError as exc:
            check.problems.append(str(exc))
            continue
        check.kind, check.week, check.position = spec.kind, spec.week, spec.position
        if spec.slug in slugs:
            check.problems.append(
                f"{path}: slug: '{spec.slug}' is already used by {slugs[spec.slug]}"
            )
        slugs[spec.slug] = str(path)
        if spec.answer is not None:
            _check_answer(spec, check, runner, variant_cap)
        elif spec.notebook is not None:
            _check_notebook(spec, folder, check, runner, datasets_root)
    report.exercises.sort(key=lambda e: (e.week if e.week is not None else 99, e.position, e.slug))
    return report


def _check_answer(spec: ExerciseSpec, check: ExerciseCheck, runner: Any, cap: int) -> None:
    answer = spec.answer
    assert answer is not None
    check.target = answer.reference
    check.variant_total = variant_count(answer)
    where = f"{check.path}: answer"
    for i, params in enumerate(all_variants(answer, limit=cap)):
        computed = ComputedValue(params=params, default=i == 0)
        check.values.append(computed)
        try:
            computed.value = runner.call(answer.reference, params)
        except Exception as exc:  # noqa: BLE001 - any failure of reference code is a spec problem
            computed.error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            check.problems.append(
                f"{where}.reference: {answer.reference}({_short(params)}) failed: {computed.error}"
            )
            continue
        try:
            codec.dumps(computed.value)
        except ValueError as exc:
            check.problems.append(f"{where}.reference: value cannot be encoded: {exc}")
            continue
        problem = _typed_roundtrip(spec, computed.value)
        if problem:
            check.problems.append(f"{where}.format: {problem}")
        leak = _hint_leak(answer.hint, computed.value)
        if leak:
            check.problems.append(f"{where}.hint: gives the answer away ({leak})")
        if i == 0:
            _check_course_value(spec, computed, check, where)


def _check_course_value(
    spec: ExerciseSpec, computed: ComputedValue, check: ExerciseCheck, where: str
) -> None:
    answer = spec.answer
    assert answer is not None
    if answer.course_value is None:
        check.notes.append("no course_value to compare with")
        return
    outcome = compare(
        answer.compare,
        computed.value,
        answer.course_value,
        rtol=answer.rtol,
        atol=answer.atol,
        reveal=True,
    )
    computed.course_match = outcome.passed
    if not outcome.passed:
        check.problems.append(
            f"{where}.course_value: the reference computes {describe(computed.value)}, "
            f"the course shows {describe(answer.course_value)} ({outcome.message})"
        )


def typed_answer(value: Any, kind: str) -> str:
    """How a member would type value: 171,533 / (None, 120, 16) / [[1, 2], [3, 4]]."""
    if kind in ("int", "param_count"):
        return (
            f"{int(value):,}" if not isinstance(value, codec.ModelSummary) else f"{value.params:,}"
        )
    if kind == "float":
        return repr(float(value))
    if kind == "shape":
        dims = ", ".join("None" if d is None else str(int(d)) for d in value)
        return f"({dims},)" if len(value) == 1 else f"({dims})"
    if kind == "text":
        return str(value)
    if hasattr(value, "tolist"):
        value = value.tolist()
    return repr(value)


def _typed_roundtrip(spec: ExerciseSpec, value: Any) -> str | None:
    """The expected value, typed the obvious way, must parse and be accepted."""
    answer = spec.answer
    assert answer is not None
    try:
        text = typed_answer(value, answer.compare)
        parsed = parse_answer(text, answer.compare)
    except (AnswerFormatError, TypeError, ValueError) as exc:
        return f"the expected value typed as an answer is not accepted: {exc}"
    outcome = compare(answer.compare, value, parsed, rtol=answer.rtol, atol=answer.atol)
    if not outcome.passed:
        return f"the expected value typed as {text[:80]!r} is graded wrong: {outcome.message}"
    return None


def _hint_leak(hint: str, value: Any) -> str | None:
    """A hint must not state the answer: look for its number (3+ digits) or its printed form."""
    candidates: list[str] = []
    number = value.params if isinstance(value, codec.ModelSummary) else value
    if isinstance(number, int) and not isinstance(number, bool) and abs(number) >= 100:
        candidates += [str(number), f"{number:,}", f"{number:_}"]
    elif isinstance(number, float) and not float(number).is_integer():
        candidates += [f"{number:.3g}", f"{number:.4g}"]
    elif isinstance(value, (tuple, list)) and value:
        candidates.append(describe(value))
    for text in candidates:
        if re.search(rf"(?<![\d.]){re.escape(text)}(?![\d])", hint):
            return text
    return None


def _check_notebook(
    spec: ExerciseSpec,
    folder: Path,
    check: ExerciseCheck,
    runner: Any,
    datasets_root: Path | None = None,
) -> None:
    """Hand a notebook exercise to graders.notebook.check.check_exercise(spec, folder, runner).

    That function (owned by the notebook grader) returns a mapping or object with
    `problems` (list of str) and optionally `values` ({check name: value}); an
    exception counts as a problem.
    """
    assert spec.notebook is not None
    check.target = spec.notebook.reference or f"{spec.slug}/{spec.notebook.solution}"
    try:
        module = importlib.import_module(NOTEBOOK_CHECK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and NOTEBOOK_CHECK_MODULE.startswith(exc.name):
            check.problems.append(
                f"{check.path}: cannot check notebook exercises: {NOTEBOOK_CHECK_MODULE} is missing"
            )
            return
        raise
    try:
        result = module.check_exercise(spec, folder, runner, datasets_root=datasets_root)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        check.problems.append(f"{check.path}: notebook check failed: {type(exc).__name__}: {exc}")
        return
    problems = _field(result, "problems") or []
    values = _field(result, "values") or {}
    check.problems.extend(str(p) for p in problems)
    for name, value in dict(values).items():
        check.values.append(ComputedValue(params={"check": name}, value=value, default=True))


def _field(result: Any, name: str) -> Any:
    if isinstance(result, dict):
        return result.get(name)
    return getattr(result, name, None)
