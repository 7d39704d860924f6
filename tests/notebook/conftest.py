"""Shared fixtures for the notebook grader: one reference child and one sandbox pool per session.

Each imports TensorFlow once (about 4 s); every sandboxed test reuses them.
The pool uses its own state folder and uids (62000+) so it never collides with
a worker running on the same machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

# In the worker's environment before any sandbox starts, so a leak would be visible.
WORKER_SECRET = f"worker-secret-{uuid.uuid4().hex}"
os.environ["ADVENTURES_TEST_WORKER_SECRET"] = WORKER_SECRET

from graders.notebook import Limits, SandboxConfig, SandboxPool, grade_notebook  # noqa: E402
from graders.notebook.result import GradeResult  # noqa: E402
from graders.reference import ReferenceRunner  # noqa: E402
from graders.spec import ExerciseSpec, load_spec  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"
NOTEBOOK_SLUGS = (
    "c3w1-tokenizer",
    "c3w2-embedding-model",
    "c3w3-rnn-step",
    "c3w4-ngrams",
    "c3w4-generate",
)


def spec_of(slug: str) -> ExerciseSpec:
    return load_spec(EXERCISES / slug / "exercise.yaml")


def notebook(*sources: str) -> bytes:
    """A notebook of code cells, as an upload's bytes."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    return nbformat.writes(nb).encode("utf-8")


def run_check_cell(harness: Callable[..., Any], source: str, user_ns: dict | None = None) -> None:
    """Run a check cell in this process as the kernel does: on a stack whose bootstrap frame
    (zygote._start_kernel, from zygote.py's path) holds `harness` as its local."""
    from graders.notebook.zygote import HARNESS_FRAME, HARNESS_LOCAL, ZYGOTE_PATH

    bootstrap = f"def {HARNESS_FRAME}({HARNESS_LOCAL}, run):\n    run()\n"
    namespace: dict[str, Any] = {}
    exec(compile(bootstrap, ZYGOTE_PATH, "exec"), namespace)  # noqa: S102 - the test's own code
    cell_ns = {} if user_ns is None else user_ns
    namespace[HARNESS_FRAME](harness, lambda: exec(source, cell_ns))  # noqa: S102


def reference_source(slug: str) -> str:
    module = spec_of(slug).notebook.reference
    return (ROOT / "reference" / f"{module}.py").read_text(encoding="utf-8")


WRONG_TOKENIZER = """
def build_word_index(sentences, num_words=100, oov_token="<OOV>"):
    return {"i": 1}

def encode(train_sentences, test_sentences, oov_token="<OOV>"):
    return [[1]]

def pad(sentences, maxlen=None, padding="pre", truncating="pre"):
    return [[0]]
"""


def all_text(result: GradeResult) -> str:
    """Everything a member or the web could ever see of a result."""
    import json

    nb = result.executed_notebook
    cells = nbformat.writes(nb) if nb is not None else ""
    return json.dumps(result.to_dict()) + cells


@pytest.fixture(scope="session")
def reference_runner():
    with ReferenceRunner() as runner:
        yield runner


@pytest.fixture(scope="session")
def sandbox_pool():
    state = Path(tempfile.mkdtemp(prefix="adventures-sandbox-test-"))
    pool = SandboxPool(SandboxConfig(state_dir=state, uid_base=62000), slots=1)
    yield pool
    pool.close()
    shutil.rmtree(state, ignore_errors=True)


Grade = Callable[..., GradeResult]


@pytest.fixture(scope="session")
def grade(reference_runner, sandbox_pool) -> Grade:
    """grade(slug, notebook_bytes, **limits) through the real sandboxed pipeline."""

    def run(
        slug: str, data: bytes, *, progress=None, reference_values=None, **limits
    ) -> GradeResult:
        return grade_notebook(
            spec_of(slug),
            EXERCISES / slug,
            data,
            runner=reference_runner,
            reference_values=reference_values,
            progress=progress,
            pool=sandbox_pool,
            limits=Limits(**limits),
        )

    return run


@pytest.fixture(scope="session")
def assert_still_grades(grade) -> Callable[[], None]:
    """After something hostile: a correct submission still gets full marks."""

    def check() -> None:
        result = grade("c3w1-tokenizer", notebook(reference_source("c3w1-tokenizer")))
        assert result.status == "graded", result.error
        assert result.full_marks, result.output

    return check
