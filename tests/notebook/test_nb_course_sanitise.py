"""Sanitising course-style notebooks: downloads as calls, `# grade-up-to-here`, training modes.

Cells here are written in the style of the course's lessons and assignments (multi-line
`!wget`, `%%bash` download cells, a training cell beside the model it trains); none is
copied from the course. Each rewritten cell is parsed, and where it matters run, so a test
sees what the kernel would do with it.
"""

from __future__ import annotations

import ast
from typing import Any

import nbformat
import pytest

from graders.notebook.read import read_notebook
from graders.notebook.sanitise import normalise_training, sanitise
from graders.notebook.shell_rewrite import translate
from tests.notebook.conftest import notebook

URL = "https://storage.example.org/course/sarcasm.json"


def run(*sources: str, training: Any = "full") -> tuple[list[str], list[str]]:
    notes: list[str] = []
    nb = sanitise(read_notebook(notebook(*sources)), notes, training=training)
    return [c.source for c in nb.cells], notes


def calls(source: str, name: str = "__adventures_fetch__") -> list[tuple[Any, ...]]:
    """The literal arguments of each call of `name` in a cell, in order."""
    tree = ast.parse(source)
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    return [tuple(ast.literal_eval(a) for a in node.args) for node in found]


def execute(source: str, **names: Any) -> dict[str, Any]:
    """Run a sanitised cell as the kernel would (it is plain Python by now)."""
    scope: dict[str, Any] = dict(names)
    exec(compile(source, "<cell>", "exec"), scope)
    return scope


# ----------------------------------------------------------------------------- downloads


def test_multi_line_wget_is_one_call_and_the_cell_keeps_its_line_count():
    cell = (
        "import json\n"
        "!wget --no-check-certificate \\\n"
        f"    {URL} \\\n"
        "    -O /tmp/sarcasm.json\n"
        "\n"
        "with_data = True"
    )
    (source,), notes = run(cell)
    ast.parse(source)
    assert calls(source) == [(URL, "/tmp/sarcasm.json")]
    assert len(source.split("\n")) == len(cell.split("\n"))  # tracebacks keep their lines
    assert source.split("\n")[-1] == "with_data = True"
    assert "https" not in source.split("\n")[2]  # no continuation line left behind
    assert len(notes) == 1 and "course data the instructor added" in notes[0]
    assert "./data" not in notes[0]


def test_wget_flags_and_output_forms():
    cases = {
        f"!wget -q {URL}": (URL, None),
        f"!wget -nc {URL}": (URL, None),
        f"!wget -q -nc --no-check-certificate --tries=3 {URL} -O data/s.json": (
            URL,
            "data/s.json",
        ),
        f"!wget {URL} --output-document=x.json": (URL, "x.json"),
        f"!wget -qO x.json {URL}": (URL, "x.json"),
        f"!wget -P /tmp/downloads {URL}": (URL, "/tmp/downloads/sarcasm.json"),
        f"!wget --directory-prefix=dl {URL}": (URL, "dl/sarcasm.json"),
        f"!wget -q {URL} > /dev/null 2>&1": (URL, None),
        f"!wget -O - {URL} > s.json": (URL, "s.json"),
    }
    for cell, expected in cases.items():
        (source,), _ = run(cell)
        assert calls(source) == [expected], cell


def test_curl_forms():
    cases = {
        f"!curl -L -o /tmp/s.json {URL}": (URL, "/tmp/s.json"),
        f"!curl -sSL {URL} --output s.json": (URL, "s.json"),
        f"!curl -O {URL}": (URL, None),
        f"!curl -LO --output-dir dl {URL}": (URL, "dl/sarcasm.json"),
        f"!curl -L {URL} > s.json": (URL, "s.json"),
    }
    for cell, expected in cases.items():
        (source,), _ = run(cell)
        assert calls(source) == [expected], cell


def test_captured_wget_still_assigns_and_indentation_holds():
    cell = f"if True:\n    out = !wget -q {URL} -O s.json\n    done = 1"
    (source,), notes = run(cell)
    assert calls(source) == [(URL, "s.json")]
    seen: list[tuple[str, str]] = []
    scope = execute(source, __adventures_fetch__=lambda url, dest: seen.append((url, dest)))
    assert seen == [(URL, "s.json")] and scope["out"] == [] and scope["done"] == 1


def test_python_values_in_a_bang_line_are_expanded_as_ipython_does():
    cell = f"url = {URL!r}\nname = 'x'\n!wget {{url}} -O /tmp/$name.json"
    (source,), _ = run(cell)
    seen: list[tuple[str, str]] = []
    execute(source, __adventures_fetch__=lambda url, dest: seen.append((url, dest)))
    assert seen == [(URL, "/tmp/x.json")]


def test_mkdir_unzip_and_tar_become_python_calls():
    cell = (
        "!mkdir -p data/glove\n"
        "!wget -q https://x.org/glove.zip -P data && unzip -q data/glove.zip -d data/glove\n"
        "!tar -xzf data/imdb.tar.gz -C data\n"
        "!unzip -o archive.zip"
    )
    (source,), notes = run(cell)
    lines = source.split("\n")
    assert lines[0] == "__import__('os').makedirs('data/glove', exist_ok=True)"
    assert calls(source) == [("https://x.org/glove.zip", "data/glove.zip")]
    assert calls(source, "__adventures_unpack__") == [
        ("data/glove.zip", "data/glove"),
        ("data/imdb.tar.gz", "data"),
        ("archive.zip", None),
    ]
    assert len(notes) == 1  # only the download is worth telling


def test_bash_cell_of_downloads_is_rewritten_with_cd_carried():
    cell = (
        "%%bash\n"
        "# fetch the data\n"
        "mkdir -p data\n"
        "cd data\n"
        "wget -q --no-check-certificate \\\n"
        "    https://x.org/bbc-text.csv\n"
        "curl -L -o glove.zip https://x.org/glove.zip\n"
        "unzip -q glove.zip\n"
        "ls -l\n"
    )
    (source,), notes = run(cell)
    ast.parse(source)
    assert calls(source) == [
        ("https://x.org/bbc-text.csv", "data/bbc-text.csv"),
        ("https://x.org/glove.zip", "data/glove.zip"),
    ]
    assert calls(source, "__adventures_unpack__") == [("data/glove.zip", "data")]
    assert "makedirs('data', exist_ok=True)" in source
    assert len(notes) == 1 and "`ls -l`" in notes[0] and "instructor added" in notes[0]


def test_sh_cell_with_other_programs_is_removed_as_before():
    (source,), notes = run(f"%%sh\nwget {URL}\npython train.py")
    assert source.startswith("# removed by the grader: %%sh")
    assert "not run" in notes[0] and "no network" in notes[0]


def test_commands_that_are_not_plain_downloads_are_removed_with_a_note():
    for cell in (
        f"!wget -r {URL}",  # recursive
        f"!wget -O- {URL} | tar xz",  # a pipe
        f"!curl {URL}",  # printed, not saved
        "!gdown --id 1abc",
        "!git clone https://github.com/x/y",
    ):
        (source,), notes = run(cell)
        assert source.startswith("pass  # removed by the grader"), cell
        assert "no network" in notes[0] and "instructor added" in notes[0], cell


def test_a_writefile_body_is_text_not_commands():
    cell = "%%writefile setup.sh\n!wget https://x.org/a.csv\n"
    (source,), notes = run(cell)
    assert source == cell and notes == []


def test_colab_tensorflow_version_magic_is_dropped_inside_its_try():
    (source,), notes = run("try:\n  %tensorflow_version 2.x\nexcept Exception:\n  pass")
    ast.parse(source)
    assert "Colab" in notes[0]


def test_translate_refuses_shell_variables_in_bash_but_reads_them_in_bang_lines():
    assert translate(f"wget $URL -O {URL}", python_expansion=False) is None
    done = translate("wget $URL", python_expansion=True)
    assert done is not None and done.statements == ["__adventures_fetch__(str(URL), None)"]


# ------------------------------------------------------------------------ grade-up-to-here


def test_marker_mid_cell_stops_there():
    (first, cut), notes = run(
        "a = 1", "b = 2\n# grade-up-to-here\nraise SystemExit('ran past the marker')", "c = 3"
    )
    assert cut == "b = 2"
    assert len(notes) == 1
    assert "line 3 of that cell" in notes[0] and "the 1 code cell(s) after it" in notes[0]


def test_marker_inside_a_function_body_keeps_the_function():
    cell = (
        "def parse(rows):\n"
        "    out = [r.upper() for r in rows]\n"
        "    # grade-up-to-here\n"
        "    raise NotImplementedError\n"
        "\n"
        "value = parse(['a'])"
    )
    (source,), notes = run(cell)
    scope = execute(source)
    assert scope["parse"](["a"]) is None  # ran up to the marker: no return reached
    assert "value" not in scope
    assert "lines 4–6" in notes[0]


def test_marker_right_after_a_block_header_gets_a_pass():
    cell = "def f(x):\n    if x:\n    # grade-up-to-here\n        return 1\n    return 2"
    (source,), _ = run(cell)
    assert source == "def f(x):\n    if x:\n        pass  # grade-up-to-here"
    assert execute(source)["f"](1) is None


def test_marker_inside_brackets_cuts_back_to_a_whole_statement():
    cell = "a = 1\nif a:\n    b = max(1,\n        # grade-up-to-here\n        2)\nc = 3"
    (source,), notes = run(cell)
    scope = execute(source)
    assert scope["a"] == 1 and "b" not in scope and "c" not in scope
    assert "lines 3–6" in notes[0]


def test_marker_in_an_indented_cell_and_after_magics():
    cell = "  import math\n  %matplotlib inline\n  def f():\n  # grade-up-to-here\n      return 1"
    (source,), _ = run(cell)
    assert source.split("\n")[:3] == ["  import math", "  %matplotlib inline", "  def f():"]
    assert source.split("\n")[3].strip() == "pass  # grade-up-to-here"


def test_a_syntax_error_of_the_members_own_is_left_for_them_to_see():
    (source,), _ = run("x = = 1\n# grade-up-to-here\ny = 2")
    assert source == "x = = 1"


# -------------------------------------------------------------------------------- training


class FakeModel:
    """Stands for a Keras model: records whether fit() was called."""

    def __init__(self) -> None:
        self.trained = 0

    def fit(self, *args: Any, **kwargs: Any) -> str:
        self.trained += 1
        return "history"


def test_training_skip_keeps_the_model_and_drops_fit():
    cell = (
        "model = create_model()\n"
        "model.compile(loss='mse')\n"
        "history = model.fit(\n"
        "    [1, 2], [3, 4],\n"
        "    epochs=30,\n"
        ")\n"
        "after = 1"
    )
    (source,), notes = run(cell, training="skip")
    assert len(source.split("\n")) == len(cell.split("\n"))
    made: list[FakeModel] = []

    class Compiled(FakeModel):
        def compile(self, **kwargs: Any) -> None:
            self.compiled = True

    scope = execute(source, create_model=lambda: made.append(Compiled()) or made[-1])
    assert scope["model"].compiled and scope["model"].trained == 0
    assert "history" not in scope and scope["after"] == 1
    assert notes == [
        "Training was skipped for grading (cell 1): checks call your functions directly; "
        "train in your own notebook to see accuracy. Left unset because of this: `history`."
    ]


def test_training_skip_leaves_function_bodies_alone():
    cell = (
        "def train_model(model):\n"
        "    return model.fit([1], [2], epochs=5)\n"
        "\n"
        "class Trainer:\n"
        "    def run(self, model):\n"
        "        model.fit([1], [2])\n"
        "\n"
        "h = train_model(FakeModel())\n"
        "lazy = lambda m: m.fit([1], [2])"
    )
    (source,), notes = run(cell, training="skip")
    assert source == cell and notes == []  # no top-level .fit( call: nothing to skip
    assert execute(source, FakeModel=FakeModel)["h"] == "history"


def test_training_skip_inside_with_if_for_and_try_blocks():
    cell = (
        "model = FakeModel()\n"
        "with open(__file__ if False else '/dev/null') as fh:\n"
        "    model.fit([1], [2])\n"
        "    kept_with = True\n"
        "if True:\n"
        "    history = model.fit([1], [2]); kept_if = True\n"
        "else:\n"
        "    model.fit([1], [2])\n"
        "for epoch in range(3):\n"
        "    model.fit([1], [2], epochs=1)\n"
        "try:\n"
        "    model.fit_generator(iter([]))\n"
        "except Exception:\n"
        "    pass\n"
        "while model.fit([1], [2]) != 'history':\n"
        "    break\n"
        "done = True"
    )
    (source,), notes = run(cell, training="skip")
    scope = execute(source, FakeModel=FakeModel)
    assert scope["model"].trained == 0
    assert scope["kept_with"] and scope["kept_if"] and scope["done"]
    assert scope["epoch"] == 2  # the loop still ran; only its training did not
    assert "history" not in scope
    assert "(cell 1)" in notes[0] and "`history`" in notes[0]


def test_training_skip_with_magics_and_across_cells():
    sources, notes = run(
        "%matplotlib inline\nmodel = FakeModel()\nhistory = model.fit([1], [2])",
        "%%time\nmodel.fit([1], [2])\nsecond = True",
        "%time model.fit([1], [2])\nthird = True",
        "  history_b = model.fit([1], [2])",
        "plot(history",  # does not parse: left alone
        training="skip",
    )
    assert sources[0].split("\n")[:2] == ["%matplotlib inline", "model = FakeModel()"]
    assert sources[0].split("\n")[2].startswith("pass")
    assert sources[1].split("\n")[0] == "%%time" and sources[1].split("\n")[1].startswith("pass")
    assert sources[2].split("\n")[0].startswith("pass")
    assert sources[3].startswith("  pass")  # IPython's cell-wide indent kept
    assert sources[4] == "plot(history"
    assert len(notes) == 1
    assert notes[0].startswith("Training was skipped for grading (cells 1, 2, 3, 4):")
    assert "`history`" in notes[0] and "`history_b`" in notes[0]


def test_training_skip_after_a_rewritten_download_in_the_same_cell():
    cell = (
        "!wget --no-check-certificate \\\n"
        f"    {URL} \\\n"
        "    -O /tmp/s.json\n"
        "model = FakeModel()\n"
        "history = model.fit([1], [2], epochs=50)"
    )
    (source,), notes = run(cell, training="skip")
    seen: list[tuple[str, str]] = []
    scope = execute(
        source,
        FakeModel=FakeModel,
        __adventures_fetch__=lambda url, dest: seen.append((url, dest)),
    )
    assert seen == [(URL, "/tmp/s.json")] and scope["model"].trained == 0
    assert len(notes) == 2


def test_training_cap_changes_nothing_but_says_so():
    cell = "model = FakeModel()\nhistory = model.fit([1], [2], epochs=50)"
    for training in (3, {"cap": 3}):
        (source,), notes = run(cell, training=training)
        assert source == cell
        assert notes == [
            "Training was capped at 3 epoch(s) for grading (cell 1): checks call your "
            "functions directly; train in your own notebook to see accuracy."
        ]
    (source,), notes = run("x = 1", training=3)
    assert notes == []  # nothing trains: nothing to say


def test_training_full_and_the_old_two_argument_call_change_nothing():
    cell = "model = FakeModel()\nhistory = model.fit([1], [2])"
    (source,), notes = run(cell, training="full")
    assert source == cell and notes == []
    nb = read_notebook(notebook(cell))
    assert sanitise(nb, []).cells[0].source == cell


def test_training_mode_values():
    from graders.spec import TrainingCap

    assert normalise_training("skip") == "skip"
    assert normalise_training(TrainingCap(cap=4)) == 4
    for bad in ("cap", 0, True, {"cap": -1}, None):
        with pytest.raises(ValueError):
            normalise_training(bad)


def test_markdown_cells_are_never_touched():
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("!wget x\n\nmodel.fit(x)\n# grade-up-to-here")]
    )
    notes: list[str] = []
    out = sanitise(read_notebook(nbformat.writes(nb).encode()), notes, training="skip")
    assert out.cells[0].source == "!wget x\n\nmodel.fit(x)\n# grade-up-to-here" and notes == []


# ------------------------------------------------- training skipped: cells that use its results


TRAIN = "model = FakeModel()\nhistory = model.fit([1, 2], [3, 4], epochs=30)"
SKIPPED_NOTE = (
    "Training was skipped for grading (cell 1): checks call your functions directly; "
    "train in your own notebook to see accuracy."
)


def run_all(*cells: str, **names: Any) -> tuple[list[str], list[str], dict[str, Any]]:
    """Sanitise with training skipped, then run every cell in one namespace, as a kernel.

    A statement left reading an unset name raises NameError here and fails the test.
    """
    sources, notes = run(*cells, training="skip")
    for before, after in zip(cells, sources, strict=True):
        ast.parse(after)
        assert len(after.split("\n")) == len(before.split("\n"))  # tracebacks keep lines
    scope: dict[str, Any] = {"FakeModel": FakeModel, **names}
    for source in sources:
        exec(compile(source, "<cell>", "exec"), scope)
    assert scope["model"].trained == 0
    return sources, notes, scope


def test_a_plot_cell_that_reads_history_is_skipped_and_the_note_names_it():
    plots = (
        "def plot_graphs(history, metric):\n"
        "    shown.append(history.history[metric])\n"
        "\n"
        "shown = []\n"
        "plot_graphs(history, 'accuracy')\n"
        "plot_graphs(history, 'loss')\n"
        "after_plots = True"
    )
    sources, notes, scope = run_all(TRAIN, "x = 1", plots)
    assert (
        sources[2].split("\n")[4:6] == ["pass  # uses training results, skipped by the grader"] * 2
    )
    assert scope["shown"] == [] and scope["after_plots"] and "history" not in scope
    assert notes == [
        SKIPPED_NOTE + " Also not run, as they use its results: cell 3. "
        "Left unset because of this: `history`."
    ]
    (source,), notes = run(plots, training=3)  # only skip rewrites what uses the results
    assert source == plots and notes == []


def test_names_set_from_history_are_unset_in_turn():
    curves = (
        "acc = history.history['accuracy']\n"
        "loss = history.history['loss']\n"
        "\n"
        "epochs = range(len(acc))\n"
        "fig = []\n"
        "for i, (data, label) in enumerate(zip([acc, loss], ['Accuracy', 'Loss'])):\n"
        "    fig.append((epochs, data, label))\n"
        "fig.append('title')\n"
        "epochs_again = epochs"
    )
    sources, notes, scope = run_all(TRAIN, curves)
    assert scope["fig"] == ["title"]  # made and titled; the loop over the curves not run
    for name in ("acc", "loss", "epochs", "i", "data", "label", "epochs_again"):
        assert name not in scope, name
    assert sources[1].split("\n")[5] == "pass  # uses training results, skipped by the grader"
    assert sources[1].split("\n")[6] == ""  # the whole loop: its header reads acc
    assert "Also not run, as they use its results: cell 2." in notes[0]
    assert notes[0].endswith("Left unset because of this: `history`.")  # the fit's own name


def test_saving_history_with_open_is_skipped_whole_and_writes_no_file(tmp_path):
    saved = tmp_path / "history.pkl"
    log = tmp_path / "log.txt"
    cells = (
        TRAIN,
        "import pickle\nwith open(saved, 'wb') as f:\n    pickle.dump(history.history, f)\nok = True",
        "with open(log, 'w') as out:\n    out.write('start;')\n    out.write(str(history))\n",
        "f = 'rebound'",
    )
    sources, notes, scope = run_all(*cells, saved=saved, log=log)
    assert not saved.exists()  # `with open(..., 'wb')` left with only `pass` would empty it
    assert scope["ok"] and scope["f"] == "rebound" and "pickle" in scope
    assert log.read_text() == "start;"  # a block that still does something keeps its header
    assert sources[2].split("\n")[2] == "    pass  # uses training results, skipped by the grader"
    assert "Also not run, as they use its results: cells 2, 3." in notes[0]


def test_a_name_set_again_by_a_statement_that_runs_is_no_longer_unset():
    class Saved(FakeModel):
        def get_weights(self) -> list[int]:
            return [7]

    cells = (
        "model = FakeModel()\nresult = model.fit([1], [2])\nmodel = result.model",
        "weights = model.get_weights()\nsummary = result.history",
        "model = create_model()\nweights = model.get_weights()",
        "result = load_result()\nsummary = result['loss']\nbest = min(summary)",
    )
    sources, notes, scope = run_all(
        *cells, create_model=Saved, load_result=lambda: {"loss": [0.3, 0.2]}
    )
    assert sources[0].split("\n")[2] == "pass  # uses training results, skipped by the grader"
    assert set(sources[1].split("\n")) == {"pass  # uses training results, skipped by the grader"}
    assert sources[2:] == list(cells[2:])  # rebound before use: these run as written
    assert scope["weights"] == [7] and scope["best"] == 0.2
    assert notes == [SKIPPED_NOTE + " Also not run, as they use its results: cell 2."]


def test_a_def_that_reads_history_is_kept_and_a_top_level_call_with_history_is_not():
    cell = (
        "def report(h):\n"
        "    return h.history['loss'][-1]\n"
        "\n"
        "def last_loss():\n"
        "    return history.history['loss'][-1]\n"
        "\n"
        "show = lambda: history.history\n"
        "final = report(history)\n"
        "later = last_loss\n"
        "checked = [report(h) for h in fake_histories]"
    )

    class Hist:
        history = {"loss": [0.5, 0.25]}

    sources, notes, scope = run_all(TRAIN, cell, fake_histories=[Hist()])
    lines = sources[1].split("\n")
    assert lines[:7] == cell.split("\n")[:7] and lines[8:] == cell.split("\n")[8:]
    assert lines[7] == "pass  # uses training results, skipped by the grader"
    assert "final" not in scope and scope["report"](Hist()) == 0.25
    assert scope["later"] is scope["last_loss"] and callable(scope["show"])
    assert scope["checked"] == [0.25]  # `h` is the comprehension's own, not a read of history


def test_a_name_read_or_set_only_inside_a_function_is_not_unset():
    cells = (
        "acc = [0.5, 0.75]",
        TRAIN,
        "def curves():\n"
        "    acc = history.history['accuracy']\n"
        "    epochs = range(len(acc))\n"
        "    return epochs\n"
        "\n"
        "epochs = range(len(acc))",
    )
    sources, notes, scope = run_all(*cells)
    assert sources[2] == cells[2] and scope["epochs"] == range(2)
    assert notes == [
        "Training was skipped for grading (cell 2): checks call your functions directly; "
        "train in your own notebook to see accuracy. Left unset because of this: `history`."
    ]


def test_results_used_in_branches_loops_and_the_training_cell_itself():
    cells = (
        TRAIN + "\nbest = min(history.history['loss'])\nmade = True",
        "if history.history['accuracy'][-1] > 0.9:\n    good = True\nelse:\n    good = False\n",
        "try:\n"
        "    final = history.history['loss'][-1]\n"
        "except (KeyError, IndexError):\n"
        "    final = None\n"
        "for step in range(2):\n"
        "    if step:\n"
        "        seen.append(curve)\n"  # reads what the loop's previous round set
        "    curve = final\n"
        "    seen.append(step)\n",
    )
    sources, notes, scope = run_all(*cells, seen=[])
    assert scope["made"] and "best" not in scope and "good" not in scope
    assert "final" not in scope and "curve" not in scope  # final may be unset after the try
    assert scope["seen"] == [0, 1] and scope["step"] == 1
    assert sources[1].split("\n")[0] == "pass  # uses training results, skipped by the grader"
    assert notes[0].startswith(SKIPPED_NOTE + " Also not run, as they use its results: cells 2, 3.")
