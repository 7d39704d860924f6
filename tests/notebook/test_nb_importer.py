"""Course-style solution notebooks become starters (solutions blanked) and spec skeletons.

The damage cases of real course notebooks (helpers tagged graded, keyword arguments in calls,
header typos, `label_encoder.None`, returns in regions) are in test_nb_import_damage.py.
"""

from __future__ import annotations

import nbformat
import pytest

from graders.notebook import NotebookError
from graders.notebook.importer import END, START, import_notebook
from graders.spec import ExerciseSpec

MARKED = '''# GRADED FUNCTION: build_word_index
def build_word_index(sentences, num_words=100, oov_token="<OOV>"):
    """Fit a Tokenizer and return its word_index."""
    ### START CODE HERE ###
    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token)
    tokenizer.fit_on_texts(sentences)
    word_index = tokenizer.word_index
    ### END CODE HERE ###
    return word_index'''

HEADED = '''# GRADED FUNCTION: pad
def pad(sentences, maxlen=None):
    """Pad them."""
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(sentences)
    return pad_sequences(tokenizer.texts_to_sequences(sentences), maxlen=maxlen)'''

HELPER = '''def lower_all(sentences):
    """Given whole to the member: the course tags such cells graded too."""
    return [s.lower() for s in sentences]'''

NBGRADER = """def encode(train, test):
    ### BEGIN SOLUTION
    tok = Tokenizer(oov_token="<OOV>")
    tok.fit_on_texts(train)
    seqs = tok.texts_to_sequences(test)
    ### END SOLUTION
    return seqs"""

TEST_CELL = "assert encode(['a b'], ['a c']) == [[2, 1]]\n### BEGIN HIDDEN TESTS\nassert encode(['x'], ['y']) == [[1]]\n### END HIDDEN TESTS"


def solution_notebook() -> bytes:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Week 1: tokenizers\n\nWrite three functions."),
            nbformat.v4.new_code_cell("from tensorflow.keras.preprocessing.text import Tokenizer"),
            nbformat.v4.new_code_cell(MARKED, outputs=[nbformat.v4.new_output("stream", text="x")]),
            nbformat.v4.new_code_cell(HEADED, metadata={"tags": ["graded"]}),
            nbformat.v4.new_code_cell(HELPER, metadata={"tags": ["graded"]}),
            nbformat.v4.new_code_cell(
                NBGRADER,
                metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "enc"}},
            ),
            nbformat.v4.new_code_cell(
                TEST_CELL,
                metadata={
                    "nbgrader": {"solution": False, "grade": True, "grade_id": "t", "points": 1}
                },
            ),
        ]
    )
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def imported():
    return import_notebook(solution_notebook(), "c3w1-imported")


def test_marked_regions_become_none_placeholders(imported):
    starter, _ = imported
    source = starter.cells[2].source
    assert source.startswith("# GRADED FUNCTION: build_word_index")
    assert f"    {START}\n    tokenizer = None\n    word_index = None\n    {END}" in source
    assert "fit_on_texts" not in source and starter.cells[2].outputs == []


def test_unmarked_graded_functions_keep_signature_and_docstring(imported):
    source = imported[0].cells[3].source
    assert source.startswith("# GRADED FUNCTION: pad\ndef pad(sentences, maxlen=None):")
    assert '"""Pad them."""' in source and START in source and "pad_sequences" not in source


def test_a_helper_only_tagged_graded_is_left_whole_and_unchecked(imported):
    starter, skeleton = imported
    assert starter.cells[4].source == HELPER
    assert "lower_all" not in {c["function"] for c in skeleton["notebook"]["checks"]}


def test_nbgrader_solutions_become_start_end_markers(imported):
    source = imported[0].cells[5].source
    assert "### BEGIN SOLUTION" not in source and START in source
    assert "tok = None" in source and "seqs = None" in source and "fit_on_texts" not in source
    assert source.startswith("# GRADED FUNCTION: encode\n")
    assert "nbgrader" not in imported[0].cells[5].metadata


def test_autograder_test_cells_are_dropped(imported):
    sources = "\n".join(c.source for c in imported[0].cells)
    assert "assert encode" not in sources and len(imported[0].cells) == 6


def test_every_starter_cell_still_compiles(imported):
    for cell in imported[0].cells:
        if cell.cell_type == "code":
            compile(cell.source, "<cell>", "exec")


def test_the_skeleton_is_a_valid_spec_with_one_check_per_function(imported):
    _, skeleton = imported
    spec = ExerciseSpec.model_validate(skeleton)
    assert spec.slug == "c3w1-imported" and spec.week == 1 and spec.title == "Week 1: tokenizers"
    assert [c.function for c in spec.notebook.checks] == ["build_word_index", "pad", "encode"]
    assert "(sentences)" in spec.notebook.checks[0].hint
    assert spec.notebook.solution == "solution.ipynb" and spec.notebook.reference is None
    assert spec.notebook.training == "skip"


def test_a_notebook_without_graded_cells_is_refused():
    data = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))
    with pytest.raises(NotebookError) as info:
        import_notebook(data.encode(), "c3w1-x")
    assert info.value.code == "no_graded_cells"
