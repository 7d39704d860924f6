"""grade_notebook end to end: progress, markers, limits, the result document, HTML feedback."""

from __future__ import annotations

import json

import pytest

from graders.catalog import spec_hash
from graders.notebook import NotebookError, grade_notebook, pipeline, render_html, warm_up
from tests.notebook.conftest import EXERCISES, WRONG_TOKENIZER, notebook, reference_source, spec_of

pytestmark = pytest.mark.slow
REF = reference_source("c3w1-tokenizer")


def test_progress_reports_each_member_cell(grade):
    seen = []
    grade(
        "c3w1-tokenizer",
        notebook("a = 1", "", REF, "b = 2"),
        progress=lambda k, n: seen.append((k, n)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_the_result_is_a_gradescope_superset(grade):
    result = grade("c3w1-tokenizer", notebook(REF))
    doc = json.loads(json.dumps(result.to_dict()))
    for key in ("score", "max_score", "execution_time", "output", "tests"):
        assert key in doc
    assert doc["score"] == doc["max_score"] == 10
    assert (
        doc["status"] == "graded" and doc["device"] == "cpu" and doc["exercise"] == "c3w1-tokenizer"
    )
    assert doc["spec_hash"] == spec_hash(spec_of("c3w1-tokenizer"), EXERCISES / "c3w1-tokenizer")
    for test in doc["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
    assert {t["visibility"] for t in doc["tests"]} == {"visible", "hidden"}
    assert doc["execution_time"] > 0


def test_executed_notebook_has_outputs_but_not_the_harness(grade):
    result = grade("c3w1-tokenizer", notebook(REF, "print('hello from the member')"))
    nb = result.executed_notebook
    assert [o.get("text") for o in nb.cells[1].outputs] == ["hello from the member\n"]
    text = result.executed_notebook_bytes().decode()
    assert "__adventures_harness__" not in text
    html = render_html(nb)
    assert "hello from the member" in html and "<html" in html


def test_render_html_sanitises_member_html_and_drops_javascript(grade):
    result = grade(
        "c3w1-tokenizer",
        notebook(
            "from IPython.display import HTML, Javascript, display\n"
            "display(HTML('<b>bold</b><script>alert(1)</script><img src=x onerror=alert(2)>'))\n"
            "display(Javascript('alert(3)'))"
        ),
    )
    html = render_html(result.executed_notebook, full_page=False)
    assert "<b>bold</b>" in html
    assert "<script>alert(1)" not in html and "<img src=x onerror" not in html
    assert html.count("alert(3)") == 1  # in the echoed source, not as a script


def test_errors_in_cells_do_not_stop_later_cells(grade):
    result = grade("c3w1-tokenizer", notebook("1 / 0", REF, "undefined_name"))
    assert result.full_marks
    assert any("Cell 1 raised ZeroDivisionError" in n for n in result.notes)
    assert any("top to bottom" in n for n in result.notes)  # the NameError hint


def test_grade_up_to_here_is_honoured(grade):
    result = grade(
        "c3w1-tokenizer", notebook(REF + "\n# grade-up-to-here", "import os\nos._exit(1)")
    )
    assert result.full_marks
    assert any("grade-up-to-here" in n for n in result.notes)


def test_shell_commands_are_removed_with_a_note(grade):
    result = grade(
        "c3w1-tokenizer", notebook("!pip install tensorflow==2.4\n!wget https://x/y.csv", REF)
    )
    assert result.full_marks
    assert sum("removed" in n for n in result.notes) == 1  # the pip; the wget became a fetch
    assert any("course data the instructor added" in n for n in result.notes)


def test_stderr_and_warnings_never_fail_a_check(grade):
    noisy = REF + (
        "\nimport sys, warnings\n_build = build_word_index\n"
        "def build_word_index(*a, **k):\n"
        "    print('W tensorflow: something deprecated', file=sys.stderr)\n"
        "    warnings.warn('this is deprecated', DeprecationWarning)\n"
        "    return _build(*a, **k)\n"
    )
    assert grade("c3w1-tokenizer", notebook(noisy)).full_marks


def test_a_cell_past_its_time_is_interrupted_and_the_rest_still_runs(grade):
    result = grade(
        "c3w1-tokenizer", notebook(REF, "while True:\n    pass", "x = 1"), cell_timeout=2
    )
    assert result.full_marks
    assert any("more than 2 s" in n for n in result.notes)


def test_the_whole_run_time_limit_skips_later_cells(grade):
    result = grade(
        "c3w1-tokenizer",
        notebook("import time\ntime.sleep(2)", "time.sleep(2)", REF),
        time_limit=3,
        cell_timeout=10,
    )
    assert result.score == 0
    # Either the run's time was up before the last cell, or (a starved machine) the second
    # cell's interrupt went unanswered and the kernel was stopped: later cells skipped both ways.
    assert any("were not run" in n or "nothing after it ran" in n for n in result.notes)
    assert all(
        "ran out of time" in t.output or "more than" in t.output or "not defined" in t.output
        for t in result.tests
    )


def test_a_dead_kernel_is_reported(grade):
    result = grade("c3w1-tokenizer", notebook(REF, "import os\nos._exit(3)", "x = 1"))
    assert result.status == "graded" and result.score == 0
    assert any("kernel died" in n for n in result.notes)
    assert all(t.status == "error" and "kernel died" in t.output for t in result.tests)


def test_given_reference_values_are_used_and_need_no_runner(sandbox_pool):
    spec = spec_of("c3w1-tokenizer")
    values = {c.name: {"wrong": 1} for c in spec.notebook.checks}
    result = grade_notebook(
        spec,
        EXERCISES / "c3w1-tokenizer",
        notebook(REF),
        runner=None,
        reference_values=values,
        pool=sandbox_pool,
    )
    assert result.status == "graded" and result.score == 0


def test_missing_reference_values_without_a_runner_are_a_grader_error(sandbox_pool, monkeypatch):
    monkeypatch.setattr(pipeline, "_cache", type(pipeline._cache)())  # nothing cached either
    spec = spec_of("c3w1-tokenizer")
    result = grade_notebook(
        spec, EXERCISES / "c3w1-tokenizer", notebook(REF), runner=None, pool=sandbox_pool
    )
    assert result.status == "error" and "no reference" in result.error
    assert all(t.status == "error" for t in result.tests)


def test_a_bad_upload_is_refused_before_anything_runs(grade):
    with pytest.raises(NotebookError) as info:
        grade("c3w1-tokenizer", b"not a notebook")
    assert info.value.status == 400


def test_wrong_answers_score_zero_with_diffs(grade):
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER))
    assert result.score == 0
    visible = [t for t in result.tests if t.visibility == "visible"]
    assert all(t.status == "failed" for t in visible)
    assert "missing" in visible[0].output


def test_warm_up_starts_the_sandbox_and_a_spare_kernel(sandbox_pool):
    warm_up(EXERCISES, pool=sandbox_pool)
    slot = sandbox_pool._all[0]
    assert slot.zygote is not None and slot.zygote.alive
    # Every bundled exercise's data (the shared pool may also show earlier tests' folders).
    assert {"c3w4-generate", "c3w4-ngrams"} <= set(slot.zygote.data_dirs)
    spare = slot.spare.result(timeout=60)
    assert spare.is_alive()
