"""End to end on course-shaped notebooks: import, record, grade, offline, with real-size data.

Every notebook here is written for these tests in the course's conventions (DLAI headers and
START/END regions, `graded` tags, data read from ./data, the older lessons' multi-line `!wget`
and `tfds.load`); none is copied from the course. The data are the generated stand-ins of
tests/course/standins.py, added to a temporary dataset store as an instructor would
(`adventures data add`, with --url or a TFDS folder), so nothing reaches the network.

* W3 style: tweets (six quoted columns, no header) and a large GloVe file (100,000 lines,
  about 87 MB: big enough that reading it is most of a run, small enough for ~1-2 s per run
  here), graded functions that return tf.data datasets, a TextVectorization and a compiled
  model with frozen pretrained embeddings, and a 20-epoch `model.fit` beside
  `model = create_model(...)`. With `training: skip` nothing trains and the checks still
  pass; with `training: {cap: 1}` one epoch runs.
* An older-style lesson: a `!wget` over three lines, a Tokenizer, `tfds.load`, a plot.
* Course-era Keras in a member's notebook: `predict_classes` and `Embedding(input_length=)`.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from graders.datasets import DatasetStore
from graders.notebook.check import check_exercise
from graders.notebook.importer import import_exercise, spec_yaml, write_exercise
from graders.notebook.pipeline import grade_notebook
from graders.notebook.record import record_checks
from graders.spec import load_spec
from tests.course import standins

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------------------------
# Notebook helpers
# --------------------------------------------------------------------------------------------

GRADED = {"tags": ["graded"]}


def code(source: str, meta: dict | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata=copy.deepcopy(meta or {}))


def md(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source)


def as_bytes(cells: list[nbformat.NotebookNode]) -> bytes:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(nb).encode()


def region(body: str) -> str:
    """A START/END CODE HERE region around body (already indented for a function)."""
    return f"    ### START CODE HERE ###\n{body}\n    ### END CODE HERE ###"


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """All stream, result and error text of an executed notebook."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif out.get("output_type") in ("execute_result", "display_data"):
                parts.append(str(out.get("data", {}).get("text/plain", "")))
            elif out.get("output_type") == "error":
                parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "\n".join(parts)


def errors_in(nb: nbformat.NotebookNode) -> list[tuple[int, str, str]]:
    return [
        (i + 1, out.get("ename", ""), out.get("evalue", ""))
        for i, cell in enumerate(nb.cells)
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


# --------------------------------------------------------------------------------------------
# A W3-style assignment: tweets + GloVe, tf.data, TextVectorization, a frozen-embedding model
# --------------------------------------------------------------------------------------------

W3_SLUG = "c3w3-tweets-glove"
W3_CAP_SLUG = "c3w3-tweets-glove-cap"
TWEETS = 6000
GLOVE_VOCAB = 99_997  # + 3 punctuation tokens = 100,000 lines, about 87 MB

W3_IMPORTS = (
    "import pickle\nimport numpy as np\nimport pandas as pd\nimport tensorflow as tf\n"
    "import matplotlib.pyplot as plt"
)
W3_CONSTANTS = "EMBEDDING_DIM = 100\nMAX_LENGTH = 32\nTRAINING_SPLIT = 0.9\nBATCH_SIZE = 128"
W3_READ = (
    'tweets = pd.read_csv("./data/training_cleaned.csv", header=None)\n'
    "# column 0 is the polarity (0 or 4), column 5 the text\n"
    "labels = (tweets[0] == 4).astype('int32').to_numpy()\n"
    "texts = tweets[5].to_numpy()\n"
    "dataset = tf.data.Dataset.from_tensor_slices((texts, labels))\n"
    'print(f"{len(dataset)} tweets; one of them: {next(iter(dataset))[0].numpy().decode()}")'
)

SPLIT_DOC = '''# GRADED FUNCTION: train_val_datasets
def train_val_datasets(dataset):
    """Batched training and validation datasets, split TRAINING_SPLIT of the way in."""
'''
SPLIT_BLANK = (
    SPLIT_DOC
    + region(
        "    # how many (text, label) pairs go to training\n"
        "    train_size = None\n\n"
        "    # the first train_size pairs train, the rest validate\n"
        "    train_dataset = None\n"
        "    validation_dataset = None\n"
    )
    + "\n\n    return train_dataset, validation_dataset"
)
SPLIT_SOLVED = (
    SPLIT_DOC
    + region(
        "    train_size = int(len(dataset) * TRAINING_SPLIT)\n"
        "    train_dataset = dataset.take(train_size).batch(BATCH_SIZE)\n"
        "    validation_dataset = dataset.skip(train_size).batch(BATCH_SIZE)"
    )
    + "\n\n    return train_dataset, validation_dataset"
)
SPLIT_MEMBER = (
    SPLIT_DOC
    + region(
        "    total = int(dataset.cardinality().numpy())\n"
        "    train_size = int(total * TRAINING_SPLIT)\n"
        "    train_dataset = dataset.take(train_size)\n"
        "    validation_dataset = dataset.skip(train_size)\n"
        "    train_dataset = train_dataset.batch(BATCH_SIZE)\n"
        "    validation_dataset = validation_dataset.batch(BATCH_SIZE)"
    )
    + "\n\n    return train_dataset, validation_dataset"
)
SPLIT_CALL = (
    "train_dataset, validation_dataset = train_val_datasets(dataset)\n"
    'print(f"{len(train_dataset)} training batches, {len(validation_dataset)} validation batches")'
)

VECTOR_DOC = '''# GRADED FUNCTION: fit_vectorizer
def fit_vectorizer(dataset):
    """A TextVectorization layer adapted to the texts in dataset, MAX_LENGTH long outputs."""
'''
VECTOR_BLANK = (
    VECTOR_DOC
    + region(
        "    vectorizer = tf.keras.layers.TextVectorization(\n"
        "        None,\n"
        "    )\n\n"
        "    # adapt it to the texts\n"
    )
    + "\n\n    return vectorizer"
)
VECTOR_SOLVED = (
    VECTOR_DOC
    + region(
        "    vectorizer = tf.keras.layers.TextVectorization(\n"
        '        standardize="lower_and_strip_punctuation",\n'
        "        output_sequence_length=MAX_LENGTH,\n"
        "    )\n"
        "    vectorizer.adapt(dataset)"
    )
    + "\n\n    return vectorizer"
)
VECTOR_MEMBER = (
    VECTOR_DOC
    + region(
        "    vectorizer = tf.keras.layers.TextVectorization(output_sequence_length=MAX_LENGTH)\n"
        "    vectorizer.adapt(dataset)"
    )
    + "\n\n    return vectorizer"
)
VECTOR_CALL = (
    "text_only_dataset = train_dataset.map(lambda text, label: text)\n"
    "vectorizer = fit_vectorizer(text_only_dataset)\n"
    "vocab_size = vectorizer.vocabulary_size()\n"
    'print(f"The vocabulary has {vocab_size} words")'
)
VECTORISED = (
    "train_dataset_vectorized = train_dataset.map(lambda x, y: (vectorizer(x), y))\n"
    "validation_dataset_vectorized = validation_dataset.map(lambda x, y: (vectorizer(x), y))"
)


def glove_cell(path: str) -> str:
    """The usual loop over the GloVe file, one dict entry per line."""
    return (
        f'glove_path = "{path}"\n'
        "glove_embeddings = {}\n"
        "with open(glove_path) as f:\n"
        "    for line in f:\n"
        "        word, *numbers = line.split()\n"
        "        glove_embeddings[word] = np.asarray(numbers, dtype='float32')\n"
        "print(f\"{len(glove_embeddings)} vectors of {len(glove_embeddings['dog'])} numbers\")"
    )


MATRIX = (
    "word_index = {word: i for i, word in enumerate(vectorizer.get_vocabulary())}\n"
    "embeddings_matrix = np.zeros((vocab_size, EMBEDDING_DIM))\n"
    "for word, i in word_index.items():\n"
    "    vector = glove_embeddings.get(word)\n"
    "    if vector is not None:\n"
    "        embeddings_matrix[i] = vector"
)

MODEL_DOC = '''# GRADED FUNCTION: create_model
def create_model(vocab_size, pretrained_embeddings):
    """A compiled binary classifier on frozen pretrained embeddings."""
'''
MODEL_BLANK = (
    MODEL_DOC
    + region(
        "    model = tf.keras.Sequential([\n"
        "        tf.keras.Input(None),\n"
        "        tf.keras.layers.Embedding(input_dim=None, output_dim=None, "
        "weights=[pretrained_embeddings], trainable=None),\n"
        "    ])\n\n"
        "    model.compile(\n"
        "        loss=None,\n"
        "        optimizer=None,\n"
        "        metrics=['accuracy'],\n"
        "    )\n"
    )
    + "\n\n    return model"
)
MODEL_SOLVED = (
    MODEL_DOC
    + region(
        "    model = tf.keras.Sequential([\n"
        "        tf.keras.Input((MAX_LENGTH,)),\n"
        "        tf.keras.layers.Embedding(vocab_size, EMBEDDING_DIM,\n"
        "                                  weights=[pretrained_embeddings], trainable=False),\n"
        "        tf.keras.layers.GlobalAveragePooling1D(),\n"
        "        tf.keras.layers.Dense(16, activation='relu'),\n"
        "        tf.keras.layers.Dense(1, activation='sigmoid'),\n"
        "    ])\n"
        "    model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])"
    )
    + "\n\n    return model"
)
MODEL_MEMBER = (
    MODEL_DOC
    + region(
        "    embedding = tf.keras.layers.Embedding(\n"
        "        input_dim=vocab_size,\n"
        "        output_dim=EMBEDDING_DIM,\n"
        "        weights=[pretrained_embeddings],\n"
        "        trainable=False,\n"
        "    )\n"
        "    model = tf.keras.Sequential([\n"
        "        tf.keras.Input(shape=(MAX_LENGTH,)),\n"
        "        embedding,\n"
        "        tf.keras.layers.GlobalAveragePooling1D(),\n"
        "        tf.keras.layers.Dense(16, activation=tf.nn.relu),\n"
        "        tf.keras.layers.Dense(1, activation=tf.nn.sigmoid),\n"
        "    ])\n"
        "    model.compile(\n"
        "        loss=tf.keras.losses.BinaryCrossentropy(),\n"
        "        optimizer=tf.keras.optimizers.Adam(),\n"
        "        metrics=['accuracy'],\n"
        "    )"
    )
    + "\n\n    return model"
)
TRAIN = (
    "model = create_model(vocab_size, embeddings_matrix)\n"
    "history = model.fit(\n"
    "    train_dataset_vectorized,\n"
    "    epochs=20,\n"
    "    validation_data=validation_dataset_vectorized,\n"
    ")"
)
AFTER_TRAINING = "print(f\"Trained for {len(history.history['loss'])} epochs\")"


def w3_notebook(split: str, vector: str, model: str, *, glove: str, tags: bool = True) -> bytes:
    graded = GRADED if tags else None
    return as_bytes(
        [
            md("# Tweets and GloVe, week 3 style\n\nThree graded functions."),
            code(W3_IMPORTS, graded),
            code("import unittests"),
            code(W3_CONSTANTS, graded),
            code(W3_READ),
            code(split, graded),
            code(SPLIT_CALL),
            code(vector, graded),
            code(VECTOR_CALL),
            code(VECTORISED),
            code(glove_cell(glove)),
            code(MATRIX),
            code(model, graded),
            code(
                "model = create_model(vocab_size, embeddings_matrix)\n"
                "print(model.predict(next(iter(train_dataset_vectorized.take(1)))[0], "
                "verbose=0).shape)"
            ),
            code(TRAIN),
            code(AFTER_TRAINING),
        ]
    )


def w3_notebooks() -> dict[str, bytes]:
    """The blank, the solution (it reads ./data) and a member's (it reads /tmp, older style)."""
    return {
        "blank": w3_notebook(
            SPLIT_BLANK, VECTOR_BLANK, MODEL_BLANK, glove="./data/glove.6B.100d.txt"
        ),
        "solved": w3_notebook(
            SPLIT_SOLVED,
            VECTOR_SOLVED,
            MODEL_SOLVED,
            glove="./data/glove.6B.100d.txt",
            tags=False,
        ),
        "member": w3_notebook(
            SPLIT_MEMBER, VECTOR_MEMBER, MODEL_MEMBER, glove="/tmp/glove.6B.100d.txt"
        ),
    }


W3_DATASETS = [
    {"name": "training_cleaned.csv"},
    {"name": "glove.6B.100d.txt", "paths": ["/tmp/glove.6B.100d.txt"]},
]


def add_w3_data(store_root: Path, scratch: Path, *, tweets: int, glove_vocab: int) -> None:
    """The tweets and GloVe stand-ins, added to the store under the names notebooks read."""
    scratch.mkdir(parents=True, exist_ok=True)
    csv_path = standins.sentiment140(
        scratch / "training_cleaned.csv", tweets, glove_vocab, shuffled=True, seed=160
    )
    glove_path = standins.glove(scratch / "glove.6B.100d.txt", glove_vocab)
    store = DatasetStore(store_root)
    store.add(csv_path, name="training_cleaned.csv")
    store.add(glove_path, name="glove.6B.100d.txt")


def epochs_shown(nb: nbformat.NotebookNode) -> list[str]:
    return re.findall(r"Epoch \d+/\d+", outputs_text(nb))


@pytest.fixture(scope="module")
def w3(tmp_path_factory, sandbox_pool):
    """A W3-style exercise imported from blank + solution, checks recorded from the solution."""
    base = tmp_path_factory.mktemp("course-e2e-w3")
    store_root = base / "store"
    add_w3_data(store_root, base / "scratch", tweets=TWEETS, glove_vocab=GLOVE_VOCAB)
    assert (base / "scratch" / "glove.6B.100d.txt").stat().st_size > 80_000_000
    books = w3_notebooks()
    exercises = base / "exercises"
    folder = exercises / W3_SLUG
    folder.mkdir(parents=True)

    imported = import_exercise(W3_SLUG, books["blank"], books["solved"])
    assert imported.functions == ["train_val_datasets", "fit_vectorizer", "create_model"]
    assert imported.spec["notebook"]["training"] == "skip"  # imported assignments default to it
    guessed = {d.name for d in imported.datasets}
    assert guessed == {"training_cleaned.csv", "glove.6B.100d.txt"}, guessed
    imported.spec["notebook"]["datasets"] = copy.deepcopy(W3_DATASETS)

    recording = record_checks(imported, folder, pool=sandbox_pool, datasets_root=store_root)
    assert recording.problem is None, recording
    # the cell reading `history` is skipped with the fit, so nothing fails
    assert recording.failures == [], recording.failures
    checks = {c["name"]: c for c in recording.checks}
    assert sorted(c["function"] for c in recording.checks) == [
        "create_model",
        "fit_vectorizer",
        "train_val_datasets",
    ], sorted(checks)
    for check in recording.checks:
        assert check["compare"] == "probe", check
    split = next(c for c in recording.checks if c["function"] == "train_val_datasets")
    assert split["args"] == [{"$global": "dataset"}], split
    spec = copy.deepcopy(imported.spec)
    spec["notebook"]["checks"] = recording.checks
    spec["points"] = float(len(recording.checks))
    write_exercise(folder, imported, spec)
    return {
        "store": store_root,
        "exercises": exercises,
        "folder": folder,
        "imported": imported,
        "spec": spec,
        "books": books,
        "recording": recording,
    }


def test_w3_with_training_skipped_grades_fairly_without_training(w3, sandbox_pool):
    folder, store = w3["folder"], w3["store"]
    spec = load_spec(folder / "exercise.yaml")
    assert spec.notebook.training == "skip"

    report = check_exercise(spec, folder, None, pool=sandbox_pool, datasets_root=store)
    assert report.problems == [], report.problems
    assert report.reference.full_marks, report.reference.output
    assert report.starter.status == "graded" and report.starter.score == 0, report.starter.output

    member = grade_notebook(
        spec, folder, w3["books"]["member"], pool=sandbox_pool, datasets_root=store
    )
    assert member.status == "graded" and member.full_marks, member.output
    skipped = [n for n in member.notes if n.startswith("Training was skipped for grading")]
    assert len(skipped) == 1, member.notes
    # the member is told that the cell reading the History did not run either, and why
    assert "Also not run, as they use its results: cell 16" in skipped[0], skipped
    assert "`history`" in skipped[0], skipped
    executed = member.executed_notebook
    assert epochs_shown(executed) == []  # fit never ran: no epoch header, no progress bar
    assert "val_loss:" not in outputs_text(executed)
    (train_cell,) = [c for c in executed.cells if "training skipped by the grader" in c.source]
    assert train_cell.source.startswith("model = create_model(vocab_size, embeddings_matrix)\n")
    text = outputs_text(executed)
    assert "vectors of 100 numbers" in text  # read through the /tmp/glove.6B.100d.txt mapping
    assert "100000 vectors" in text
    (after,) = [c for c in executed.cells if "uses training results" in c.source]
    assert after.outputs == []  # the print of the History's epochs became `pass`
    assert errors_in(executed) == [], errors_in(executed)
    print(f"W3 skip: member graded in {member.execution_time:.1f} s")


def test_w3_with_a_training_cap_runs_one_epoch(w3, sandbox_pool):
    exercises, store = w3["exercises"], w3["store"]
    folder = exercises / W3_CAP_SLUG
    spec_doc = copy.deepcopy(w3["spec"])
    spec_doc["slug"] = W3_CAP_SLUG
    spec_doc["notebook"]["training"] = {"cap": 1}
    imported = w3["imported"]
    write_exercise(folder, imported, spec_doc)
    spec = load_spec(folder / "exercise.yaml")

    member = grade_notebook(
        spec, folder, w3["books"]["member"], pool=sandbox_pool, datasets_root=store
    )
    assert member.status == "graded" and member.full_marks, member.output
    executed = member.executed_notebook
    text = outputs_text(executed)
    # Keras 3 prints no "Epoch 1/1" header for a one-epoch fit; one epoch's progress bar ends
    # once, with its validation metrics, and the History holds one epoch
    assert epochs_shown(executed) == [], text[-2000:]
    assert text.count("val_loss:") == 1, text[-2000:]
    assert "Trained for 1 epochs" in text
    assert errors_in(executed) == [], errors_in(executed)
    assert any(n.startswith("Training was capped at 1 epoch(s)") for n in member.notes), (
        member.notes
    )
    assert any("fit(epochs=20) ran 1" in n for n in member.notes), member.notes
    assert not any(n.startswith("Training was skipped") for n in member.notes)


# --------------------------------------------------------------------------------------------
# An older-style lesson: multi-line !wget, json, Tokenizer, tfds.load, a plot
# --------------------------------------------------------------------------------------------

LESSON_SLUG = "c3-lesson-sarcasm"
SARCASM_URL = standins.MANIFEST["sarcasm.json"]["urls"][-1]
MISSING_URL = standins.MANIFEST["irish-lyrics-eof.txt"]["urls"][-1]


def lesson(url: str, target: str) -> bytes:
    return as_bytes(
        [
            md("# Sarcasm headlines and IMDB reviews (lesson)"),
            code(f"!wget --no-check-certificate \\\n    {url} \\\n    -O {target}"),
            code(
                "import json\n\n"
                "with open('/tmp/sarcasm.json', 'r') as f:\n"
                "    datastore = json.load(f)\n\n"
                "sentences = []\nlabels = []\n"
                "for item in datastore:\n"
                "    sentences.append(item['headline'])\n"
                "    labels.append(item['is_sarcastic'])"
            ),
            code(
                "from tensorflow.keras.preprocessing.text import Tokenizer\n"
                "from tensorflow.keras.preprocessing.sequence import pad_sequences\n\n"
                "tokenizer = Tokenizer(oov_token='<OOV>')\n"
                "tokenizer.fit_on_texts(sentences)\n"
                "word_index = tokenizer.word_index\n"
                "sequences = tokenizer.texts_to_sequences(sentences)\n"
                "padded = pad_sequences(sequences, padding='post')\n"
                "print(len(word_index))\nprint(padded.shape)"
            ),
            code(
                "reverse_word_index = dict([(value, key) for (key, value) in word_index.items()])\n\n"
                "def decode_sentence(text):\n"
                "    return ' '.join([reverse_word_index.get(i, '?') for i in text])\n\n"
                "print(decode_sentence(padded[0]))"
            ),
            code(
                "import tensorflow_datasets as tfds\n"
                'imdb, info = tfds.load("imdb_reviews", with_info=True, as_supervised=True)\n'
                "train_data, test_data = imdb['train'], imdb['test']\n"
                "seen = 0\n"
                "for s, l in train_data.take(4):\n"
                "    seen += 1\n"
                "print(seen, 'reviews;', info.features['label'].num_classes, 'classes')"
            ),
            code(
                "import matplotlib.pyplot as plt\n\n"
                "lengths = [len(s.split()) for s in sentences]\n"
                "plt.hist(lengths, bins=20)\n"
                "plt.xlabel('words per headline')\n"
                "plt.show()"
            ),
        ]
    )


@pytest.fixture(scope="module")
def lesson_exercise(tmp_path_factory):
    base = tmp_path_factory.mktemp("course-e2e-lesson")
    raw = base / "raw"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.course.standins",
            str(raw),
            "--small",
            "--only",
            "sarcasm.json",
            "imdb_reviews",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=600,
    )
    store_root = base / "store"
    store = DatasetStore(store_root)
    store.add(raw / "sarcasm.json", urls=[SARCASM_URL])
    added = store.add(raw / "imdb_reviews", tfds=True)
    assert added.ref.tfds
    folder = base / "exercises" / LESSON_SLUG
    folder.mkdir(parents=True)
    (folder / "solution.ipynb").write_bytes(lesson(SARCASM_URL, "/tmp/sarcasm.json"))
    (folder / "starter.ipynb").write_bytes(lesson(SARCASM_URL, "/tmp/sarcasm.json"))
    spec = {
        "slug": LESSON_SLUG,
        "title": "Sarcasm lesson",
        "kind": "notebook",
        "week": 1,
        "points": 1.0,
        "prompt": "Run the lesson.",
        "notebook": {
            "solution": "solution.ipynb",
            "checks": [
                {
                    "name": "decode_sentence",
                    "function": "decode_sentence",
                    "args": [[1, 2, 3]],
                    "compare": "exact",
                }
            ],
        },
    }
    (folder / "exercise.yaml").write_text(spec_yaml(spec), encoding="utf-8")
    return {"folder": folder, "store": store_root}


def test_an_old_style_lesson_runs_to_the_end_offline(lesson_exercise, sandbox_pool):
    folder, store = lesson_exercise["folder"], lesson_exercise["store"]
    spec = load_spec(folder / "exercise.yaml")
    result = grade_notebook(
        spec,
        folder,
        lesson(SARCASM_URL, "/tmp/sarcasm.json"),
        pool=sandbox_pool,
        datasets_root=store,
    )
    assert result.status == "graded" and result.full_marks, result.output
    executed = result.executed_notebook
    assert errors_in(executed) == [], errors_in(executed)
    pngs = [
        out
        for cell in executed.cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert len(pngs) == 1
    text = outputs_text(executed)
    assert "4 reviews; 2 classes" in text
    assert "(500, " in text  # the small sarcasm stand-in has 500 headlines
    served = [n for n in result.notes if SARCASM_URL in n]
    assert any("/tmp/sarcasm.json" in n for n in served), result.notes
    assert any("tfds.load('imdb_reviews')" in n for n in result.notes), result.notes
    assert not any("already in ./data" in n for n in result.notes)


def test_a_download_the_store_lacks_names_the_url_and_the_fix(lesson_exercise, sandbox_pool):
    folder, store = lesson_exercise["folder"], lesson_exercise["store"]
    spec = load_spec(folder / "exercise.yaml")
    result = grade_notebook(
        spec,
        folder,
        lesson(MISSING_URL, "/tmp/lyrics.txt"),
        pool=sandbox_pool,
        datasets_root=store,
    )
    assert result.status == "graded", result.error
    errors = errors_in(result.executed_notebook)
    first_cell, ename, evalue = errors[0]
    assert first_cell == 2  # the !wget cell (cell 1 is the title)
    assert MISSING_URL in evalue and "adventures data add" in evalue, (ename, evalue)
    assert any(MISSING_URL in n for n in result.notes), result.notes


# --------------------------------------------------------------------------------------------
# Course-era Keras through an imported exercise
# --------------------------------------------------------------------------------------------

ERA_SLUG = "c3-era-classifier"
ERA_IMPORTS = "import numpy as np\nimport tensorflow as tf"
ERA_CONSTANTS = "VOCAB_SIZE = 1000\nEMBEDDING_DIM = 16\nMAX_LENGTH = 20"
BUILD_DOC = '''# GRADED FUNCTION: build_model
def build_model(vocab_size, embedding_dim, max_length):
    """Embedding, average pooling and a three-way softmax, compiled."""
'''
BUILD_BLANK = BUILD_DOC + region("    model = None\n") + "\n\n    return model"
BUILD_SOLVED = (
    BUILD_DOC
    + region(
        "    model = tf.keras.Sequential([\n"
        "        tf.keras.Input(shape=(max_length,)),\n"
        "        tf.keras.layers.Embedding(vocab_size, embedding_dim),\n"
        "        tf.keras.layers.GlobalAveragePooling1D(),\n"
        "        tf.keras.layers.Dense(6, activation='relu'),\n"
        "        tf.keras.layers.Dense(3, activation='softmax'),\n"
        "    ])\n"
        "    model.compile(loss='sparse_categorical_crossentropy', optimizer='adam',\n"
        "                  metrics=['accuracy'])"
    )
    + "\n\n    return model"
)
BUILD_MEMBER = (
    BUILD_DOC
    + region(
        "    model = tf.keras.Sequential([\n"
        "        tf.keras.layers.Embedding(vocab_size, embedding_dim, input_length=max_length),\n"
        "        tf.keras.layers.GlobalAveragePooling1D(),\n"
        "        tf.keras.layers.Dense(6, activation='relu'),\n"
        "        tf.keras.layers.Dense(3, activation='softmax'),\n"
        "    ])\n"
        "    model.compile(loss='sparse_categorical_crossentropy', optimizer='adam',\n"
        "                  metrics=['accuracy'])"
    )
    + "\n\n    return model"
)
PREDICT_DOC = '''# GRADED FUNCTION: predict_labels
def predict_labels(model, inputs):
    """The most likely class of each input row."""
'''
PREDICT_BLANK = PREDICT_DOC + region("    labels = None\n") + "\n\n    return labels"
PREDICT_SOLVED = (
    PREDICT_DOC
    + region("    labels = np.argmax(model.predict(inputs, verbose=0), axis=-1)")
    + "\n\n    return labels"
)
PREDICT_MEMBER = (
    PREDICT_DOC + region("    labels = model.predict_classes(inputs)") + "\n\n    return labels"
)
ERA_SCORER = (
    "# a small scorer with fixed weights, to try predict_labels on\n"
    "scorer = tf.keras.Sequential([\n"
    "    tf.keras.Input((MAX_LENGTH,)),\n"
    "    tf.keras.layers.Dense(3, activation='softmax',\n"
    "                          kernel_initializer=tf.keras.initializers.GlorotUniform(seed=7)),\n"
    "])\n"
    "rows = np.random.default_rng(0).random((6, MAX_LENGTH)).astype('float32')\n"
    "print(predict_labels(scorer, rows))"
)


def era_notebook(build: str, predict: str, *, tags: bool = True) -> bytes:
    graded = GRADED if tags else None
    return as_bytes(
        [
            md("# A small classifier, course-era style"),
            code(ERA_IMPORTS, graded),
            code(ERA_CONSTANTS, graded),
            code(build, graded),
            code("model = build_model(VOCAB_SIZE, EMBEDDING_DIM, MAX_LENGTH)\nmodel.summary()"),
            code(predict, graded),
            code(ERA_SCORER),
        ]
    )


def test_course_era_keras_in_a_members_notebook_gets_full_marks(tmp_path, sandbox_pool):
    folder = tmp_path / "exercises" / ERA_SLUG
    folder.mkdir(parents=True)
    imported = import_exercise(
        ERA_SLUG,
        era_notebook(BUILD_BLANK, PREDICT_BLANK),
        era_notebook(BUILD_SOLVED, PREDICT_SOLVED, tags=False),
    )
    assert imported.functions == ["build_model", "predict_labels"]
    recording = record_checks(imported, folder, pool=sandbox_pool)
    assert recording.problem is None and recording.failures == [], recording
    functions = sorted(c["function"] for c in recording.checks)
    assert functions == ["build_model", "predict_labels"], recording.checks
    spec_doc = copy.deepcopy(imported.spec)
    spec_doc["notebook"]["checks"] = recording.checks
    spec_doc["points"] = float(len(recording.checks))
    write_exercise(folder, imported, spec_doc)
    spec = load_spec(folder / "exercise.yaml")

    report = check_exercise(spec, folder, None, pool=sandbox_pool)
    assert report.problems == [], report.problems

    member = grade_notebook(
        spec, folder, era_notebook(BUILD_MEMBER, PREDICT_MEMBER), pool=sandbox_pool
    )
    assert member.status == "graded" and member.full_marks, member.output
    notes = " | ".join(member.notes)
    assert "np.argmax(model.predict(x), axis=-1)" in notes, member.notes
    assert "input_length is deprecated" in notes and "tf.keras.Input(shape=(20,))" in notes, (
        member.notes
    )
    assert errors_in(member.executed_notebook) == []
    # the notes are the member's feedback too, not only the grader's log
    assert "predict_classes was removed" in member.output
    assert json.dumps(member.to_dict())  # a result that can be stored as it is
