"""Kahoot spreadsheet import and export for trivia banks.

The layout is Kahoot's question template saved as CSV: Question, Answer 1-4,
Time limit (sec), Correct answer(s) as 1-based answer numbers ("1,3"). Headers
are matched by prefix, so the template's long headers ("Answer 1 - max 75
characters") and rows above the header row are fine. An import either returns
a whole Bank or raises one error listing every bad row and column.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError

from graders.trivia import MAX_QUESTIONS, Bank, BankError, Question, parse_bank

KAHOOT_COLUMNS = (
    "Question",
    "Answer 1",
    "Answer 2",
    "Answer 3",
    "Answer 4",
    "Time limit (sec)",
    "Correct answer(s)",
)
_ANSWERS = KAHOOT_COLUMNS[1:5]
_REQUIRED = ("Question", "Answer 1", "Answer 2", "Correct answer(s)")
_CHOICE_IDS = "abcd"
DEFAULT_TIME_LIMIT = 20


class KahootCsvError(BankError):
    """A Kahoot CSV that cannot be imported or a bank that cannot be exported."""


KAHOOT_QUESTION_MAX = 120
KAHOOT_ANSWER_MAX = 75
KAHOOT_TIME_LIMITS = (5, 10, 20, 30, 60, 90, 120, 240)


# The marks our banks use in a line of text: `code` spans (any run of backticks, as in
# CommonMark) and **bold**. Everything else is left as written: a Kahoot text has no markdown.
_MARKS = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)|\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)


def plain_text(text: str) -> str:
    """A line of our markdown as Kahoot shows it, plain: `code` and **bold** lose their marks."""

    def unmark(m: re.Match[str]) -> str:
        if m.group(3) is not None:
            return plain_text(m.group(3))  # bold around code: both go
        code = m.group(2)
        if len(code) > 2 and code[0] == code[-1] == " " and code.strip():
            code = code[1:-1]  # CommonMark: "`` `x` ``" is the code `x`
        return code

    return _MARKS.sub(unmark, text)


def _unsupported(q: Question) -> str | None:
    if q.kind in ("type", "numeric"):
        return f"a {q.kind} question has no Kahoot spreadsheet form"
    if len(q.choices) > len(_ANSWERS):
        return f"{len(q.choices)} choices; Kahoot's template holds 4"
    if q.code:
        return "its code block would be lost"
    length = len(plain_text(q.text))  # as written to the CSV: no markdown marks
    if length > KAHOOT_QUESTION_MAX:
        return f"its text has {length} characters; Kahoot takes {KAHOOT_QUESTION_MAX}"
    long = [c.id for c in q.choices if len(plain_text(c.text)) > KAHOOT_ANSWER_MAX]
    if long:
        return f"answer(s) {', '.join(long)} over Kahoot's {KAHOOT_ANSWER_MAX} characters"
    return None


def kahoot_misfits(bank: Bank) -> list[tuple[Question, str]]:
    """The questions Kahoot's template cannot hold, each with the reason (shown before export)."""
    return [(q, why) for q in bank.questions if (why := _unsupported(q))]


def kahoot_time_limit(seconds: int) -> int:
    """Kahoot offers fixed limits only: the shortest that still gives players our time."""
    return next((t for t in KAHOOT_TIME_LIMITS if t >= seconds), KAHOOT_TIME_LIMITS[-1])


def export_kahoot_csv(bank: Bank, *, skip_unsupported: bool = False) -> str:
    """The bank's choice questions in Kahoot's template layout.

    Type-answer and numeric questions, questions with more than four choices
    and questions with a code block or over Kahoot's 120 (question) and 75
    (answer) characters cannot be written; they raise KahootCsvError naming
    each one, or are left out with skip_unsupported=True. Time limits are
    rounded up to the nearest one Kahoot offers. Kahoot shows no markdown: texts are
    written plain (see plain_text).
    """
    problems = [f"question '{q.id}': {why}" for q, why in kahoot_misfits(bank)]
    if problems and not skip_unsupported:
        raise KahootCsvError(f"bank '{bank.slug}' cannot be exported: " + "; ".join(problems))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(KAHOOT_COLUMNS)
    for q in bank.questions:
        if _unsupported(q):
            continue
        answers = [plain_text(c.text) for c in q.choices]
        answers += [""] * (len(_ANSWERS) - len(q.choices))
        correct = ",".join(str(i) for i, c in enumerate(q.choices, start=1) if c.correct)
        writer.writerow([plain_text(q.text), *answers, kahoot_time_limit(q.time_limit), correct])
    return out.getvalue()


def _header_index(cells: list[str]) -> dict[str, int] | None:
    """Map template column names to positions if `cells` is the header row."""
    found: dict[str, int] = {}
    for name in KAHOOT_COLUMNS:
        pattern = re.compile(re.escape(name.casefold()) + r"(?![a-z0-9])")
        for i, cell in enumerate(cells):
            if pattern.match(cell.strip().casefold()):
                found.setdefault(name, i)
                break
    if "Question" in found and "Answer 1" in found:
        return found
    return None


def _records(text: str) -> list[list[str]]:
    """Parse with whichever of , ; or tab makes the header row readable (Excel varies by locale)."""
    text = text.removeprefix("\ufeff")
    best: list[list[str]] | None = None
    for delimiter in (",", ";", "\t"):
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        if any(_header_index(r) for r in rows):
            return rows
        best = best or rows
    return best or []


def _row_question(
    cells: list[str], columns: dict[str, int], row: int, number: int
) -> tuple[dict[str, Any] | None, list[str]]:
    def cell(name: str) -> str:
        i = columns.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def bad(name: str, why: str) -> str:
        return f"row {row}, column '{name}': {why}"

    errors: list[str] = []
    text = cell("Question")
    if not text:
        errors.append(bad("Question", "empty"))
    answers = {pos: cell(name) for pos, name in enumerate(_ANSWERS, start=1) if cell(name)}
    if len(answers) < 2:
        errors.append(bad("Answer 1", f"a question needs at least 2 answers, has {len(answers)}"))
    limit_text = cell("Time limit (sec)")
    limit = DEFAULT_TIME_LIMIT
    if limit_text:
        try:
            as_float = float(limit_text)
            if not as_float.is_integer():
                raise ValueError
            limit = int(as_float)
        except ValueError:
            errors.append(
                bad("Time limit (sec)", f"{limit_text!r} is not a whole number of seconds")
            )
        else:
            if not 5 <= limit <= 240:
                errors.append(bad("Time limit (sec)", f"{limit} is outside 5-240 seconds"))
    correct_text = cell("Correct answer(s)")
    correct: set[int] = set()
    for part in filter(None, re.split(r"[,;\s]+", correct_text)):
        if not part.isdigit() or int(part) not in answers:
            filled = ", ".join(str(p) for p in sorted(answers)) or "none"
            errors.append(
                bad("Correct answer(s)", f"{part!r} is not a filled answer number ({filled})")
            )
        else:
            correct.add(int(part))
    if not correct_text:
        errors.append(bad("Correct answer(s)", "empty; choose at least one answer number"))
    if errors:
        return None, errors

    texts = {pos: t.casefold() for pos, t in answers.items()}
    is_truefalse = (
        len(answers) == 2 and set(texts.values()) == {"true", "false"} and len(correct) == 1
    )
    if is_truefalse:
        choices = [{"id": texts[p], "text": t, "correct": p in correct} for p, t in answers.items()]
        kind = "truefalse"
    else:
        choices = [
            {"id": _CHOICE_IDS[p - 1], "text": t, "correct": p in correct}
            for p, t in answers.items()
        ]
        kind = "single" if len(correct) == 1 else "multi"
    data = {
        "id": f"q{number:02d}",
        "kind": kind,
        "text": text,
        "choices": choices,
        "time_limit": limit,
    }
    try:
        Question.model_validate(data)
    except ValidationError as exc:
        why = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return None, [f"row {row}: {why}"]
    return data, []


def import_kahoot_csv(
    text: str, *, slug: str, title: str, description: str = "", source: str = "<csv>"
) -> Bank:
    """A Bank from Kahoot's template saved as CSV; question ids are q01, q02, ... in row order.

    One correct answer makes a single-choice question (true/false when the two
    answers are True and False), several make a multi-select one. Raises
    KahootCsvError naming every bad row and column; nothing is half-imported.
    """
    rows = _records(text)
    header_at = next((i for i, r in enumerate(rows) if _header_index(r)), None)
    if header_at is None:
        raise KahootCsvError(f"{source}: no header row with 'Question' and 'Answer 1' columns")
    columns = _header_index(rows[header_at]) or {}
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise KahootCsvError(f"{source}: row {header_at + 1}: missing column(s) {missing}")

    questions: list[dict[str, Any]] = []
    errors: list[str] = []
    for i in range(header_at + 1, len(rows)):
        cells = rows[i]
        if not any(c.strip() for c in cells):
            continue
        data, problems = _row_question(cells, columns, i + 1, len(questions) + 1)
        errors.extend(problems)
        if data is not None:
            questions.append(data)
    if not questions and not errors:
        errors.append("no question rows below the header")
    if len(questions) > MAX_QUESTIONS:
        errors.append(f"{len(questions)} questions; a bank holds at most {MAX_QUESTIONS}")
    if errors:
        raise KahootCsvError(f"{source}: " + "; ".join(errors))
    try:
        return parse_bank(
            {"slug": slug, "title": title, "description": description, "questions": questions},
            source,
        )
    except BankError as exc:
        raise KahootCsvError(str(exc)) from exc
