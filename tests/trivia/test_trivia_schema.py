"""The bank schema: what a well-formed bank is and how a bad one is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from graders.trivia import Bank, BankError, load_bank, load_banks, parse_bank


def single(**extra) -> dict:
    return {
        "id": "q1",
        "kind": "single",
        "text": "Which?",
        "choices": [
            {"id": "a", "text": "right", "correct": True},
            {"id": "b", "text": "wrong"},
        ],
        **extra,
    }


def bank(*questions: dict, **extra) -> dict:
    return {"slug": "demo", "title": "Demo bank", "questions": list(questions), **extra}


def error_of(data: dict) -> str:
    with pytest.raises(BankError) as info:
        parse_bank(data, "banks/demo.yaml")
    return str(info.value)


def test_a_minimal_bank_gets_the_documented_defaults():
    b = parse_bank(bank(single()))
    q = b.questions[0]
    assert isinstance(b, Bank)
    assert (q.time_limit, q.points, q.week, q.tags, q.explanation, q.code) == (
        20,
        1000,
        0,
        [],
        "",
        None,
    )
    assert q.correct_ids == ["a"]


@pytest.mark.parametrize(
    ("name", "points"),
    [("standard", 1000), ("double", 2000), ("Double points", 2000), ("none", 0), (2000, 2000)],
)
def test_points_accept_numbers_and_kahoot_names(name, points):
    assert parse_bank(bank(single(points=name))).questions[0].points == points


def test_truefalse_shorthand_becomes_two_choices():
    q = parse_bank(
        bank({"id": "t", "kind": "truefalse", "text": "Sky is blue?", "answer": False})
    ).questions[0]
    assert [(c.id, c.text, c.correct) for c in q.choices] == [
        ("true", "True", False),
        ("false", "False", True),
    ]


@pytest.mark.parametrize(
    ("question", "field", "words"),
    [
        (single(time_limit=4), "time_limit", "greater than or equal to 5"),
        (single(time_limit=241), "time_limit", "less than or equal to 240"),
        (single(time_limit="20"), "time_limit", "valid integer"),
        (single(points=500), "points", "0, 1000 or 2000"),
        (single(points="triple"), "points", "unknown points name"),
        (single(week=5), "week", "less than or equal to 4"),
        (single(kind="essay"), "kind", "'single', 'multi'"),
        (single(id="has space"), "id", "should match pattern"),
        (single(text=""), "text", "at least 1 character"),
        (single(colour="red"), "colour", "Extra inputs are not permitted"),
        (single(tags="nlp"), "tags", "valid list"),
        (single(code=""), "code", "at least 1 character"),
    ],
)
def test_a_bad_field_is_named_with_file_index_and_id(question, field, words):
    message = error_of(bank(single(id="first"), question))
    assert message.startswith("banks/demo.yaml: questions[1]")
    assert field in message and words in message


@pytest.mark.parametrize(
    ("question", "words"),
    [
        (
            single(choices=[{"id": "a", "text": "only", "correct": True}]),
            "needs 2-4 choices, has 1",
        ),
        (
            single(choices=[{"id": c, "text": c, "correct": c == "a"} for c in "abcde"]),
            "needs 2-4 choices, has 5",
        ),
        (
            single(
                choices=[
                    {"id": "a", "text": "x", "correct": True},
                    {"id": "b", "text": "y", "correct": True},
                ]
            ),
            "exactly one correct choice, has 2",
        ),
        (
            single(choices=[{"id": "a", "text": "x"}, {"id": "b", "text": "y"}]),
            "exactly one correct choice, has 0",
        ),
        (
            single(choices=[{"id": "a", "text": "x", "correct": True}, {"id": "a", "text": "y"}]),
            "duplicate choice id",
        ),
        (
            single(
                choices=[{"id": "a", "text": "same", "correct": True}, {"id": "b", "text": " same"}]
            ),
            "same text",
        ),
        (
            single(choices=[{"id": "a", "text": "x", "correct": "yes"}, {"id": "b", "text": "y"}]),
            "valid boolean",
        ),
        (
            single(kind="multi", choices=[{"id": "a", "text": "x"}, {"id": "b", "text": "y"}]),
            "at least one correct choice",
        ),
        (
            single(
                kind="multi", choices=[{"id": c, "text": c, "correct": True} for c in "abcdefg"]
            ),
            "needs 2-6 choices, has 7",
        ),
        (
            {"id": "q1", "kind": "truefalse", "text": "t", "choices": single()["choices"]},
            "ids are 'true' and 'false'",
        ),
        ({"id": "q1", "kind": "truefalse", "text": "t", "answer": "yes"}, "must be true or false"),
        (single(answer=True), "only a truefalse question"),
        ({"id": "q1", "kind": "type", "text": "t"}, "at least one accepted answer"),
        ({"id": "q1", "kind": "type", "text": "t", "accepted": ["?!"]}, "empty once normalised"),
        ({"id": "q1", "kind": "numeric", "text": "t"}, "needs 'value' or 'key_from'"),
        ({"id": "q1", "kind": "numeric", "text": "t", "value": "12"}, "valid number"),
        (
            {"id": "q1", "kind": "numeric", "text": "t", "value": 1, "tolerance": -1},
            "greater than or equal to 0",
        ),
        (
            {
                "id": "q1",
                "kind": "numeric",
                "text": "t",
                "value": 1,
                "key_from": {"target": "reference.answers:f"},
            },
            "either 'value' or 'key_from'",
        ),
        (
            {"id": "q1", "kind": "type", "text": "t", "accepted": ["x"], "value": 3},
            "value: not used by a type",
        ),
        (single(accepted=["x"]), "accepted: not used by a single"),
        (
            single(kind="multi", key_from={"target": "reference.answers:f"}),
            "key_from: not used by a multi",
        ),
        (single(key_from={"target": "os:system"}), "should match pattern"),
        (single(key_from={"target": "reference.answers:f", "args": [1]}), "Extra inputs"),
    ],
)
def test_kind_rules_are_enforced_and_explained(question, words):
    message = error_of(bank(question))
    assert message.startswith("banks/demo.yaml: questions[0] (id 'q1')")
    assert words in message


def test_question_ids_are_unique_in_a_bank():
    assert "questions[1] (id 'q1'): id: duplicate of questions[0]" in error_of(
        bank(single(), single())
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (bank(single(), slug="Bad Slug"), "slug"),
        (bank(single(), title=""), "title"),
        (bank(), "questions: List should have at least 1 item"),
        (bank(*[single(id=f"q{i}") for i in range(101)]), "at most 100 items"),
        ({"title": "x", "questions": [single()]}, "slug: Field required"),
    ],
)
def test_bank_level_errors(data, words):
    assert words in error_of(data)


def test_every_problem_is_reported_at_once():
    message = error_of(bank(single(time_limit=1), single(id="q2", points=3)))
    assert "questions[0] (id 'q1').time_limit" in message
    assert "questions[1] (id 'q2').points" in message


def write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_load_bank_reads_yaml_and_checks_the_slug_matches_the_file(tmp_path):
    assert load_bank(write(tmp_path / "demo.yaml", bank(single()))).slug == "demo"
    with pytest.raises(
        BankError, match=r"other\.yaml: slug: 'demo' must equal the file name 'other'"
    ):
        load_bank(write(tmp_path / "other.yaml", bank(single())))


def test_load_bank_names_the_file_for_unreadable_yaml(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("slug: [unclosed", encoding="utf-8")
    with pytest.raises(BankError, match=r"broken\.yaml: cannot read YAML"):
        load_bank(bad)
    with pytest.raises(BankError, match=r"list\.yaml: expected a mapping"):
        load_bank(write(tmp_path / "list.yaml", [1, 2]))
    with pytest.raises(BankError, match=r"missing\.yaml: cannot read YAML"):
        load_bank(tmp_path / "missing.yaml")


def test_load_banks_reads_a_folder_in_name_order(tmp_path):
    write(tmp_path / "zeta.yaml", bank(single(), slug="zeta"))
    write(tmp_path / "alpha.yml", bank(single(), slug="alpha"))
    (tmp_path / "notes.txt").write_text("not a bank")
    assert [b.slug for b in load_banks(tmp_path)] == ["alpha", "zeta"]


def test_load_banks_refuses_two_files_for_one_slug(tmp_path):
    write(tmp_path / "demo.yaml", bank(single()))
    write(tmp_path / "demo.yml", bank(single()))
    with pytest.raises(BankError, match="two files define bank 'demo'"):
        load_banks(tmp_path)


def test_models_are_frozen():
    q = parse_bank(bank(single())).questions[0]
    with pytest.raises(ValueError):
        q.points = 2000  # type: ignore[misc]
