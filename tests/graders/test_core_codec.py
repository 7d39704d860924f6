"""graders.codec: tagged JSON that keeps tuples, arrays, dtypes and shapes, and never pickles."""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graders import codec
from graders.codec import ModelSummary, Opaque

CODEC_SOURCE = Path(codec.__file__).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**80,
        2.5,
        -0.0,
        "",
        "héllo\n",
        [1, [2, [3]]],
        (None, 120, 16),
        (),
        (1,),
        {"a": 1, "b": [1, 2]},
        {1: "one", (2, 3): "pair"},
        {"__tuple__": "not a tag", "x": 1},
        {1, 2, 3},
        b"\x00\xffbytes",
    ],
)
def test_plain_values_round_trip_exactly(value):
    back = codec.loads(codec.dumps(value))
    assert back == value
    assert type(back) is type(value)


def test_non_finite_floats_are_tagged_and_come_back():
    text = codec.dumps([math.nan, math.inf, -math.inf])
    assert "NaN" not in text and "Infinity" not in text
    nan, inf, ninf = codec.loads(text)
    assert math.isnan(nan) and inf == math.inf and ninf == -math.inf


def test_tuples_are_tagged_so_a_shape_stays_a_shape():
    assert codec.encode((None, 120, 16)) == {"__tuple__": [None, 120, 16]}
    assert codec.decode({"__tuple__": [None, 8, 32]}) == (None, 8, 32)


def test_dict_with_non_string_keys_becomes_pairs():
    encoded = codec.encode({1: "a", 2: "b"})
    assert encoded == {"__dict__": [[1, "a"], [2, "b"]]}


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype="int32").reshape(2, 3),
        np.array([[0.5, np.nan], [np.inf, -1.0]], dtype="float32"),
        np.zeros((0, 3)),
        np.array([True, False]),
        np.array(["dog", "manatee"]),
        np.array(7, dtype="int64"),
    ],
)
def test_arrays_keep_dtype_shape_and_values(array):
    encoded = codec.encode(array)
    assert encoded["dtype"] == str(array.dtype)
    assert encoded["shape"] == list(array.shape)
    back = codec.loads(codec.dumps(array))
    assert np.asarray(back).dtype == array.dtype
    assert np.asarray(back).shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_numpy_scalars_are_tagged_with_their_dtype():
    back = codec.loads(codec.dumps(np.float32(1.5)))
    assert back == 1.5 and back.dtype == np.float32
    assert codec.loads(codec.dumps(np.int64(171533))) == 171533


def test_model_summary_round_trips():
    summary = ModelSummary(
        171533, 171533, ("Embedding", "Flatten", "Dense", "Dense"), [None, 1], (160000, 0, 11526, 7)
    )
    encoded = codec.encode(summary)
    assert encoded["__keras_model__"]["params"] == 171533
    assert encoded["__keras_model__"]["output_shape"] == [None, 1]
    assert codec.loads(codec.dumps(summary)) == summary


class _Evil:
    def __reduce__(self):  # a pickle-based codec would call this
        raise AssertionError("the codec must never pickle")

    def __repr__(self) -> str:
        return "<evil " + "x" * 500 + ">"


def test_unknown_objects_become_a_short_repr_never_a_pickle():
    encoded = codec.encode(_Evil())
    assert set(encoded) == {"__repr__", "type"}
    assert len(encoded["__repr__"]) == codec.REPR_LIMIT
    assert encoded["type"].endswith("_Evil")
    back = codec.decode(encoded)
    assert isinstance(back, Opaque) and back.repr.startswith("<evil")


def test_self_referencing_values_are_refused():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="itself"):
        codec.dumps(loop)


def test_deep_nesting_is_refused_both_ways():
    deep: list = []
    for _ in range(codec.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError, match="deeper"):
        codec.encode(deep)
    with pytest.raises(ValueError):
        codec.loads("[" * 100_000 + "]" * 100_000)


def test_size_limit_is_enforced_before_and_after_encoding():
    with pytest.raises(ValueError, match="too large"):
        codec.dumps(np.zeros(1_000_000), max_bytes=10_000)
    with pytest.raises(ValueError, match="too large"):
        codec.dumps("x" * 5000, max_bytes=1000)
    with pytest.raises(ValueError):
        codec.loads("[" + "1," * 1000 + "1]", max_bytes=100)
    assert codec.loads(codec.dumps([1, 2, 3], max_bytes=100)) == [1, 2, 3]


@pytest.mark.parametrize(
    "text",
    [
        '{"__float__": "lots"}',
        '{"__tuple__": 3}',
        '{"__dict__": [[1]]}',
        '{"__ndarray__": [1, 2], "dtype": "int8", "shape": [5]}',
    ],
)
def test_malformed_tags_raise_value_error(text):
    with pytest.raises(ValueError):
        codec.loads(text)


def test_output_is_strict_json():
    text = codec.dumps({"a": (1, 2.5, None), "b": np.arange(3)})
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard constant {c}"))


def test_module_is_self_contained_for_injection_into_a_kernel():
    tree = ast.parse(CODEC_SOURCE)
    top_imports = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_imports.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            top_imports.add((node.module or "").split(".")[0])
    assert top_imports <= set(sys.stdlib_module_names) | {"__future__"}
    namespace: dict = {"__name__": "injected_codec"}
    exec(compile(CODEC_SOURCE, "<injected codec>", "exec"), namespace)
    assert (
        namespace["dumps"]((1, np.int32(2)))
        == '{"__tuple__":[1,{"__ndarray__":2,"dtype":"int32","shape":[]}]}'
    )


json_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
)
values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
        | st.dictionaries(st.integers(), children, max_size=3)
    ),
    max_leaves=25,
)


def _same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@given(values)
def test_any_nested_value_round_trips(value):
    assert _same(codec.loads(codec.dumps(value)), value)


# --- probes ------------------------------------------------------------------------------


def test_probe_round_trips_as_a_tagged_dict():
    value = (codec.Probe(kind="Dataset", cardinality=3, element_spec=["int32 (None, 2)"]), 7)
    encoded = codec.encode(value)
    assert encoded["__tuple__"][0] == {
        "__probe__": {"kind": "Dataset", "cardinality": 3, "element_spec": ["int32 (None, 2)"]}
    }
    back = codec.loads(codec.dumps(value))
    assert isinstance(back[0], codec.Probe) and back[0].kind == "Dataset"
    assert back == value


@pytest.mark.parametrize("body", ['{"__probe__": [1]}', '{"__probe__": {"__tuple__": [1]}}'])
def test_malformed_probe_tags_raise_value_error(body):
    with pytest.raises(ValueError, match="__probe__"):
        codec.loads(body)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"kk": 1}, "unknown probe option 'kk'"),
        ({"k": -1}, "between 0 and 1000"),
        ({"k": 2.5}, "whole number"),
        ({"texts": "one text"}, "list"),
        ({"texts": [b"x"]}, "strings"),
        ({"texts": ["a"], "inputs": ["b"]}, "one of"),
        ({"input_shape": [0]}, "positive"),
        ({"seconds": 1000}, "between 1 and 120"),
        ([1], "mapping"),
    ],
)
def test_probe_options_are_checked_with_a_message_that_names_them(options, problem):
    with pytest.raises(ValueError, match=problem):
        codec.probe_options(options)


def test_probe_options_in_a_spec_fail_spec_validation():
    from pydantic import ValidationError

    from graders.spec import CheckSpec

    assert CheckSpec(name="a", function="f", compare="probe", probe={"k": 3}).probe == {"k": 3}
    with pytest.raises(ValidationError, match="unknown probe option"):
        CheckSpec(name="a", function="f", compare="probe", probe={"text": ["x"]})


def test_plain_values_are_probed_as_length_head_and_digest():
    sentences = [f"sentence number {i}" for i in range(100)]
    got = codec.probe((sentences, np.arange(100, dtype="int32")), {"head": 3})
    assert got["kind"] == "list" and got["length"] == 2  # no course object inside: one summary
    listed = codec.probe(sentences, {"head": 3})
    assert listed["length"] == 100 and listed["head"] == sentences[:3]
    changed = codec.probe([*sentences[:-1], "another"], {"head": 3})
    assert changed["head"] == listed["head"] and changed["digest"] != listed["digest"]
    array = codec.probe(np.arange(12, dtype="int64").reshape(4, 3), {"head": 2})
    assert array["dtype"] == "int64" and array["shape"] == [4, 3]
    assert array["head"] == [[0, 1, 2], [3, 4, 5]] and array["digest"]
    floats = codec.probe(np.full((5, 2), 0.5))
    assert floats["mean"] == 0.5 and floats["abs_mean"] == 0.5 and "digest" not in floats
    assert codec.probe(None) is None and codec.probe("text") == "text"
    assert codec.probe(_Evil()) == {"kind": "object", "type": _qualname(_Evil())}


def _qualname(value) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def test_probes_are_bounded_in_size_and_say_what_was_cut():
    huge = np.zeros((1000, 1000), dtype="int32")
    got = codec.probe(huge, {"head": 100})
    assert got["truncated"] == ["head"]
    assert sum(len(row) for row in got["head"]) == codec.PROBE_LEAVES
    long = codec.probe(["x" * 10_000])
    assert len(long["head"][0]) == codec.PROBE_TEXT and long["truncated"] == ["head"]
    assert len(codec.dumps(got)) < 200_000


@pytest.mark.slow
def test_probes_read_real_tensorflow_objects():
    import keras
    import tensorflow as tf

    vectorizer = tf.keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorizer.adapt(["the cat sat", "the dog ran"])
    got = codec.probe(vectorizer, {"texts": ["the cat", "a bird"], "k": 3})
    assert got["kind"] == "TextVectorization"
    assert got["vocabulary_size"] == 7 and got["vocabulary_head"] == ["", "[UNK]", "the"]
    assert got["max_tokens"] == 20 and got["output_sequence_length"] == 4
    cat = vectorizer.get_vocabulary().index("cat")
    assert got["outputs"] == [[2, cat, 0, 0], [1, 1, 0, 0]]

    lookup = tf.keras.layers.StringLookup(num_oov_indices=1)
    lookup.adapt(["sport", "tech", "sport"])
    got = codec.probe(lookup, {"texts": ["tech", "business"]})
    assert got["vocabulary_head"] == ["[UNK]", "sport", "tech"] and got["outputs"] == [2, 0]
    assert got["num_oov_indices"] == 1 and got["mask_token"] is None

    tokenizer = tf.keras.preprocessing.text.Tokenizer(num_words=10, oov_token="<OOV>")
    tokenizer.fit_on_texts(["I love my dog", "I love my cat"])
    got = codec.probe(tokenizer, {"texts": ["my dog loves manatees"]})
    assert got["vocabulary_size"] == 6 and got["vocabulary_head"][:2] == ["<OOV>", "i"]
    assert got["oov_token"] == "<OOV>" and got["outputs"] == [[4, 5, 1, 1]]

    features = np.arange(10).reshape(5, 2)
    dataset = tf.data.Dataset.from_tensor_slices((features, ["a", "b", "c", "d", "e"])).batch(2)
    got = codec.probe((dataset, dataset.repeat()))
    assert isinstance(got, tuple) and len(got) == 2
    assert got[0]["element_spec"] == ["int64 (None, 2)", "string (None,)"]
    assert got[0]["cardinality"] == 3 and got[1]["cardinality"] == "infinite"
    assert got[0]["elements"] == [[[[0, 1], [2, 3]], ["a", "b"]], [[[4, 5], [6, 7]], ["c", "d"]]]
    assert got[0]["shapes"] == [[[2, 2], [2]], [[2, 2], [2]]]

    model = keras.Sequential(
        [
            keras.layers.Embedding(100, 8),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1),
        ]
    )
    assert "params" not in codec.probe(model) and not codec.probe(model)["built"]
    model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer="adam")
    got = codec.probe(model, {"input_shape": [10]})
    assert got["layers"] == ["Embedding", "GlobalAveragePooling1D", "Dense"]
    assert got["params"] == 809 and got["trainable_params"] == 809
    assert got["non_trainable_params"] == 0 and got["output_shape"] == [None, 1]
    assert got["loss"] == "binary_crossentropy" and got["optimizer"] == "Adam"

    history = model.fit(np.zeros((4, 10)), np.zeros(4), epochs=2, verbose=0)
    got = codec.probe(history)
    assert got["keys"] == ["loss"] and got["epochs"] == 2 and isinstance(got["last"]["loss"], float)
    assert codec.loads(codec.dumps(got)) == got


@pytest.mark.slow
def test_unbuilt_course_era_models_are_built_with_their_input_length():
    import keras

    def course_model():
        model = keras.Sequential(
            [keras.layers.Embedding(1000, 16), keras.layers.Flatten(), keras.layers.Dense(6)]
        )
        model.layers[0]._adventures_input_length = 120  # what the kernel shim keeps
        return model

    probed = codec.probe(course_model())
    assert probed["built"] and probed["params"] == 16000 + 120 * 16 * 6 + 6
    assert probed["output_shape"] == [None, 6]
    summary = codec.summarize_model(course_model())  # compare "model" sees a built model too
    assert summary.built and summary.params == probed["params"]


@pytest.mark.slow
def test_a_failing_field_is_reported_and_the_others_still_read():
    import tensorflow as tf

    class Broken(tf.keras.layers.TextVectorization):
        def get_vocabulary(self, include_special_tokens=True):
            raise RuntimeError("no vocabulary today")

    layer = Broken(max_tokens=5)
    layer.adapt(["a b c"])
    got = codec.probe(layer, {"texts": ["a"]})
    assert got["errors"] == {
        "vocabulary_head": "could not read vocabulary_head: RuntimeError: no vocabulary today"
    }
    assert got["vocabulary_size"] == 5 and got["max_tokens"] == 5 and "outputs" in got


@pytest.mark.slow
def test_the_injected_codec_probes_with_its_own_builtins():
    import builtins

    import tensorflow as tf

    namespace: dict = {"__name__": "injected_codec", "__builtins__": dict(vars(builtins))}
    exec(compile(CODEC_SOURCE, "<injected codec>", "exec"), namespace)
    dataset = tf.data.Dataset.range(5).batch(2)
    encoded = namespace["encode"](namespace["probe"](dataset, {"k": 1}))
    back = codec.decode(json.loads(json.dumps(encoded)))
    assert isinstance(back, codec.Probe)  # the trusted side's class, from the tag
    assert back == {
        "kind": "Dataset",
        "element_spec": "int64 (None,)",
        "cardinality": 3,
        "shapes": [[2]],
        "elements": [[0, 1]],
    }
