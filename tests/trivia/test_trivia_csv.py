"""Kahoot spreadsheet (CSV) import and export."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.trivia import Bank, check_answer, load_banks, parse_bank
from graders.trivia_csv import (
    KAHOOT_ANSWER_MAX,
    KAHOOT_COLUMNS,
    KAHOOT_QUESTION_MAX,
    KAHOOT_TIME_LIMITS,
    KahootCsvError,
    export_kahoot_csv,
    import_kahoot_csv,
    kahoot_time_limit,
    plain_text,
)

from .test_trivia_banks import BANKS_DIR

HEADER = ",".join(KAHOOT_COLUMNS)


def imported(text: str) -> Bank:
    return import_kahoot_csv(text, slug="kahoot", title="From Kahoot", source="quiz.csv")


def import_error(text: str) -> str:
    with pytest.raises(KahootCsvError) as info:
        imported(text)
    return str(info.value)


def summary(bank: Bank) -> list[tuple]:
    return [
        (q.kind, q.text, [c.text for c in q.choices], [c.correct for c in q.choices], q.time_limit)
        for q in bank.questions
    ]


def test_export_uses_kahoots_columns():
    bank = parse_bank(
        {
            "slug": "demo",
            "title": "Demo",
            "questions": [
                {
                    "id": "x",
                    "kind": "multi",
                    "text": 'Pick, "carefully"',
                    "time_limit": 30,
                    "choices": [
                        {"id": "a", "text": "one", "correct": True},
                        {"id": "b", "text": "two"},
                        {"id": "c", "text": "three", "correct": True},
                    ],
                },
                {"id": "t", "kind": "truefalse", "text": "Yes?", "answer": False},
            ],
        }
    )
    rows = list(csv.reader(io.StringIO(export_kahoot_csv(bank))))
    assert rows == [
        list(KAHOOT_COLUMNS),
        ['Pick, "carefully"', "one", "two", "three", "", "30", "1,3"],
        ["Yes?", "True", "False", "", "", "20", "2"],
    ]


def test_import_makes_single_multi_and_truefalse_questions():
    bank = imported(
        f"{HEADER}\n"
        "How do you import TensorFlow?,import tf from ai,import tensorflow as tf,,,20,2\n"
        'Which are layers?,LSTM,Tokenizer,Conv1D,Embedding,60,"1, 3,4"\n'
        "\n"
        "Padding is pre by default,True,False,,,,1\n"
    )
    assert bank.slug == "kahoot" and [q.id for q in bank.questions] == ["q01", "q02", "q03"]
    single, multi, truefalse = bank.questions
    assert single.kind == "single" and check_answer(single, "b").correct
    assert multi.kind == "multi" and multi.correct_ids == ["a", "c", "d"] and multi.time_limit == 60
    assert truefalse.kind == "truefalse" and check_answer(truefalse, True).correct
    assert truefalse.time_limit == 20  # blank time limit: the default


def test_import_accepts_the_templates_long_headers_and_leading_rows():
    text = (
        "\ufeffQuiz template,,,,,,,\n"
        "Add questions below,,,,,,,\n"
        ",Question - max 120 characters,Answer 1 - max 75 characters,Answer 2 - max 75 characters,"
        "Answer 3 - max 75 characters,Answer 4 - max 75 characters,"
        "Time limit (sec) – 5, 10, 20, 30, 60, 90, 120, or 240 secs,Correct answer(s) - choose at least one\n"
    )
    # The long time-limit header holds commas, so the template is quoted as Excel writes it.
    text = text.replace(
        "Time limit (sec) – 5, 10, 20, 30, 60, 90, 120, or 240 secs",
        '"Time limit (sec) – 5, 10, 20, 30, 60, 90, 120, or 240 secs"',
    )
    text += "1,What is 0 used for?,padding,OOV,,,10,1\n"
    q = imported(text).questions[0]
    assert (q.text, [c.text for c in q.choices], q.time_limit, q.correct_ids) == (
        "What is 0 used for?",
        ["padding", "OOV"],
        10,
        ["a"],
    )


def test_import_reads_semicolon_csv_from_european_excel():
    text = HEADER.replace(",", ";") + "\nWhich loss?;mse;binary_crossentropy;;;20;2\n"
    assert imported(text).questions[0].correct_ids == ["b"]


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (",a,b,,,20,1", "row 2, column 'Question': empty"),
        ("Q?,a,,,,20,1", "row 2, column 'Answer 1': a question needs at least 2 answers, has 1"),
        ("Q?,a,b,,,20,", "row 2, column 'Correct answer(s)': empty"),
        (
            "Q?,a,b,,,20,3",
            "row 2, column 'Correct answer(s)': '3' is not a filled answer number (1, 2)",
        ),
        ("Q?,a,b,,,20,0", "'0' is not a filled answer number"),
        ("Q?,a,b,,,20,one", "'one' is not a filled answer number"),
        ("Q?,a,b,,,20,5", "'5' is not a filled answer number"),
        ("Q?,a,b,,,fast,1", "row 2, column 'Time limit (sec)': 'fast' is not a whole number"),
        ("Q?,a,b,,,7.5,1", "'7.5' is not a whole number"),
        ("Q?,a,b,,,300,1", "row 2, column 'Time limit (sec)': 300 is outside 5-240 seconds"),
        ("Q?,same,same,,,20,1", "row 2: choices: two choices have the same text"),
        ('Q?,a,b,c,d,20,"1,2"\nQ2?,a,b,,,1,1', "row 3, column 'Time limit (sec)'"),
    ],
)
def test_import_errors_name_the_row_and_column(row, words):
    assert words in import_error(f"{HEADER}\n{row}\n")


def test_nothing_is_half_imported():
    message = import_error(
        f"{HEADER}\nGood?,a,b,,,20,1\nBad?,a,b,,,20,9\nAlso bad?,,,,,20,1\nGood too?,c,d,,,20,2\n"
    )
    assert "row 3" in message and "row 4" in message  # every bad row, in one error
    assert "row 2" not in message and "row 5" not in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no header row"),
        ("just,some,cells\n1,2,3\n", "no header row"),
        ("Question,Answer 1,Answer 2\nQ?,a,b\n", "missing column(s) ['Correct answer(s)']"),
        (f"{HEADER}\n\n\n", "no question rows"),
        (HEADER + "\n" + "Q?,a,b,,,20,1\n" * 101, "at most 100"),
    ],
)
def test_import_file_level_errors(text, words):
    assert words in import_error(text)


def test_a_bad_slug_is_an_import_error_too():
    with pytest.raises(KahootCsvError, match="slug"):
        import_kahoot_csv(f"{HEADER}\nQ?,a,b,,,20,1\n", slug="Not A Slug", title="x y z")


def test_export_refuses_what_kahoot_cannot_hold():
    bank = parse_bank(
        {
            "slug": "mixed",
            "title": "Mixed",
            "questions": [
                {"id": "ok", "kind": "truefalse", "text": "t?", "answer": True},
                {"id": "typed", "kind": "type", "text": "word?", "accepted": ["x"]},
                {"id": "num", "kind": "numeric", "text": "how many?", "value": 3},
                {"id": "six", "kind": "multi", "text": "pick", "choices": [{"id": c, "text": c, "correct": True} for c in "abcdef"]},
                {"id": "code", "kind": "truefalse", "text": "runs?", "code": "print(1)", "answer": True},
            ],
        }
    )  # fmt: skip
    with pytest.raises(KahootCsvError) as info:
        export_kahoot_csv(bank)
    for qid in ("typed", "num", "six", "code"):
        assert f"question '{qid}'" in str(info.value)
    assert "question 'ok'" not in str(info.value)
    partial = imported(export_kahoot_csv(bank, skip_unsupported=True))
    assert [q.text for q in partial.questions] == ["t?"]


def test_bundled_banks_round_trip_through_kahoot():
    for bank in load_banks(BANKS_DIR):
        exportable = [
            q
            for q in bank.questions
            if q.kind in ("single", "multi", "truefalse")
            and not q.code
            and len(q.choices) <= 4
            and len(plain_text(q.text)) <= KAHOOT_QUESTION_MAX
            and all(len(plain_text(c.text)) <= KAHOOT_ANSWER_MAX for c in q.choices)
        ]
        assert exportable, bank.slug
        back = import_kahoot_csv(
            export_kahoot_csv(bank, skip_unsupported=True), slug=bank.slug, title=bank.title
        )
        assert summary(back) == [
            (
                q.kind,
                plain_text(q.text),  # Kahoot shows no markdown: `code` loses its backticks
                [plain_text(c.text) for c in q.choices],
                [c.correct for c in q.choices],
                kahoot_time_limit(q.time_limit),
            )
            for q in exportable
        ]


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(',;"\n\t'),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s and s and plain_text(s) == s)  # Kahoot's texts: no markdown


@st.composite
def choice_banks(draw) -> Bank:
    questions = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["single", "multi"]))
        answers = draw(
            st.lists(texts, min_size=2, max_size=4, unique_by=lambda s: " ".join(s.split()))
        )
        if {a.casefold() for a in answers} == {"true", "false"}:
            answers[0] = "yes"
        right = draw(
            st.sets(
                st.integers(0, len(answers) - 1), min_size=1, max_size=1 if kind == "single" else 4
            )
        )
        if kind == "multi" and len(right) == 1:
            kind = "single"
        questions.append(
            {
                "id": f"q{i + 1:02d}",
                "kind": kind,
                "text": draw(texts),
                "time_limit": draw(st.sampled_from(KAHOOT_TIME_LIMITS)),
                "choices": [
                    {"id": "abcd"[j], "text": a, "correct": j in right}
                    for j, a in enumerate(answers)
                ],
            }
        )
    return parse_bank({"slug": "rt", "title": "Round trip", "questions": questions})


@settings(deadline=None)  # long games; a busy CI machine must not fail them
@given(choice_banks())
def test_round_trip_keeps_every_question(bank):
    back = import_kahoot_csv(export_kahoot_csv(bank), slug="rt", title="Round trip")
    assert summary(back) == summary(bank)
    assert [q.model_dump() for q in back.questions] == [q.model_dump() for q in bank.questions]


def test_export_keeps_within_kahoots_limits():
    def bank_of(text, answer, limit):
        return parse_bank(
            {
                "slug": "lim",
                "title": "Limits",
                "questions": [
                    {
                        "id": "q1",
                        "kind": "single",
                        "text": text,
                        "time_limit": limit,
                        "choices": [
                            {"id": "a", "text": answer, "correct": True},
                            {"id": "b", "text": "no", "correct": False},
                        ],
                    }
                ],
            }
        )

    rows = list(csv.reader(io.StringIO(export_kahoot_csv(bank_of("Short?", "yes", 45)))))
    assert rows[1][5] == "60"  # rounded up to a limit Kahoot offers, never down
    assert [kahoot_time_limit(t) for t in (5, 6, 20, 21, 240)] == [5, 10, 20, 30, 240]
    with pytest.raises(KahootCsvError, match="121 characters; Kahoot takes 120"):
        export_kahoot_csv(bank_of("x" * 121, "yes", 20))
    with pytest.raises(KahootCsvError, match="answer\\(s\\) a over Kahoot's 75"):
        export_kahoot_csv(bank_of("Short?", "y" * 76, 20))
    assert len(list(csv.reader(io.StringIO(
        export_kahoot_csv(bank_of("x" * 121, "yes", 20), skip_unsupported=True)
    )))) == 1  # fmt: skip


def test_export_writes_plain_text():
    """Kahoot shows no markdown: `code` and **bold** lose their marks in the CSV."""
    bank = parse_bank(
        {
            "slug": "md",
            "title": "Markdown",
            "questions": [
                {
                    "id": "q1",
                    "kind": "single",
                    "text": "Which line imports **TensorFlow**?",
                    "choices": [
                        {"id": "a", "text": "`import tensorflow as tf`", "correct": True},
                        {"id": "b", "text": "`print(tf.__version__)`"},
                        {"id": "c", "text": "2**3 is not bold"},
                    ],
                }
            ],
        }
    )
    rows = list(csv.reader(io.StringIO(export_kahoot_csv(bank))))
    assert rows[1][:4] == [
        "Which line imports TensorFlow?",
        "import tensorflow as tf",
        "print(tf.__version__)",
        "2**3 is not bold",
    ]
