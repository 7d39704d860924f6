"""Benchmark: course-shaped assignments at real size, ours against a fresh-kernel nbclient run.

    .venv/bin/python tests/bench/bench_course.py [--runs 10] [--peer-runs 3] [--skip-peer]
                                                [--cases w1 w3]

Two assignments written in the course's format (never copied from it), imported from blank +
solution with the importer and recorded from the solution, as an instructor would:

* W1: pandas + csv on the full-size bbc-text stand-in (2,225 articles, `category,text`), a
  stopword filter, a TextVectorization and a StringLookup.
* W3: the 160,000-tweet stand-in (six quoted columns, no header) and the 400,000-line GloVe
  stand-in (348 MB), tf.data splits, a TextVectorization, a frozen-embedding model and a
  20-epoch `model.fit`; the exercise says `training: skip`, as imported assignments do.

The stand-ins (tests/course/standins.py) are written once into /tmp/adventures-bench-course
and added to a dataset store there; later runs reuse both.

Ours: grade_notebook through the bubblewrap sandbox, one member notebook after another, each
timed from "the upload's bytes are here" to "the score is known"; the first grade (which also
runs the solution for the reference values) is reported apart as cold. Every step of a warm
grade is timed (sanitise, data view, kernel take, member cells, harness, compare ...) and each
member cell too, so a case's time splits into the member notebook's own work and the
grader's overhead.

Peer: how nbgrader- or otter-style graders run a notebook: a fresh ipykernel per submission
(this venv's Python, no sandbox), the whole notebook executed with nbclient, training included
as written, then one cell calling the graded functions as the checks do; timed the same way,
cell times from nbclient's own timing metadata.

Rows of each case's table:
  member's own cells     the notebook's cells (for the peer: without its check cell), with the
                         GloVe-reading and the training cell shown apart for W3
  checks                 the graded functions called again by the checks (ours: the time
                         inside each call, from the harness; peer: its check cell)
  grader's own work      the rest: sanitise, kernel take, probes and encoding, comparing
                         (ours); starting the kernel (peer: its TensorFlow import counts
                         in the cells, ours has it done in the zygote)
The machine is shared, so the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from graders.datasets import DatasetStore  # noqa: E402
from graders.notebook import SandboxConfig, SandboxPool, pipeline  # noqa: E402
from graders.notebook import execute as execute_module  # noqa: E402
from graders.notebook.importer import import_exercise, write_exercise  # noqa: E402
from graders.notebook.record import record_checks  # noqa: E402
from graders.spec import load_spec  # noqa: E402
from tests.course import standins  # noqa: E402
from tests.notebook import test_nb_course_e2e as w3nb  # noqa: E402

DATA = Path("/tmp/adventures-bench-course")
RAW = DATA / "raw"
STORE = DATA / "store"
FILES = {  # dataset name -> stand-in file
    "bbc-text.csv": "bbc-text.csv",
    "training_cleaned.csv": "training_cleaned_160k.csv",
    "glove.6B.100d.txt": "glove.6B.100d.txt",
}
TARGETS = {"w1": 2.0, "w3": 5.0}

# --------------------------------------------------------------------------------------------
# The W1-style assignment (BBC news): written here, in the course's conventions
# --------------------------------------------------------------------------------------------

W1_IMPORTS = "import csv\nimport pandas as pd\nimport numpy as np\nimport tensorflow as tf"
W1_PEEK = (
    'with open("./data/bbc-text.csv") as f:\n'
    '    print(f"Header: {f.readline()}")\n'
    '    print(f"First row starts: {f.readline()[:80]}")'
)
W1_STOPWORDS = (
    "STOPWORDS = [\n"
    '    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "had", "has",\n'
    '    "have", "he", "her", "his", "i", "in", "into", "is", "it", "its", "of", "on", "or",\n'
    '    "our", "she", "that", "the", "their", "them", "they", "this", "to", "was", "we",\n'
    '    "were", "which", "who", "will", "with", "would", "you", "your",\n'
    "]"
)


def _fn(header: str, doc: str, body: str, ret: str) -> str:
    return (
        f"# GRADED FUNCTION: {header.split('(')[0]}\n"
        f"def {header}:\n"
        f'    """{doc}"""\n'
        f"    ### START CODE HERE ###\n{body}\n    ### END CODE HERE ###\n\n"
        f"    return {ret}"
    )


W1_FUNCTIONS = {
    "read": (
        "read_articles(path)",
        "Texts and categories of the CSV file, whose first row is a header.",
        "texts, categories",
        {
            "blank": "    texts = []\n    categories = []\n",
            "solved": (
                "    texts = []\n    categories = []\n"
                "    with open(path, newline='') as f:\n"
                "        reader = csv.reader(f)\n"
                "        next(reader)\n"
                "        for category, text in reader:\n"
                "            categories.append(category)\n"
                "            texts.append(text)"
            ),
            "member": (
                "    frame = pd.read_csv(path)\n"
                "    texts = frame['text'].tolist()\n"
                "    categories = frame['category'].tolist()"
            ),
        },
    ),
    "stop": (
        "remove_stopwords(sentence)",
        "The sentence in lower case without the words in STOPWORDS.",
        "sentence",
        {
            "blank": "    sentence = None\n",
            "solved": (
                "    sentence = ' '.join(w for w in sentence.lower().split() if w not in STOPWORDS)"
            ),
            "member": (
                "    kept = []\n"
                "    for word in sentence.lower().split():\n"
                "        if word not in STOPWORDS:\n"
                "            kept.append(word)\n"
                "    sentence = ' '.join(kept)"
            ),
        },
    ),
    "vector": (
        "fit_vectorizer(sentences)",
        "A TextVectorization layer adapted to the sentences, outputs 120 long.",
        "vectorizer",
        {
            "blank": "    vectorizer = None\n",
            "solved": (
                "    vectorizer = tf.keras.layers.TextVectorization(output_sequence_length=120)\n"
                "    vectorizer.adapt(sentences)"
            ),
            "member": (
                "    vectorizer = tf.keras.layers.TextVectorization(\n"
                "        standardize='lower_and_strip_punctuation',\n"
                "        output_sequence_length=120,\n"
                "    )\n"
                "    vectorizer.adapt(tf.constant(sentences))"
            ),
        },
    ),
    "labels": (
        "fit_label_encoder(labels)",
        "A StringLookup adapted to the labels, with no OOV index.",
        "label_encoder",
        {
            "blank": "    label_encoder = None\n",
            "solved": (
                "    label_encoder = tf.keras.layers.StringLookup(num_oov_indices=0)\n"
                "    label_encoder.adapt(labels)"
            ),
            "member": (
                "    label_encoder = tf.keras.layers.StringLookup(num_oov_indices=0)\n"
                "    label_encoder.adapt(tf.constant(labels))"
            ),
        },
    ),
}
W1_AFTER = {
    "read": (
        'sentences, labels = read_articles("./data/bbc-text.csv")\n'
        'print(f"{len(sentences)} articles, labels like {labels[:3]}")'
    ),
    "stop": (
        'print(remove_stopwords("The market and the shares of a bank"))\n'
        "standard_sentences = [remove_stopwords(s) for s in sentences]"
    ),
    "vector": (
        "vectorizer = fit_vectorizer(standard_sentences)\n"
        "padded = vectorizer(standard_sentences)\n"
        'print(f"{vectorizer.vocabulary_size()} words; padded shape {padded.shape}")'
    ),
    "labels": (
        "label_encoder = fit_label_encoder(labels)\n"
        "print(label_encoder.get_vocabulary(), label_encoder(labels[:5]))"
    ),
}


def w1_notebook(kind: str) -> bytes:
    graded = None if kind == "solved" else w3nb.GRADED
    cells = [
        w3nb.md("# News articles by category, week 1 style"),
        w3nb.code(W1_IMPORTS, graded),
        w3nb.code("import unittests"),
        w3nb.code(W1_PEEK),
        w3nb.code(W1_STOPWORDS, graded),
    ]
    for key, (header, doc, ret, bodies) in W1_FUNCTIONS.items():
        cells.append(w3nb.code(_fn(header, doc, bodies[kind], ret), graded))
        cells.append(w3nb.code(W1_AFTER[key]))
    return w3nb.as_bytes(cells)


def w3_notebooks() -> dict[str, bytes]:
    """The test's W3 notebooks; the member reads GloVe from ./data, so the peer can too."""
    books = w3nb.w3_notebooks()
    books["member"] = w3nb.w3_notebook(
        w3nb.SPLIT_MEMBER,
        w3nb.VECTOR_MEMBER,
        w3nb.MODEL_MEMBER,
        glove="./data/glove.6B.100d.txt",
    )
    return books


CASES: dict[str, dict[str, Any]] = {
    "w1": {
        "slug": "c3w1-bench-news",
        "label": "W1 bbc-text, 2,225 rows",
        "books": lambda: {k: w1_notebook(k) for k in ("blank", "solved", "member")},
        "datasets": [{"name": "bbc-text.csv"}],
        "glove_marker": None,
    },
    "w3": {
        "slug": "c3w3-bench-tweets",
        "label": "W3 160k tweets + 400k GloVe",
        "books": w3_notebooks,
        "datasets": copy.deepcopy(w3nb.W3_DATASETS),
        "glove_marker": "glove_embeddings = {}",
    },
}

# --------------------------------------------------------------------------------------------
# Data: the stand-ins, once, and a store holding them
# --------------------------------------------------------------------------------------------


def ensure_data() -> dict[str, Path]:
    done = RAW / "COMPLETE"
    if not done.exists():
        print(f"writing the full-size stand-ins into {RAW} (once) ...", flush=True)
        t0 = time.perf_counter()
        standins.write_all(RAW, only=sorted(set(FILES.values())))
        done.write_text("ok\n")
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    store = DatasetStore(STORE)
    for name, file in FILES.items():
        if store.get(name) is None:
            store.add(RAW / file, name=name)
    return {name: RAW / file for name, file in FILES.items()}


# --------------------------------------------------------------------------------------------
# Timing every step of a grade
# --------------------------------------------------------------------------------------------


class StepTimer:
    """Wraps the pipeline's steps (module globals it calls by name) to time each, per grade.

    Nothing is changed but the clock around each call. Member cell times come from the
    pipeline's progress callback (cell k starts) and the harness start (the last cell ends).
    """

    STEPS = (
        ("read + validate", pipeline, "read_notebook"),
        ("sanitise", pipeline, "_sanitise"),
        ("reference values (cache)", pipeline, "expected_values"),
        ("data view", pipeline, "_data_dirs"),
        ("kernel take", pipeline, "take_kernel"),
        ("execute (cells + harness)", pipeline, "execute"),
        ("read results", pipeline, "parse_results"),
        ("compare", pipeline, "score_checks"),
        ("spec hash", pipeline, "_spec_hash"),
    )

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)
        self.starts: list[float] = []
        self.harness_start: float | None = None
        self.checks: dict[str, float] = {}

    def progress(self, k: int, n: int) -> None:
        self.starts.append(time.perf_counter())

    def cell_seconds(self) -> list[float]:
        ends = [*self.starts[1:], self.harness_start or self.starts[-1]]
        return [b - a for a, b in zip(self.starts, ends, strict=True)]

    @contextmanager
    def active(self):
        saved = []

        def timed(label, original):
            def wrapper(*args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.times[label] += time.perf_counter() - t0

            return wrapper

        for label, module, name in self.STEPS:
            original = getattr(module, name)
            saved.append((module, name, original))
            setattr(module, name, timed(label, original))
        parse = pipeline.parse_results

        def parse_and_keep(*args, **kwargs):
            outcomes = parse(*args, **kwargs)
            for check, outcome in outcomes.items():
                if outcome.seconds is not None:
                    self.checks[check] = outcome.seconds
            return outcomes

        pipeline.parse_results = parse_and_keep
        harness = execute_module._run_harness

        async def harness_wrapper(*args, **kwargs):
            self.harness_start = time.perf_counter()
            try:
                return await harness(*args, **kwargs)
            finally:
                self.times["harness (checks + probes)"] += time.perf_counter() - self.harness_start

        saved.append((execute_module, "_run_harness", harness))
        execute_module._run_harness = harness_wrapper
        try:
            yield self
        finally:
            for module, name, original in saved:
                setattr(module, name, original)


# --------------------------------------------------------------------------------------------
# Ours
# --------------------------------------------------------------------------------------------


def make_exercise(case: dict, root: Path, pool: SandboxPool) -> tuple[Path, list[dict], float]:
    """Import blank + solution, record the checks from the solution's run, write the exercise."""
    books = case["books"]()
    folder = root / case["slug"]
    imported = import_exercise(case["slug"], books["blank"], books["solved"])
    imported.spec["notebook"]["datasets"] = copy.deepcopy(case["datasets"])
    t0 = time.perf_counter()
    recording = record_checks(imported, folder, pool=pool, datasets_root=STORE)
    seconds = time.perf_counter() - t0
    if recording.problem or not recording.checks:
        raise SystemExit(f"{case['slug']}: recording failed: {recording}")
    spec = copy.deepcopy(imported.spec)
    spec["notebook"]["checks"] = recording.checks
    spec["points"] = float(len(recording.checks))
    write_exercise(folder, imported, spec)
    return folder, recording.checks, seconds


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def bench_ours(case: dict, folder: Path, pool: SandboxPool, runs: int) -> dict:
    spec = load_spec(folder / "exercise.yaml")
    member = case["books"]()["member"]
    t0 = time.perf_counter()
    first = pipeline.grade_notebook(spec, folder, member, pool=pool, datasets_root=STORE)
    cold = time.perf_counter() - t0
    if not first.full_marks:
        raise SystemExit(
            f"{case['slug']}: the member's notebook is not full marks:\n{first.output}"
        )
    latencies, steps, cells, scores, calls = [], [], [], [], []
    for _ in range(runs):
        timer = StepTimer()
        with timer.active():
            t0 = time.perf_counter()
            result = pipeline.grade_notebook(
                spec, folder, member, pool=pool, datasets_root=STORE, progress=timer.progress
            )
            latencies.append(time.perf_counter() - t0)
        scores.append((result.score, result.max_score))
        steps.append(dict(timer.times))
        calls.append(dict(timer.checks))
        cells.append(timer.cell_seconds())
    executed = code_cells(result.executed_notebook)
    return {
        "latencies": latencies,
        "cold": cold,
        "steps": steps,
        "cells": cells,
        "sources": [c.source for c in executed],
        "scores": scores,
        "calls": calls,
        "notes": result.notes,
    }


# --------------------------------------------------------------------------------------------
# The peer: a fresh ipykernel per submission, the whole notebook, with nbclient
# --------------------------------------------------------------------------------------------

PEER_DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from datetime import datetime
    import nbformat
    from nbclient import NotebookClient

    notebook, workdir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(notebook, "rb").read()

    def seconds(cell):
        ex = cell.metadata.get("execution", {})
        a, b = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
        if not a or not b:
            return None
        parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
        return (parse(b) - parse(a)).total_seconds()

    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        nb = nbformat.reads(data.decode(), as_version=4)
        client = NotebookClient(
            nb, kernel_name="python3", timeout=1800, allow_errors=True, record_timing=True,
            resources={"metadata": {"path": workdir}},
        )
        client.execute()
        total = time.perf_counter() - t0
        last = nb.cells[-1]
        text = "".join(o.get("text", "") for o in last.get("outputs", []))
        score = [l for l in text.splitlines() if l.startswith("SCORE ")]
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        out.append({
            "seconds": total,
            "cells": [seconds(c) for c in code],
            "sources": [c.source for c in code],
            "score": json.loads(score[0][6:]) if score else None,
        })
    print("RESULT " + json.dumps(out))
    """
)

UNITTESTS_STUB = (
    '"""Stand-in for the course\'s local tests: every test passes silently."""\n\n\n'
    "def __getattr__(name):\n"
    "    return lambda *args, **kwargs: None\n"
)


def _arg_source(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"$global"}:
        return value["$global"]
    if isinstance(value, dict) and set(value) == {"$var"}:
        return value["$var"]
    return repr(value)


def check_cell(checks: list[dict]) -> str:
    """An otter/nbgrader-style test cell: each check's call on the notebook's own state."""
    lines = ["_passed = 0"]
    for check in checks:
        args = ", ".join(_arg_source(a) for a in check.get("args", []))
        kwargs = ", ".join(f"{k}={_arg_source(v)}" for k, v in check.get("kwargs", {}).items())
        call = f"{check['function']}({', '.join(x for x in (args, kwargs) if x)})"
        body = [*(check.get("setup") or "").splitlines(), f"_value = {call}"]
        body.append("assert _value is not None")
        body.append("_passed += 1")
        lines.append("try:")
        lines.extend(f"    {b}" for b in body)
        lines.append("except Exception as exc:")
        lines.append(f"    print({check['name']!r}, 'failed:', repr(exc)[:200])")
    lines.append(f"print('SCORE ' + str([_passed, {len(checks)}]))")
    return "\n".join(lines)


def bench_peer(case: dict, checks: list[dict], data: dict[str, Path], runs: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-course-peer-"))
    try:
        (work / "data").mkdir()
        for name, path in data.items():
            (work / "data" / name).symlink_to(path)
        (work / "unittests.py").write_text(UNITTESTS_STUB)
        nb = nbformat.reads(case["books"]()["member"].decode(), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(check_cell(checks)))
        (work / "member.ipynb").write_text(nbformat.writes(nb))
        (work / "driver.py").write_text(PEER_DRIVER)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADVENTURES")}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env["MPLBACKEND"] = "Agg"
        proc = subprocess.run(
            [
                sys.executable,
                str(work / "driver.py"),
                str(work / "member.ipynb"),
                str(work),
                str(runs),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=work,
        )
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"peer run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        rows = json.loads(line[len("RESULT ") :])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "latencies": [r["seconds"] for r in rows],
        "cells": [[c or 0.0 for c in r["cells"]] for r in rows],
        "sources": rows[0]["sources"],
        "scores": [r["score"] for r in rows],
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p90 of 10 samples is the 9th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cell_p50(run: dict, marker: str | None) -> float | None:
    """p50 over runs of the time of the first code cell whose source holds marker."""
    if marker is None:
        return None
    index = next((i for i, s in enumerate(run["sources"]) if marker in s), None)
    if index is None:
        return None
    return statistics.median(cells[index] for cells in run["cells"] if index < len(cells))


def member_cells_p50(run: dict, *, drop_last: bool = False) -> float:
    sums = [sum(cells[:-1] if drop_last else cells) for cells in run["cells"]]
    return statistics.median(sums)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(case_key: str, case: dict, ours: dict, peer: dict | None, record_s: float) -> None:
    label = case["label"]
    target = TARGETS[case_key]
    rows: list[tuple[str, float | None, float | None]] = [
        (
            "p50 upload -> score (s)",
            statistics.median(ours["latencies"]),
            statistics.median(peer["latencies"]) if peer else None,
        ),
        (
            "p90 upload -> score (s)",
            percentile(ours["latencies"], 90),
            percentile(peer["latencies"], 90) if peer else None,
        ),
        ("first grade, cold (s)", ours["cold"], None),
        (
            "member's own cells, p50 (s)",
            member_cells_p50(ours),
            member_cells_p50(peer, drop_last=True) if peer else None,
        ),
    ]
    glove = case["glove_marker"]
    if glove:
        rows.append(
            (
                "  of which the GloVe cell, p50 (s)",
                cell_p50(ours, glove),
                cell_p50(peer, glove) if peer else None,
            )
        )
        rows.append(
            (
                "  of which the fit cell, p50 (s)",
                cell_p50(ours, "model = create_model(vocab_size, embeddings_matrix)\npass"),
                cell_p50(peer, "history = model.fit(") if peer else None,
            )
        )
    # the checks call the member's graded functions again: their own time, not the grader's
    ours_checks = [sum(c.values()) for c in ours["calls"]]
    ours_own = [
        total - sum(cells) - checks
        for total, cells, checks in zip(ours["latencies"], ours["cells"], ours_checks, strict=True)
    ]
    rows.append(
        (
            "checks: graded functions called, p50",
            statistics.median(ours_checks),
            statistics.median(c[-1] for c in peer["cells"]) if peer else None,
        )
    )
    peer_own = None
    if peer:
        peer_own = statistics.median(
            total - sum(cells)
            for total, cells in zip(peer["latencies"], peer["cells"], strict=True)
        )
    rows.append(("grader's own work, p50 (s)", statistics.median(ours_own), peer_own))
    runs_ours, runs_peer = len(ours["latencies"]), len(peer["latencies"]) if peer else 0
    print(f"\n### {label}: ours {runs_ours} warm grades, peer {runs_peer} runs\n")
    print(f"| {'metric':<36} | {'ours (bwrap + zygote)':>21} | {'peer (fresh kernel)':>19} |")
    print(f"|{'-' * 38}|{'-' * 23}|{'-' * 21}|")
    for name, a, b in rows:
        print(f"| {name:<36} | {fmt(a):>21} | {fmt(b):>19} |")
    p50 = statistics.median(ours["latencies"])
    verdict = "met" if p50 <= target else "MISSED"
    print(
        f"\ntarget p50 <= {target:g} s: {verdict} ({p50:.2f} s); import + record: {record_s:.1f} s"
    )
    full = sum(1 for s, m in ours["scores"] if abs(s - m) < 1e-9)
    print(f"ours: {full}/{len(ours['scores'])} full marks; notes: {ours['notes']}")
    if peer:
        print(f"peer check cell: {peer['scores']}")
    print("\nours, per step (p50 over warm grades, s):")
    labels = [label for label, _m, _n in StepTimer.STEPS] + ["harness (checks + probes)"]
    for step in labels:
        values = [s.get(step, 0.0) for s in ours["steps"]]
        print(f"  {step:<30} {statistics.median(values):7.3f}")
    member = [
        s.get("execute (cells + harness)", 0.0) - s.get("harness (checks + probes)", 0.0)
        for s in ours["steps"]
    ]
    accounted = [
        sum(v for k, v in s.items() if k != "harness (checks + probes)") for s in ours["steps"]
    ]
    other = [t - a for t, a in zip(ours["latencies"], accounted, strict=True)]
    print(f"  {'  member cells (in execute)':<30} {statistics.median(member):7.3f}")
    print(f"  {'other (slot, close, result)':<30} {statistics.median(other):7.3f}")
    slow = sorted(
        (
            (statistics.median(c[i] for c in ours["cells"]), ours["sources"][i])
            for i in range(len(ours["sources"]))
        ),
        reverse=True,
    )[:4]
    print("ours, time inside each check's call (p50, s; the probe and encoding come after):")
    for name in ours["calls"][0]:
        values = [c.get(name, 0.0) for c in ours["calls"]]
        print(f"  {statistics.median(values):7.3f}  {name}")
    print("ours, slowest member cells (p50, s):")
    for seconds, source in slow:
        print(f"  {seconds:7.3f}  {source.splitlines()[0][:70]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="warm grades per case (ours)")
    parser.add_argument("--peer-runs", type=int, default=3, help="fresh-kernel runs per case")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    opts = parser.parse_args()
    data = ensure_data()
    start_load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    root = Path(tempfile.mkdtemp(prefix="bench-course-exercises-"))
    state = Path(tempfile.mkdtemp(prefix="adventures-bench-course-"))
    pool = SandboxPool(SandboxConfig(state_dir=state, uid_base=63200), slots=1)
    results = []
    try:
        made = {key: make_exercise(CASES[key], root, pool) for key in opts.cases}
        for key in opts.cases:
            folder, checks, record_s = made[key]
            ours = bench_ours(CASES[key], folder, pool, opts.runs)
            results.append((key, ours, checks, record_s))
    finally:
        pool.close()
        shutil.rmtree(state, ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{os.cpu_count()} cores, load average {start_load} at the start, {load} after ours "
        f"(1, 5, 15 min); data in {DATA}"
    )
    for key, ours, checks, record_s in results:
        peer = None
        if not opts.skip_peer and opts.peer_runs > 0:
            print(f"\npeer: {opts.peer_runs} fresh-kernel runs of {key} ...", flush=True)
            peer = bench_peer(CASES[key], checks, data, opts.peer_runs)
        report(key, CASES[key], ours, peer, record_s)
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
