"""Trivia question banks and the pure rules of a trivia game.

Everything here is plain data in, plain data out: the bank schema
(`exercises/trivia/*.yaml`), filling computed keys from the reference
solutions, answer checking, Kahoot-style scoring and the views a game sends
to players before and after the reveal. The live game server keeps the
state; these functions only decide.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# --- scoring constants -------------------------------------------------------

NETWORK_GRACE_S = 0.75
"""An answer that reaches the server up to this long after the timer ran out is
still accepted (phones on slow networks send in time but arrive late); it is
scored as if given at the last moment (half points in the Kahoot rule)."""

FULL_POINTS_WINDOW_S = 0.5
"""Answers faster than this get full points: nobody reads a question that fast,
so finer timing would only reward network latency."""

STREAK_STEP = 100
STREAK_MAX = 500

MAX_QUESTIONS = 100
"""The most questions a bank (and so a game) may have; the accuracy-first
guarantee below is proved for games up to this length."""

ACCURACY_FIRST_SPEED_MAX = 9
"""In accuracy-first mode a question's speed component is at most this many
points, so a whole game of speed (MAX_QUESTIONS x 9 = 900) is worth less than
one fully correct answer to a standard (1000-point) question."""

POINT_NAMES = {
    "standard": 1000,
    "double": 2000,
    "double points": 2000,
    "none": 0,
    "no points": 0,
    "zero": 0,
}

Kind = Literal["single", "multi", "truefalse", "type", "numeric"]
CHOICE_KINDS = ("single", "multi", "truefalse")
_CHOICE_LIMITS = {"single": (2, 4), "multi": (2, 6), "truefalse": (2, 2)}
# Which optional fields each kind may set; anything else is a mistake worth naming.
_KIND_FIELDS = {
    "single": {"choices", "key_from"},
    "multi": {"choices"},
    "truefalse": {"choices"},
    "type": {"accepted", "alternatives"},
    "numeric": {"value", "tolerance", "key_from"},
}
_KIND_ONLY = {"choices", "accepted", "alternatives", "value", "tolerance", "key_from"}


class BankError(ValueError):
    """A bank that cannot be used; the message names the file, question and field."""


class KeyNotResolvedError(BankError):
    """A question whose key comes from `key_from` was used before `resolve_keys`."""


class AnswerShapeError(ValueError):
    """An answer of the wrong type for its question (not merely a wrong answer)."""


# --- schema ------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Choice(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")
    text: str = Field(min_length=1, max_length=500)
    correct: bool = False


class KeyFrom(_Strict):
    """Where a computed key comes from: a reference function and its arguments."""

    target: str = Field(pattern=r"^reference(\.[A-Za-z_]\w*)+:[A-Za-z_]\w*$")
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Question(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
    kind: Kind
    text: str = Field(min_length=1, max_length=2000, description="markdown")
    code: str | None = Field(default=None, min_length=1, description="python, shown highlighted")
    choices: list[Choice] = Field(default_factory=list)
    accepted: list[str] = Field(default_factory=list, description="type: the answers shown")
    alternatives: list[str] = Field(default_factory=list, description="type: also accepted")
    value: float | None = Field(default=None, description="numeric: the key")
    tolerance: float = Field(default=0.0, ge=0)
    key_from: KeyFrom | None = None
    time_limit: int = Field(default=20, ge=5, le=240)
    points: Literal[0, 1000, 2000] = 1000
    explanation: str = ""
    week: int = Field(default=0, ge=0, le=4)
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _truefalse_shorthand(cls, data: Any) -> Any:
        """Let a true/false question say `answer: true` instead of spelling out two choices."""
        if not isinstance(data, dict) or "answer" not in data:
            return data
        if data.get("kind") != "truefalse":
            raise ValueError("answer: only a truefalse question takes 'answer: true|false'")
        if "choices" in data:
            raise ValueError("answer: give either 'answer' or 'choices', not both")
        truth = data["answer"]
        if not isinstance(truth, bool):
            raise ValueError(f"answer: must be true or false, not {truth!r}")
        rest = {k: v for k, v in data.items() if k != "answer"}
        rest["choices"] = [
            {"id": "true", "text": "True", "correct": truth},
            {"id": "false", "text": "False", "correct": not truth},
        ]
        return rest

    @field_validator("points", mode="before")
    @classmethod
    def _point_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = " ".join(value.casefold().split())
            if key not in POINT_NAMES:
                raise ValueError(
                    f"unknown points name {value!r}; use 0, 1000, 2000 or standard/double/none"
                )
            return POINT_NAMES[key]
        return value

    @model_validator(mode="after")
    def _fits_its_kind(self, info: ValidationInfo) -> Question:
        given = {name for name in _KIND_ONLY if getattr(self, name) not in (None, [], 0.0)}
        misplaced = sorted(given - _KIND_FIELDS[self.kind])
        if misplaced:
            raise ValueError(f"{misplaced[0]}: not used by a {self.kind} question")
        if self.kind in CHOICE_KINDS:
            self._check_choices()
        elif self.kind == "type":
            if not self.accepted:
                raise ValueError("accepted: a type question needs at least one accepted answer")
            for text in [*self.accepted, *self.alternatives]:
                if not normalise_text(text):
                    raise ValueError(f"accepted: {text!r} is empty once normalised")
        elif self.kind == "numeric":
            resolved = bool(info.context and info.context.get("resolved"))
            if self.key_from is not None and self.value is not None and not resolved:
                raise ValueError("value: give either 'value' or 'key_from', not both")
            if self.key_from is None and self.value is None:
                raise ValueError("value: a numeric question needs 'value' or 'key_from'")
            if self.value is not None and not math.isfinite(self.value):
                raise ValueError("value: must be a finite number")
        return self

    def _check_choices(self) -> None:
        low, high = _CHOICE_LIMITS[self.kind]
        if not low <= len(self.choices) <= high:
            raise ValueError(
                f"choices: a {self.kind} question needs {low}-{high} choices, has {len(self.choices)}"
            )
        ids = [c.id for c in self.choices]
        if len(set(ids)) != len(ids):
            raise ValueError(f"choices: duplicate choice id in {ids}")
        texts = [" ".join(c.text.split()) for c in self.choices]
        if len(set(texts)) != len(texts):
            raise ValueError("choices: two choices have the same text")
        n_correct = sum(c.correct for c in self.choices)
        if self.kind == "multi" and n_correct < 1:
            raise ValueError("choices: a multi question needs at least one correct choice")
        if self.kind != "multi" and n_correct != 1:
            raise ValueError(
                f"choices: a {self.kind} question needs exactly one correct choice, has {n_correct}"
            )
        if self.kind == "truefalse" and set(ids) != {"true", "false"}:
            raise ValueError("choices: a truefalse question's choice ids are 'true' and 'false'")

    @property
    def needs_key(self) -> bool:
        """True while a numeric key still has to come from `resolve_keys`."""
        return self.kind == "numeric" and self.value is None

    @property
    def correct_ids(self) -> list[str]:
        return [c.id for c in self.choices if c.correct]


class Bank(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title: str = Field(min_length=3, max_length=200)
    description: str = ""
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="after")
    def _unique_ids(self) -> Bank:
        seen: dict[str, int] = {}
        for i, q in enumerate(self.questions):
            if q.id in seen:
                raise ValueError(
                    f"questions[{i}] (id '{q.id}'): id: duplicate of questions[{seen[q.id]}]"
                )
            seen[q.id] = i
        return self

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    @property
    def unresolved(self) -> list[str]:
        """Ids of questions that cannot be checked until `resolve_keys` fills them."""
        return [q.id for q in self.questions if q.needs_key]


def _describe(err: dict[str, Any], raw: Any) -> str:
    """Turn a pydantic error into 'questions[3] (id 'x').choices[1].text: message'."""
    parts: list[str] = []
    loc = list(err["loc"])
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        index = loc[1]
        qid = None
        if isinstance(raw, dict) and isinstance(raw.get("questions"), list):
            items = raw["questions"]
            if index < len(items) and isinstance(items[index], dict):
                qid = items[index].get("id")
        parts.append(f"questions[{index}]" + (f" (id '{qid}')" if qid is not None else ""))
        loc = loc[2:]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] not in ("value_error", "missing", "extra_forbidden") and not isinstance(
        err.get("input"), dict | list
    ):
        msg += f" (got {err.get('input')!r})"
    if path:
        parts.append(path)
    return f"{'.'.join(parts)}: {msg}" if parts else msg


def parse_bank(data: Any, source: str = "<bank>", *, resolved: bool = False) -> Bank:
    """Validate a mapping as a bank; errors name `source`, the question and the field.

    `resolved=True` reads back a bank that `resolve_keys` filled (a numeric
    question then holds both `key_from` and its computed `value`), e.g. one a
    server stored as `bank.model_dump()`.
    """
    if not isinstance(data, dict):
        raise BankError(f"{source}: expected a mapping at the top level")
    try:
        return Bank.model_validate(data, context={"resolved": resolved})
    except ValidationError as exc:
        problems = "; ".join(dict.fromkeys(_describe(e, data) for e in exc.errors()))
        raise BankError(f"{source}: {problems}") from exc


def load_bank(path: Path | str) -> Bank:
    """Read one bank file; its `slug` must equal the file name without `.yaml`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BankError(f"{path}: cannot read YAML: {exc}") from exc
    bank = parse_bank(data, str(path))
    if bank.slug != path.stem:
        raise BankError(f"{path}: slug: '{bank.slug}' must equal the file name '{path.stem}'")
    return bank


def load_banks(folder: Path | str) -> list[Bank]:
    """Every `*.yaml`/`*.yml` bank in `folder`, sorted by file name."""
    folder = Path(folder)
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    banks = [load_bank(p) for p in paths]
    slugs = [b.slug for b in banks]
    for slug in slugs:
        if slugs.count(slug) > 1:
            raise BankError(f"{folder}: two files define bank '{slug}'")
    return banks


# --- computed keys -----------------------------------------------------------

Compute = Callable[[str, dict[str, Any]], Any]


def resolve_keys(bank: Bank, compute: Compute) -> Bank:
    """Fill each `key_from` key with `compute(target, kwargs)` and check it.

    Numeric questions take the computed value as their key. A single-choice
    question keeps its marked choice, but the computed value must be that
    choice's text (and no other choice's), so a typo in a bank cannot teach a
    wrong parameter count. All problems are reported together; the input bank
    is left as it was.
    """
    problems: list[str] = []
    questions: list[Question] = []
    for q in bank.questions:
        if q.key_from is None:
            questions.append(q)
            continue
        where = f"bank '{bank.slug}' question '{q.id}': key_from {q.key_from.target}"
        try:
            value = compute(q.key_from.target, dict(q.key_from.kwargs))
        except Exception as exc:  # any failure of the reference code is this bank's problem
            problems.append(f"{where} failed: {type(exc).__name__}: {exc}")
            questions.append(q)
            continue
        if q.kind == "numeric":
            number = _as_real(value)
            if number is None:
                problems.append(f"{where} returned {value!r}, not a number")
                questions.append(q)
                continue
            questions.append(q.model_copy(update={"value": number}))
        else:
            matching = [c.id for c in q.choices if key_matches_text(value, c.text)]
            if matching != q.correct_ids:
                problems.append(
                    f"{where} computed {render_value(value)!r}; choices matching it: {matching}, "
                    f"marked correct: {q.correct_ids}"
                )
            questions.append(q)
    if problems:
        raise BankError("; ".join(problems))
    return bank.model_copy(update={"questions": questions})


def _as_real(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", ()) == ():
        value = value.item()  # a numpy scalar
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def render_value(value: Any) -> str:
    """A computed value as a person reads it: 171,533 / (None, 120, 16) / [[4, 2], [1]] / 1.5."""
    real = _as_real(value)
    if real is not None:
        return f"{int(real):,}" if real.is_integer() else f"{real:g}"
    return _render_inner(value)


def _render_inner(value: Any) -> str:
    """Like render_value, without thousands separators (they would read as list commas)."""
    real = _as_real(value)
    if real is not None:
        return str(int(real)) if real.is_integer() else f"{real:g}"
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_render_inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        inner = ", ".join(_render_inner(v) for v in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return str(value)


_KEY_FORM = str.maketrans({"[": "(", "]": ")", "'": None, '"': None, "`": None, "\u2019": None})


def _key_form(text: str) -> str:
    """Text with spacing, quotes and bracket style erased; case and structure kept."""
    return "".join(unicodedata.normalize("NFKC", text).translate(_KEY_FORM).split())


def key_matches_text(value: Any, text: str) -> bool:
    """Whether a choice's text states the computed value.

    Numbers compare as numbers ("171,533" states 171533); other values compare
    by their written form ignoring spaces, quotes and [ ] vs ( ), so the shape
    (None, 1920) matches "(None, 1920)" and [[4, 2], [1]] matches "[[4, 2], [1]]".
    """
    real = _as_real(value)
    if real is not None:
        try:
            return abs(parse_number(text) - real) <= 1e-9 * max(1.0, abs(real))
        except AnswerShapeError:
            return False
    return _key_form(_render_inner(value)) == _key_form(text)


# --- answer checking ---------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    correct: bool
    fraction: float


_APOSTROPHES = "'\u2019\u02bc`"
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def normalise_text(text: str) -> str:
    """Normalise a typed answer: NFKC, casefold, punctuation and symbols out, spaces collapsed.

    Apostrophes are dropped ("don't" == "dont"); other punctuation becomes a
    space ("pad_sequences" == "pad sequences", "<OOV>" == "oov").
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    out = []
    for ch in text:
        if ch in _APOSTROPHES:
            continue
        out.append(" " if unicodedata.category(ch)[0] in "PSZC" else ch)
    return " ".join("".join(out).split())


def parse_number(answer: Any) -> float:
    """A numeric answer as a float; accepts 171533, "171,533", "171 533", "171_533", "1.5e3"."""
    if isinstance(answer, bool) or not isinstance(answer, int | float | str):
        raise AnswerShapeError(
            f"a numeric answer must be a number or a string, not {type(answer).__name__}"
        )
    if isinstance(answer, str):
        text = "".join(unicodedata.normalize("NFKC", answer).split())
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        if "," in text:
            raise AnswerShapeError(
                f"{answer!r} is not a number (use '.' for decimals, ',' only for thousands)"
            )
        try:
            number = float(text)
        except ValueError:
            raise AnswerShapeError(f"{answer!r} is not a number") from None
    else:
        number = float(answer)
    if not math.isfinite(number):
        raise AnswerShapeError(f"{answer!r} is not a finite number")
    return number


def _choice_id(question: Question, answer: Any) -> str:
    if question.kind == "truefalse" and isinstance(answer, bool):
        return "true" if answer else "false"
    if not isinstance(answer, str):
        raise AnswerShapeError(
            f"question '{question.id}' ({question.kind}) takes one choice id, not {type(answer).__name__}"
        )
    if answer not in {c.id for c in question.choices}:
        ids = ", ".join(c.id for c in question.choices)
        raise AnswerShapeError(f"question '{question.id}' has no choice {answer!r}; choices: {ids}")
    return answer


def check_answer(question: Question, answer: Any) -> Verdict:
    """Check one answer.

    - single / truefalse: a choice id (a bool also works for truefalse);
    - multi: a list of choice ids; partial credit is
      (correct picked - wrong picked) / number of correct choices, floored at 0,
      and only an exact selection is `correct`;
    - type: a string, compared with `accepted` + `alternatives` after `normalise_text`;
    - numeric: a number or numeric string, correct within `tolerance`.
    """
    kind = question.kind
    if kind in ("single", "truefalse"):
        ok = _choice_id(question, answer) in question.correct_ids
        return Verdict(ok, 1.0 if ok else 0.0)
    if kind == "multi":
        if not isinstance(answer, list | tuple | set | frozenset):
            raise AnswerShapeError(f"question '{question.id}' (multi) takes a list of choice ids")
        picked = {_choice_id(question, a) for a in answer}
        right = set(question.correct_ids)
        fraction = max(0.0, (len(picked & right) - len(picked - right)) / len(right))
        return Verdict(picked == right, fraction)
    if kind == "type":
        if not isinstance(answer, str):
            raise AnswerShapeError(f"question '{question.id}' (type) takes a string answer")
        given = normalise_text(answer)
        ok = bool(given) and given in {
            normalise_text(t) for t in [*question.accepted, *question.alternatives]
        }
        return Verdict(ok, 1.0 if ok else 0.0)
    if question.value is None:
        raise KeyNotResolvedError(
            f"question '{question.id}': key_from not resolved; call resolve_keys first"
        )
    number = parse_number(answer)
    slack = question.tolerance + 1e-9 * max(1.0, abs(question.value))
    ok = abs(number - question.value) <= slack
    return Verdict(ok, 1.0 if ok else 0.0)


# --- scoring -----------------------------------------------------------------


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def question_points(
    points: int,
    elapsed_s: float,
    limit_s: float,
    fraction: float,
    *,
    accuracy_first: bool = False,
) -> int:
    """Points for one answer.

    Kahoot's rule: round((1 - (t/T)/2) * points * fraction), full points when
    t < 0.5 s, t clamped to T (late answers within NETWORK_GRACE_S score as at T).
    Accuracy first: points * fraction, plus a speed component of at most
    ACCURACY_FIRST_SPEED_MAX, so speed only orders players with equal accuracy.
    """
    if points < 0 or not limit_s > 0 or not 0.0 <= fraction <= 1.0 or not elapsed_s >= 0:
        raise ValueError(
            f"bad scoring input: points={points}, t={elapsed_s}, T={limit_s}, fraction={fraction}"
        )
    if points == 0 or fraction == 0:
        return 0
    t = min(float(elapsed_s), float(limit_s))
    speed = 1.0 if t < FULL_POINTS_WINDOW_S else 1.0 - t / limit_s  # 1 fast .. 0 at the buzzer
    if accuracy_first:
        return _round_half_up(points * fraction) + math.floor(
            ACCURACY_FIRST_SPEED_MAX * fraction * speed
        )
    return _round_half_up((1.0 - (1.0 - speed) / 2.0) * points * fraction)


def streak_bonus(streak: int, *, accuracy_first: bool = False) -> int:
    """Bonus for the `streak`-th correct answer in a row: +100 from the 2nd, at most +500.

    Accuracy-first games give no streak bonus: five answers in a row would
    otherwise be worth a whole extra correct answer.
    """
    if streak < 0:
        raise ValueError(f"streak must be >= 0, not {streak}")
    if accuracy_first or streak < 2:
        return 0
    return min(STREAK_STEP * (streak - 1), STREAK_MAX)


def next_streak(streak: int, verdict: Verdict) -> int:
    """A fully correct answer extends the streak; a miss or partial credit resets it."""
    return streak + 1 if verdict.correct else 0


def is_late(elapsed_s: float, limit_s: float = 0.0) -> bool:
    """Whether an answer arrived after the timer plus NETWORK_GRACE_S (the server refuses it).

    The one lateness rule: the games take an answer, close a question and show a
    self-paced player's result by it. `elapsed_s` counts from the question's opening
    with `limit_s` to answer, or (limit_s left at 0) from its deadline.
    """
    return elapsed_s > limit_s + NETWORK_GRACE_S


@dataclass(frozen=True)
class AnswerScore:
    verdict: Verdict
    points: int  # for the answer itself
    bonus: int  # streak bonus
    streak: int  # the player's streak after this answer

    @property
    def total(self) -> int:
        return self.points + self.bonus


def score_answer(
    question: Question,
    answer: Any,
    elapsed_s: float,
    streak: int,
    *,
    accuracy_first: bool = False,
) -> AnswerScore:
    """Check and score one answer (None = no answer); 0-point questions leave the streak alone."""
    verdict = Verdict(False, 0.0) if answer is None else check_answer(question, answer)
    if question.points == 0:
        return AnswerScore(verdict, 0, 0, streak)
    new_streak = next_streak(streak, verdict)
    pts = question_points(
        question.points,
        elapsed_s,
        question.time_limit,
        verdict.fraction,
        accuracy_first=accuracy_first,
    )
    bonus = streak_bonus(new_streak, accuracy_first=accuracy_first) if verdict.correct else 0
    return AnswerScore(verdict, pts, bonus, new_streak)


# --- what players see --------------------------------------------------------


def question_public(question: Question) -> dict[str, Any]:
    """The question as players see it before the reveal: nothing tells the key."""
    return {
        "id": question.id,
        "kind": question.kind,
        "text": question.text,
        "code": question.code,
        "time_limit": question.time_limit,
        "points": question.points,
        "week": question.week,
        "tags": list(question.tags),
        "choices": [{"id": c.id, "text": c.text} for c in question.choices],  # [] for type/numeric
    }


def answer_text(question: Question) -> str:
    """The right answer in words, for the reveal screen and flashcards."""
    if question.kind in CHOICE_KINDS:
        return "; ".join(c.text for c in question.choices if c.correct)
    if question.kind == "type":
        return question.accepted[0]
    if question.value is None:
        raise KeyNotResolvedError(
            f"question '{question.id}': key_from not resolved; call resolve_keys first"
        )
    shown = render_value(question.value)
    return shown if question.tolerance == 0 else f"{shown} (± {render_value(question.tolerance)})"


def question_reveal(question: Question) -> dict[str, Any]:
    """The key and the explanation, sent once the question is closed."""
    reveal: dict[str, Any] = {
        "id": question.id,
        "kind": question.kind,
        "correct": question.correct_ids,
        "answer_text": answer_text(question),
        "explanation": question.explanation,
    }
    if question.kind == "type":
        reveal["accepted"] = [*question.accepted, *question.alternatives]
    if question.kind == "numeric":
        reveal["value"] = question.value
        reveal["tolerance"] = question.tolerance
    return reveal
