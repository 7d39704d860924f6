"""The bundled short-answer exercises: complete, well-formed, and hints that do not give answers away."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graders.answers import parse_answer
from graders.catalog import _hint_leak, load_catalog, typed_answer
from graders.compare import compare
from graders.variants import variant_for

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
SPECS = [s for s in load_catalog(EXERCISES) if s.kind == "answer"]
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def test_there_are_plenty_of_short_answers_across_all_four_weeks():
    assert len(SPECS) >= 20
    assert {s.week for s in SPECS} == {1, 2, 3, 4}


def test_every_value_the_brief_asks_for_is_an_exercise():
    values = [s.answer.course_value for s in SPECS]
    for count in (171533, 598209, 635329, 573249, 622529, 13872949, 2449, 6101671):
        assert count in values, count
    for shape in ([32, 10, 64], [4, 8, 32], [2, 4]):
        assert shape in values, shape
    targets = {s.answer.reference for s in SPECS}
    assert {
        "reference.answers:word_index",
        "reference.answers:texts_to_sequences",
        "reference.answers:padded",
    } <= targets
    assert "reference.answers:perplexity" in targets
    word_indexes = [
        s.answer.params.get("oov_token")
        for s in SPECS
        if s.answer.reference.endswith(":word_index")
    ]
    assert None in word_indexes and "<OOV>" in word_indexes
    paddings = [s.answer.params for s in SPECS if s.answer.reference.endswith(":padded")]
    assert {"padding": "post", "truncating": "post", "maxlen": 5}.items() <= paddings[-1].items()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.slug)
def test_every_answer_has_a_course_value_a_format_and_a_hint(spec):
    answer = spec.answer
    assert answer.course_value is not None
    assert answer.format.strip() and answer.hint.strip()
    assert _hint_leak(answer.hint, answer.course_value) is None
    assert not re.search(r"\{\{\s*\w+\s*\}\}", answer.hint)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.slug)
def test_the_course_value_typed_by_a_member_is_accepted(spec):
    answer = spec.answer
    text = typed_answer(answer.course_value, answer.compare)
    got = parse_answer(text, answer.compare)
    assert compare(
        answer.compare, answer.course_value, got, rtol=answer.rtol, atol=answer.atol
    ).passed


def test_parameter_counts_come_in_per_member_variants():
    with_variants = [s for s in SPECS if s.answer.variants]
    assert len(with_variants) >= 6
    assert any(s.answer.compare == "param_count" for s in with_variants)
    for spec in with_variants:
        for name, choices in spec.answer.variants.items():
            assert name in spec.answer.params, f"{spec.slug}: default for {name}"
            assert len(choices) >= 2


@pytest.mark.parametrize("spec", [s for s in SPECS if s.answer.variants], ids=lambda s: s.slug)
def test_filled_prompts_leave_no_placeholder_behind(spec):
    for member in ("alice", "bob", "carol"):
        variant = variant_for(spec.answer, member)
        for text in (spec.prompt, spec.code or ""):
            filled = PLACEHOLDER.sub(lambda m, v=variant: str(v[m.group(1)]), text)
            assert "{{" not in filled
        assert set(PLACEHOLDER.findall(spec.prompt + (spec.code or ""))) <= set(variant)


def test_notebook_slugs_belong_to_the_notebook_grader():
    notebook_slugs = {
        "c3w1-tokenizer",
        "c3w2-embedding-model",
        "c3w3-rnn-step",
        "c3w4-ngrams",
        "c3w4-generate",
    }
    assert not notebook_slugs & {s.slug for s in SPECS}
