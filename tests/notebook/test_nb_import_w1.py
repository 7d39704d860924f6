"""End to end: import a W1-style blank + solution, record its checks, and grade with them.

The pair is written here in the course's format (pandas + csv, a TextVectorization and a
StringLookup, a `graded` tag on the imports, a typo in one header, the `.None` placeholder line,
a solution with the markers deleted) and reads a generated `bbc-text.csv` (`category,text`
with a header). After the import, `check_exercise` (what `adventures exercises check` runs)
must find no problem: the solution gets full marks, the blank zero; and a member's notebook
that fills the blank's regions its own way gets full marks with no edit to the spec.
"""

from __future__ import annotations

import csv
import io
import random

import nbformat
import pytest

from graders.notebook.check import check_exercise
from graders.notebook.importer import import_exercise, write_exercise
from graders.notebook.pipeline import grade_notebook
from graders.notebook.record import record_checks
from graders.spec import load_spec

pytestmark = pytest.mark.slow

SLUG = "c3w1-news-import"
TOPICS = {
    "sport": "match goal team season coach player league win",
    "business": "market shares profit bank growth firm deal price",
    "tech": "phone software users internet chip network data device",
    "politics": "minister vote party election labour policy government tax",
    "entertainment": "film music award star show album actor festival",
}
FILLER = "the a of and to in is was it for on with as by at".split()


def news_csv(rows: int = 800, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["category", "text"])
    for _ in range(rows):
        topic = rng.choice(sorted(TOPICS))
        words = TOPICS[topic].split() + FILLER
        text = " ".join(rng.choice(words) for _ in range(rng.randint(35, 60)))
        writer.writerow([topic, text.capitalize() + "."])
    return out.getvalue()


IMPORTS = "import csv\nimport pandas as pd\nimport numpy as np\nimport tensorflow as tf"
STOP = 'STOP = ["the", "a", "of", "and", "to", "in", "is", "was", "it", "for", "on"]'

READ_BLANK = '''# GRADED FUNCTION: read_news
def read_news(path):
    """Texts and categories from the CSV file (it has a header row)."""
    texts = []
    categories = []
    ### START CODE HERE ###


    ### END CODE HERE ###
    return texts, categories'''

READ_SOLVED = '''def read_news(path):
    """Texts and categories from the CSV file (it has a header row)."""
    texts = []
    categories = []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            categories.append(row[0])
            texts.append(row[1])
    return texts, categories'''

READ_MEMBER = '''# GRADED FUNCTION: read_news
def read_news(path):
    """Texts and categories from the CSV file (it has a header row)."""
    texts = []
    categories = []
    ### START CODE HERE ###
    frame = pd.read_csv(path)
    texts = frame["text"].tolist()
    categories = frame["category"].tolist()
    ### END CODE HERE ###
    return texts, categories'''

CLEAN_BLANK = '''# GRADED FUNCTION: clean_sentence
def clean_sentence(sentence):
    """Lower-case, without the words in STOP."""
    ### START CODE HERE ###

    ### END CODE HERE ###
    return sentence'''

CLEAN_SOLVED = '''def clean_sentence(sentence):
    """Lower-case, without the words in STOP."""
    sentence = " ".join(w for w in sentence.lower().split() if w not in STOP)
    return sentence'''

CLEAN_MEMBER = CLEAN_BLANK.replace(
    "    ### START CODE HERE ###\n\n",
    "    ### START CODE HERE ###\n"
    "    kept = []\n"
    "    for word in sentence.lower().split():\n"
    "        if word not in STOP:\n"
    "            kept.append(word)\n"
    '    sentence = " ".join(kept)\n',
)

VECTOR_BLANK = '''# GRADED FUNCTION: make_vectoriser
def make_vectorizer(sentences):
    """A TextVectorization layer adapted to the sentences."""
    ### START CODE HERE ###
    vectorizer = None

    ### END CODE HERE ###
    return vectorizer'''

VECTOR_SOLVED = '''def make_vectorizer(sentences):
    """A TextVectorization layer adapted to the sentences."""
    vectorizer = tf.keras.layers.TextVectorization(max_tokens=60, output_sequence_length=20)
    vectorizer.adapt(sentences)
    return vectorizer'''

VECTOR_MEMBER = VECTOR_BLANK.replace(
    "    vectorizer = None\n",
    "    vectorizer = tf.keras.layers.TextVectorization(\n"
    "        output_sequence_length=20,\n"
    "        max_tokens=60,\n"
    "    )\n"
    "    vectorizer.adapt(tf.constant(sentences))\n",
)

LABELS_BLANK = '''# GRADED FUNCTION: make_label_encoder
def make_label_encoder(categories):
    """A StringLookup adapted to the categories, with no OOV token."""
    ### START CODE HERE ###
    label_encoder = None
    label_encoder.None
    ### END CODE HERE ###
    return label_encoder'''

LABELS_SOLVED = '''def make_label_encoder(categories):
    """A StringLookup adapted to the categories, with no OOV token."""
    label_encoder = tf.keras.layers.StringLookup(num_oov_indices=0)
    label_encoder.adapt(categories)
    return label_encoder'''

LABELS_MEMBER = LABELS_BLANK.replace(
    "    label_encoder = None\n    label_encoder.None\n",
    "    label_encoder = tf.keras.layers.StringLookup(num_oov_indices=0)\n"
    "    label_encoder.adapt(categories)\n",
)


def notebook(read: str, clean: str, vector: str, labels: str, *, tags: bool = True) -> bytes:
    graded = {"tags": ["graded"]} if tags else {}

    def code(source: str, meta: dict | None = None) -> nbformat.NotebookNode:
        return nbformat.v4.new_code_cell(source, metadata=dict(meta or {}))

    cells = [
        nbformat.v4.new_markdown_cell("# News categories, week 1 style\n\nFour graded functions."),
        code(IMPORTS, graded),
        code("import unittests"),
        code('frame = pd.read_csv("./data/bbc-text.csv")\nprint(frame.shape)'),
        code(STOP, graded),
        code(read, graded),
        code('texts, categories = read_news("./data/bbc-text.csv")\nprint(len(texts))'),
        code(clean, graded),
        code(
            'print(clean_sentence("The Cat and the Hat sat in a Box"))\n'
            "cleaned = [clean_sentence(t) for t in texts]"
        ),
        code("unittests.test_clean_sentence(clean_sentence)"),
        code(vector, graded),
        code("vectorizer = make_vectorizer(cleaned)\nprint(len(vectorizer.get_vocabulary()))"),
        code(labels, graded),
        code(
            "label_encoder = make_label_encoder(categories)\nprint(label_encoder(categories[:5]))"
        ),
    ]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode()


BLANK = notebook(READ_BLANK, CLEAN_BLANK, VECTOR_BLANK, LABELS_BLANK)
SOLVED = notebook(READ_SOLVED, CLEAN_SOLVED, VECTOR_SOLVED, LABELS_SOLVED, tags=False)
MEMBER = notebook(READ_MEMBER, CLEAN_MEMBER, VECTOR_MEMBER, LABELS_MEMBER)


def test_w1_style_import_records_checks_that_grade_fairly(tmp_path, reference_runner, sandbox_pool):
    folder = tmp_path / "exercises" / SLUG
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "bbc-text.csv").write_text(news_csv(), encoding="utf-8")

    imported = import_exercise(SLUG, BLANK, SOLVED)
    assert imported.functions == [
        "read_news",
        "clean_sentence",
        "make_vectorizer",
        "make_label_encoder",
    ]
    assert [d.name for d in imported.datasets] == ["bbc-text.csv"]
    # The file sits in the exercise's own data/ here; the store has its own tests.
    imported.spec["notebook"]["datasets"] = []

    recording = record_checks(imported, folder, pool=sandbox_pool)
    assert recording.problem is None, recording
    checks = {c["name"]: c for c in recording.checks}
    assert sorted(checks) == [
        "clean_sentence: as the notebook calls it (1)",
        "clean_sentence: as the notebook calls it (2)",
        "make_label_encoder: as the notebook calls it (1)",
        "make_vectorizer: as the notebook calls it (1)",
        "read_news: as the notebook calls it (1)",
    ]
    assert checks["read_news: as the notebook calls it (1)"]["args"] == ["./data/bbc-text.csv"]
    assert checks["clean_sentence: as the notebook calls it (1)"]["args"] == [
        "The Cat and the Hat sat in a Box"
    ]
    vector = checks["make_vectorizer: as the notebook calls it (1)"]
    assert vector["args"] == [{"$global": "cleaned"}] and vector["globals"] == ["cleaned"]
    assert vector["compare"] == "probe"
    labels = checks["make_label_encoder: as the notebook calls it (1)"]
    assert labels["compare"] == "probe" and len(labels["args"][0]) == 800  # a literal list
    assert recording.failures == []  # `import unittests` finds the kernel's stand-in

    spec = imported.spec
    spec["notebook"]["checks"] = recording.checks
    spec["points"] = float(len(recording.checks))
    write_exercise(folder, imported, spec)
    spec = load_spec(folder / "exercise.yaml")

    report = check_exercise(spec, folder, reference_runner, pool=sandbox_pool)
    assert report.problems == [], report.problems
    assert report.reference.full_marks, report.reference.output
    assert report.starter.status == "graded" and report.starter.score == 0, report.starter.output

    member = grade_notebook(spec, folder, MEMBER, runner=reference_runner, pool=sandbox_pool)
    assert member.status == "graded" and member.full_marks, member.output
