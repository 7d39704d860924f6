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
