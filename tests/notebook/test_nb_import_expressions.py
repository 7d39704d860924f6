"""Notebooks without functions: expression checks, from the spec to the harness to the import.

The old lesson repo's exercises are Question/Answer pairs whose members fill `# YOUR CODE HERE`
spots in straight-line cells, each cell printing what it computed. The import records the
values the answer prints as `expression:` checks; the harness evaluates them in the member's
namespace after all their cells ran. Fast tests run the harness and the recorder's kernel code
in this process; the slow one imports a pair written here (in that style, reading a csv that a
multi-line `!wget` fetches from a dataset store) and grades the answer, the question and a
member's own completion in the sandbox.
"""

from __future__ import annotations

import builtins
import csv
import io
import json
import random
from pathlib import Path

import nbformat
import numpy as np
import pytest
from pydantic import ValidationError

from graders import codec
from graders.notebook.check import starter_problems
from graders.notebook.harness import (
    CheckOutcome,
    calls_payload,
    harness_source,
    new_nonce,
    parse_results,
)
from graders.notebook.importer import (
    import_exercise,
    member_cells,
    pair_cells,
    printed_expressions,
    spec_yaml,
)
from graders.notebook.record import (
    EXPRESSIONS_NAME,
    checks_from_expressions,
    fallbacks,
    setup_cell_source,
)
from graders.notebook.scoring import score_check
from graders.notebook.zygote import make_harness
from graders.spec import CheckSpec, ExerciseSpec
from tests.notebook.conftest import run_check_cell

CODEC_SOURCE = Path(codec.__file__).read_text(encoding="utf-8")


def exercise(checks: list[dict], **notebook) -> dict:
    section = {"solution": "solution.ipynb", "checks": checks, **notebook}
    return {
        "slug": "c3w1-old-style",
        "title": "Old style",
        "kind": "notebook",
        "week": 1,
        "points": 1,
        "prompt": "p",
        "notebook": section,
    }


# ---- the spec ------------------------------------------------------------------------------


def test_an_expression_check_is_valid_with_a_solution_notebook():
    spec = ExerciseSpec.model_validate(
        exercise([{"name": "vocabulary", "expression": "len(word_index)"}])
    )
    check = spec.notebook.checks[0]
    assert check.expression == "len(word_index)" and check.function is None


@pytest.mark.parametrize(
    ("check", "says"),
    [
        ({"name": "both", "function": "f", "expression": "x"}, "exactly one of"),
        ({"name": "neither"}, "exactly one of"),
        ({"name": "bad", "expression": "len(x"}, "not valid Python"),
        ({"name": "statement", "expression": "x = 1"}, "not valid Python"),
        ({"name": "args", "expression": "x", "args": [1]}, "takes no args"),
        ({"name": "setup", "expression": "x", "setup": "y = 1"}, "takes no setup"),
        ({"name": "blank", "expression": "  "}, "must not be empty"),
    ],
)
def test_a_malformed_check_is_refused_with_the_reason(check, says):
    with pytest.raises(ValidationError, match=says):
        CheckSpec.model_validate(check)


def test_an_expression_needs_a_solution_notebook_not_a_reference_module():
    data = exercise([{"name": "n", "expression": "len(word_index)"}])
    data["notebook"] = {"reference": "c3w1_tokenizer", "checks": data["notebook"]["checks"]}
    with pytest.raises(ValidationError, match="use a 'solution' notebook"):
        ExerciseSpec.model_validate(data)


def test_function_checks_keep_working_as_before():
    spec = ExerciseSpec.model_validate(
        exercise([{"name": "call", "function": "pad", "args": [[1, 2]]}])
    )
    assert spec.notebook.checks[0].function == "pad"
    assert spec.notebook.checks[0].expression is None


# ---- the harness (in this process, as the kernel runs it) ----------------------------------


class _Shell:
    def __init__(self, user_ns: dict) -> None:
        self.user_ns = user_ns


def _codec_namespace() -> dict:
    namespace = {"__name__": "_adventures_codec", "__builtins__": dict(vars(builtins))}
    exec(compile(CODEC_SOURCE, "<codec>", "exec"), namespace)  # as zygote._load_codec
    return namespace


def run_harness(tmp_path, user_ns: dict, checks: list[CheckSpec]) -> dict[str, CheckOutcome]:
    path = tmp_path / "result.jsonl"
    path.touch()
    harness = make_harness(_Shell(user_ns), _codec_namespace(), str(path), 0, 1 << 20)
    nonce = new_nonce()
    run_check_cell(harness, harness_source(nonce, checks))
    return parse_results(
        path.read_bytes(), nonce, {c.name for c in checks}, max_value_bytes=1 << 20
    )


def test_harness_source_carries_the_expression_and_no_call():
    payload = json.loads(calls_payload([CheckSpec(name="shape", expression="padded.shape")]))
    assert payload == [{"name": "shape", "expression": "padded.shape"}]
    assert "padded.shape" in harness_source(
        "n" * 32, [CheckSpec(name="shape", expression="padded.shape")]
    )


def test_expressions_are_evaluated_in_the_members_namespace(tmp_path):
    user_ns = {
        "__builtins__": builtins,
        "word_index": {"<OOV>": 1, "cat": 2, "sat": 3},
        "padded": np.arange(12, dtype="int32").reshape(3, 4),
        "sentences": ["the cat sat", "a dog"],
    }
    checks = [
        CheckSpec(name="n", expression="len(word_index)"),
        CheckSpec(name="shape", expression="padded.shape"),
        CheckSpec(name="row", expression="padded[1]"),
        CheckSpec(name="head", expression="sentences[0].split()", compare="probe"),
    ]
    out = run_harness(tmp_path, user_ns, checks)
    assert out["n"].ok and out["n"].value == 3
    assert out["shape"].value == (3, 4)
    assert out["row"].value.tolist() == [4, 5, 6, 7]
    assert isinstance(out["head"].value, codec.Probe) and out["head"].value["length"] == 3


def test_a_name_the_notebook_never_defined_is_a_lookup_error(tmp_path):
    out = run_harness(
        tmp_path,
        {"padded": [1, 2]},
        [
            CheckSpec(name="missing", expression="len(word_index)"),
            CheckSpec(name="raises", expression="padded[5]"),
        ],
    )
    missing = out["missing"]
    assert not missing.ok and missing.stage == "lookup" and missing.error_type == "NameError"
    assert "'word_index' is not defined" in missing.message
    raises = out["raises"]
    assert raises.stage == "call" and raises.error_type == "IndexError"


def test_the_builtins_are_the_ones_from_before_member_code_ran(tmp_path):
    real_sorted = builtins.sorted
    user_ns = {"__builtins__": builtins, "words": ["b", "a"]}
    path = tmp_path / "result.jsonl"
    path.touch()
    try:
        harness = make_harness(_Shell(user_ns), _codec_namespace(), str(path), 0, 1 << 20)
        builtins.sorted = lambda value: 999  # what a hostile cell might do
        nonce = new_nonce()
        run_check_cell(
            harness, harness_source(nonce, [CheckSpec(name="n", expression="sorted(words)")])
        )
    finally:
        builtins.sorted = real_sorted
    out = parse_results(path.read_bytes(), nonce, {"n"}, max_value_bytes=10_000)
    assert out["n"].value == ["a", "b"]


def test_scoring_names_the_expression_and_the_cell_that_should_define_it():
    check = CheckSpec(name="n", expression="len(word_index)", compare="exact")
    lookup = CheckOutcome(
        ok=False,
        stage="lookup",
        error_type="NameError",
        message="name 'word_index' is not defined after all your cells ran",
    )
    failed = score_check(check, 1.0, lookup, 42, not_run_reason="")
    assert failed.status == "error" and failed.score == 0 and failed.function == ""
    assert "Evaluated `len(word_index)` in your notebook" in failed.output
    assert "the cell that assigns `word_index` must run without errors" in failed.output
    passed = score_check(check, 1.0, CheckOutcome(ok=True, value=42), 42, not_run_reason="")
    assert passed.status == "passed" and passed.score == 1.0
    wrong = score_check(check, 1.0, CheckOutcome(ok=True, value=41), 42, not_run_reason="")
    assert wrong.status == "failed" and wrong.score == 0


def test_expression_checks_need_no_graded_function_cell_in_the_starter():
    spec = ExerciseSpec.model_validate(exercise([{"name": "n", "expression": "len(word_index)"}]))
    starter = nbformat.writes(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = # YOUR CODE HERE")])
    ).encode()
    assert starter_problems(spec, starter) == []


# ---- which values the import records -------------------------------------------------------


def nb(*cells: str, markdown_first: bool = False) -> nbformat.NotebookNode:
    made = [nbformat.v4.new_code_cell(c) for c in cells]
    if markdown_first:
        made.insert(0, nbformat.v4.new_markdown_cell("# Words"))
    return nbformat.v4.new_notebook(cells=made)


QUESTION = nb(
    "import numpy as np\nLIMIT = 5",
    "words = # YOUR CODE HERE\nprint(len(words))\nprint(LIMIT)\nprint(f'{len(words)} words')",
    "counts = {w: len(w) for w in words}\nprint(counts)\nprint(len(counts))\nprint('done')",
    "#Your Code here\n",
    "lengths = np.array(sorted(counts.values()))\nlengths.sum()",
    "model = build(len(counts))\nmodel.summary()\nhistory = model.fit(lengths, epochs=3)",
    "print(history.history['loss'])\nprint(model.predict(lengths))\nweights = model.get_weights()"
    "\nprint(weights[0].shape)\nprint(weights[0])",
)
ANSWER = nb(
    "# an extra cell only the answer has",
    "import numpy as np\nLIMIT = 5",
    "words = 'the cat sat on the mat'.split()\nprint(len(words))\nprint(LIMIT)\n"
    "print(f'{len(words)} words')",
    "counts = {w: len(w) for w in words}\nprint(counts)\nprint(len(counts))\nprint('done')",
    "biggest = max(counts.values())\nprint(biggest)",
    "lengths = np.array(sorted(counts.values()))\nlengths.sum()",
    "model = build(len(counts))\nmodel.summary()\nhistory = model.fit(lengths, epochs=3)",
    "print(history.history['loss'])\nprint(model.predict(lengths))\nweights = model.get_weights()"
    "\nprint(weights[0].shape)\nprint(weights[0])",
    markdown_first=True,
)


def test_cells_pair_by_content_even_when_the_answer_adds_cells():
    assert pair_cells(QUESTION, ANSWER) == [(0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7), (6, 8)]
    # marked, or different from the blank's cell: cells 3 (words) and 5 (the marker only)
    assert member_cells(QUESTION, ANSWER) == [3, 5]


def test_what_the_member_computes_is_recorded_and_the_rest_is_not():
    printed, members, notes = printed_expressions(QUESTION, ANSWER)
    assert members == [4, 6]
    assert [(p.expression, p.cell, p.how) for p in printed] == [
        ("len(words)", 4, "print"),  # a member cell: its prints (not the constant, f-string)
        ("counts", 5, "print"),  # a later cell printing what the member's values gave
        ("len(counts)", 5, "print"),
        ("biggest", 6, "print"),
        ("lengths.sum()", 7, "display"),  # the bare last line
        ("model", 8, "summary"),  # model.summary(): the model itself
        ("weights[0].shape", 9, "print"),  # a shape survives training being skipped
    ]
    assert any("`weights[0]` depends on training" in n for n in notes)
    assert any("`history.history['loss']` depends on training" in n for n in notes)


def test_a_function_less_pair_imports_with_the_question_as_the_starter():
    question = nbformat.writes(QUESTION).encode()
    imported = import_exercise("c3w1-words", question, nbformat.writes(ANSWER).encode())
    assert imported.functions == [] and len(imported.printed) == 7
    assert [c.source for c in imported.starter.cells] == [c.source for c in QUESTION.cells]
    assert imported.spec["notebook"]["training"] == "skip"
    assert "YOUR CODE HERE" in imported.spec["prompt"]
    spec = dict(imported.spec)
    spec["notebook"] = dict(spec["notebook"], checks=[{"name": "n", "expression": "len(words)"}])
    assert "hidden" not in spec_yaml(spec)  # no call to copy as a hidden variant


def test_the_recorder_measures_values_and_cuts_big_ones_down():
    ns: dict = {"__name__": "__main__", "np": np}
    wanted = [(e, fallbacks(e)) for e in ("n", "big", "index", "text", "missing", "nothing")]
    exec(compile(setup_cell_source(expressions=wanted), "<setup>", "exec"), ns)  # noqa: S102
    ns.update(
        n=np.int64(7),
        big=np.arange(40_000).reshape(200, 200),
        index={f"w{i}": i for i in range(20_000)},
        text="The cat sat.",
        nothing=None,
    )
    measured = json.loads(ns[EXPRESSIONS_NAME]())
    assert measured["n"]["ok"] and not measured["n"]["big"] and measured["n"]["kind"] == "exact"
    assert measured["big"]["big"] and measured["big.shape"]["ok"]
    assert measured["big[:3]"]["bytes"] < 64 * 1024
    assert measured["missing"] == {"ok": False, "error": "NameError: name 'missing' is not defined"}
    assert measured["index"]["big"] and not measured["index[:3]"]["ok"]

    from graders.notebook.importer import Printed

    printed = [Printed(e, 2) for e, _ in wanted]
    checks, notes = checks_from_expressions(printed, measured)
    assert [(c["expression"], c["compare"]) for c in checks] == [
        ("n", "exact"),
        ("big.shape", "exact"),
        ("big[:3]", "exact"),
        ("len(index)", "exact"),
        ("list(index.items())[:10]", "exact"),
        ("text", "text"),
    ]
    assert checks[1]["name"] == "big.shape: from big, as the notebook prints it"
    assert any("`big` is too big to compare whole" in n for n in notes)
    assert any("`missing` could not be read" in n for n in notes)
    for check in checks:
        CheckSpec.model_validate(check)


def test_a_model_summary_becomes_an_output_shape_probe():
    measured = {"model": {"ok": True, "type": "Sequential", "kind": "probe", "model": True}}
    from graders.notebook.importer import Printed

    checks, _ = checks_from_expressions([Printed("model", 3, "summary")], measured)
    assert checks == [
        {
            "name": "model: output shape, as model.summary() shows it",
            "expression": "model",
            "compare": "probe",
            "probe": {"fields": ["output_shape"]},
            "points": 1,
            "visibility": "visible",
            "hint": checks[0]["hint"],
        }
    ]
    # A model cell that raised in the solution's run (half a model): no check from it.
    dropped, notes = checks_from_expressions([Printed("model", 3, "summary")], measured, {3})
    assert dropped == [] and "raised in the solution's run" in notes[0]


def test_a_download_is_matched_to_the_store_dataset_that_lists_its_url():
    from graders.datasets import DatasetRef
    from graders.notebook.importer import DatasetGuess, match_store

    url = "https://example.org/data/train.csv"
    guesses = [DatasetGuess("train.csv", ["/tmp/train.csv"], [url]), DatasetGuess("other.txt")]
    refs = [
        DatasetRef(name="train.csv", version=1, kind="file", digest="a", files={}),
        DatasetRef(name="train-full.csv", version=1, kind="file", digest="b", files={}, urls=[url]),
    ]
    notes = match_store(guesses, refs)
    assert [g.name for g in guesses] == ["train-full.csv", "other.txt"]
    assert guesses[0].to_spec() == {"name": "train-full.csv", "paths": ["/tmp/train.csv"]}
    assert notes == ["dataset train.csv: the store holds its URL as train-full.csv"]


# ---- a whole pair in the sandbox -----------------------------------------------------------

URL = "https://example.org/course-data/short-reviews.csv"
WORDS = {
    "pos": "great lovely fun superb moving warm clever bright charming",
    "neg": "dull awful slow boring weak flat messy tired clumsy",
}
COMMON = "the film was a and it of plot actors story this".split()


def reviews_csv(rows: int = 600, seed: int = 3) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["label", "review"])
    for _ in range(rows):
        label = rng.choice(["pos", "neg"])
        words = WORDS[label].split() + COMMON
        writer.writerow([label, " ".join(rng.choice(words) for _ in range(rng.randint(20, 60)))])
    return out.getvalue()


IMPORTS = (
    "import csv\nimport numpy as np\nimport tensorflow as tf\n"
    "from tensorflow.keras.preprocessing.text import Tokenizer\n"
    "from tensorflow.keras.preprocessing.sequence import pad_sequences\n\n"
    f"!wget --no-check-certificate \\\n    {URL} \\\n    -O /tmp/short-reviews.csv"
)
READ_Q = (
    "sentences = []\nlabels = []\nwith open('/tmp/short-reviews.csv') as f:\n"
    "    reader = csv.reader(f)\n    next(reader)\n    # YOUR CODE HERE\n\n"
    "print(len(sentences))\nprint(sentences[0])\n# Expected output\n# 600\n# a review"
)
READ_A = READ_Q.replace(
    "    # YOUR CODE HERE\n",
    "    for row in reader:\n        labels.append(row[0])\n        sentences.append(row[1])\n",
)
READ_M = READ_Q.replace(
    "    # YOUR CODE HERE\n",
    "    rows = list(reader)\n    labels = [r[0] for r in rows]\n"
    "    sentences = [r[1] for r in rows]\n",
)
TOKENS_Q = (
    "tokenizer = #YOUR CODE HERE\ntokenizer.fit_on_texts(#YOUR CODE HERE)\n"
    "word_index = #YOUR CODE HERE\nprint(len(word_index))\n# Expected output\n# 21"
)
TOKENS_A = (
    "tokenizer = Tokenizer(oov_token='<OOV>')\ntokenizer.fit_on_texts(sentences)\n"
    "word_index = tokenizer.word_index\nprint(len(word_index))\n# Expected output\n# 21"
)
TOKENS_M = (
    "tokenizer = Tokenizer(num_words=None, oov_token='<OOV>')\n"
    "tokenizer.fit_on_texts(list(sentences))\nword_index = dict(tokenizer.word_index)\n"
    "print(len(word_index))"
)
PAD_Q = (
    "sequences = # Your Code Here\npadded = # Your Code here\nprint(padded)\n"
    "print(padded.shape)\n# Expected output\n# (600, 60)"
)
PAD_A = (
    "sequences = tokenizer.texts_to_sequences(sentences)\n"
    "padded = pad_sequences(sequences, padding='post', maxlen=60)\nprint(padded)\n"
    "print(padded.shape)"
)
PAD_M = (
    "sequences = [tokenizer.texts_to_sequences([s])[0] for s in sentences]\n"
    "padded = np.array(pad_sequences(sequences, maxlen=60, padding='post', truncating='pre'))\n"
    "print(padded.shape)"
)
LABELS = (
    "label_index = {'neg': 0, 'pos': 1}\nlabel_ids = np.array([label_index[x] for x in labels])\n"
    "print(label_ids[:10])\nprint(len(label_index))"
)
MODEL_Q = (
    "model = tf.keras.Sequential([\n    # YOUR CODE HERE\n])\n"
    "model.compile(loss='binary_crossentropy', optimizer='adam')\nmodel.summary()"
)
MODEL_A = MODEL_Q.replace(
    "    # YOUR CODE HERE\n",
    "    tf.keras.layers.Embedding(200, 8, input_length=60),\n"
    "    tf.keras.layers.GlobalAveragePooling1D(),\n"
    "    tf.keras.layers.Dense(16 / 2, activation='relu'),\n"  # TF 2.x took int(units)
    "    tf.keras.layers.Dense(1, activation='sigmoid'),\n",
)
MODEL_M = MODEL_Q.replace(
    "    # YOUR CODE HERE\n",
    "    tf.keras.Input((60,)),\n    tf.keras.layers.Embedding(200, 4),\n"
    "    tf.keras.layers.Flatten(),\n    tf.keras.layers.Dense(6, activation='relu'),\n"
    "    tf.keras.layers.Dense(1, activation='sigmoid'),\n",
)
TRAIN = (
    "history = model.fit(padded, label_ids, epochs=3, verbose=0)\n"
    "print(history.history['loss'][-1])"
)


def pair(read: str, tokens: str, pad: str, model: str, *, answer: bool = False) -> bytes:
    cells = [nbformat.v4.new_markdown_cell("# Short reviews, the old way")]
    if answer:
        cells.append(nbformat.v4.new_markdown_cell("Answers below."))
    sources = [IMPORTS, read, tokens, pad, LABELS, model, TRAIN]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode()


@pytest.mark.slow
def test_a_function_less_pair_imports_and_grades_fairly(tmp_path, sandbox_pool):
    from graders.datasets import DatasetStore
    from graders.notebook.check import check_exercise
    from graders.notebook.importer import write_exercise
    from graders.notebook.pipeline import grade_notebook
    from graders.notebook.record import record_checks
    from graders.spec import load_spec

    store = tmp_path / "store"
    data = tmp_path / "short-reviews.csv"
    data.write_text(reviews_csv(), encoding="utf-8")
    DatasetStore(store).add(data, name="short-reviews.csv", urls=[URL])
    folder = tmp_path / "exercises" / "c3w1-short-reviews"
    question = pair(READ_Q, TOKENS_Q, PAD_Q, MODEL_Q)
    answer = pair(READ_A, TOKENS_A, PAD_A, MODEL_A, answer=True)

    imported = import_exercise("c3w1-short-reviews", question, answer)
    assert [d.name for d in imported.datasets] == ["short-reviews.csv"]
    recording = record_checks(imported, folder, pool=sandbox_pool, datasets_root=store)
    assert recording.problem is None, recording
    # The training cell's print of `history` is skipped with the fit, so no cell fails.
    assert recording.failures == [], recording.failures
    assert [c["expression"] for c in recording.checks] == [
        "len(sentences)",
        "sentences[0]",
        "len(word_index)",
        "padded.shape",  # padded itself is too big: its shape and first rows instead
        "padded[:3]",
        "label_ids[:10]",  # a given cell printing what the member's labels gave
        "model",  # its output shape
    ]
    assert any("`history.history['loss'][-1]` depends on training" in n for n in imported.notes)

    spec = imported.spec
    spec["notebook"]["checks"] = recording.checks
    spec["points"] = float(len(recording.checks))
    write_exercise(folder, imported, spec)
    spec = load_spec(folder / "exercise.yaml")
    report = check_exercise(spec, folder, None, pool=sandbox_pool, datasets_root=store)
    assert report.problems == [], report.problems
    assert report.reference.full_marks, report.reference.output
    starter = report.starter
    assert starter.status == "graded" and starter.score == 0, starter.output

    member = pair(READ_M, TOKENS_M, PAD_M, MODEL_M)
    result = grade_notebook(spec, folder, member, pool=sandbox_pool, datasets_root=store)
    assert result.status == "graded" and result.full_marks, result.output
