"""graders.answers: typed answers are parsed, never evaluated, and bad ones say what is expected."""

from __future__ import annotations

import json
import math
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.answers import MAX_ANSWER_BYTES, MAX_DEPTH, AnswerFormatError, parse_answer
from graders.spec import Compare

KINDS = typing.get_args(Compare)


@pytest.mark.parametrize(
    "text",
    ["171533", "171,533", "171_533", "171 533", " 171533 ", "171\u202f533", "171533.0", "+171533"],
)
def test_integers_written_the_way_people_write_them(text):
    assert parse_answer(text, "int") == 171533


@pytest.mark.parametrize(
    "text", ["171.5", "about 171533", "1.7e5", "0x29e0d", "", "   ", "171533 params"]
)
def test_bad_integers_say_what_a_whole_number_looks_like(text):
    with pytest.raises(AnswerFormatError, match="whole number|empty"):
        parse_answer(text, "int")


def test_param_count_also_reads_a_pasted_summary():
    summary = (
        'Model: "sequential"\n'
        "Total params: 6,101,671 (23.28 MB)\n"
        "Trainable params: 6,101,671 (23.28 MB)\n"
        "Non-trainable params: 0 (0.00 B)\n"
    )
    assert parse_answer(summary, "param_count") == 6101671
    assert parse_answer("Total params:\t13,872,949", "param_count") == 13872949
    assert parse_answer("598_209", "param_count") == 598209


@pytest.mark.parametrize(
    ("text", "value"),
    [("4", 4.0), ("2.5820", 2.582), ("1.5e-3", 0.0015), (".5", 0.5), ("1,234.5", 1234.5)],
)
def test_floats(text, value):
    assert parse_answer(text, "float") == value


@pytest.mark.parametrize("text", ["nan", "inf", "1e999", "four", "2,58"])
def test_bad_floats(text):
    with pytest.raises(AnswerFormatError):
        parse_answer(text, "float")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("(None, 120, 16)", (None, 120, 16)),
        ("None, 120, 16", (None, 120, 16)),
        ("[32, 10, 64]", (32, 10, 64)),
        ("(1920,)", (1920,)),
        ("1920", (1920,)),
        ("TensorShape([4, 8, 32])", (4, 8, 32)),
        ("(null, 1)", (None, 1)),
        ("()", ()),
    ],
)
def test_shapes(text, value):
    assert parse_answer(text, "shape") == value


@pytest.mark.parametrize(
    "text", ["(None, -1)", "(2.5, 3)", "('a', 3)", "(True, 2)", "{2: 4}", "(2, [3])"]
)
def test_bad_shapes(text):
    with pytest.raises(AnswerFormatError, match="shape"):
        parse_answer(text, "shape")


def test_python_and_json_dicts():
    python = "{'i': 1, 'love': 2, \"my\": 3,}"
    assert parse_answer(python, "dict") == {"i": 1, "love": 2, "my": 3}
    assert parse_answer('{"<OOV>": 1, "my": 2}', "dict") == {"<OOV>": 1, "my": 2}
    with pytest.raises(AnswerFormatError, match="dict"):
        parse_answer("[1, 2]", "dict")
    with pytest.raises(AnswerFormatError, match="','"):
        parse_answer("{'a': 1 'b': 2}", "dict")
    with pytest.raises(AnswerFormatError, match="dict key"):
        parse_answer("{[1]: 2}", "dict")


def test_literals_cover_none_null_booleans_tuples_sets_and_escapes():
    assert parse_answer("[None, null, True, true, False, false]", "exact") == [
        None,
        None,
        True,
        True,
        False,
        False,
    ]
    assert parse_answer("(1,)", "exact") == (1,)
    assert parse_answer("(1)", "exact") == 1
    assert parse_answer("((1, 2), [3])", "exact") == ((1, 2), [3])
    assert parse_answer("{1, 2, 2}", "set") == {1, 2}
    assert parse_answer(r"'it\'s \u00e9\n'", "exact") == "it's é\n"
    assert parse_answer("[1_000, -2.5e3]", "exact") == [1000, -2500.0]


def test_exact_takes_bare_words_as_text_but_not_broken_literals():
    assert parse_answer("i really love my dog", "exact") == "i really love my dog"
    with pytest.raises(AnswerFormatError, match="at the end"):
        parse_answer("[[1, 2], [3", "exact")


def test_arrays_as_numpy_prints_them():
    printed = "[[ 0  0  0  5  3  2  4]\n [ 0  0  0  5  3  2  7]\n [ 8  6  9  2  4 10 11]]"
    assert parse_answer(printed, "allclose") == [
        [0, 0, 0, 5, 3, 2, 4],
        [0, 0, 0, 5, 3, 2, 7],
        [8, 6, 9, 2, 4, 10, 11],
    ]
    assert parse_answer("array([[1, 2],\n       [3, 4]], dtype=int32)", "allclose") == [
        [1, 2],
        [3, 4],
    ]
    assert parse_answer("[0.5 -1.  2.5e-1]", "allclose") == [0.5, -1.0, 0.25]
    with pytest.raises(AnswerFormatError, match="numbers"):
        parse_answer("[[1, 'a']]", "allclose")
    with pytest.raises(AnswerFormatError):
        parse_answer("[1 2 3]", "exact")  # whitespace lists only where arrays are expected


def test_text_is_kept_as_typed_apart_from_surrounding_space():
    assert parse_answer("  Help me, Obi-Wan!  ", "text") == "Help me, Obi-Wan!"


def test_code_is_never_evaluated():
    for attack in [
        "__import__('os').system('true')",
        "(lambda: 1)()",
        "[x for x in ()]",
        "open('/etc/passwd')",
    ]:
        for kind in ("exact", "dict", "allclose", "shape", "set"):
            try:
                value = parse_answer(attack, kind)
            except AnswerFormatError:
                continue
            assert value == attack  # 'exact' keeps unreadable words as plain text


def test_limits_on_size_depth_and_number_length():
    with pytest.raises(AnswerFormatError, match="KB"):
        parse_answer("[" + "1," * MAX_ANSWER_BYTES + "1]", "exact")
    with pytest.raises(AnswerFormatError, match="nested"):
        parse_answer("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2), "exact")
    assert parse_answer("[" * MAX_DEPTH + "]" * MAX_DEPTH, "exact") is not None
    with pytest.raises(AnswerFormatError, match="long"):
        parse_answer("9" * 5000, "exact")
    with pytest.raises(AnswerFormatError, match="longer"):
        parse_answer("9" * 5000, "int")


def test_non_text_answers_are_rejected():
    with pytest.raises(AnswerFormatError, match="text"):
        parse_answer(171533, "int")  # type: ignore[arg-type]


@settings(max_examples=300)
@given(text=st.text(max_size=200), kind=st.sampled_from(KINDS))
def test_arbitrary_text_only_ever_raises_answer_format_error(text, kind):
    try:
        parse_answer(text, kind)
    except AnswerFormatError as exc:
        assert str(exc)


ALPHABET = st.sampled_from(list("[](){},:'\"0123456789 .-+eE_NnulTtrFfaseyx\\\n"))


@settings(max_examples=300)
@given(text=st.text(ALPHABET, max_size=80), kind=st.sampled_from(KINDS))
def test_literal_like_garbage_only_ever_raises_answer_format_error(text, kind):
    try:
        parse_answer(text, kind)
    except AnswerFormatError:
        pass


leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
literals = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=6) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@given(literals)
def test_python_reprs_parse_back_to_the_same_value(value):
    assert _same(
        parse_answer(repr(value), "exact")
        if not isinstance(value, str) or value.strip()
        else value,
        value,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_json_parses_back_to_the_same_value(value):
    text = json.dumps(value)
    if isinstance(value, str):
        assert parse_answer(text, "exact") == value
    else:
        assert _same(parse_answer(text, "exact"), value)
