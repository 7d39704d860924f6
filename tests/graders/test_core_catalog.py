"""graders.catalog: loading, versioning and checking exercise specs (a fake runner, no TensorFlow)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from graders import catalog
from graders.catalog import check_catalog, load_catalog, spec_hash
from graders.spec import SpecError, load_spec


def answer_spec(slug: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "slug": slug,
        "title": f"Exercise {slug}",
        "kind": "answer",
        "week": 2,
        "points": 1,
        "prompt": "How many parameters for {{vocab_size}} words?",
        "answer": {
            "reference": "reference.answers:params",
            "params": {"vocab_size": 10000},
            "variants": {"vocab_size": [100, 10000, 20000]},
            "compare": "int",
            "format": "a whole number",
            "hint": "Multiply the vocabulary by the width.",
            "course_value": 160000,
        },
    }
    answer = overrides.pop("answer", {})
    spec.update(overrides)
    spec["answer"].update(answer)
    return spec


def write(root: Path, slug: str, spec: dict[str, Any] | str) -> Path:
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "exercise.yaml"
    path.write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False))
    return path


class FakeRunner:
    """Computes `16 * vocab_size` for reference.answers:params; raises for anything else."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def call(self, target: str, kwargs: dict) -> Any:
        self.calls.append((target, dict(kwargs)))
        if target == "reference.answers:params":
            return 16 * kwargs["vocab_size"]
        if target == "reference.answers:text":
            return "not a number"
        raise RuntimeError(f"ValueError: no reference {target}")


# --- loading ------------------------------------------------------------------------------


def test_load_catalog_sorts_by_week_position_slug(tmp_path):
    write(tmp_path, "b-two", answer_spec("b-two", week=1, position=2))
    write(tmp_path, "a-three", answer_spec("a-three", week=3))
    write(tmp_path, "c-one", answer_spec("c-one", week=1, position=1))
    write(tmp_path, "a-two", answer_spec("a-two", week=1, position=2))
    (tmp_path / "trivia").mkdir()  # folders without exercise.yaml are not exercises
    assert [s.slug for s in load_catalog(tmp_path)] == ["c-one", "a-two", "b-two", "a-three"]


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        ({"answer": {"format": None}}, "answer.format", "string"),
        ({"answer": {"compare": "fuzzy"}}, "answer.compare", "exact"),
        ({"answer": {"variants": {"vocab_size": []}}}, "answer.variants", "at least one choice"),
        ({"answer": {"reference": "os:system"}}, "answer.reference", "module:function"),
        ({"week": 9}, "week", "less than or equal to 4"),
        ({"prompt": "{{width}} words"}, "(top)", "{{width}}"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
    ],
)
def test_a_bad_spec_names_its_file_and_field(tmp_path, overrides, field, problem):
    path = write(tmp_path, "bad-one", answer_spec("bad-one", **overrides))
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert f"{field}:" in message
    assert problem in message


def test_slug_must_match_its_folder_and_yaml_must_parse(tmp_path):
    path = write(tmp_path, "folder-name", answer_spec("other-name"))
    with pytest.raises(SpecError, match=r"slug: 'other-name' must equal its folder 'folder-name'"):
        load_spec(path)
    broken = write(tmp_path, "broken", "slug: [unclosed\n")
    with pytest.raises(SpecError, match="cannot read YAML") as info:
        load_spec(broken)
    assert str(broken) in str(info.value)


def test_duplicate_slugs_are_rejected(tmp_path, monkeypatch):
    write(tmp_path, "one", answer_spec("one"))
    write(tmp_path, "two", answer_spec("two"))
    same = load_spec(tmp_path / "one" / "exercise.yaml")
    monkeypatch.setattr(catalog, "load_spec", lambda path: same)
    with pytest.raises(SpecError, match="already used by"):
        load_catalog(tmp_path)


# --- versioning ---------------------------------------------------------------------------


def test_spec_hash_follows_yaml_starter_and_data_only(tmp_path):
    spec_dict = {
        "slug": "nb-one",
        "title": "A notebook",
        "kind": "notebook",
        "week": 1,
        "points": 3,
        "prompt": "Write build_word_index.",
        "notebook": {
            "reference": "reference.tokenizer",
            "checks": [{"name": "index", "function": "build_word_index", "args": [["a b"]]}],
        },
    }
    path = write(tmp_path, "nb-one", spec_dict)
    folder = path.parent
    (folder / "starter.ipynb").write_text('{"cells": []}')
    (folder / "data").mkdir()
    (folder / "data" / "sentences.csv").write_text("a,b\n")
    spec = load_spec(path)
    first = spec_hash(spec, folder)
    assert spec_hash(spec, folder) == first and len(first) == 64

    (folder / "NOTES.md").write_text("scratch")
    assert spec_hash(spec, folder) == first

    changes = [
        (folder / "data" / "sentences.csv", "a,b,c\n"),
        (folder / "starter.ipynb", '{"cells": [1]}'),
        (folder / "exercise.yaml", path.read_text() + "tags: [x]\n"),
        (folder / "data" / "new.txt", "more"),
    ]
    seen = {first}
    for file, text in changes:
        file.write_text(text)
        digest = spec_hash(spec, folder)
        assert digest not in seen, file
        seen.add(digest)


# --- checking -------------------------------------------------------------------------------


def test_check_catalog_reports_values_and_course_matches(tmp_path):
    write(tmp_path, "good-one", answer_spec("good-one"))
    runner = FakeRunner()
    report = check_catalog(tmp_path, runner)
    assert report.ok, report.to_text()
    (ex,) = report.exercises
    assert [v.params["vocab_size"] for v in ex.values] == [10000, 100, 20000]
    assert ex.values[0].default and ex.values[0].course_match
    assert [v.value for v in ex.values] == [160000, 1600, 320000]
    text = report.to_text()
    assert "ok   good-one" in text and "160,000 (= course value)" in text and "0 problems" in text
    doc = json.loads(json.dumps(report.to_json()))
    assert doc["ok"] and doc["exercises"][0]["values"][0]["value"] == 160000


def test_check_catalog_caps_the_variants(tmp_path):
    write(
        tmp_path,
        "many",
        answer_spec("many", answer={"variants": {"vocab_size": list(range(1, 40))}}),
    )
    report = check_catalog(tmp_path, FakeRunner(), variant_cap=4)
    assert len(report.exercises[0].values) == 4
    assert "(39 variant combinations; 4 computed)" in report.to_text()


def test_a_wrong_course_value_is_a_problem_naming_the_file(tmp_path):
    path = write(tmp_path, "off-by-one", answer_spec("off-by-one", answer={"course_value": 160001}))
    report = check_catalog(tmp_path, FakeRunner())
    assert not report.ok
    (problem,) = report.exercises[0].problems
    assert str(path) in problem and "answer.course_value" in problem
    assert "160,000" in problem and "160,001" in problem
    assert "FAIL off-by-one" in report.to_text()


def test_reference_failures_and_bad_specs_are_collected_not_raised(tmp_path):
    write(
        tmp_path, "no-ref", answer_spec("no-ref", answer={"reference": "reference.answers:missing"})
    )
    write(tmp_path, "bad-yaml", "slug: [\n")
    report = check_catalog(tmp_path, FakeRunner())
    problems = {e.slug: e.problems for e in report.exercises}
    assert any("failed" in p and "no reference" in p for p in problems["no-ref"])
    assert any("cannot read YAML" in p for p in problems["bad-yaml"])
    assert report.problem_count() >= 2 and not report.ok


def test_a_hint_that_gives_the_answer_away_is_a_problem(tmp_path):
    write(tmp_path, "leaky", answer_spec("leaky", answer={"hint": "It is 160,000 of course."}))
    report = check_catalog(tmp_path, FakeRunner())
    assert any("answer.hint" in p and "160,000" in p for p in report.exercises[0].problems)


def test_a_value_that_cannot_be_typed_in_the_declared_format_is_a_problem(tmp_path):
    spec = answer_spec(
        "mistyped", answer={"reference": "reference.answers:text", "course_value": None}
    )
    write(tmp_path, "mistyped", spec)
    report = check_catalog(tmp_path, FakeRunner())
    assert any("answer.format" in p for p in report.exercises[0].problems)


NOTEBOOK = {
    "slug": "nb-check",
    "title": "Notebook",
    "kind": "notebook",
    "week": 1,
    "points": 2,
    "prompt": "Write it.",
    "notebook": {"reference": "reference.tokenizer", "checks": [{"name": "c1", "function": "f"}]},
}


def test_notebook_exercises_need_the_notebook_check_module(tmp_path, monkeypatch):
    write(tmp_path, "nb-check", NOTEBOOK)
    monkeypatch.setattr(catalog, "NOTEBOOK_CHECK_MODULE", "graders_test_missing_module.check")
    report = check_catalog(tmp_path, FakeRunner())
    assert any("is missing" in p for p in report.exercises[0].problems)


def test_notebook_exercises_are_handed_to_the_notebook_checker(tmp_path, monkeypatch):
    write(tmp_path, "nb-check", NOTEBOOK)
    seen: list[tuple[str, Path, object]] = []
    fake = types.ModuleType("fake_notebook_check")

    def check_exercise(spec, folder, runner, *, datasets_root=None):
        seen.append((spec.slug, folder, runner))
        return {"problems": [], "values": {"c1": {"i": 1}}}

    fake.check_exercise = check_exercise  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_notebook_check", fake)
    monkeypatch.setattr(catalog, "NOTEBOOK_CHECK_MODULE", "fake_notebook_check")
    runner = FakeRunner()
    report = check_catalog(tmp_path, runner)
    assert report.ok, report.to_text()
    assert seen == [("nb-check", tmp_path / "nb-check", runner)]
    assert report.exercises[0].values[0].value == {"i": 1}

    def failing(spec, folder, runner, *, datasets_root=None):
        raise RuntimeError("kernel would not start")

    fake.check_exercise = failing  # type: ignore[attr-defined]
    report = check_catalog(tmp_path, runner)
    assert any("kernel would not start" in p for p in report.exercises[0].problems)
