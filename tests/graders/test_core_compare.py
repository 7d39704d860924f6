"""graders.compare: the verdict and a message that says what differs (and hides what it must)."""

from __future__ import annotations

import numpy as np
import pytest

from graders.codec import ModelSummary, Opaque, Probe
from graders.compare import Outcome, compare, normalize_text

WORD_INDEX = {"<OOV>": 1, "my": 2, "love": 3, "dog": 4, "i": 5, "you": 6, "cat": 7}


def test_outcome_is_a_plain_verdict_with_a_message():
    outcome = compare("int", 171533, 171533)
    assert outcome == Outcome(True, outcome.message)
    assert outcome.passed


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown comparison kind"):
        compare("fuzzy", 1, 1)  # type: ignore[arg-type]


# --- dict ------------------------------------------------------------------------------


def test_dict_names_missing_extra_and_changed_keys():
    got = {"<OOV>": 1, "my": 3, "love": 2, "dog": 4, "i": 5, "you": 6, "manatee": 8}
    outcome = compare("dict", WORD_INDEX, got)
    assert not outcome.passed
    assert "1 key missing: 'cat'" in outcome.message
    assert "1 unexpected key: 'manatee'" in outcome.message
    assert "'my': got 3, expected 2" in outcome.message
    assert "'love': got 2, expected 3" in outcome.message


def test_dict_without_reveal_hides_missing_keys_and_expected_values():
    got = {"<OOV>": 1, "my": 3, "love": 2, "dog": 4, "i": 5, "you": 6}
    outcome = compare("dict", WORD_INDEX, got, reveal=False)
    assert not outcome.passed
    assert "1 key missing" in outcome.message
    assert "cat" not in outcome.message
    assert "'my': got 3" in outcome.message and "expected" not in outcome.message


def test_dict_lists_only_the_first_few_and_counts_the_rest():
    expected = {f"w{i}": i for i in range(20)}
    outcome = compare("dict", expected, {})
    assert "20 keys missing" in outcome.message and "and 15 more" in outcome.message


def test_dict_key_order_does_not_matter_and_wrong_type_is_named():
    assert compare("dict", WORD_INDEX, dict(reversed(list(WORD_INDEX.items())))).passed
    outcome = compare("dict", WORD_INDEX, [["my", 2]])
    assert not outcome.passed and "Expected a dict, got a list" in outcome.message


# --- exact ------------------------------------------------------------------------------


def test_exact_treats_tuples_and_arrays_as_lists_after_a_json_round_trip():
    assert compare("exact", [[4, 2, 1, 3], [1, 3, 1]], ((4, 2, 1, 3), (1, 3, 1))).passed
    assert compare("exact", [[1, 2]], np.array([[1, 2]])).passed


def test_exact_points_at_the_first_difference_and_the_lengths():
    outcome = compare("exact", [[4, 2, 1, 3], [1, 3, 1]], [[4, 2, 1, 3], [1, 3]])
    assert "at [1]: 2 items, expected 3" in outcome.message
    outcome = compare(
        "exact", [[5, 1, 3, 2, 4], [2, 4, 1, 2, 1]], [[5, 1, 3, 2, 4], [2, 4, 7, 2, 1]]
    )
    assert "at [1][2]: got 7, expected 1" in outcome.message
    hidden = compare(
        "exact",
        [[5, 1, 3, 2, 4], [2, 4, 1, 2, 1]],
        [[5, 1, 3, 2, 4], [2, 4, 7, 2, 1]],
        reveal=False,
    )
    assert (
        "at [1][2]: got 7, which is not right" in hidden.message
        and "expected 1" not in hidden.message
    )


def test_exact_does_not_confuse_true_with_one_or_text_with_numbers():
    assert not compare("exact", 1, True).passed
    outcome = compare("exact", 3, "3")
    assert not outcome.passed and "'3'" in outcome.message


def test_exact_equal_nans_are_equal():
    assert compare("exact", [float("nan")], [float("nan")]).passed


# --- numbers ---------------------------------------------------------------------------------


def test_int_formats_thousands_and_hides_the_expected_value_on_request():
    outcome = compare("int", 171533, 171534)
    assert outcome.message == "Got 171,534, expected 171,533."
    hidden = compare("int", 171533, 171534, reveal=False)
    assert "171,533" not in hidden.message and "171533" not in hidden.message


def test_int_accepts_whole_floats_and_numpy_integers_but_not_fractions_or_bools():
    assert compare("int", 6101671, 6101671.0).passed
    assert compare("int", 6101671, np.int64(6101671)).passed
    assert "whole number" in compare("int", 3, 2.5).message
    assert not compare("int", 1, True).passed


def test_float_uses_rtol_and_atol():
    assert compare("float", 4.0, 4.003, rtol=1e-3).passed
    outcome = compare("float", 4.0, 4.01, rtol=1e-3)
    assert not outcome.passed and "rtol 0.001" in outcome.message and "4.0" in outcome.message
    assert compare("float", 0.0, 1e-9, atol=1e-8).passed
    assert "4.0" not in compare("float", 4.0, 4.5, reveal=False).message.replace("4.5", "")


# --- arrays ----------------------------------------------------------------------------------

PADDED = np.array([[0, 0, 0, 5, 3, 2, 4], [8, 6, 9, 2, 4, 10, 11]], dtype="int32")


def test_allclose_passes_nested_lists_against_arrays():
    assert compare("allclose", PADDED, PADDED.tolist()).passed


def test_allclose_reports_count_max_diff_and_first_index_with_dtypes():
    got = PADDED.tolist()
    got[1][5] = 13
    outcome = compare("allclose", PADDED, got)
    assert not outcome.passed
    assert "1 of 14 values differ" in outcome.message
    assert "max abs diff 3" in outcome.message
    assert "First at [1, 5]: got 13, expected 10" in outcome.message
    assert "int64" in outcome.message and "int32" in outcome.message
    assert "expected 10" not in compare("allclose", PADDED, got, reveal=False).message


def test_allclose_names_both_shapes_or_only_the_wrong_dimension():
    got = np.zeros((2, 5), dtype="int32")
    outcome = compare("allclose", PADDED, got)
    assert "shape (2, 5)" in outcome.message and "expected shape (2, 7)" in outcome.message
    hidden = compare("allclose", PADDED, got, reveal=False)
    assert "dimension 1" in hidden.message and "(2, 7)" not in hidden.message


def test_allclose_ragged_and_non_numeric_answers_are_explained():
    assert "rectangular" in compare("allclose", PADDED, [[1, 2], [3]]).message
    assert "Expected an array" in compare("allclose", PADDED, "zeros").message


def test_allclose_tolerances_and_nans():
    expected = np.array([0.5, np.nan, 1.0])
    assert compare("allclose", expected, [0.5000001, np.nan, 1.0], rtol=1e-5).passed
    assert not compare("allclose", expected, [0.5, 0.0, 1.0]).passed


# --- shapes, text, sets ----------------------------------------------------------------------


def test_shape_none_matches_only_none():
    assert compare("shape", (None, 120, 16), [None, 120, 16]).passed
    assert not compare("shape", (None, 1920), (32, 1920)).passed
    outcome = compare("shape", (None, 1920), (None, 120, 16))
    assert outcome.message == "Shape mismatch: got (None, 120, 16), expected (None, 1920)."
    hidden = compare("shape", (4, 8, 32), (4, 10, 32), reveal=False)
    assert "dimension 1 (10) is wrong" in hidden.message and "8" not in hidden.message


def test_shape_rejects_things_that_are_not_shapes():
    assert "Expected a shape" in compare("shape", (2, 4), "2 by 4").message
    assert not compare("shape", (2, 4), (2, 4.5)).passed


def test_text_ignores_case_spacing_and_punctuation():
    assert normalize_text("  Help me,  Obi-Wan   Kenobi! ") == "help me obi wan kenobi"
    assert compare("text", "Help me, Obi-Wan Kenobi.", "help me obi wan kenobi").passed
    outcome = compare("text", "help me obi wan kenobi", "help me obi one kenobi", reveal=False)
    assert "word 4 ('one')" in outcome.message and "wan" not in outcome.message


def test_set_reports_missing_and_extra_items():
    outcome = compare("set", ["a", "b", "c"], ["c", "b", "z"])
    assert "1 item missing: 'a'" in outcome.message and "1 unexpected item: 'z'" in outcome.message
    assert "'a'" not in compare("set", ["a", "b", "c"], ["c", "b", "z"], reveal=False).message
    assert compare("set", [[1, 2], [3]], [(3,), (1, 2)]).passed


# --- models ------------------------------------------------------------------------------------

COURSE_MODEL = ModelSummary(171533, 171533, ("Embedding", "Flatten", "Dense", "Dense"), [None, 1])


def test_param_count_reads_models_dicts_and_ints():
    assert compare("param_count", 171533, COURSE_MODEL).passed
    assert compare("param_count", COURSE_MODEL, 171533).passed
    assert compare("param_count", {"params": 171533}, 171533).passed
    outcome = compare("param_count", 171533, 171534, reveal=False)
    assert "171,534 parameters" in outcome.message and "171,533" not in outcome.message


def test_model_lists_every_difference():
    got = ModelSummary(171534, 171534, ("InputLayer", "Embedding", "Flatten", "Dense"), [None, 6])
    outcome = compare("model", COURSE_MODEL, got)
    assert not outcome.passed
    assert "171,534 parameters, expected 171,533" in outcome.message
    assert (
        "layers Embedding, Flatten, Dense, expected Embedding, Flatten, Dense, Dense"
        in outcome.message
    )
    assert "output shape got (None, 6), expected (None, 1)" in outcome.message


def test_model_ignores_input_layers_and_explains_unbuilt_models():
    with_input = ModelSummary(
        171533, 171533, ("InputLayer", "Embedding", "Flatten", "Dense", "Dense"), [None, 1]
    )
    assert compare("model", COURSE_MODEL, with_input).passed
    unbuilt = ModelSummary(
        None, None, ("Embedding", "Flatten", "Dense", "Dense"), None, built=False
    )
    assert "not built" in compare("model", COURSE_MODEL, unbuilt).message
    assert "not built" in compare("param_count", 171533, unbuilt).message


def test_model_without_reveal_names_the_wrong_layer_only():
    got = ModelSummary(
        171533, 171533, ("Embedding", "GlobalAveragePooling1D", "Dense", "Dense"), [None, 1]
    )
    outcome = compare("model", COURSE_MODEL, got, reveal=False)
    assert (
        "layer 2 is a GlobalAveragePooling1D" in outcome.message
        and "Flatten" not in outcome.message
    )


def test_opaque_values_are_described_by_type():
    outcome = compare("model", COURSE_MODEL, Opaque("<function build_model>", "function"))
    assert "Expected a Keras model, got a function object" in outcome.message
    assert "Expected a whole number, got None" in compare("int", 5, None).message


# --- probe -----------------------------------------------------------------------------


def _vectorizer(**changes) -> Probe:
    fields = {
        "kind": "TextVectorization",
        "vocabulary_size": 1000,
        "vocabulary_head": ["", "[UNK]", "the", "to", "of"],
        "max_tokens": 1000,
        "output_sequence_length": 4,
        "outputs": [[2, 17, 0, 0], [1, 5, 9, 0]],
    }
    fields.update(changes)
    return Probe({k: v for k, v in fields.items() if v is not ...})


def test_probe_passes_on_equal_readings_and_ignores_how_they_were_read():
    got = _vectorizer(truncated=["outputs"])
    assert compare("probe", _vectorizer(), got).passed


def test_probe_names_each_differing_field_with_expected_and_got():
    got = _vectorizer(vocabulary_size=998, outputs=[[2, 17, 0, 0], [1, 5, 8, 0]])
    outcome = compare("probe", _vectorizer(), got)
    assert not outcome.passed
    assert outcome.message.startswith("The TextVectorization layer differs: ")
    assert "vocabulary_size: expected 1000, got 998" in outcome.message
    assert "outputs[1][2]: expected 9, got 8" in outcome.message  # the first differing index


def test_probe_lists_report_their_length_and_first_difference_only():
    got = _vectorizer(vocabulary_head=["", "[UNK]", "a", "b"])
    outcome = compare("probe", _vectorizer(), got)
    assert "vocabulary_head: 4 items, expected 5" in outcome.message
    assert "vocabulary_head[2]: expected 'the', got 'a'" in outcome.message
    assert "[3]" not in outcome.message


def test_probe_without_reveal_never_shows_expected_values():
    got = _vectorizer(vocabulary_size=998, vocabulary_head=["", "[UNK]", "a"])
    outcome = compare("probe", _vectorizer(), got, reveal=False)
    assert "vocabulary_size: got 998, which is not the expected value" in outcome.message
    assert "vocabulary_head: 3 items, which is not the expected number" in outcome.message
    for secret in ("1000", "'the'", "5 items"):
        assert secret not in outcome.message


def test_probe_numbers_use_the_tolerance_but_whole_numbers_are_exact():
    history = Probe(kind="History", keys=["loss"], epochs=10, last={"loss": 0.25})
    assert compare("probe", history, Probe(history, last={"loss": 0.2500001}), rtol=1e-3).passed
    outcome = compare("probe", history, Probe(history, last={"loss": 0.5}), rtol=1e-3)
    assert "last.loss: expected 0.25, got 0.5" in outcome.message
    model = Probe(kind="Model", params=100_000)
    assert not compare("probe", model, Probe(kind="Model", params=100_001), rtol=1e-3).passed


def test_probe_reports_unread_fields_once_with_their_reason():
    expected = Probe(
        kind="Model", layers=["Embedding", "Dense"], built=True, params=10, output_shape=[None, 1]
    )
    reason = "the model is not built, so it has no weights yet"
    got = Probe(
        kind="Model",
        layers=["Embedding", "Dense"],
        built=False,
        errors={
            "params": f"could not read params: {reason}",
            "output_shape": f"could not read output_shape: {reason}",
        },
    )
    outcome = compare("probe", expected, got)
    assert f"could not read params and output_shape: {reason}" in outcome.message
    assert outcome.message.count(reason) == 1
    assert "built: expected True, got False" in outcome.message


def test_probe_fields_the_reference_could_not_read_are_not_held_against_the_member():
    expected = Probe(kind="Model", layers=["Dense"], errors={"params": "could not read params: x"})
    assert compare("probe", expected, Probe(kind="Model", layers=["Dense"], params=3)).passed


def test_probe_says_when_the_object_is_of_another_kind():
    outcome = compare("probe", _vectorizer(), Probe(kind="Tokenizer", vocabulary_size=1000))
    assert outcome.message == "Expected a TextVectorization layer, got a Tokenizer."
    assert compare("probe", _vectorizer(), None).message == (
        "Expected a TextVectorization layer, got None."
    )


def test_probe_compares_tuples_of_course_objects_value_by_value():
    train = Probe(
        kind="Dataset", element_spec=["int32 (None, 120)", "int32 (None,)"], cardinality=40
    )
    val = Probe(kind="Dataset", element_spec=["int32 (None, 120)", "int32 (None,)"], cardinality=10)
    assert compare("probe", (train, val), (train, val)).passed
    outcome = compare("probe", (train, val), (train, Probe(val, cardinality=9)))
    assert outcome.message == (
        "The returned values differ: value 2: cardinality: expected 10, got 9."
    )
    outcome = compare("probe", (train, val), (train,))
    assert "1 value returned, expected 2" in outcome.message


def test_probe_digest_catches_a_difference_past_the_head():
    expected = Probe(kind="list", length=2000, head=["a", "b"], digest="1" * 32)
    outcome = compare("probe", expected, Probe(expected, digest="2" * 32))
    assert outcome.message == "The list differs: the contents differ after the first items shown."
    outcome = compare("probe", expected, Probe(expected, head=["a", "c"], digest="2" * 32))
    assert "head[1]: expected 'b', got 'c'" in outcome.message
    assert "contents differ" not in outcome.message
