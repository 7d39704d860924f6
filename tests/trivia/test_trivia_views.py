"""What players may see before the reveal, and what the reveal shows."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from graders.trivia import Question, load_banks, question_public, question_reveal, resolve_keys

from .test_trivia_banks import BANKS_DIR, fake_compute

words = st.text(alphabet="abcdefghij XYZ", min_size=3, max_size=12).filter(lambda s: s.strip())
# Markers that must never leak: they only appear in keys and explanations.
SECRET_ANSWER = "zzsecretanswerzz"
SECRET_WHY = "zzbecausezz"


@st.composite
def questions(draw) -> Question:
    kind = draw(st.sampled_from(["single", "multi", "truefalse", "type", "numeric"]))
    data = {"id": "q1", "kind": kind, "text": draw(words), "explanation": SECRET_WHY}
    if kind in ("single", "multi"):
        n = draw(st.integers(2, 4 if kind == "single" else 6))
        right = draw(
            st.sets(st.integers(0, n - 1), min_size=1, max_size=1 if kind == "single" else n)
        )
        data["choices"] = [
            {"id": f"c{i}", "text": f"choice {i}", "correct": i in right} for i in range(n)
        ]
    elif kind == "truefalse":
        data["answer"] = draw(st.booleans())
    elif kind == "type":
        data["accepted"] = [SECRET_ANSWER]
        data["alternatives"] = [SECRET_ANSWER + "x"]
    else:
        data["value"] = 987654321.0
        data["tolerance"] = 0.5
    return Question.model_validate(data)


@given(questions())
def test_public_view_never_tells_the_answer(q):
    view = question_public(q)
    text = json.dumps(view)
    for secret in (
        "correct",
        SECRET_ANSWER,
        SECRET_WHY,
        "987654321",
        "987,654,321",
        "accepted",
        "value",
    ):
        assert secret not in text
    assert set(view) >= {"id", "kind", "text", "time_limit", "points"}
    if q.choices:
        assert [c["id"] for c in view["choices"]] == [c.id for c in q.choices]
        assert all(set(c) == {"id", "text"} for c in view["choices"])


@given(questions())
def test_reveal_shows_the_key_and_the_explanation(q):
    reveal = question_reveal(q)
    assert reveal["explanation"] == SECRET_WHY
    assert reveal["correct"] == [c.id for c in q.choices if c.correct]
    json.dumps(reveal)  # plain JSON, ready to send
    if q.kind == "type":
        assert reveal["accepted"] == [SECRET_ANSWER, SECRET_ANSWER + "x"]
        assert reveal["answer_text"] == SECRET_ANSWER
    if q.kind == "numeric":
        assert (reveal["value"], reveal["tolerance"]) == (987654321.0, 0.5)
        assert reveal["answer_text"] == "987,654,321 (± 0.5)"


def keys_of(value) -> set[str]:
    """Every dictionary key anywhere inside a JSON-like value."""
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_of(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_of(v) for v in value))
    return set()


def test_no_bundled_question_leaks_before_the_reveal():
    """Every bundled question: the public view holds none of its key material."""
    for bank in load_banks(BANKS_DIR):
        for q in resolve_keys(bank, fake_compute).questions:
            public = question_public(q)
            leaked = keys_of(public) & {
                "correct",
                "explanation",
                "key_from",
                "accepted",
                "alternatives",
                "value",
                "tolerance",
            }
            assert leaked == set(), (bank.slug, q.id)
            assert q.explanation not in json.dumps(public)
            for key in (*q.accepted, *q.alternatives):
                assert key not in (public["text"], public["code"])
