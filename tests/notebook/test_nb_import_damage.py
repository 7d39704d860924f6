"""Round trips on the ways real course notebooks broke the importer (issue 9, item 5).

Every notebook here is written for the test in the course's format: `graded` tags on imports,
constants and helpers, `# GRADED FUNCTION:` headers (with typos), START/END CODE HERE regions,
a blank as distributed (regions holding `None`) and its solution.
"""

from __future__ import annotations

import nbformat
import pytest

from graders.notebook import NotebookError
from graders.notebook.importer import (
    END,
    START,
    blank_region,
    graded_functions,
    guess_datasets,
    import_exercise,
    looks_blank,
    statements,
)

GRADED = {"tags": ["graded"]}


def nb_bytes(*cells: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=list(cells))).encode()


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text)


def code(source: str, tags: list[str] | None = None, output: str | None = None):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {})
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", text=output)]
        cell.execution_count = 3
    return cell


IMPORTS = "import numpy as np\nimport tensorflow as tf"
CONSTANTS = "VOCAB = 50\nMAXLEN = 8\nTRAIN_SHARE = 0.75"
HELPER = '''def tidy(text):
    """Lower-case and strip a text; given whole to the member."""
    return text.lower().strip()'''

SPLIT_BLANK = '''# GRADED FUNCTION: split_data
def split_data(texts):
    """Split texts into a train and a validation part."""
    ### START CODE HERE ###
    cut = None
    train = None
    val = None
    ### END CODE HERE ###
    return train, val'''

SPLIT_SOLVED = '''# GRADED FUNCTION: split_data
def split_data(texts):
    """Split texts into a train and a validation part."""
    ### START CODE HERE ###
    cut = int(len(texts) * TRAIN_SHARE)
    train = texts[:cut]
    val = texts[cut:]
    ### END CODE HERE ###
    return train, val'''

MODEL_BLANK = '''# GRADED FUNCTION: build_classifier
def build_classifier():
    """A small text classifier, compiled."""
    ### START CODE HERE ###
    model = tf.keras.Sequential([
        tf.keras.Input(None),
        None,
    ])
    model.compile(
        loss=None,
        optimizer=None,
        metrics=['accuracy']
    )
    ### END CODE HERE ###
    return model'''

MODEL_SOLVED = '''# GRADED FUNCTION: build_classifier
def build_classifier():
    """A small text classifier, compiled."""
    ### START CODE HERE ###
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(MAXLEN,)),
        tf.keras.layers.Embedding(VOCAB, 4),
        tf.keras.layers.GlobalAveragePooling1D(),
        tf.keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        metrics=["accuracy"],
    )
    ### END CODE HERE ###
    return model'''

# A typo in the header (the def is fit_lookup) and the course's `.None` placeholder line,
# which is a syntax error until the member fills it in.
LOOKUP_BLANK = '''# GRADED FUNCTION: fit_lookp
def fit_lookup(labels):
    """A StringLookup adapted to the labels, without OOV tokens."""
    ### START CODE HERE ###
    lookup = None
    # adapt it to the labels
    lookup.None
    ### END CODE HERE ###
    return lookup'''

LOOKUP_SOLVED = '''# GRADED FUNCTION: fit_lookp
def fit_lookup(labels):
    """A StringLookup adapted to the labels, without OOV tokens."""
    ### START CODE HERE ###
    lookup = tf.keras.layers.StringLookup(num_oov_indices=0)
    # adapt it to the labels
    lookup.adapt(labels)
    ### END CODE HERE ###
    return lookup'''

# `return` inside the region (kept), and one whose expression is the answer (not kept).
COUNT_SOLVED = '''# GRADED FUNCTION: count_words
def count_words(texts):
    """How many words each text has, as an array."""
    ### START CODE HERE ###
    counts = np.array([len(t.split()) for t in texts])
    return counts
    ### END CODE HERE ###'''

MEAN_SOLVED = '''# GRADED FUNCTION: mean_length
def mean_length(texts):
    """Average number of words per text."""
    ### START CODE HERE ###
    return float(np.mean([len(t.split()) for t in texts]))
    ### END CODE HERE ###'''

LOAD = 'texts = open("./data/reviews.txt").read().split("\\n")'


def blank_notebook() -> bytes:
    return nb_bytes(
        md("# Week 9: a made-up assignment\n\nFill in the graded functions."),
        code(IMPORTS, ["graded"]),
        code(CONSTANTS, ["graded"]),
        code(HELPER, ["graded"]),
        code(LOAD, output="loaded"),
        code(SPLIT_BLANK, ["graded"], output="old output"),
        code("train, val = split_data(texts)"),
        code(MODEL_BLANK, ["graded"]),
        code(LOOKUP_BLANK, ["graded"]),
        code("import unittests\nunittests.test_fit_lookup(fit_lookup)"),
    )


def solved_notebook(*, markers: bool = True) -> bytes:
    cells = [
        md("# Week 9: a made-up assignment\n\nFill in the graded functions."),
        code(IMPORTS, ["graded"]),
        code(CONSTANTS, ["graded"]),
        code(HELPER, ["graded"]),
        code(LOAD, output="loaded"),
        code(SPLIT_SOLVED, ["graded"], output="old output"),
        code("train, val = split_data(texts)"),
        code(MODEL_SOLVED, ["graded"]),
        code(LOOKUP_SOLVED, ["graded"]),
        code(COUNT_SOLVED, ["graded"]),
        code(MEAN_SOLVED, ["graded"]),
    ]
    if not markers:
        for cell in cells:
            if cell.cell_type == "code":
                cell.source = "\n".join(
                    line
                    for line in cell.source.split("\n")
                    if "CODE HERE" not in line and "GRADED FUNCTION" not in line
                )
                cell.metadata = {}
    return nb_bytes(*cells)


def sources(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells]


def cell_defining(nb: nbformat.NotebookNode, name: str) -> str:
    return next(c.source for c in nb.cells if f"def {name}(" in c.source)


# ---- 1. helpers tagged graded with no markers ----------------------------------------------


def test_import_constant_and_helper_cells_tagged_graded_are_not_blanked():
    imported = import_exercise("c3w9-derived", solved_notebook())
    starter = sources(imported.starter)
    assert IMPORTS in starter and CONSTANTS in starter and HELPER in starter
    assert "tidy" not in imported.functions


def test_they_stay_whole_in_a_blank_too():
    imported = import_exercise("c3w9-pair", blank_notebook(), solved_notebook())
    assert {IMPORTS, CONSTANTS, HELPER} <= set(sources(imported.starter))
    assert imported.functions == ["split_data", "build_classifier", "fit_lookup"]


# ---- 2. keyword arguments inside calls ------------------------------------------------------


def test_keyword_arguments_inside_a_call_never_become_placeholders():
    imported = import_exercise("c3w9-derived", solved_notebook())
    source = cell_defining(imported.starter, "build_classifier")
    assert f"    {START}\n    model = None\n    {END}\n    return model" in source
    for wrong in ("loss = None", "optimizer = None", "metrics = None", "activation"):
        assert wrong not in source


def test_statements_keep_bracketed_lines_with_their_call():
    lines = MODEL_BLANK.split("\n")[4:14]
    spans = statements(lines)
    assert [lines[s].strip() for s, _ in spans] == [
        "model = tf.keras.Sequential([",
        "model.compile(",
    ]
    assert blank_region(lines, "    ") == ["    model = None"]


def test_strings_and_comments_do_not_confuse_the_bracket_count():
    body = ["    text = ')(' + \"[\"  # a ( in a comment", "    words = text.split(',')"]
    assert blank_region(body, "    ") == ["    text = None", "    words = None"]


# ---- 3. a typo in the header -----------------------------------------------------------------


def test_the_check_name_comes_from_the_def_not_a_mistyped_header():
    imported = import_exercise("c3w9-pair", blank_notebook(), solved_notebook())
    assert "fit_lookup" in imported.functions and "fit_lookp" not in imported.functions
    source = cell_defining(imported.starter, "fit_lookup")
    assert source.startswith("# GRADED FUNCTION: fit_lookup\n")
    assert any("fit_lookp" in note for note in imported.notes)


def test_a_plural_header_and_a_missing_header_are_written_as_the_check_expects():
    cells = [
        code(
            "# GRADED FUNCTIONS: one\ndef one(x):\n    ### START CODE HERE\n    y = None\n    ### END CODE HERE ##\n    return y"
        ),
        code(
            "def two(x):\n    ### START CODE HERE ###\n    y = None\n    ### END CODE HERE ###\n    return y",
            ["graded"],
        ),
    ]
    solved = [
        code("def one(x):\n    return x + 1"),
        code("def two(x):\n    return x * 2"),
    ]
    imported = import_exercise("c3w9-headers", nb_bytes(*cells), nb_bytes(*solved))
    first, second = sources(imported.starter)
    assert first.startswith("# GRADED FUNCTION: one\n") and f"    {END}\n" in first
    assert second.startswith("# GRADED FUNCTION: two\ndef two(x):")


# ---- 4. `label_encoder.None` -----------------------------------------------------------------


def test_a_none_attribute_line_keeps_the_whole_blank_function():
    imported = import_exercise("c3w9-pair", blank_notebook(), solved_notebook())
    source = cell_defining(imported.starter, "fit_lookup")
    assert source == LOOKUP_BLANK.replace("fit_lookp", "fit_lookup", 1)


def test_a_blank_whose_cell_does_not_parse_still_has_its_graded_function():
    nb = nbformat.reads(blank_notebook().decode(), as_version=4)
    names = [g.name for g in graded_functions(nb)]
    assert "fit_lookup" in names
    assert looks_blank(nb)


# ---- 5. `return` inside the region ----------------------------------------------------------


def test_a_return_inside_the_region_is_kept_and_a_revealing_one_is_not():
    imported = import_exercise("c3w9-derived", solved_notebook())
    count = cell_defining(imported.starter, "count_words")
    assert f"    {START}\n    counts = None\n    return counts\n    {END}" in count
    mean = cell_defining(imported.starter, "mean_length")
    assert f"    {START}\n    return None\n    {END}" in mean
    assert "np.mean" not in mean


# ---- a blank as distributed -------------------------------------------------------------------


def test_the_starter_is_the_blank_itself_with_outputs_cleared():
    imported = import_exercise("c3w9-pair", blank_notebook(), solved_notebook())
    original = nbformat.reads(blank_notebook().decode(), as_version=4)
    assert len(imported.starter.cells) == len(original.cells)
    for ours, theirs in zip(imported.starter.cells, original.cells, strict=True):
        assert ours.cell_type == theirs.cell_type
        if ours.cell_type == "code":
            assert ours.outputs == [] and ours.execution_count is None
        fixed = theirs.source.replace("GRADED FUNCTION: fit_lookp", "GRADED FUNCTION: fit_lookup")
        assert ours.source == fixed
    assert "import unittests" in sources(imported.starter)[-1]


def test_a_blank_alone_is_refused_with_what_to_do():
    with pytest.raises(NotebookError) as info:
        import_exercise("c3w9-x", blank_notebook())
    assert info.value.code == "blank_without_solution" and "--solution" in info.value.message


# ---- a solved notebook alone: the blank is derived -------------------------------------------


def test_a_derived_blank_is_valid_code_and_keeps_no_answer():
    imported = import_exercise("c3w9-derived", solved_notebook())
    for cell in imported.starter.cells:
        if cell.cell_type == "code":
            compile(cell.source, "<cell>", "exec")
            assert cell.outputs == []
    text = "\n".join(sources(imported.starter))
    for answer in ("int(len(texts) * TRAIN_SHARE)", "adapt(labels)", "Dense(3", "len(t.split())"):
        assert answer not in text
    split = cell_defining(imported.starter, "split_data")
    assert f"    {START}\n    cut = None\n    train = None\n    val = None\n    {END}" in split
    assert imported.functions == [
        "split_data",
        "build_classifier",
        "fit_lookup",
        "count_words",
        "mean_length",
    ]
    assert imported.solution.cells[5].outputs == []
    assert "int(len(texts) * TRAIN_SHARE)" in imported.solution.cells[5].source


# ---- pairing a solution without markers ----------------------------------------------------


def test_a_solution_without_markers_pairs_by_the_graded_function_names():
    imported = import_exercise("c3w9-pair", blank_notebook(), solved_notebook(markers=False))
    assert imported.functions == ["split_data", "build_classifier", "fit_lookup"]
    solution = "\n".join(sources(imported.solution))
    assert "CODE HERE" not in solution and "lookup.adapt(labels)" in solution
    assert imported.spec["notebook"]["solution"] == "solution.ipynb"


def test_a_solution_lacking_a_graded_function_is_refused_by_name():
    solved = nbformat.reads(solved_notebook(markers=False).decode(), as_version=4)
    solved.cells = [c for c in solved.cells if "def build_classifier" not in c.source]
    with pytest.raises(NotebookError) as info:
        import_exercise("c3w9-pair", blank_notebook(), nbformat.writes(solved).encode())
    assert info.value.code == "solution_lacks_functions"
    assert "build_classifier" in info.value.message and "split_data" in info.value.message


def test_a_notebook_without_functions_cannot_be_imported():
    question = nb_bytes(code("tokenizer = Tokenizer()\n# YOUR CODE HERE"))
    with pytest.raises(NotebookError) as info:
        import_exercise("c3w9-x", question, question)
    assert info.value.code == "no_graded_cells"


# ---- cells holding several graded functions ------------------------------------------------


def test_a_cell_with_several_graded_functions_is_split_one_per_cell():
    source = (
        "import numpy as np\n\n\n"
        "# GRADED FUNCTION: first\ndef first(x):\n    return x + 1\n\n\n"
        "# GRADED FUNCTION: second\ndef second(x):\n    return x * 2\n"
    )
    imported = import_exercise("c3w9-split", nb_bytes(code(source)))
    assert sources(imported.starter)[0] == "import numpy as np"
    assert sources(imported.starter)[1].startswith("# GRADED FUNCTION: first\ndef first(x):")
    assert sources(imported.starter)[2].startswith("# GRADED FUNCTION: second\ndef second(x):")
    assert "x * 2" not in sources(imported.starter)[2] and START in sources(imported.starter)[2]
    assert len({c.id for c in imported.starter.cells}) == 3


# ---- datasets -------------------------------------------------------------------------------


def test_datasets_are_guessed_from_data_paths_and_download_urls():
    nb = nbformat.v4.new_notebook(
        cells=[
            code('df = pd.read_csv("./data/news.csv")\nrows = open("data/labels.txt")'),
            code(
                "# see https://example.org/docs/page.html for more\n"
                "!wget --no-check-certificate \\\n"
                "    https://storage.example.com/sets/glove.6B.50d.txt \\\n"
                "    -O /tmp/glove.6B.50d.txt\n"
                "emb = open('/tmp/glove.6B.50d.txt')\n"
                "ds = tfds.load('imdb_reviews', as_supervised=True)"
            ),
        ]
    )
    found, notes = guess_datasets(nb)
    by_name = {d.name: d for d in found}
    assert set(by_name) == {"news.csv", "labels.txt", "glove.6B.50d.txt"}
    glove = by_name["glove.6B.50d.txt"]
    assert glove.urls == ["https://storage.example.com/sets/glove.6B.50d.txt"]
    assert glove.paths == ["/tmp/glove.6B.50d.txt"]
    assert glove.to_spec() == {"name": "glove.6B.50d.txt", "paths": ["/tmp/glove.6B.50d.txt"]}
    assert "--url https://storage.example.com/sets/glove.6B.50d.txt" in glove.add_command()
    assert any("imdb_reviews" in n for n in notes)


def test_the_spec_lists_the_datasets_and_skips_training():
    imported = import_exercise("c3w9-pair", blank_notebook(), solved_notebook())
    notebook = imported.spec["notebook"]
    assert notebook["datasets"] == [{"name": "reviews.txt"}]
    assert notebook["training"] == "skip" and notebook["starter"] == "starter.ipynb"
    assert imported.spec["week"] == 0  # only weeks 1-4 exist


def test_a_web_page_named_in_a_string_is_no_dataset():
    nb = nbformat.v4.new_notebook(
        cells=[
            code(
                'print("Read https://example.org/guide/intro.html first")\n'
                'HELP = "https://example.org/files/notes.txt"\n'
                'path = tf.keras.utils.get_file("sarcasm.json", "https://example.org/d/sarcasm.json")'
            )
        ]
    )
    found, _ = guess_datasets(nb)
    assert [d.name for d in found] == ["sarcasm.json"]


def test_swapped_notebooks_are_refused_and_a_filled_blank_is_flagged():
    with pytest.raises(NotebookError) as info:
        import_exercise("c3w9-pair", solved_notebook(), blank_notebook())
    assert info.value.code == "swapped"
    half = nbformat.reads(blank_notebook().decode(), as_version=4)
    half.cells[5].source = SPLIT_SOLVED
    imported = import_exercise("c3w9-pair", nbformat.writes(half).encode(), solved_notebook())
    assert any(
        "cell 6: a START/END region in the blank already holds code" in n for n in imported.notes
    )
