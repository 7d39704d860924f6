"""`adventures exercises import`: what it refuses before anything runs, and what it says."""

from __future__ import annotations

import pytest

from graders.datasets import DatasetStore
from server.cli import main
from server.services import exercises as exercises_service
from tests.notebook.test_nb_import_w1 import BLANK, SOLVED, news_csv


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def exercises_root(tmp_path, monkeypatch):
    root = tmp_path / "exercises"
    root.mkdir()
    monkeypatch.setattr(exercises_service, "EXERCISES_DIR", root)
    return root


@pytest.fixture
def app(make_app, store_dir, exercises_root):
    return make_app(DATASETS_DIR=str(store_dir))


@pytest.fixture
def files(tmp_path):
    blank, solved = tmp_path / "blank.ipynb", tmp_path / "solved.ipynb"
    blank.write_bytes(BLANK)
    solved.write_bytes(SOLVED)
    return blank, solved


def test_missing_datasets_are_named_with_the_command_to_add_them(runner, files, exercises_root):
    blank, solved = files
    res = runner.invoke(
        main,
        ["exercises", "import", str(blank), "--solution", str(solved), "--slug", "c3w1-news"],
    )
    assert res.exit_code == 1, res.output
    assert "dataset bbc-text.csv: MISSING from the store" in res.output
    assert "adventures data add PATH/TO/bbc-text.csv --name bbc-text.csv" in res.output
    assert "header '# GRADED FUNCTION: make_vectoriser' now reads" in res.output
    assert not (exercises_root / "c3w1-news").exists()


def test_a_blank_alone_is_refused_with_exit_2(runner, files, exercises_root):
    res = runner.invoke(main, ["exercises", "import", str(files[0]), "--slug", "c3w1-news"])
    assert res.exit_code == 2
    assert "looks like a blank assignment" in res.output and "--solution" in res.output


def test_an_existing_exercise_needs_force_and_a_slug_must_be_valid(runner, files, exercises_root):
    (exercises_root / "c3w1-news").mkdir()
    res = runner.invoke(main, ["exercises", "import", str(files[1]), "--slug", "c3w1-news"])
    assert res.exit_code != 0 and "--force" in res.output
    res = runner.invoke(main, ["exercises", "import", str(files[1]), "--slug", "Bad Slug"])
    assert res.exit_code != 0 and "slug" in res.output


def test_limits_out_of_range_are_refused_before_anything_runs(runner, files, exercises_root):
    blank, solved = files
    args = ["exercises", "import", str(blank), "--solution", str(solved), "--slug", "c3w1-news"]
    res = runner.invoke(main, [*args, "--time-limit", "4"])
    assert res.exit_code == 2 and "time-limit" in res.output
    assert not (exercises_root / "c3w1-news").exists()


@pytest.mark.slow
def test_import_from_the_command_line_then_check(
    runner, files, exercises_root, store_dir, tmp_path, monkeypatch, sandbox_pool, reference_runner
):
    """The whole command: store holds the data, the import records checks, check passes."""
    from graders.notebook import sandbox
    from graders.notebook.check import check_exercise
    from graders.spec import load_spec

    monkeypatch.setattr(sandbox, "default_pool", lambda: sandbox_pool)
    source = tmp_path / "bbc-text.csv"
    source.write_text(news_csv())
    DatasetStore(store_dir).add(source, name="bbc-text.csv")
    blank, solved = files
    res = runner.invoke(
        main,
        ["exercises", "import", str(blank), "--solution", str(solved), "--slug", "c3w1-news"],
    )
    assert res.exit_code == 0, res.output
    assert "dataset bbc-text.csv: in the store" in res.output
    assert "recorded 5 check(s)" in res.output and "check [probe] make_vectorizer" in res.output
    folder = exercises_root / "c3w1-news"
    assert sorted(p.name for p in folder.iterdir()) == [
        "exercise.yaml",
        "solution.ipynb",
        "starter.ipynb",
    ]
    spec = load_spec(folder / "exercise.yaml")
    assert [d.name for d in spec.notebook.datasets] == ["bbc-text.csv"]
    report = check_exercise(
        spec, folder, reference_runner, pool=sandbox_pool, datasets_root=store_dir
    )
    assert report.problems == [], report.problems
    assert report.reference.full_marks and report.starter.score == 0

    res = runner.invoke(main, ["exercises", "import", str(solved), "--slug", "c3w1-news"])
    assert res.exit_code != 0 and "--force" in res.output
