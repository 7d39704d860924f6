"""Benchmark: the pure grading core (parse, compare, codec) and the reference runner's latency.

Prints one table: per-operation mean time over many repetitions, plus the
reference child's cold start (TensorFlow import) and warm call latency.

Run: .venv/bin/python tests/bench/bench_grading_core.py [--no-runner]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from graders import codec  # noqa: E402
from graders.answers import parse_answer  # noqa: E402
from graders.compare import compare  # noqa: E402
from graders.reference import ReferenceRunner, cache_key  # noqa: E402

WORD_INDEX = {f"word{i}": i for i in range(1, 10_001)}
WORD_INDEX_TEXT = repr(WORD_INDEX)[: 60 * 1024].rsplit(",", 1)[0] + "}"
PRINTED = "[[ 0  0  0  5  3  2  4]\n [ 0  0  0  5  3  2  7]\n [ 0  0  0  6  3  2  4]\n [ 8  6  9  2  4 10 11]]"
WEIGHTS = np.random.default_rng(0).normal(size=(10_000, 16)).astype("float32")


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Mean seconds per call."""
    fn()
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-runner", action="store_true", help="skip the TensorFlow child")
    opts = parser.parse_args()
    expected_weights = WEIGHTS.copy()
    encoded_weights = codec.dumps(WEIGHTS)
    rows = [
        ("parse int '171,533'", timed(lambda: parse_answer("171,533", "int"), 20_000)),
        ("parse numpy-printed 4x7 array", timed(lambda: parse_answer(PRINTED, "allclose"), 5_000)),
        (
            f"parse {len(WORD_INDEX_TEXT) // 1024} KB dict",
            timed(lambda: parse_answer(WORD_INDEX_TEXT, "dict"), 20),
        ),
        ("compare dict 10k keys", timed(lambda: compare("dict", WORD_INDEX, dict(WORD_INDEX)), 50)),
        (
            "compare allclose 10000x16",
            timed(lambda: compare("allclose", expected_weights, WEIGHTS), 200),
        ),
        ("codec dumps 10000x16 float32", timed(lambda: codec.dumps(WEIGHTS), 20)),
        ("codec loads 10000x16 float32", timed(lambda: codec.loads(encoded_weights), 20)),
        (
            "cache_key (stat walk + sha256)",
            timed(lambda: cache_key("reference.answers:x", {"n": 1}), 500),
        ),
    ]
    if not opts.no_runner:
        with ReferenceRunner() as runner:
            started = time.perf_counter()
            runner.call("reference.answers:word_index", {})
            rows.append(
                ("runner cold start + first call (imports TF)", time.perf_counter() - started)
            )
            samples = []
            for _ in range(50):
                started = time.perf_counter()
                runner.call("reference.answers:word_index", {})
                samples.append(time.perf_counter() - started)
            rows.append(("runner warm call word_index (median)", statistics.median(samples)))
            rows.append(
                (
                    "runner sonnets_params (6.1M-param model)",
                    timed(lambda: runner.call("reference.answers:sonnets_params", {}), 5),
                )
            )
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  {'mean':>10}")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:>8.3f} ms")


if __name__ == "__main__":
    main()
