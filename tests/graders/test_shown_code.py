"""The code shown under an exercise's prompt runs on today's TensorFlow.

Snippets lean on the prompt for context (`sentences`, `model`), so a NameError is
allowed; any other error means the shown code no longer works (as `sparse_categorical_
crossentropy` on plain lists did on TF 2.21).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PREAMBLE = """
import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.text import Tokenizer
from tensorflow.keras.preprocessing.sequence import pad_sequences
from tensorflow.keras.layers import *
from tensorflow.keras.models import Sequential
"""


def _shown(slug: str | None = None) -> list[tuple[str, str, dict]]:
    found = []
    for path in sorted((ROOT / "exercises").glob("*/exercise.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        code = spec.get("code")
        if code and "{{" not in code and (slug is None or spec["slug"] == slug):
            found.append((spec["slug"], code, spec))
    return found


def _run(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(PREAMBLE + code, "<shown code>", "exec"), {})  # noqa: S102 - our content
    return out.getvalue()


@pytest.mark.parametrize("slug,code", [(s, c) for s, c, _ in _shown()])
def test_shown_code_runs_or_only_lacks_context(slug: str, code: str) -> None:
    try:
        _run(code)
    except NameError:
        pass  # a fragment: its variables come from the prompt


def test_perplexity_snippet_prints_the_course_value() -> None:
    [(_, code, spec)] = _shown("c3w4-perplexity-softmax")
    printed = float(_run(code).strip().splitlines()[-1])
    assert printed == pytest.approx(spec["answer"]["course_value"], rel=1e-5)
