"""Parse a member's typed short answer into a value, safely.

The text comes straight from a web form, so it is never evaluated: a small
recursive-descent parser reads Python and JSON literals (numbers, strings,
None/null, True/true, lists, tuples, dicts, sets) with limits on size, depth
and number length. Numbers may be written the way people write them
("171,533", "171_533", "171 533"), shapes with or without parentheses, and
arrays the way numpy prints them ("[[0 0 5]\\n [1 2 3]]"). Any problem raises
AnswerFormatError with a message saying what was expected.
"""

from __future__ import annotations

import math
import re
from typing import Any

from graders.spec import Compare

MAX_ANSWER_BYTES = 64 * 1024
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 100


class AnswerFormatError(ValueError):
    """The answer cannot be read; the message says what a well-formed answer looks like."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_answer(text: str, kind: Compare) -> Any:
    """Read text as the kind of value `kind` compares; raise AnswerFormatError if it cannot."""
    if not isinstance(text, str):
        raise AnswerFormatError("An answer must be text.")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ANSWER_BYTES:
        raise AnswerFormatError(f"The answer is longer than {MAX_ANSWER_BYTES // 1024} KB.")
    text = text.strip()
    if not text:
        raise AnswerFormatError("The answer is empty.")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise AnswerFormatError(f"Unknown answer kind {kind!r}.")
    return parser(text)


# --- numbers ----------------------------------------------------------------------

_DIGIT_SEPARATORS = re.compile(r"(?<=\d)[,_ '\u00a0\u202f\u2009](?=\d)")
_INTEGER = re.compile(r"[+-]?\d+")
_INTEGRAL_DECIMAL = re.compile(r"([+-]?\d+)\.0*")
_TOTAL_PARAMS = re.compile(r"total\s+params\s*:?\s*([\d,_ '\u00a0\u202f\u2009]+)", re.IGNORECASE)
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")


def _whole_number(text: str) -> int:
    compact = _DIGIT_SEPARATORS.sub("", text)
    if len(compact) > MAX_NUMBER_CHARS:
        raise AnswerFormatError(f"That number is longer than {MAX_NUMBER_CHARS} digits.")
    if _INTEGER.fullmatch(compact):
        return int(compact)
    match = _INTEGRAL_DECIMAL.fullmatch(compact)
    if match:
        return int(match.group(1))
    raise AnswerFormatError(
        "Expected a whole number, e.g. 1234567, 1,234,567 or 1_234_567 (digits only, no words)."
    )


def _parse_int(text: str) -> int:
    return _whole_number(text)


def _parse_param_count(text: str) -> int:
    """A number, or a pasted model.summary() from which 'Total params: N' is read."""
    match = _TOTAL_PARAMS.search(text)
    if match:
        return _whole_number(match.group(1).strip())
    return _whole_number(text)


def _parse_float(text: str) -> float:
    compact = re.sub(r"(?<=\d)[_ '\u00a0\u202f\u2009](?=\d)", "", text)
    if len(compact) > MAX_NUMBER_CHARS:
        raise AnswerFormatError(f"That number is longer than {MAX_NUMBER_CHARS} characters.")
    if _THOUSANDS.fullmatch(compact):
        compact = compact.replace(",", "")
    elif re.fullmatch(r"[+-]?\d+,\d+", compact):
        raise AnswerFormatError("Write decimals with a point, e.g. 3.25 (not 3,25).")
    if not _FLOAT.fullmatch(compact):
        raise AnswerFormatError("Expected a number, e.g. 4, 0.125 or 1.5e-3.")
    value = float(compact)
    if not math.isfinite(value):
        raise AnswerFormatError("Expected a finite number.")
    return value


# --- literals ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[\[\](){},:=])
  | (?P<quote>["'])
    """,
    re.VERBOSE,
)

_NAMES = {"None": None, "null": None, "True": True, "true": True, "False": False, "false": False}
_ESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "/": "/",
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "0": "\0",
    "a": "\a",
    "v": "\v",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_END = ("end", None, -1)


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise AnswerFormatError(f"Unexpected character {text[pos]!r} at position {pos + 1}.")
        kind = match.lastgroup
        if kind == "space":
            pos = match.end()
        elif kind == "quote":
            value, pos_after = _read_string(text, pos)
            tokens.append(("string", value, pos))
            pos = pos_after
        else:
            assert kind is not None
            tokens.append((kind, match.group(), pos))
            pos = match.end()
    tokens.append(("end", None, len(text)))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        ch = text[pos]
        if ch == quote:
            return _join_surrogates("".join(out)), pos + 1
        if ch == "\n":
            break
        if ch != "\\":
            out.append(ch)
            pos += 1
            continue
        if pos + 1 >= len(text):
            break
        esc = text[pos + 1]
        if esc in _HEX_ESCAPES:
            width = _HEX_ESCAPES[esc]
            digits = text[pos + 2 : pos + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise AnswerFormatError(f"Bad \\{esc} escape in the string at position {pos + 1}.")
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise AnswerFormatError(f"Bad \\{esc} escape in the string at position {pos + 1}.")
            out.append(chr(code))
            pos += 2 + width
        else:
            out.append(_ESCAPES.get(esc, "\\" + esc))
            pos += 2
    raise AnswerFormatError(f"The string starting at position {start + 1} is not closed.")


def _join_surrogates(text: str) -> str:
    """JSON writes characters beyond U+FFFF as two \\u escapes: make them one character again."""
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        return text  # a lone surrogate stays as written


class _Parser:
    """Recursive descent over the tokens; `lenient` lets whitespace separate list items (numpy print)."""

    def __init__(self, text: str, *, lenient: bool = False) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.lenient = lenient

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, Any, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, punct: str) -> None:
        kind, value, pos = self.take()
        if kind != "punct" or value != punct:
            raise AnswerFormatError(f"Expected {punct!r} {_at(kind, value, pos)}.")

    def is_punct(self, punct: str) -> bool:
        kind, value, _ = self.peek()
        return kind == "punct" and value == punct

    def document(self) -> Any:
        value = self.value(0)
        kind, token, pos = self.peek()
        if kind != "end":
            raise AnswerFormatError(
                f"Unexpected {_describe(kind, token)} at position {pos + 1} after the value."
            )
        return value

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise AnswerFormatError(f"The answer is nested more than {MAX_DEPTH} levels deep.")
        kind, token, pos = self.take()
        if kind == "number":
            return _number_literal(token, pos)
        if kind == "string":
            return token
        if kind == "name":
            if token in _NAMES:
                return _NAMES[token]
            if (
                self.lenient
                and token in ("array", "np.array", "numpy.array")
                and self.is_punct("(")
            ):
                return self.array_call(depth)
            raise AnswerFormatError(
                f"Unexpected word {token!r} at position {pos + 1}; quote text like 'this'."
            )
        if kind == "punct":
            if token == "[":
                return self.sequence("]", depth)
            if token == "(":
                return self.parenthesised(depth)
            if token == "{":
                return self.braces(depth)
        raise AnswerFormatError(f"Unexpected {_at(kind, token, pos)}.")

    def sequence(self, close: str, depth: int) -> list:
        items = []
        while not self.is_punct(close):
            items.append(self.value(depth + 1))
            if self.is_punct(","):
                self.take()
            elif not self.is_punct(close) and not self.lenient:
                kind, token, pos = self.peek()
                raise AnswerFormatError(f"Expected ',' or {close!r} {_at(kind, token, pos)}.")
            elif self.peek()[0] == "end":
                break
        self.expect(close)
        return items

    def parenthesised(self, depth: int) -> Any:
        if self.is_punct(")"):
            self.take()
            return ()
        first = self.value(depth + 1)
        if self.is_punct(")"):
            self.take()
            return first
        self.expect(",")
        rest = self.sequence(")", depth)
        return (first, *rest)

    def braces(self, depth: int) -> dict | set:
        if self.is_punct("}"):
            self.take()
            return {}
        first = self.value(depth + 1)
        if not self.is_punct(":"):
            items = [first]
            if self.is_punct(","):
                self.take()
                items.extend(self.sequence("}", depth))
            else:
                self.expect("}")
            return {_key(item, "set item") for item in items}
        out: dict = {}
        key = first
        while True:
            self.expect(":")
            out[_key(key, "dict key")] = self.value(depth + 1)
            if self.is_punct(","):
                self.take()
            elif not self.is_punct("}"):
                kind, token, pos = self.peek()
                raise AnswerFormatError(f"Expected ',' or '}}' {_at(kind, token, pos)}.")
            if self.is_punct("}"):
                self.take()
                return out
            key = self.value(depth + 1)

    def array_call(self, depth: int) -> Any:
        """numpy's repr: array([[1, 2], [3, 4]], dtype=int32)."""
        self.expect("(")
        value = self.value(depth + 1)
        if self.is_punct(","):
            self.take()
            kind, name, pos = self.take()
            if kind != "name" or name != "dtype":
                raise AnswerFormatError(f"Expected dtype=... {_at(kind, name, pos)}.")
            self.expect("=")
            kind, name, pos = self.take()
            if kind not in ("name", "string"):
                raise AnswerFormatError(f"Expected a dtype name {_at(kind, name, pos)}.")
        self.expect(")")
        return value


def _describe(kind: str, token: Any) -> str:
    if kind == "end":
        return "end of the answer"
    if kind == "string":
        return "string"
    return repr(token)


def _at(kind: str, token: Any, pos: int) -> str:
    if kind == "end":
        return "at the end of the answer"
    return f"but found {_describe(kind, token)} at position {pos + 1}"


def _number_literal(token: str, pos: int) -> int | float:
    if len(token) > MAX_NUMBER_CHARS:
        raise AnswerFormatError(f"The number at position {pos + 1} is too long.")
    try:
        if re.fullmatch(r"[+-]?[\d_]+", token):
            return int(token)
        value = float(token)
    except ValueError:
        raise AnswerFormatError(f"{token!r} at position {pos + 1} is not a number.") from None
    if not math.isfinite(value):
        raise AnswerFormatError(f"The number at position {pos + 1} is out of range.")
    return value


def _key(value: Any, what: str) -> Any:
    try:
        hash(value)
    except TypeError:
        raise AnswerFormatError(
            f"A {what} must be a string, number or tuple, not a list or dict."
        ) from None
    return value


def _literal(text: str, *, lenient: bool = False) -> Any:
    return _Parser(text, lenient=lenient).document()


# --- per kind ------------------------------------------------------------------


def _parse_dict(text: str) -> dict:
    value = _literal(text)
    if not isinstance(value, dict):
        raise AnswerFormatError("Expected a dict, e.g. {'word': 1, 'other': 2}.")
    return value


def _parse_set(text: str) -> Any:
    value = _literal(text)
    if not isinstance(value, (list, tuple, set)):
        raise AnswerFormatError("Expected a list of items, e.g. ['a', 'b'] or {1, 2}.")
    for item in value:
        _key(item, "item")
    return value


def _parse_allclose(text: str) -> Any:
    value = _literal(text, lenient=True)
    _check_numeric(value, 0)
    return value


def _check_numeric(value: Any, depth: int) -> None:
    if isinstance(value, list):
        for item in value:
            _check_numeric(item, depth + 1)
        return
    if isinstance(value, tuple):
        for item in value:
            _check_numeric(item, depth + 1)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnswerFormatError("Expected numbers in (nested) brackets, e.g. [[0, 1], [2, 3]].")


def _parse_shape(text: str) -> tuple:
    inner = re.fullmatch(r"TensorShape\((.*)\)", text, re.DOTALL)
    if inner:
        text = inner.group(1).strip() or "()"
    if text[0] not in "([":
        text = f"({text},)"
    value = _literal(text)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    problem = AnswerFormatError(
        "Expected a shape: whole numbers or None in parentheses, e.g. (None, 8, 4)."
    )
    if not isinstance(value, (list, tuple)):
        raise problem
    for dim in value:
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise problem
    return tuple(value)


def _parse_text(text: str) -> str:
    return text


_LITERAL_START = set("[({\"'0123456789+-.")


def _parse_exact(text: str) -> Any:
    try:
        return _literal(text)
    except AnswerFormatError:
        if text[0] in _LITERAL_START:
            raise
        return text


_PARSERS = {
    "exact": _parse_exact,
    "int": _parse_int,
    "float": _parse_float,
    "set": _parse_set,
    "dict": _parse_dict,
    "allclose": _parse_allclose,
    "shape": _parse_shape,
    "text": _parse_text,
    "param_count": _parse_param_count,
    "model": _parse_exact,
}
