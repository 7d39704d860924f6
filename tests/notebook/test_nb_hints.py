"""Tracebacks map to hints for course-era API changes and sandbox limits."""

from __future__ import annotations

import pytest

from graders.notebook.hints import NETWORK_HINT, hint_for, hints_for


@pytest.mark.parametrize(
    ("error", "message", "expected"),
    [
        (
            "AttributeError",
            "'Sequential' object has no attribute 'predict_classes'",
            "np.argmax(model.predict",
        ),
        (
            "TypeError",
            "Embedding.__init__() got an unexpected keyword argument 'input_length'",
            "deprecated in Keras 3",
        ),
        (
            "ValueError",
            "Unrecognized keyword arguments passed to Embedding: {'input_length': 120}",
            "tf.keras.Input(shape=(max_length,))",
        ),
        ("AttributeError", "module 'tensorflow' has no attribute 'Session'", "tf.compat.v1"),
        ("AttributeError", "module 'tensorflow' has no attribute 'placeholder'", "TensorFlow 1"),
        ("ModuleNotFoundError", "No module named 'tensorflow_datasets'", "no network"),
        (
            "Exception",
            "URL fetch failure on https://storage.googleapis.com/x.json: None -- [Errno -3] Temporary failure in name resolution",
            "./data",
        ),
        ("URLError", "<urlopen error [Errno -2] Name or service not known>", "./data"),
        ("OSError", "[Errno 101] Network is unreachable", "no network"),
        (
            "FileNotFoundError",
            "[Errno 2] No such file or directory: '/tmp/sarcasm.json'",
            "answered from the course data",
        ),
        ("MemoryError", "", "out of memory"),
        ("TypeError", "'NoneType' object is not subscriptable", "START CODE HERE"),
        ("AttributeError", "'Sequential' object has no attribute 'fit_generator'", "`fit`"),
        ("ValueError", "Argument(s) not recognized: {'lr': 0.001}", "learning_rate"),
        (
            "ModuleNotFoundError",
            "No module named 'keras.preprocessing.text'",
            "tensorflow.keras.preprocessing.text",
        ),
        ("ModuleNotFoundError", "No module named 'seaborn'", "not installed"),
        ("IndentationError", "unexpected indent (3007645226.py, line 2)", "syntax"),
        ("TimeoutError", "This cell ran for more than 60 s and was stopped.", "time limit"),
    ],
)
def test_known_errors_get_their_hint(error, message, expected):
    hint = hint_for(error, message)
    assert hint is not None and expected in hint


def test_network_hint_says_where_downloads_come_from():
    assert "./data" in NETWORK_HINT and "no network" in NETWORK_HINT
    assert "adventures data add FILE --url URL" in NETWORK_HINT


def test_an_undefined_checked_function_names_the_cell_to_keep():
    hint = hint_for("NameError", "name 'encode' is not defined", function="encode")
    assert "# GRADED FUNCTION: encode" in hint


def test_other_name_errors_get_the_run_order_hint():
    assert "top to bottom" in hint_for("NameError", "name 'tokenizer' is not defined")


def test_unknown_errors_get_no_hint():
    assert hint_for("ZeroDivisionError", "division by zero") is None


def test_hints_are_deduplicated_in_order():
    found = hints_for(
        [
            ("MemoryError", "", ""),
            ("AttributeError", "no attribute 'predict_classes'", ""),
            ("MemoryError", "", ""),
            ("ZeroDivisionError", "division by zero", ""),
        ]
    )
    assert len(found) == 2 and "memory" in found[0] and "predict" in found[1]
