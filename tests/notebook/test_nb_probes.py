"""Probes end to end: course objects read inside the sandbox, compared outside it.

The fast tests drive zygote.make_harness in this process (a fake shell, the codec
loaded from its source as the kernel loads it); the slow ones grade small notebooks
in the real sandbox against a reference module and against values probed here.
"""

from __future__ import annotations

import builtins
import json
import textwrap
from pathlib import Path

import pytest

from graders import codec
from graders.notebook.harness import calls_payload, harness_source, new_nonce, parse_results
from graders.notebook.zygote import make_harness
from graders.spec import CheckSpec, ExerciseSpec
from tests.notebook.conftest import run_check_cell

CODEC_SOURCE = Path(codec.__file__).read_text(encoding="utf-8")


class _Shell:
    def __init__(self, user_ns: dict) -> None:
        self.user_ns = user_ns


def _codec_namespace() -> dict:
    namespace = {"__name__": "_adventures_codec", "__builtins__": dict(vars(builtins))}
    exec(compile(CODEC_SOURCE, "<codec>", "exec"), namespace)  # as zygote._load_codec
    return namespace


def _run_harness(tmp_path, user_ns, checks, **kwargs) -> tuple[bytes, str]:
    path = tmp_path / "result.jsonl"
    path.touch()
    harness = make_harness(_Shell(user_ns), _codec_namespace(), str(path), 0, 1 << 20, **kwargs)
    nonce = new_nonce()
    run_check_cell(harness, harness_source(nonce, checks))
    return path.read_bytes(), nonce


def test_globals_resolve_in_the_members_namespace(tmp_path):
    user_ns = {"numbers": [3, 1, 2], "biggest": max}
    checks = [
        CheckSpec(name="ok", function="biggest", args=[{"$global": "numbers"}]),
        CheckSpec(name="missing", function="biggest", args=[{"$global": "labels"}]),
    ]
    raw, nonce = _run_harness(tmp_path, user_ns, checks)
    out = parse_results(raw, nonce, {"ok", "missing"}, max_value_bytes=10_000)
    assert out["ok"].value == 3
    assert not out["missing"].ok and out["missing"].stage == "lookup"
    assert out["missing"].error_type == "NameError"
    assert "name 'labels' is not defined" in out["missing"].message


def test_probed_checks_come_back_as_probes(tmp_path):
    user_ns = {"split": lambda text: (text.split(), list(range(50)))}
    checks = [
        CheckSpec(name="p", function="split", args=["a b c"], compare="probe", probe={"head": 2})
    ]
    raw, nonce = _run_harness(tmp_path, user_ns, checks)
    value = parse_results(raw, nonce, {"p"}, max_value_bytes=10_000)["p"].value
    assert isinstance(value, codec.Probe)
    assert value["kind"] == "list" and value["head"] == [["a", "b", "c"], list(range(50))]


def test_kernel_notes_are_written_once_after_the_checks(tmp_path):
    notes = ["input_length is deprecated: " + "x" * 400, 7, "predict_classes ran as argmax"]
    checks = [CheckSpec(name="a", function="f")]
    raw, nonce = _run_harness(tmp_path, {"f": lambda: 1}, checks, notes=lambda: notes)
    lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
    assert [line["check"] for line in lines] == ["a", "__notes__"]
    assert lines[1]["nonce"] == nonce
    assert lines[1]["notes"] == [notes[0][:300], "predict_classes ran as argmax"]


def test_no_notes_provider_writes_no_notes_line(tmp_path, monkeypatch):
    monkeypatch.delattr(builtins, "__adventures_notes__", raising=False)
    raw, _ = _run_harness(tmp_path, {"f": lambda: 1}, [CheckSpec(name="a", function="f")])
    assert b"__notes__" not in raw


def test_the_builtin_notes_provider_is_captured_when_the_harness_is_made(tmp_path, monkeypatch):
    monkeypatch.setattr(builtins, "__adventures_notes__", lambda: ["kept"], raising=False)
    raw, _ = _run_harness(tmp_path, {"f": lambda: 1}, [CheckSpec(name="a", function="f")])
    assert b'"notes":["kept"]' in raw


def test_only_probed_checks_carry_their_checked_options():
    checks = [
        CheckSpec(name="plain", function="f"),
        CheckSpec(name="probed", function="f", compare="probe"),
        CheckSpec(name="k", function="f", compare="probe", probe={"k": 5, "texts": ["a"]}),
    ]
    payload = json.loads(calls_payload(checks))
    assert ["probe" in call for call in payload] == [False, True, True]
    assert payload[1]["probe"] == {} and payload[2]["probe"] == {"k": 5, "texts": ["a"]}


def test_a_reference_module_cannot_read_the_members_globals():
    from graders.reference_worker import _substitute

    with pytest.raises(NameError, match="a reference module does not have"):
        _substitute([{"$global": "train_sentences"}], {})


# --- in the sandbox ----------------------------------------------------------------------

SLUG = "probe-course-objects"

COMMON = """
import numpy as np
import tensorflow as tf
from tensorflow import keras

SENTENCES = ["the cat sat on the mat", "the dog ate my homework", "a bird sang",
             "my cat likes the dog", "the mat is red"]
LABELS = [0, 1, 0, 1, 0]

def fit_vectorizer(sentences, max_length):
    vectorizer = tf.keras.layers.TextVectorization(max_tokens=50,
                                                   output_sequence_length=max_length)
    vectorizer.adapt(sentences)
    return vectorizer

def fit_tokenizer(sentences):
    tokenizer = tf.keras.preprocessing.text.Tokenizer(num_words=20, oov_token="<OOV>")
    tokenizer.fit_on_texts(sentences)
    return tokenizer

def label_lookup(labels):
    lookup = tf.keras.layers.StringLookup(num_oov_indices=0)
    lookup.adapt(labels)
    return lookup

def make_datasets(sentences, labels):
    ds = tf.data.Dataset.from_tensor_slices((sentences, labels))
    return ds.take(3).batch(2), ds.skip(3).batch(2)

def train(max_length):
    model = create_model(30, max_length)
    x = np.zeros((4, max_length), dtype="int32")
    return model.fit(x, np.zeros(4), epochs=2, verbose=0)
"""

REFERENCE = (
    COMMON
    + """
def create_model(vocab_size, max_length):
    model = keras.Sequential([
        keras.Input(shape=(max_length,)),
        keras.layers.Embedding(vocab_size, 8),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model
"""
)

# Course-era code: input_length leaves a Keras 3 Sequential unbuilt. The kernel shim marks
# the Embedding with _adventures_input_length; this notebook does it itself, so the test
# covers the probe's side of that contract whether or not the shim is installed.
MEMBER_MODEL = """
def create_model(vocab_size, max_length):
    embedding = keras.layers.Embedding(vocab_size, 8)
    embedding._adventures_input_length = max_length
    model = keras.Sequential([
        embedding,
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.Adam(),
                  metrics=["accuracy"])
    return model
"""

CHECKS = [
    {
        "name": "vectorizer",
        "function": "fit_vectorizer",
        "args": [["the cat sat on the mat", "the dog ate my homework", "my cat"], 6],
        "compare": "probe",
        "probe": {"texts": ["the cat", "an unseen bird"], "k": 10},
    },
    {
        "name": "tokenizer",
        "function": "fit_tokenizer",
        "args": [["I love my dog", "I love my cat", "you love my dog!"]],
        "compare": "probe",
        "probe": {"texts": ["my dog loves manatees"]},
    },
    {
        "name": "labels",
        "function": "label_lookup",
        "args": [["sport", "tech", "sport", "business"]],
        "compare": "probe",
        "probe": {"texts": ["tech", "sport"]},
    },
    {
        "name": "datasets",
        "function": "make_datasets",
        "args": [["a b", "c d", "e f", "g h", "i j"], [0, 1, 0, 1, 1]],
        "compare": "probe",
    },
    {
        "name": "model",
        "function": "create_model",
        "args": [30, 6],
        "compare": "probe",
    },
    {
        "name": "history",
        "function": "train",
        "args": [6],
        "compare": "probe",
        "probe": {"fields": ["keys", "epochs"]},
    },
]


def _spec(checks: list[dict], reference: str = "probe_course") -> ExerciseSpec:
    return ExerciseSpec.model_validate(
        {
            "slug": SLUG,
            "title": "Probes of course objects",
            "kind": "notebook",
            "week": 1,
            "points": 1,
            "prompt": "Return the course's objects.",
            "notebook": {"reference": reference, "checks": checks, "time_limit": 120},
        }
    )


@pytest.fixture(scope="module")
def probe_runner(tmp_path_factory):
    from graders.reference import ReferenceRunner

    root = tmp_path_factory.mktemp("probe-reference")
    (root / "reference").mkdir()
    (root / "reference" / "__init__.py").write_text("")
    (root / "reference" / "probe_course.py").write_text(REFERENCE)
    with ReferenceRunner(root) as runner:
        yield runner


def _grade(spec, folder, source, sandbox_pool, **kwargs):
    from graders.notebook import grade_notebook

    from .conftest import notebook

    folder.mkdir(exist_ok=True)
    return grade_notebook(spec, folder, notebook(source), pool=sandbox_pool, **kwargs)


def _outputs(result) -> dict[str, str]:
    return {t.name: t.output for t in result.tests}


@pytest.mark.slow
def test_course_objects_are_probed_on_both_sides_and_a_correct_notebook_passes(
    probe_runner, sandbox_pool, tmp_path
):
    member = COMMON + MEMBER_MODEL
    result = _grade(_spec(CHECKS), tmp_path / SLUG, member, sandbox_pool, runner=probe_runner)
    assert result.status == "graded", result.error
    assert result.full_marks, "\n".join(f"{k}: {v}" for k, v in _outputs(result).items())


@pytest.mark.slow
def test_a_wrong_object_gets_a_message_that_names_the_field(probe_runner, sandbox_pool, tmp_path):
    member = (
        (COMMON + MEMBER_MODEL)
        .replace("max_tokens=50", "max_tokens=5")
        .replace("ds.take(3).batch(2)", "ds.take(2).batch(2)")
    )
    member = member.replace("embedding._adventures_input_length = max_length", "pass")
    result = _grade(_spec(CHECKS), tmp_path / SLUG, member, sandbox_pool, runner=probe_runner)
    assert result.status == "graded", result.error
    out = _outputs(result)
    assert "The TextVectorization layer differs: vocabulary_size: expected " in out["vectorizer"]
    assert "got 5" in out["vectorizer"] and "max_tokens: expected 50, got 5" in out["vectorizer"]
    assert "value 1: cardinality: expected 2, got 1" in out["datasets"]
    assert "could not read output_shape, params" in out["model"]
    assert "the model is not built" in out["model"]
    scores = {t.name: t.score for t in result.tests}
    assert scores["tokenizer"] == scores["labels"] == scores["history"] > 0
    assert scores["vectorizer"] == scores["datasets"] == scores["model"] == 0


@pytest.mark.slow
def test_globals_read_the_members_variables_and_compare_with_values_probed_here(
    sandbox_pool, tmp_path
):
    """Reference values from a solution are probes too; here they are probed in this process."""
    checks = [
        {
            "name": "vectorizer",
            "function": "fit_vectorizer",
            "args": [{"$global": "SENTENCES"}, 5],
            "globals": ["SENTENCES"],
            "compare": "probe",
            "probe": {"texts": ["the red cat"]},
        },
        {
            "name": "datasets",
            "function": "make_datasets",
            "args": [{"$global": "SENTENCES"}, {"$global": "LABELS"}],
            "globals": ["SENTENCES", "LABELS"],
            "compare": "probe",
            "visibility": "hidden",
        },
        {
            "name": "missing",
            "function": "make_datasets",
            "args": [{"$global": "TEST_SENTENCES"}, {"$global": "LABELS"}],
            "globals": ["TEST_SENTENCES", "LABELS"],
            "compare": "probe",
        },
    ]
    spec = _spec(checks, "unused")  # every value is given: no reference module runs
    here: dict = {}
    exec(textwrap.dedent(COMMON), here)  # noqa: S102 - the test's own code
    expected = {
        "vectorizer": codec.probe(here["fit_vectorizer"](here["SENTENCES"], 5), checks[0]["probe"]),
        "datasets": codec.probe(here["make_datasets"](here["SENTENCES"], here["LABELS"]), {}),
        "missing": None,
    }
    expected = json.loads(json.dumps(codec.encode(expected)))  # as a solution run would store them
    expected = codec.decode(expected)
    result = _grade(
        spec, tmp_path / SLUG, COMMON + MEMBER_MODEL, sandbox_pool, reference_values=expected
    )
    out = _outputs(result)
    scores = {t.name: t.score for t in result.tests}
    assert scores["vectorizer"] > 0 and scores["datasets"] > 0, out
    assert scores["missing"] == 0
    assert "name 'TEST_SENTENCES' is not defined" in out["missing"]

    wrong = (COMMON + MEMBER_MODEL).replace('"a bird sang",', '"a bird sang loudly",')
    result = _grade(spec, tmp_path / SLUG, wrong, sandbox_pool, reference_values=expected)
    out = _outputs(result)
    assert "vocabulary_size: expected " in out["vectorizer"]
    assert "Not the expected result (a hidden check shows no values)" in out["datasets"]
    assert "'a bird sang'" not in out["datasets"]
