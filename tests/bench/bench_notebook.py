"""Benchmark: notebook grading, our sandboxed pipeline against nbgrader's autograde.

    .venv/bin/python tests/bench/bench_notebook.py [--submissions 20] [--skip-nbgrader]

Both grade the same 20 submissions of the c3w1-tokenizer exercise (right,
wrong, half right and untouched starters, mixed), one after another, each
timed from "the upload's bytes are here" to "the score is known". nbgrader
runs in its own venv (/tmp/nbgrader-venv, created with `python -m venv` and
`pip install nbgrader tensorflow-cpu` on first use) through its Python API,
on an equivalent nbgrader assignment: the same three solution cells and one
autograder test cell per check (hidden checks inside BEGIN/END HIDDEN TESTS),
with expected values computed by our reference runner.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from graders.notebook import Limits, SandboxConfig, SandboxPool, grade_notebook  # noqa: E402
from graders.reference import ReferenceRunner  # noqa: E402
from graders.spec import load_spec  # noqa: E402
from tests.bench.peer_venv import ensure_venv  # noqa: E402

SLUG = "c3w1-tokenizer"
FOLDER = ROOT / "exercises" / SLUG
NBGRADER_VENV = Path("/tmp/nbgrader-venv")
FUNCTIONS = ("build_word_index", "encode", "pad")

RIGHT = {
    "build_word_index": """def build_word_index(sentences, num_words=100, oov_token="<OOV>"):
    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token)
    tokenizer.fit_on_texts(sentences)
    return tokenizer.word_index""",
    "encode": """def encode(train_sentences, test_sentences, oov_token="<OOV>"):
    tokenizer = Tokenizer(oov_token=oov_token)
    tokenizer.fit_on_texts(train_sentences)
    return tokenizer.texts_to_sequences(test_sentences)""",
    "pad": """def pad(sentences, maxlen=None, padding="pre", truncating="pre"):
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(sentences)
    sequences = tokenizer.texts_to_sequences(sentences)
    return pad_sequences(sequences, maxlen=maxlen, padding=padding, truncating=truncating)""",
}
WRONG = {
    "build_word_index": """def build_word_index(sentences, num_words=100, oov_token="<OOV>"):
    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token, lower=False)
    tokenizer.fit_on_texts(sentences)
    return tokenizer.word_index""",
    "encode": """def encode(train_sentences, test_sentences, oov_token="<OOV>"):
    tokenizer = Tokenizer(oov_token=oov_token)
    tokenizer.fit_on_texts(test_sentences)
    return tokenizer.texts_to_sequences(test_sentences)""",
    "pad": """def pad(sentences, maxlen=None, padding="pre", truncating="pre"):
    tokenizer = Tokenizer(oov_token="<OOV>")
    tokenizer.fit_on_texts(sentences)
    sequences = tokenizer.texts_to_sequences(sentences)
    return pad_sequences(sequences, maxlen=maxlen, padding=padding, truncating=truncating)""",
}
IMPORTS = (
    "import numpy as np\n"
    "from tensorflow.keras.preprocessing.text import Tokenizer\n"
    "from tensorflow.keras.preprocessing.sequence import pad_sequences"
)
KINDS = {
    "right": dict(RIGHT),
    "wrong": dict(WRONG),
    "half": {**WRONG, "build_word_index": RIGHT["build_word_index"]},
    "starter": None,
}


def mix(n: int) -> list[str]:
    cycle = ["right", "wrong", "right", "half", "right", "starter", "wrong", "right"]
    return [cycle[i % len(cycle)] for i in range(n)]


def our_notebook(kind: str) -> bytes:
    if KINDS[kind] is None:
        return (FOLDER / "starter.ipynb").read_bytes()
    cells = [IMPORTS] + [f"# GRADED FUNCTION: {f}\n{KINDS[kind][f]}" for f in FUNCTIONS]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    return nbformat.writes(nb).encode()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 20 samples is the largest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- ours -------------------------------------------------------------------------------


def bench_ours(kinds: list[str], runner: ReferenceRunner) -> dict:
    spec = load_spec(FOLDER / "exercise.yaml")
    state = Path(tempfile.mkdtemp(prefix="adventures-bench-"))
    pool = SandboxPool(SandboxConfig(state_dir=state, uid_base=63000))
    try:
        started = time.perf_counter()
        first = grade_notebook(spec, FOLDER, our_notebook("right"), runner=runner, pool=pool)
        cold = time.perf_counter() - started
        assert first.full_marks, first.output
        latencies, scores = [], []
        wall = time.perf_counter()
        for kind in kinds:
            data = our_notebook(kind)
            t0 = time.perf_counter()
            result = grade_notebook(spec, FOLDER, data, runner=runner, pool=pool, limits=Limits())
            latencies.append(time.perf_counter() - t0)
            scores.append(result.score)
        total = time.perf_counter() - wall
    finally:
        pool.close()
        shutil.rmtree(state, ignore_errors=True)
    return {"latencies": latencies, "scores": scores, "total": total, "cold": cold}


# --- nbgrader ---------------------------------------------------------------------------


def _nbgrader_meta(grade_id: str, *, solution: bool, grade: bool, points: float = 0) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _literal(value) -> str:
    """Python source for an expected value (arrays as np.array(...))."""
    if hasattr(value, "tolist"):
        return f"np.array({value.tolist()!r})"
    return repr(value)


def nbgrader_source(runner: ReferenceRunner) -> nbformat.NotebookNode:
    """The same exercise as an nbgrader assignment: solution cells plus assert cells."""
    spec = load_spec(FOLDER / "exercise.yaml")
    cells = [nbformat.v4.new_code_cell(IMPORTS)]
    for function in FUNCTIONS:
        header, body = RIGHT[function].split("\n", 1)
        source = f"{header}\n    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION"
        cells.append(
            nbformat.v4.new_code_cell(
                source, metadata=_nbgrader_meta(function, solution=True, grade=False)
            )
        )
    for i, check in enumerate(spec.notebook.checks):
        expected = runner.evaluate(
            spec.notebook.reference, check.function, check.args, check.kwargs, check.setup
        )
        args = ", ".join(
            [repr(a) for a in check.args] + [f"{k}={v!r}" for k, v in check.kwargs.items()]
        )
        call = f"{check.function}({args})"
        if check.compare == "allclose":
            test = f"assert np.array_equal(np.asarray({call}), {_literal(expected)})"
        else:
            test = f"assert {call} == {_literal(expected)}"
        if check.visibility == "hidden":
            test = f"### BEGIN HIDDEN TESTS\n{test}\n### END HIDDEN TESTS"
        cells.append(
            nbformat.v4.new_code_cell(
                test,
                metadata=_nbgrader_meta(
                    f"test_{i}", solution=False, grade=True, points=check.points
                ),
            )
        )
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import nbformat
    from traitlets.config import Config
    from nbgrader.apps import NbGraderAPI

    course = Path(sys.argv[1])
    plan = json.loads(Path(sys.argv[2]).read_text())
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "bench"
    config.ExecutePreprocessor.timeout = 120
    config.Autograde.create_student = True
    api = NbGraderAPI(config=config)
    result = api.generate_assignment("ps1")
    assert result["success"], result["log"]
    release = nbformat.read(course / "release" / "ps1" / "tokenizer.ipynb", as_version=4)
    for i, sources in enumerate(plan):
        nb = nbformat.from_dict(json.loads(json.dumps(release)))
        if sources is not None:
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in sources:
                    cell.source = sources[grade_id]
        folder = course / "submitted" / f"s{i:02d}" / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "tokenizer.ipynb")
    out = []
    for i in range(len(plan)):
        t0 = time.perf_counter()
        result = api.autograde("ps1", f"s{i:02d}", force=True, create=True)
        seconds = time.perf_counter() - t0
        assert result["success"], result["log"]
        submission = api.get_submission("ps1", f"s{i:02d}")
        out.append({"seconds": seconds, "score": submission["score"], "max": submission["max_score"]})
    print("RESULT " + json.dumps(out))
    """
)


def bench_nbgrader(kinds: list[str], runner: ReferenceRunner) -> dict:
    python = ensure_venv(
        NBGRADER_VENV, "import nbgrader, tensorflow", ["nbgrader", "tensorflow-cpu==2.21.*"]
    )
    course = Path(tempfile.mkdtemp(prefix="nbgrader-bench-"))
    (course / "source" / "ps1").mkdir(parents=True)
    nbformat.write(nbgrader_source(runner), course / "source" / "ps1" / "tokenizer.ipynb")
    kinds = ["right", *kinds]  # the first one is the cold start, as for ours
    plan = [None if KINDS[k] is None else dict(KINDS[k]) for k in kinds]
    (course / "plan.json").write_text(json.dumps(plan))
    (course / "driver.py").write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVENTURES")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PATH"] = f"{python.parent}:{env.get('PATH', '/usr/bin:/bin')}"  # nbgrader runs `alembic`
    wall = time.perf_counter()
    proc = subprocess.run(
        [str(python), str(course / "driver.py"), str(course), str(course / "plan.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=course,
    )
    total = time.perf_counter() - wall
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"nbgrader run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    shutil.rmtree(course, ignore_errors=True)
    rows = json.loads(line[len("RESULT ") :])
    return {
        "latencies": [r["seconds"] for r in rows[1:]],
        "scores": [r["score"] for r in rows[1:]],
        "total": sum(r["seconds"] for r in rows[1:]),
        "cold": rows[0]["seconds"],
        "process": total,
    }


# --- report -----------------------------------------------------------------------------


def expected_scores(kinds: list[str]) -> list[float]:
    full = {"right": 10.0, "wrong": 0.0, "half": 4.0, "starter": 0.0}
    return [full[k] for k in kinds]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--skip-nbgrader", action="store_true")
    opts = parser.parse_args()
    kinds = mix(opts.submissions)
    with ReferenceRunner() as runner:
        ours = bench_ours(kinds, runner)
        theirs = None if opts.skip_nbgrader else bench_nbgrader(kinds, runner)
    want = expected_scores(kinds)
    rows = [
        ("p50 upload->graded (s)", lambda r: statistics.median(r["latencies"]), False),
        ("p99 upload->graded (s)", lambda r: percentile(r["latencies"], 99), False),
        ("mean (s)", lambda r: statistics.mean(r["latencies"]), False),
        ("throughput (submissions/min)", lambda r: 60 * len(r["latencies"]) / r["total"], True),
        ("first grading, cold (s)", lambda r: r["cold"], False),
    ]
    print(
        f"\n{len(kinds)} submissions of {SLUG} ({', '.join(sorted(set(kinds)))}), one at a time, "
        f"{os.cpu_count()} cores\n"
    )
    print(
        f"| {'metric':<30} | {'ours (bwrap + zygote)':>21} | {'nbgrader autograde':>18} | ours better by |"
    )
    print(f"|{'-' * 32}|{'-' * 23}|{'-' * 20}|{'-' * 16}|")
    for name, fn, higher_is_better in rows:
        a = fn(ours)
        b = fn(theirs) if theirs else None
        ratio = (
            "-" if b is None or not a or not b else f"{(a / b if higher_is_better else b / a):.1f}x"
        )
        shown = f"{b:.3f}" if b is not None else "-"
        print(f"| {name:<30} | {a:>21.3f} | {shown:>18} | {ratio:>14} |")
    ok_ours = sum(abs(s - w) < 1e-6 for s, w in zip(ours["scores"], want, strict=True))
    ok_theirs = "-"
    if theirs:
        matched = sum(abs(s - w) < 1e-6 for s, w in zip(theirs["scores"], want, strict=True))
        ok_theirs = f"{matched}/{len(want)}"
    print(
        f"| {'scores as expected':<30} | {f'{ok_ours}/{len(want)}':>21} | {ok_theirs:>18} | {'':>14} |"
    )
    return 0 if ok_ours == len(want) else 1


if __name__ == "__main__":
    sys.exit(main())
