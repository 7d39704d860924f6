"""Sanitising steps: outputs, attachments, the grade-up-to-here marker, shell escapes."""

from __future__ import annotations

import nbformat

from graders.notebook.read import read_notebook
from graders.notebook.sanitise import STEPS, sanitise
from tests.notebook.conftest import notebook


def run(*sources: str) -> tuple[nbformat.NotebookNode, list[str]]:
    notes: list[str] = []
    return sanitise(read_notebook(notebook(*sources)), notes), notes


def test_steps_are_an_ordered_list_of_small_functions():
    names = [step.__name__ for step in STEPS]
    assert names == [
        "clear_outputs",
        "drop_attachments_and_widgets",
        "cut_at_grade_up_to_here",
        "rewrite_shell_commands",
    ]


def test_outputs_and_counts_from_the_members_run_are_cleared():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "print(1)",
                execution_count=7,
                outputs=[nbformat.v4.new_output("stream", name="stdout", text="FAKE: 10/10\n")],
            )
        ]
    )
    notes: list[str] = []
    out = sanitise(read_notebook(nbformat.writes(nb).encode()), notes)
    assert out.cells[0].outputs == []
    assert out.cells[0].execution_count is None


def test_attachments_and_widget_state_are_dropped():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("![x](attachment:x.png)")])
    nb.cells[0]["attachments"] = {"x.png": {"image/png": "iVBORw0KGgo="}}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    out = sanitise(read_notebook(nbformat.writes(nb).encode()), [])
    assert "attachments" not in out.cells[0]
    assert "widgets" not in out.metadata


def test_grade_up_to_here_drops_later_cells_with_a_note():
    nb, notes = run("a = 1", "b = 2\n# grade-up-to-here", "raise SystemExit", "c = 3")
    assert [c.source for c in nb.cells] == ["a = 1", "b = 2"]
    assert any("grade-up-to-here" in n and "2 code cell" in n for n in notes)


def test_no_marker_keeps_every_cell():
    nb, notes = run("a = 1", "b = 2")
    assert len(nb.cells) == 2 and notes == []


def test_shell_escapes_are_removed_with_the_reason():
    nb, notes = run(
        "!pip install tensorflow==2.5\nimport numpy as np",
        "!wget -q https://storage.googleapis.com/x/sarcasm.json -O /tmp/sarcasm.json",
        "files = !ls\nif True:\n    !rm -rf /\n    x = 1",
        "%pip install tensorflow-datasets",
        "%%bash\ncurl http://example.com",
        "get_ipython().system('apt-get install foo')",
    )
    sources = [c.source for c in nb.cells]
    assert sources[0].splitlines()[1] == "import numpy as np"
    assert sources[0].startswith("pass  # removed by the grader")
    assert sources[1] == (
        "__adventures_fetch__('https://storage.googleapis.com/x/sarcasm.json', '/tmp/sarcasm.json')"
    )
    assert "    pass  # removed by the grader: !rm -rf /" in sources[2]
    compile(sources[2], "<cell>", "exec")  # indentation stays valid
    assert sources[4].startswith("# removed by the grader: %%bash")  # curl to the screen
    for source in sources:
        compile(source, "<cell>", "exec")
    text = "\n".join(notes)
    assert "no network" in text and "course data the instructor added" in text
    assert "./data" not in text  # no false promise that the data is already there
    assert "already has TensorFlow" in text  # the pip
    assert len(notes) == 7


def test_ordinary_code_is_untouched():
    src = "x = 3 != 4\nprint('!not a shell')\ny = {'!': 1}\n%matplotlib inline"
    nb, notes = run(src)
    assert nb.cells[0].source == src and notes == []
