"""Tracebacks to hints, mostly for course-era APIs that TensorFlow 2.x and Keras 3 removed.

Rules are tried in order against "ErrorType: message" and the traceback text;
the first that matches gives the hint. Warnings on stderr are never errors and
never reach this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

NETWORK_HINT = (
    "The grader has no network. Downloads (`!wget`, `!curl`, `urlretrieve`, "
    "`tf.keras.utils.get_file`, `gdown`, `tfds.load`) are answered from the course data the "
    "instructor added, and the exercise's own files are in ./data (read-only). A download "
    "that is not there fails with a message naming its URL: ask the instructor to add it "
    "(`adventures data add FILE --url URL`)."
)


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    hint: str | Callable[[re.Match[str]], str]

    def apply(self, text: str) -> str | None:
        match = self.pattern.search(text)
        if match is None:
            return None
        return self.hint(match) if callable(self.hint) else self.hint


def _rule(pattern: str, hint: str | Callable[[re.Match[str]], str]) -> Rule:
    return Rule(re.compile(pattern, re.IGNORECASE | re.DOTALL), hint)


def _missing_module(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.split(".")[0] == "keras" and "preprocessing" in name:
        return (
            "Keras 3 dropped `keras.preprocessing.text`; import it the course's way: "
            "`from tensorflow.keras.preprocessing.text import Tokenizer`."
        )
    return (
        f"`{name}` is not installed in the grader and cannot be (no network). The grader has "
        "what the course imports (TensorFlow, Keras, NumPy, pandas, matplotlib, SciPy, "
        "tensorflow-datasets, keras-nlp, gdown) and the standard library; remove the import "
        "if the graded functions do not need it."
    )


RULES: tuple[Rule, ...] = (
    _rule(
        r"predict_classes",
        "`model.predict_classes` was removed in TensorFlow 2.6: use "
        "`np.argmax(model.predict(x, verbose=0), axis=-1)` instead.",
    ),
    _rule(
        r"predict_proba",
        "`model.predict_proba` was removed in TensorFlow 2.6: `model.predict(x)` returns the "
        "probabilities.",
    ),
    _rule(
        r"input_length",
        "`Embedding(input_length=...)` is deprecated in Keras 3: it is accepted but ignored, "
        "which leaves a Sequential unbuilt (no parameter count) until it is called. Give the "
        "model its input shape with `tf.keras.Input(shape=(max_length,))` as the first layer.",
    ),
    _rule(
        r"\b(fit|evaluate|predict)_generator\b",
        "`fit_generator`/`evaluate_generator`/`predict_generator` were removed: "
        "`fit`, `evaluate` and `predict` accept generators and datasets directly.",
    ),
    _rule(
        r"unexpected keyword argument 'lr'|Unrecognized keyword arguments[^\n]*'lr'|"
        r"not recognized: \{[^}]*'lr'",
        "Keras 3 optimizers take `learning_rate=`, not `lr=`.",
    ),
    _rule(
        r"layers\.experimental|experimental\.preprocessing",
        "`tf.keras.layers.experimental.preprocessing` moved to `tf.keras.layers` "
        "(e.g. `tf.keras.layers.TextVectorization`).",
    ),
    _rule(
        r"has no attribute '(Session|placeholder|global_variables_initializer|get_default_graph|contrib|ConfigProto)'",
        lambda m: (
            f"`tf.{m.group(1)}` is TensorFlow 1 API. TensorFlow 2 runs eagerly: call the "
            "functions directly (the old API lives on as `tf.compat.v1`, but the graded functions "
            "should not need it)."
        ),
    ),
    _rule(r"tensorflow_datasets|\btfds\b", NETWORK_HINT),
    _rule(
        r"get_file|URLError|urlopen|Temporary failure in name resolution|Name or service not "
        r"known|Network is unreachable|gaierror|ConnectionError|Connection refused|"
        r"MaxRetryError|HTTPError",
        NETWORK_HINT,
    ),
    _rule(r"ModuleNotFoundError: No module named '([\w.]+)'", _missing_module),
    _rule(
        r"FileNotFoundError|No such file or directory",
        "A file is missing. The exercise's data files are in ./data (read-only), and a file "
        "the notebook downloads first (`!wget ... -O /tmp/x`) is answered from the course data "
        "the instructor added; Colab paths (/content/..., Google Drive) do not exist here.",
    ),
    _rule(
        r"MemoryError|ResourceExhaustedError|OOM when allocating|Cannot allocate memory|"
        r"std::bad_alloc",
        "The kernel ran out of memory (the grader allows a few GB): use smaller arrays or "
        "batches, and do not keep several copies of a dataset.",
    ),
    _rule(
        r"TimeoutError|KeyboardInterrupt",
        "This ran past the grader's time limit. Avoid long training in the submitted notebook "
        "(fewer epochs, or put `# grade-up-to-here` after the graded cells) and check loops end.",
    ),
    _rule(
        r"'NoneType' object (is not (subscriptable|iterable|callable)|has no attribute)",
        "A value is `None`: the starter code leaves `None` placeholders between "
        "`### START CODE HERE ###` and `### END CODE HERE ###`; replace every one of them.",
    ),
    _rule(
        r"^(SyntaxError|IndentationError|TabError)",
        "Python cannot parse this cell: fix the syntax error it points at (indentation "
        "counts), then run the notebook top to bottom before uploading.",
    ),
)


def hint_for(
    error_type: str,
    message: str,
    traceback: str = "",
    *,
    function: str = "",
    expression: str = "",
) -> str | None:
    """The hint for one error, or None when no rule knows it.

    `expression` is an expression check's: a name it reads that the notebook does not define
    gets a hint about the cell that should assign it, not about graded functions.
    """
    missing = _MISSING_NAME.search(message) if error_type == "NameError" else None
    if expression and missing:
        name = missing.group(1)
        return (
            f"`{name}` is not defined when the checks run. The check evaluates `{expression}` "
            f"after all your cells ran, so the cell that assigns `{name}` must run without "
            "errors: a cell with a syntax error (such as `x = # YOUR CODE HERE` left unfilled) "
            "runs none of its lines."
        )
    if error_type == "NameError" and function and f"'{function}'" in message:
        return (
            f"`{function}` is not defined when the checks run: keep the cell that starts with "
            f"`# GRADED FUNCTION: {function}`, do not rename the function, and make sure that "
            "cell runs without errors."
        )
    text = f"{error_type}: {message}\n{traceback}"
    for rule in RULES:
        hint = rule.apply(text)
        if hint:
            return hint
    if error_type == "NameError":
        return (
            "A name is used before it is defined. Cells run top to bottom, once: make sure the "
            "cell that defines it comes first and runs without errors."
        )
    return None


_MISSING_NAME = re.compile(r"name '([A-Za-z_]\w*)' is not defined")


def hints_for(errors: Iterable[tuple[str, str, str]]) -> list[str]:
    """Distinct hints for several (type, message, traceback) errors, in first-seen order."""
    seen: list[str] = []
    for error_type, message, traceback in errors:
        hint = hint_for(error_type, message, traceback)
        if hint and hint not in seen:
            seen.append(hint)
    return seen
