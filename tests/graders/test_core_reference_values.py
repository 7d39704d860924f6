"""The key test: every short answer's reference value, computed by TensorFlow, equals the course's.

One reference child process for the whole module (TensorFlow is imported once,
in the child; this test process never imports it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from graders.catalog import check_catalog, load_catalog
from graders.codec import ModelSummary
from graders.compare import compare
from graders.reference import ReferenceRunner
from graders.variants import variant_for

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPECS = [s for s in load_catalog(REPO / "exercises") if s.kind == "answer"]


@pytest.fixture(scope="module")
def runner():
    with ReferenceRunner(REPO) as r:
        yield r


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.slug)
def test_reference_value_equals_the_course_value(runner, spec):
    answer = spec.answer
    value = runner.call(answer.reference, answer.params)
    outcome = compare(
        answer.compare, value, answer.course_value, rtol=answer.rtol, atol=answer.atol
    )
    assert outcome.passed, f"{spec.slug}: {outcome.message}"


def test_member_variants_get_their_own_values(runner):
    spec = next(s for s in SPECS if s.slug == "c3w2-params-embedding-flatten")
    values = {}
    for member in ("alice", "bob", "carol", "dave", "erin"):
        variant = variant_for(spec.answer, member)
        values[tuple(sorted(variant.items()))] = runner.call(spec.answer.reference, variant)
    assert len(values) >= 2 and len(set(values.values())) == len(values)
    for params, value in values.items():
        p = dict(params)
        flat = p["max_length"] * p["embedding_dim"]
        assert value == p["vocab_size"] * p["embedding_dim"] + flat * 6 + 6 + 7


def test_keras_models_come_back_as_summaries(runner):
    summary = runner.call("reference.answers:imdb_flatten_model", {})
    assert isinstance(summary, ModelSummary)
    assert summary.params == summary.trainable_params == 171533
    assert summary.layers == ("Embedding", "Flatten", "Dense", "Dense")
    assert summary.layer_params == (160000, 0, 11526, 7)
    assert summary.output_shape == [None, 1]


def test_frozen_glove_counts(runner):
    counts = runner.call("reference.answers:embedding_gap_counts", {})
    assert counts == {"total": 13872949, "trainable": 2449, "non_trainable": 13870500}


def test_tensors_from_a_setup_come_back_as_arrays(runner):
    setup = "t = tf.constant([[1, 2, 3]], dtype=tf.int32)\ndef same(x):\n    return x"
    value = runner.evaluate("reference.answers", "same", [{"$var": "t"}], setup=setup)
    assert isinstance(value, np.ndarray) and value.dtype == np.int32 and value.shape == (1, 3)
    padded = runner.evaluate("answers", "padded", kwargs={"maxlen": 3})
    assert padded.dtype == np.int32 and padded.shape == (4, 3)


def _key_froms(node):
    if isinstance(node, dict):
        if isinstance(node.get("target"), str) and node["target"].startswith("reference."):
            yield node["target"], node.get("kwargs") or {}
        for value in node.values():
            yield from _key_froms(value)
    elif isinstance(node, list):
        for value in node:
            yield from _key_froms(value)


TRIVIA_KEYS = [
    key
    for bank in sorted((REPO / "exercises" / "trivia").glob("*.yaml"))
    for key in _key_froms(yaml.safe_load(bank.read_text()))
]


@pytest.mark.parametrize(("target", "kwargs"), TRIVIA_KEYS, ids=[t for t, _ in TRIVIA_KEYS])
def test_trivia_computed_keys_resolve(runner, target, kwargs):
    assert runner.call(target, kwargs) is not None


def test_check_catalog_passes_on_the_bundled_answers(runner, tmp_path):
    for spec in SPECS[:: max(1, len(SPECS) // 8)]:  # a spread of exercises, with two variants each
        folder = tmp_path / spec.slug
        folder.mkdir()
        (folder / "exercise.yaml").write_bytes(
            (REPO / "exercises" / spec.slug / "exercise.yaml").read_bytes()
        )
    report = check_catalog(tmp_path, runner, variant_cap=2)
    assert report.ok, report.to_text()
    assert all(ex.values and ex.values[0].course_match for ex in report.exercises)


def test_tensorflow_and_keras_values_encode_without_pickling(runner):
    setup = (
        "def build():\n"
        "    return {\n"
        "        'ragged': tf.ragged.constant([[1], [2, 3]]),\n"
        "        'shape': tf.TensorShape([None, 3]),\n"
        "        'variable': tf.Variable([1.5, 2.5]),\n"
        "        'unbuilt': keras.Sequential([layers.Dense(1)]),\n"
        "        'symbolic': keras.Input(shape=(3,)),\n"
        "    }\n"
    )
    value = runner.evaluate("reference.answers", "build", setup=setup)
    assert value["ragged"] == [[1], [2, 3]]
    assert value["shape"] == (None, 3)
    np.testing.assert_array_equal(value["variable"], np.array([1.5, 2.5], dtype=np.float32))
    assert isinstance(value["unbuilt"], ModelSummary)
    assert value["unbuilt"].params is None and not value["unbuilt"].built
    assert "not built" in compare("param_count", 1, value["unbuilt"]).message
    assert type(value["symbolic"]).__name__ == "Opaque" and "KerasTensor" in value["symbolic"].type
