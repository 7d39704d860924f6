"""The bundled banks, and filling computed keys with resolve_keys."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from graders.trivia import (
    BankError,
    check_answer,
    key_matches_text,
    load_banks,
    parse_bank,
    question_reveal,
    render_value,
    resolve_keys,
)

BANKS_DIR = Path(__file__).resolve().parents[2] / "exercises" / "trivia"

# What the course material prints for each computed key the banks ask for.
# The fast tests stand this table in for the reference runner; the slow test
# (test_trivia_keys.py) proves the real reference functions return the same.
SENTENCES_2 = ["I love my dog", "I love my cat"]
TEST_2 = ["i really love my dog", "my dog loves my manatee"]
SUBWORDS = {"vocab_size": 8185, "embedding_dim": 64}
GLOVE = {"input_dim": 138705, "embedding_dim": 100, "max_length": 16}
COURSE_KEYS = [
    ("word_index", {"sentences": SENTENCES_2, "num_words": 100}, {"i": 1, "love": 2, "my": 3, "dog": 4, "cat": 5}),
    ("texts_to_sequences", {"test_sentences": TEST_2, "num_words": 100}, [[4, 2, 1, 3], [1, 3, 1]]),
    ("texts_to_sequences", {"test_sentences": TEST_2[:1], "num_words": 100, "oov_token": "<OOV>"}, [[5, 1, 3, 2, 4]]),
    (
        "padded",
        {"oov_token": "<OOV>", "maxlen": 5, "padding": "post", "truncating": "post"},
        [[5, 3, 2, 4, 0], [5, 3, 2, 7, 0], [6, 3, 2, 4, 0], [8, 6, 9, 2, 4]],
    ),
    ("imdb_flatten_params", {"vocab_size": 10000, "embedding_dim": 16, "max_length": 120}, 171533),
    ("imdb_flatten_output_shape", {"vocab_size": 10000, "embedding_dim": 16, "max_length": 120}, (None, 1920)),
    ("dense_params", {"inputs": 1920, "units": 6}, 11526),
    ("embedding_output_shape", {"input_dim": 1000, "output_dim": 64, "input_shape": [32, 10]}, (32, 10, 64)),
    ("embedding_params", {"input_dim": 10000, "output_dim": 16}, 160000),
    ("bilstm_params", {**SUBWORDS, "lstm_units": 64}, 598209),
    ("recurrent_layer_params", {"cell": "lstm", "input_dim": 64, "units": 64, "bidirectional": True}, 66048),
    ("stacked_bilstm_params", {**SUBWORDS, "lstm_units": 64, "lstm2_units": 32}, 635329),
    ("conv1d_output_shape", {"filters": 32, "kernel_size": 3, "input_shape": [4, 10, 128]}, (4, 8, 32)),
    ("conv1d_params", {**SUBWORDS, "filters": 128, "kernel_size": 5}, 573249),
    ("conv1d_layer_params", {"in_channels": 64, "filters": 128, "kernel_size": 5}, 41088),
    (
        "two_conv1d_params",
        {**SUBWORDS, "filters": 128, "kernel_size": 5, "filters2": 128, "kernel_size2": 3},
        622529,
    ),
    ("global_average_pooling1d_output_shape", {"input_shape": [2, 3, 4]}, (2, 4)),
    ("glove_trainable_params", GLOVE, 2449),
    ("glove_total_params", GLOVE, 13872949),
    ("ngram_count", {"corpus_lines": ["From fairest creatures we desire increase,"]}, 5),
    ("sonnets_params", {"total_words": 3211, "max_sequence_len": 11}, 6101671),
    ("perplexity", {"probabilities": [0.5, 0.25, 0.125]}, 4.0),
    ("char_gru_params", {"vocab_size": 65, "embedding_dim": 256, "rnn_units": 1024}, 4021569),
]  # fmt: skip


def _frozen(value):
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


COURSE_VALUES = {
    (f"reference.answers:{name}", _frozen(kwargs)): value for name, kwargs, value in COURSE_KEYS
}


def fake_compute(target: str, kwargs: dict):
    return COURSE_VALUES[(target, _frozen(kwargs))]


@pytest.fixture(scope="module")
def banks():
    return load_banks(BANKS_DIR)


@pytest.fixture(scope="module")
def course(banks):
    return [q for b in banks for q in b.questions if 1 <= q.week <= 4]


def test_the_bundled_banks_load(banks):
    slugs = [b.slug for b in banks]
    assert {"tf-basics", "c3-week1", "c3-week2", "c3-week3", "c3-week4"} <= set(slugs)


def test_at_least_60_course_questions_over_all_four_weeks(course):
    assert len(course) >= 60
    per_week = Counter(q.week for q in course)
    assert all(per_week[w] >= 10 for w in (1, 2, 3, 4)), per_week


def test_course_questions_mix_every_kind_and_show_code(course):
    kinds = Counter(q.kind for q in course)
    assert set(kinds) == {"single", "multi", "truefalse", "type", "numeric"}
    assert sum(q.code is not None for q in course) >= 5


def test_every_question_explains_its_answer(banks):
    missing = [
        f"{b.slug}/{q.id}" for b in banks for q in b.questions if len(q.explanation.strip()) < 20
    ]
    assert missing == []


def test_the_warm_up_bank_asks_how_to_import_tensorflow(banks):
    basics = next(b for b in banks if b.slug == "tf-basics")
    assert len(basics.questions) >= 10
    assert all(q.week == 0 for q in basics.questions)
    q = next(q for q in basics.questions if q.text.startswith("How do you import TensorFlow"))
    assert check_answer(
        q, next(c.id for c in q.choices if "import tensorflow as tf" in c.text)
    ).correct


def test_computed_facts_come_from_the_reference(banks):
    keyed = [q for b in banks for q in b.questions if q.key_from is not None]
    assert len(keyed) >= 6
    assert all(q.key_from.target.startswith("reference.answers:") for q in keyed)
    assert {"numeric", "single"} <= {q.kind for q in keyed}


def test_every_bundled_key_resolves_and_checks(banks):
    for bank in banks:
        resolved = resolve_keys(bank, fake_compute)
        assert resolved.unresolved == []
        for q in resolved.questions:
            if q.key_from is not None and q.kind == "numeric":
                answer = render_value(fake_compute(q.key_from.target, q.key_from.kwargs))
                assert check_answer(q, answer).correct, (bank.slug, q.id, answer)
                assert question_reveal(q)["answer_text"].startswith(answer)


def test_course_numbers_are_accepted_as_members_type_them(banks):
    resolved = {q.id: q for b in banks for q in resolve_keys(b, fake_compute).questions}
    assert check_answer(resolved["imdb-params"], "171,533").correct
    assert check_answer(resolved["bilstm-params"], "598209").correct
    assert check_answer(resolved["sonnets-params"], "6 101 671").correct
    assert check_answer(resolved["glove-trainable"], 2449).correct
    assert check_answer(resolved["perplexity-value"], "4.0").correct
    assert not check_answer(resolved["imdb-params"], "171,534").correct


# --- resolve_keys on small banks --------------------------------------------------------


def keyed_bank(numeric_target="reference.answers:count", single_target="reference.answers:shape"):
    return parse_bank(
        {
            "slug": "keys",
            "title": "Keys",
            "questions": [
                {"id": "n", "kind": "numeric", "text": "how many?", "key_from": {"target": numeric_target, "kwargs": {"k": 1}}},
                {
                    "id": "s",
                    "kind": "single",
                    "text": "which shape?",
                    "key_from": {"target": single_target},
                    "choices": [
                        {"id": "a", "text": "(None, 120, 16)", "correct": True},
                        {"id": "b", "text": "(None, 1920)"},
                    ],
                },
                {"id": "plain", "kind": "type", "text": "word?", "accepted": ["x"]},
            ],
        }
    )  # fmt: skip


def compute_ok(target, kwargs):
    return {"reference.answers:count": 171533, "reference.answers:shape": [None, 120, 16]}[target]


def test_resolve_fills_numeric_keys_and_leaves_the_input_alone():
    original = keyed_bank()
    assert original.unresolved == ["n"]
    calls = []
    resolved = resolve_keys(original, lambda t, k: calls.append((t, k)) or compute_ok(t, k))
    assert resolved.question("n").value == 171533
    assert resolved.unresolved == [] and original.unresolved == ["n"]
    assert calls == [("reference.answers:count", {"k": 1}), ("reference.answers:shape", {})]


def test_a_resolved_bank_reads_back_from_its_dump():
    resolved = resolve_keys(keyed_bank(), compute_ok)
    dumped = json.loads(json.dumps(resolved.model_dump()))
    assert parse_bank(dumped, resolved=True) == resolved
    with pytest.raises(BankError, match="either 'value' or 'key_from'"):
        parse_bank(dumped)


@pytest.mark.parametrize(
    ("compute", "words"),
    [
        (lambda t, k: (None, 1920) if t.endswith("shape") else 171533, r"computed '\(None, 1920\)'; choices matching it: \['b'\], marked correct: \['a'\]"),
        (lambda t, k: (None, 12, 16) if t.endswith("shape") else 171533, r"choices matching it: \[\], marked correct: \['a'\]"),
        (lambda t, k: "lots" if t.endswith("count") else (None, 120, 16), r"question 'n'.*returned 'lots', not a number"),
        (lambda t, k: True if t.endswith("count") else (None, 120, 16), "returned True, not a number"),
        (lambda t, k: float("nan") if t.endswith("count") else (None, 120, 16), "not a number"),
        (lambda t, k: 1 / 0, r"question 'n'.*failed: ZeroDivisionError.*question 's'.*failed"),
    ],
)  # fmt: skip
def test_resolve_reports_every_bad_key(compute, words):
    with pytest.raises(BankError, match=words):
        resolve_keys(keyed_bank(), compute)


@pytest.mark.parametrize(
    ("value", "text", "matches"),
    [
        (171533, "171,533", True),
        (171533, "171533", True),
        (171533.0, "171 533", True),
        (171533, "171,534", False),
        (171533, "(None, 120)", False),
        ((None, 1920), "(None, 1920)", True),
        ([32, 10, 64], "(32, 10, 64)", True),
        ((32, 10, 64), "(32, 1064)", False),
        ((4,), "(4,)", True),
        ("Embedding", "`Embedding`", True),
        ({"i": 1, "love": 2}, "{'i': 1, 'love': 2}", True),
        ({"i": 1, "love": 2}, "{'I': 1, 'love': 2}", False),  # case matters in a key
        ([[4, 2], [1]], "[[4, 2], [1]]", True),
        ([[4, 2], [1]], "[[4], [2, 1]]", False),  # so does structure
        (np.array([[1, 2], [3, 4]], dtype=np.int32), "[[1, 2], [3, 4]]", True),
        (np.int64(41088), "41,088", True),
    ],
)
def test_key_matches_text(value, text, matches):
    assert key_matches_text(value, text) is matches


def test_render_value():
    assert render_value(6101671) == "6,101,671"
    assert render_value(4.0) == "4"
    assert render_value(2.5) == "2.5"
    assert render_value((None, 10, 100)) == "(None, 10, 100)"
