"""check_answer for every kind: keys, partial credit, normalisation, shapes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graders.trivia import (
    AnswerShapeError,
    KeyNotResolvedError,
    Question,
    Verdict,
    check_answer,
    normalise_text,
    parse_number,
)


def q(**data) -> Question:
    return Question.model_validate({"id": "q", "text": "?", **data})


SINGLE = q(
    kind="single",
    choices=[
        {"id": "a", "text": "x"},
        {"id": "b", "text": "y", "correct": True},
        {"id": "c", "text": "z"},
    ],
)
TRUEFALSE = q(kind="truefalse", answer=True)
# Three correct (a, b, c) out of six.
MULTI = q(
    kind="multi",
    choices=[{"id": c, "text": c.upper(), "correct": c in "abc"} for c in "abcdef"],
)
TYPE = q(kind="type", accepted=["<OOV>", "pad_sequences"], alternatives=["don't panic", "Ünïcode"])
NUMERIC = q(kind="numeric", value=171533)
FLOATY = q(kind="numeric", value=4.0, tolerance=0.01)


def test_single_by_choice_id():
    assert check_answer(SINGLE, "b") == Verdict(True, 1.0)
    assert check_answer(SINGLE, "a") == Verdict(False, 0.0)


def test_truefalse_by_choice_id_or_bool():
    assert check_answer(TRUEFALSE, "true") == Verdict(True, 1.0)
    assert check_answer(TRUEFALSE, "false") == Verdict(False, 0.0)
    assert check_answer(TRUEFALSE, True).correct and not check_answer(TRUEFALSE, False).correct


@pytest.mark.parametrize(
    ("picked", "correct", "fraction"),
    [
        (["a", "b", "c"], True, 1.0),
        (["c", "a", "b"], True, 1.0),
        (["a", "b"], False, 2 / 3),
        (["a"], False, 1 / 3),
        (["a", "b", "c", "d"], False, 2 / 3),  # one wrong pick cancels one right pick
        (["a", "d"], False, 0.0),
        (["a", "d", "e"], False, 0.0),  # floored at 0, never negative
        (["d", "e", "f"], False, 0.0),
        ([], False, 0.0),
        (("a", "b", "c"), True, 1.0),
        (["a", "a", "b"], False, 2 / 3),  # repeats count once
    ],
)
def test_multi_partial_credit(picked, correct, fraction):
    verdict = check_answer(MULTI, picked)
    assert verdict.correct is correct
    assert verdict.fraction == pytest.approx(fraction)


@pytest.mark.parametrize(
    "answer",
    [
        "<OOV>",
        "oov",
        "  OOV ",
        "<oov>!",
        "pad_sequences",
        "Pad Sequences",
        "pad-sequences",
        "PAD   SEQUENCES",
        "dont panic",
        "Don’t panic!",
        "ünïcode",
        "ÜNÏCODE",
        "ＯＯＶ",
    ],
)
def test_type_answers_are_normalised(answer):
    assert check_answer(TYPE, answer) == Verdict(True, 1.0)


@pytest.mark.parametrize(
    "answer", ["", "   ", "oovv", "padsequences", "pad sequence", "unicode", "!!!"]
)
def test_type_wrong_answers(answer):
    assert check_answer(TYPE, answer) == Verdict(False, 0.0)


def test_normalise_text_rules():
    assert normalise_text("  Hello,   WORLD!  ") == "hello world"
    assert normalise_text("ﬁne") == "fine"  # NFKC folds the ligature
    assert normalise_text("Straße") == normalise_text("STRASSE")  # casefold, not lower
    assert normalise_text("it's") == "its"
    assert normalise_text("tf.keras.layers") == "tf keras layers"
    assert normalise_text("(None, 120, 16)") == "none 120 16"


@pytest.mark.parametrize(
    "answer",
    [
        171533,
        171533.0,
        "171533",
        "171,533",
        " 171 533 ",
        "171_533",
        "1.71533e5",
        "+171533",
        "171\u202f533",
    ],
)
def test_numeric_accepts_written_numbers(answer):
    assert check_answer(NUMERIC, answer) == Verdict(True, 1.0)


@pytest.mark.parametrize("answer", [171532, "171,534", 171533.5, "1,715,330"])
def test_numeric_wrong_numbers(answer):
    assert check_answer(NUMERIC, answer) == Verdict(False, 0.0)


def test_numeric_tolerance_is_inclusive():
    assert check_answer(FLOATY, 4.01).correct
    assert check_answer(FLOATY, "3.99").correct
    assert not check_answer(FLOATY, 4.011).correct


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_thousands_separators_round_trip(n):
    assert parse_number(f"{n:,}") == n
    assert parse_number(f"{n:_}") == n


@pytest.mark.parametrize(
    ("question", "answer", "words"),
    [
        (SINGLE, ["b"], "takes one choice id"),
        (SINGLE, 1, "takes one choice id"),
        (SINGLE, "z", "no choice 'z'; choices: a, b, c"),
        (TRUEFALSE, "yes", "no choice 'yes'"),
        (MULTI, "a", "takes a list of choice ids"),
        (MULTI, ["a", "zz"], "no choice 'zz'"),
        (MULTI, [1], "takes one choice id"),
        (TYPE, 3, "takes a string answer"),
        (TYPE, ["oov"], "takes a string answer"),
        (NUMERIC, "lots", "is not a number"),
        (NUMERIC, "", "is not a number"),
        (NUMERIC, "3,5", "',' only for thousands"),
        (NUMERIC, True, "must be a number or a string"),
        (NUMERIC, None, "must be a number or a string"),
        (NUMERIC, [171533], "must be a number or a string"),
        (NUMERIC, float("nan"), "finite"),
        (NUMERIC, "inf", "finite"),
    ],
)
def test_bad_answer_shapes_raise(question, answer, words):
    with pytest.raises(AnswerShapeError, match=words):
        check_answer(question, answer)


def test_an_unresolved_key_is_not_silently_wrong():
    pending = q(kind="numeric", key_from={"target": "reference.answers:anything"})
    assert pending.needs_key
    with pytest.raises(KeyNotResolvedError, match="resolve_keys"):
        check_answer(pending, 171533)
