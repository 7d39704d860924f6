"""The recorder (graders/notebook/record.py) without the sandbox: its kernel code runs here.

The kernel side is plain Python that a notebook cell defines, so these tests exec it in a
namespace standing in for the kernel's globals, call wrapped functions the way notebook cells
do, and read what dump() returns; then the trusted side turns those calls into checks.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest
import yaml

from graders import codec
from graders.notebook.importer import import_exercise, spec_yaml
from graders.notebook.record import (
    DUMP_NAME,
    EXTRA_NAME,
    MAX_ARG_BYTES,
    RECORDER_NAME,
    check_from_call,
    checks_from_calls,
    instrument,
    py_expr,
    setup_cell_source,
)
from graders.spec import ExerciseSpec


class Kernel:
    """A namespace that runs cells in order, as the kernel's user_ns does."""

    def __init__(self) -> None:
        self.ns: dict = {"__name__": "__main__", "np": np}
        self.run(setup_cell_source())

    def run(self, source: str) -> None:
        exec(compile(source, "<cell>", "exec"), self.ns)

    def define(self, source: str, *names: str) -> None:
        self.run(source)
        self.run(f"{RECORDER_NAME}['wrap'](globals(), {list(names)!r})")

    def dump(self) -> dict:
        return json.loads(self.ns[DUMP_NAME]())

    def uncalled(self) -> dict:
        return json.loads(self.ns[EXTRA_NAME]())


FUNCTIONS = """
def word_count(texts, lower=True):
    return [len(t.split()) for t in texts]

def total(counts):
    return float(np.sum(word_count_inner(counts)))

def word_count_inner(counts):
    return np.asarray(counts, dtype=float)

def describe(arr):
    return {"shape": list(arr.shape)}

def make_table():
    return {"a": 1}

class Opaque:
    pass
"""


@pytest.fixture()
def kernel() -> Kernel:
    k = Kernel()
    k.define(FUNCTIONS, "word_count", "total", "word_count_inner", "describe", "make_table")
    return k


def test_the_first_two_distinct_calls_are_kept_with_literal_arguments(kernel):
    kernel.run("a = word_count(['one two', 'three'])")
    kernel.run("b = word_count(['one two', 'three'])")  # the same call again: not a new check
    kernel.run("c = word_count(['x'], lower=False)")
    kernel.run("d = word_count(['y'])")  # a third distinct call: over the limit
    calls = [c for c in kernel.dump()["calls"] if c["function"] == "word_count"]
    assert [c["args"] for c in calls] == [
        [{"literal": ["one two", "three"]}],
        [{"literal": ["x"]}],
    ]
    assert calls[1]["kwargs"] == {"lower": {"literal": False}}
    assert calls[0]["kind"] == "exact" and calls[0]["type"] == "list"


def test_a_big_argument_becomes_the_global_that_holds_it(kernel):
    kernel.run("big = ['word ' * 20] * 2000\nn = word_count(big)")
    call = kernel.dump()["calls"][0]
    assert len(json.dumps(codec.encode(kernel.ns["big"]))) > MAX_ARG_BYTES
    assert call["args"] == [{"global": "big", "why": "size"}]


def test_an_object_no_literal_can_carry_is_found_as_a_global_or_skipped(kernel):
    kernel.run("thing = Opaque()\nkernel_only = describe(np.zeros((2, 3)))")
    kernel.run("r = word_count.__wrapped__(['a'])")  # the original: never recorded
    kernel.run("class Shaped:\n    shape = (4,)\n\ndescribe(Shaped())")  # no global: skipped
    kernel.run("shaped = Shaped()\ndescribe(shaped)")
    dumped = kernel.dump()
    calls = [c for c in dumped["calls"] if c["function"] == "describe"]
    assert calls[0]["args"][0]["literal"]["__ndarray__"] == [[0.0] * 3] * 2
    assert calls[1]["args"] == [{"global": "shaped", "why": "type"}]
    assert dumped["skipped"] == {"describe": 1}


def test_a_global_rebound_later_is_looked_up_again_at_the_end(kernel):
    kernel.run("data = ['w ' * 10] * 5000\nalias = data\nword_count(data)\ndata = None")
    assert kernel.dump()["calls"][0]["args"] == [{"global": "alias", "why": "size"}]
    kernel.run("alias = None")
    dumped = kernel.dump()
    assert dumped["calls"] == [] and dumped["dropped"] == ["word_count"]


def test_calls_made_inside_another_graded_function_are_not_recorded(kernel):
    kernel.run("t = total([1, 2, 3])")
    functions = [c["function"] for c in kernel.dump()["calls"]]
    assert functions == ["total"]


def test_the_result_kind_chooses_the_comparison(kernel):
    kernel.run("total([1.5])\nword_count_inner([1, 2])\ndescribe(np.ones(2))")
    kinds = {c["function"]: c["kind"] for c in kernel.dump()["calls"]}
    assert kinds == {"total": "allclose", "word_count_inner": "allclose", "describe": "exact"}


def test_course_objects_are_probed_with_texts_from_the_call():
    k = Kernel()
    k.define(
        "class TextVectorization:\n"
        "    def adapt(self, texts):\n        self.texts = texts\n"
        "    def get_vocabulary(self):\n        return ['', '[UNK]', 'cat', 'dog', 'sat']\n"
        "class StringLookup(TextVectorization):\n    pass\n"
        "def fit_lookup(ds):\n    return StringLookup()\n"
        "class DatasetV2:\n    pass\n"
        "class History:\n    pass\n"
        "def fit(texts):\n    v = TextVectorization()\n    v.adapt(texts)\n    return v\n"
        "def split(n):\n    return DatasetV2(), DatasetV2()\n",
        "fit",
        "split",
        "fit_lookup",
    )
    k.run("fit(['the cat sat', 'the cat sat', 'a dog', 'more', 'and more'])\nsplit(3)")
    k.run("stream = DatasetV2()\nfit(stream)\nfit_lookup(stream)")
    dumped = k.dump()["calls"]
    fits = [c for c in dumped if c["function"] == "fit"]
    assert [c["kind"] for c in fits] == ["probe", "probe"]
    assert fits[0]["texts"] == ["the cat sat", "a dog", "more"]  # distinct, from the call
    assert fits[1]["args"] == [{"global": "stream", "why": "type"}]
    assert fits[1]["texts"] == ["cat dog sat"]  # no text in the call: from the vocabulary
    calls = {c["function"]: c for c in dumped}
    assert calls["fit_lookup"]["texts"] == ["cat", "dog", "sat"]
    assert calls["split"]["kind"] == "probe" and "texts" not in calls["split"]


def test_wrapping_keeps_the_function_usable_and_signature_visible(kernel):
    import inspect

    wrapped = kernel.ns["word_count"]
    assert wrapped.__name__ == "word_count"
    assert list(inspect.signature(wrapped).parameters) == ["texts", "lower"]
    kernel.run(f"{RECORDER_NAME}['wrap'](globals(), ['word_count'])")
    assert kernel.ns["word_count"] is wrapped  # not wrapped twice


def test_an_error_in_the_function_is_raised_and_the_call_not_kept(kernel):
    with pytest.raises(AttributeError):
        kernel.run("word_count([1, 2])")
    assert kernel.dump()["calls"] == []


def test_functions_never_called_that_take_no_arguments_are_called_once(kernel):
    kernel.run("word_count(['a'])")
    extra = kernel.uncalled()["calls"]
    assert [(c["function"], c["kind"], c["called_by"]) for c in extra] == [
        ("make_table", "exact", "recorder")
    ]


# ---- trusted side: calls -> checks --------------------------------------------------------


def test_plain_literals_go_into_args_and_others_into_setup():
    call = {
        "function": "f",
        "args": [
            {"literal": ["a", 1, 2.5]},
            {"literal": codec.encode((1, 2))},
            {"literal": codec.encode(np.arange(6, dtype="int32").reshape(2, 3))},
            {"global": "train_ds"},
        ],
        "kwargs": {"gap": {"literal": codec.encode(float("nan"))}},
        "kind": "allclose",
    }
    check = check_from_call(call, 1)
    assert check["name"] == "f: as the notebook calls it (1)"
    assert check["args"] == [
        ["a", 1, 2.5],
        {"$var": "arg1"},
        {"$var": "arg2"},
        {"$global": "train_ds"},
    ]
    assert check["kwargs"] == {"gap": {"$var": "kwarg_gap"}}
    assert check["globals"] == ["train_ds"] and check["compare"] == "allclose"
    namespace: dict = {}
    exec(check["setup"], namespace)
    assert namespace["arg1"] == (1, 2)
    assert namespace["arg2"].dtype == np.int32 and namespace["arg2"].shape == (2, 3)
    assert np.isnan(namespace["kwarg_gap"])
    assert "train_ds" in check["hint"]
    ExerciseSpec.model_validate(_spec_with([check]))


def test_py_expr_rebuilds_values_exactly():
    values = [
        (1, "two", [3.0, None], {"k": (True,)}),
        {frozenset({1}), 2},
        set(),
        {1: "a", (2, 3): b"x"},
        np.array([], dtype="float32").reshape(0, 4),
        np.array(["a", "bc"]),
        float("-inf"),
    ]
    for value in values:
        rebuilt = eval(py_expr(value), {"np": np})
        if isinstance(value, np.ndarray):
            assert rebuilt.dtype == value.dtype and rebuilt.shape == value.shape
            assert (rebuilt == value).all()
        else:
            assert rebuilt == value and type(rebuilt) is type(value)


def test_probe_checks_carry_their_texts_and_checks_follow_the_function_order():
    calls = [
        {"function": "b", "args": [], "kwargs": {}, "kind": "exact"},
        {
            "function": "a",
            "args": [{"literal": ["x y"]}],
            "kwargs": {},
            "kind": "probe",
            "texts": ["x y"],
        },
        {"function": "a", "args": [{"literal": ["z"]}], "kwargs": {}, "kind": "probe"},
        {"function": "b", "args": [], "kwargs": {}, "kind": "nonsense", "called_by": "recorder"},
    ]
    checks = checks_from_calls(calls, ["a", "b"])
    assert [c["name"] for c in checks] == [
        "a: as the notebook calls it (1)",
        "a: as the notebook calls it (2)",
        "b: as the notebook calls it (1)",
        "b: with no arguments (2)",
    ]
    assert checks[0]["probe"] == {"texts": ["x y"]} and "probe" not in checks[1]
    assert checks[3]["compare"] == "exact"


def _spec_with(checks: list[dict]) -> dict:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("# GRADED FUNCTION: f\ndef f(x):\n    return x")]
    )
    imported = import_exercise("c3w1-recorded", nbformat.writes(nb).encode())
    spec = imported.spec
    spec["notebook"]["checks"] = checks
    return spec


def test_the_yaml_is_a_valid_spec_with_a_commented_hidden_example():
    check = check_from_call(
        {"function": "f", "args": [{"literal": [1, 2]}], "kwargs": {}, "kind": "exact"}, 1
    )
    text = spec_yaml(_spec_with([check]))
    data = yaml.safe_load(text)
    spec = ExerciseSpec.model_validate(data)
    assert spec.notebook.solution == "solution.ipynb" and spec.notebook.training == "skip"
    assert [c.visibility for c in spec.notebook.checks] == ["visible"]
    comment = text[text.index("# Add hidden checks") :]
    example = yaml.safe_load("\n".join(line[4:] for line in comment.splitlines()[2:]))
    assert example[0]["visibility"] == "hidden" and example[0]["function"] == "f"


def test_instrument_wraps_after_each_defining_cell_and_maps_cells_back():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# t"),
            nbformat.v4.new_code_cell("def f(x):\n    return x\ndef helper():\n    pass"),
            nbformat.v4.new_code_cell("y = f(1)"),
            nbformat.v4.new_code_cell("def f(x):\n    return x + 1"),
        ]
    )
    out, origin = instrument(nb, ["f"])
    assert origin == [None, 1, 2, None, 3, 4, None]
    assert out.cells[0].source == setup_cell_source()
    assert out.cells[3].source == f"{RECORDER_NAME}['wrap'](globals(), ['f'])"
    assert out.cells[6].source == out.cells[3].source


def test_a_whole_data_set_call_is_left_out_when_a_small_one_tests_the_function():
    small = {"function": "f", "args": [{"literal": [[1, 2]]}], "kwargs": {}, "kind": "exact"}
    corpus = {"function": "f", "args": [{"global": "corpus", "why": "size"}], "kwargs": {}}
    layer = {"function": "g", "args": [{"global": "vectorizer", "why": "type"}], "kwargs": {}}
    checks = checks_from_calls([corpus, small, layer, dict(layer, kind="probe")], ["f", "g"])
    assert [(c["function"], c["args"]) for c in checks] == [
        ("f", [[[1, 2]]]),
        ("g", [{"$global": "vectorizer"}]),
        ("g", [{"$global": "vectorizer"}]),
    ]
    only = checks_from_calls([corpus], ["f"])
    assert only[0]["args"] == [{"$global": "corpus"}]
