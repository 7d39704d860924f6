"""Every bundled notebook exercise: the reference gets full marks, the starter zero with feedback."""

from __future__ import annotations

import nbformat
import pytest

from graders.notebook.check import check_exercise
from graders.notebook.importer import import_notebook
from tests.notebook.conftest import EXERCISES, NOTEBOOK_SLUGS, notebook, reference_source, spec_of

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("slug", NOTEBOOK_SLUGS)
def test_reference_full_marks_and_starter_zero(slug, reference_runner, sandbox_pool):
    report = check_exercise(spec_of(slug), EXERCISES / slug, reference_runner, pool=sandbox_pool)
    assert report.problems == []
    assert report.reference.full_marks, report.reference.output
    starter = report.starter
    assert starter.status == "graded" and starter.score == 0
    for test in starter.tests:
        assert test.status in ("failed", "error")
        assert "Hint:" in test.output, test.output
    assert set(report.values) == {c.name for c in spec_of(slug).notebook.checks}


def test_the_exercise_functions_have_the_fixed_names():
    names = {
        slug: sorted({c.function for c in spec_of(slug).notebook.checks}) for slug in NOTEBOOK_SLUGS
    }
    assert names == {
        "c3w1-tokenizer": ["build_word_index", "encode", "pad"],
        "c3w2-embedding-model": ["build_model"],
        "c3w3-rnn-step": ["lstm_step", "rnn_step"],
        "c3w4-ngrams": ["ngram_sequences"],
        "c3w4-generate": ["generate_text"],
    }
    for slug in NOTEBOOK_SLUGS:
        visibilities = {c.visibility for c in spec_of(slug).notebook.checks}
        assert visibilities == {"visible", "hidden"}, slug


NUMPY_RNN = """
import numpy as np

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

# GRADED FUNCTION: rnn_step
def rnn_step(x, h_prev, W_xh, W_hh, b):
    return np.tanh(x @ W_xh + h_prev @ W_hh + b)

# GRADED FUNCTION: lstm_step
def lstm_step(x, h_prev, c_prev, kernel, recurrent_kernel, bias):
    z = x @ kernel + h_prev @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c_prev + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c
"""


def test_a_numpy_solution_matches_keras_cells(grade):
    result = grade("c3w3-rnn-step", notebook(NUMPY_RNN))
    assert result.full_marks, result.output


def test_swapped_lstm_gates_fail_with_a_diff(grade):
    wrong = NUMPY_RNN.replace("i, f, g, o = ", "f, i, g, o = ")
    result = grade("c3w3-rnn-step", notebook(wrong))
    lstm = [t for t in result.tests if t.function == "lstm_step"]
    assert [t.status for t in lstm] == ["failed", "failed"]
    assert "values differ" in lstm[0].output
    assert result.score == 4


COURSE_ERA_GENERATE = """
import numpy as np
from tensorflow.keras.preprocessing.sequence import pad_sequences

# GRADED FUNCTION: generate_text
def generate_text(model, tokenizer, seed_text, next_words, max_sequence_len):
    for _ in range(next_words):
        token_list = tokenizer.texts_to_sequences([seed_text])[0]
        token_list = pad_sequences([token_list], maxlen=max_sequence_len-1, padding='pre')
        predicted = model.predict_classes(token_list, verbose=0)
        output_word = ""
        for word, index in tokenizer.word_index.items():
            if index == predicted:
                output_word = word
                break
        seed_text += " " + output_word
    return seed_text
"""


def test_course_era_predict_classes_scores_with_the_modern_spelling(grade):
    """predict_classes (removed in TF 2.6) runs as argmax; the note names the replacement."""
    result = grade("c3w4-generate", notebook(COURSE_ERA_GENERATE))
    assert result.full_marks, result.output
    assert any("np.argmax(model.predict(x), axis=-1)" in n for n in result.notes), result.notes


def test_an_unbuilt_course_era_model_is_built_and_explained(grade):
    course = """
import tensorflow as tf
# GRADED FUNCTION: build_model
def build_model(vocab_size, embedding_dim, max_length):
    model = tf.keras.Sequential([
        tf.keras.layers.Embedding(vocab_size, embedding_dim, input_length=max_length),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(6, activation='relu'),
        tf.keras.layers.Dense(1, activation='sigmoid')
    ])
    return model
"""
    result = grade("c3w2-embedding-model", notebook(course))
    assert result.full_marks, result.output
    assert any("input_length" in n and "deprecated" in n for n in result.notes), result.notes
    assert any("tf.keras.Input(shape=(" in n for n in result.notes), result.notes


def test_an_imported_solution_notebook_gives_a_zero_starter(grade):
    body = reference_source("c3w1-tokenizer")
    marked = body.replace(
        "    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token)\n"
        "    tokenizer.fit_on_texts(sentences)\n"
        "    return tokenizer.word_index",
        "    ### START CODE HERE ###\n"
        "    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token)\n"
        "    tokenizer.fit_on_texts(sentences)\n"
        "    word_index = tokenizer.word_index\n"
        "    ### END CODE HERE ###\n"
        "    return word_index",
    )
    solution = notebook(marked)
    starter, skeleton = import_notebook(solution, "c3w1-tokenizer")
    assert grade("c3w1-tokenizer", solution).full_marks
    result = grade("c3w1-tokenizer", nbformat.writes(starter).encode())
    assert result.score == 0
    assert {c["function"] for c in skeleton["notebook"]["checks"]} == {
        "build_word_index",
        "encode",
        "pad",
    }
