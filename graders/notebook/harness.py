"""The grader's check cells, and reading what they wrote.

Member code runs first, in the same kernel process, and may do anything Python
allows there. What it cannot do:

* **Reach the harness or its channel before the checks.** The harness (the code that
  calls the checked functions and writes their values: zygote.make_harness) is made
  by the kernel's bootstrap before any member code runs, with everything it uses
  captured then (os.write, the C JSON encoder and scanner, the codec, a snapshot of
  the builtins), and published under no name: it is a local of the bootstrap frame.
  The check cells find it by walking their own stack. The result file exists, but in
  a folder of mode 0 in the read-only run folder: the kernel cannot reach it until the
  host opens the folder (SandboxKernel.open_results) after the last member cell, and
  the harness opens the file only then. Replacing `__adventures_harness__` (the old
  entry point), or patching os, json, numpy or builtins, changes nothing.
* **Forge a line in time.** Every line must carry the nonce: 128 random bits that
  exist only in the check cells, sent after every member cell has run.
* **See a hidden check's inputs before that check.** Visible checks run first, in one
  cell; each hidden check then comes in a cell of its own, with its inputs. The host
  notes the result file's size after each cell, and a line counts only for the checks
  of the cell during which it was completed (the notes, only for the first cell): a
  line written once a hidden input has arrived cannot speak for a visible check.
* **Make the worker allocate.** Lines are bounded before json.loads (length, and the
  lists and objects they may open), values are decoded by graders.codec with its
  bounds checked before allocating (dtypes, shapes, bytes: codec.decode), and anything
  unreadable scores 0 for its check with "the value could not be read safely: ...".

What member code can still do, and why that is acceptable: the kernel is theirs, so
code that hooks the check cells' execution (an IPython event or input transformer, a
trace or audit hook) or digs through the interpreter (frames, gc, ctypes) can read
the nonce and write lines of its own, or change what the harness writes. Such a line
can only report a value (or an error) for a check of that cell, exactly what the
member's own function could return: scores are computed here, by comparing with
reference values that never enter the sandbox, so earning a check still means
producing the value the reference computes. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from graders import codec
from graders.notebook.zygote import HARNESS_FRAME, HARNESS_LOCAL, ZYGOTE_PATH
from graders.probes import probe_of
from graders.spec import CheckSpec

LINE_SLACK = 64 * 1024
"""A result line may be this much longer than the value it carries (name, nonce, error)."""
CONTAINERS_PER_BYTE = 16
"""A line may open one list or object per this many bytes of its bound (json.loads makes
~60 bytes of Python objects from the 2 bytes of `[]`): 8 MB values, 0.5 M lists."""
NOTES_CHECK = "__notes__"
"""The result line the harness writes after the visible checks: the kernel shim's notes."""
MAX_KERNEL_NOTES = 20
KERNEL_NOTE_CHARS = 300
NOTES_LINE_BYTES = 64 * 1024
UNSAFE = "the value could not be read safely"


def new_nonce() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class HarnessCell:
    """One check cell: its source, the checks whose lines it may write, and whether the
    kernel's notes come with it."""

    source: str
    names: frozenset[str]
    notes: bool


def calls_payload(checks: Iterable[CheckSpec]) -> str:
    """The checks as the harness reads them: JSON, args and kwargs codec-encoded.

    An expression check carries its expression instead of a function and arguments: the
    harness evaluates it in the member's namespace. A check compared as "probe" (or given
    probe options) also carries its checked options: the harness then turns the value into
    a Probe inside the sandbox.
    """
    calls = []
    for check in checks:
        call: dict[str, Any]
        if check.expression is not None:
            call = {"name": check.name, "expression": check.expression}
        else:
            call = {
                "name": check.name,
                "function": check.function,
                "args": codec.encode(list(check.args)),
                "kwargs": codec.encode(dict(check.kwargs)),
                "setup": check.setup,
            }
        options = probe_of(check)
        if options is not None:
            call["probe"] = options
        calls.append(call)
    return json.dumps(calls, allow_nan=False, separators=(",", ":"))


# Uses no name member code could have replaced on the way to the harness: a generator's
# own frame gives this cell's stack, and the lowest frame of the bootstrap's code holds it.
_CELL = """\
def __adventures_checks__(nonce, calls, notes):
    box = []
    def here():
        yield box[0].gi_frame.f_back
    box.append(here())
    frame, found = box[0].send(None), None
    while frame is not None:
        code = frame.f_code
        if code.co_name == {frame_name!r} and code.co_filename == {path!r}:
            found = frame
        frame = frame.f_back
    if found is None:
        raise LookupError("the grader's harness is not on this kernel's stack")
    return found.f_locals[{local!r}](nonce, calls, notes)
__adventures_checks__({nonce!r}, {payload!r}, {notes!r});
"""


def harness_source(nonce: str, checks: list[CheckSpec], *, notes: bool = True) -> str:
    """Source of one check cell: it finds the harness and runs these checks (with `notes`,
    then writes the kernel's notes)."""
    return _CELL.format(
        frame_name=HARNESS_FRAME,
        path=ZYGOTE_PATH,
        local=HARNESS_LOCAL,
        nonce=nonce,
        payload=calls_payload(checks),
        notes=bool(notes),
    )


def harness_cells(nonce: str, checks: list[CheckSpec]) -> list[HarnessCell]:
    """The check cells in the order they run: every visible check (and the notes) in the
    first, then each hidden check alone, so no hidden input is in the kernel before its
    own check runs."""
    groups = _groups(checks)
    return [
        HarnessCell(
            harness_source(nonce, group, notes=i == 0), frozenset(c.name for c in group), i == 0
        )
        for i, group in enumerate(groups)
    ]


def cell_names(checks: list[CheckSpec]) -> list[frozenset[str]]:
    """The names of the checks of each cell harness_cells makes, in order."""
    return [frozenset(c.name for c in group) for group in _groups(checks)]


def _groups(checks: list[CheckSpec]) -> list[list[CheckSpec]]:
    hidden = [[c] for c in checks if c.visibility == "hidden"]
    return [[c for c in checks if c.visibility != "hidden"], *hidden]


Segments = list[tuple[int, frozenset[str]]]
"""(end offset in the result file once a cell had run, the checks of that cell), in order."""


@dataclass(frozen=True)
class CheckOutcome:
    """What the harness reported for one check: a value, or why there is none."""

    ok: bool
    value: Any = None
    stage: str = ""  # setup, lookup, call (an expression: its evaluation), encode
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    seconds: float | None = None


def _unsafe(reason: str) -> CheckOutcome:
    return CheckOutcome(
        ok=False, stage="encode", error_type="ValueError", message=f"{UNSAFE}: {reason}"[:300]
    )


def parse_results(
    raw: bytes,
    nonce: str,
    names: set[str],
    *,
    max_value_bytes: int,
    segments: Segments | None = None,
) -> dict[str, CheckOutcome]:
    """Outcomes by check name, from lines that carry the nonce; the first line per check wins.

    With `segments`, a line counts only for the checks of the cell during which it was
    completed (lines past the last cell count for none). Never raises on what the kernel
    wrote: an unreadable value is an outcome saying so.
    """
    outcomes: dict[str, CheckOutcome] = {}
    for found in _records(raw, nonce, max_value_bytes, segments):
        name, allowed, record = found
        if name not in names or name not in allowed or name in outcomes:
            continue
        if isinstance(record, CheckOutcome):
            outcomes[name] = record
            continue
        try:
            outcomes[name] = _outcome(record, max_value_bytes)
        except Exception as exc:  # noqa: BLE001 - what a kernel wrote never fails the grade
            outcomes[name] = _unsafe(f"{type(exc).__name__}: {exc}")
    return outcomes


_PREFIX = re.compile(rb'\s*\{\s*"check"\s*:\s*("(?:[^"\\\n]|\\.){0,400}")\s*,\s*"nonce"\s*:\s*"')


def _records(
    raw: bytes, nonce: str, max_value: int, segments: Segments | None, only: str | None = None
) -> Iterator[tuple[str, frozenset[str] | _Everything, dict[str, Any] | CheckOutcome]]:
    """(check name, the names its segment allows, record) for each line carrying the nonce
    (and, with `only`, that name).

    A line longer than max_value + LINE_SLACK, or opening too many lists and objects, is
    not parsed: when it starts {"check": name, "nonce": this nonce (as the harness writes
    it), it is an unsafe outcome for that name; otherwise it is skipped like any malformed
    line. A value whose JSON is longer than max_value is an unsafe outcome too.
    """
    token = nonce.encode()
    wanted = None if only is None else json.dumps(only).encode()
    max_line = max_value + LINE_SLACK
    max_containers = max_line // CONTAINERS_PER_BYTE + 1024
    segment = 0
    for end, line in _lines(raw):
        if token not in line or (wanted is not None and wanted not in line):
            continue
        if segments is None:
            allowed: frozenset[str] | _Everything = _EVERYTHING
        else:
            while segment < len(segments) and end >= segments[segment][0]:
                segment += 1
            if segment >= len(segments):
                return  # written after the last check cell
            allowed = segments[segment][1]
            if segment == 0:
                allowed = allowed | {NOTES_CHECK}
        problem = None
        if len(line) > max_line:
            problem = f"the harness's line for it is larger than {max_line:,} bytes"
        elif line.count(b"[") + line.count(b"{") > max_containers:
            problem = f"it holds more than {max_containers:,} lists and objects"
        if problem is not None:
            name = _attributed(line, token)
            if name is not None:
                yield name, allowed, _unsafe(problem)
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(record, dict) or record.get("nonce") != nonce:
            continue
        name = record.get("check")
        if not isinstance(name, str):
            continue
        if len(line) > max_value and record.get("ok") is True:
            size = len(json.dumps(record.get("value"), ensure_ascii=False, separators=(",", ":")))
            if size > max_value:
                yield name, allowed, _unsafe(f"it is larger than {max_value:,} bytes")
                continue
        yield name, allowed, record


class _Everything:
    def __contains__(self, name: object) -> bool:
        return True


_EVERYTHING = _Everything()


def _lines(raw: bytes) -> Iterator[tuple[int, bytes]]:
    """(offset just past the line, the line without its newline), in order."""
    start, size = 0, len(raw)
    while start < size:
        stop = raw.find(b"\n", start)
        if stop < 0:
            stop = size
        yield stop, raw[start:stop].strip()
        start = stop + 1


def _attributed(line: bytes, token: bytes) -> str | None:
    """The check an unreadable line names, when it starts as the harness's lines do."""
    match = _PREFIX.match(line)
    if match is None or not line.startswith(token + b'"', match.end()):
        return None
    try:
        name = json.loads(match.group(1))
    except ValueError:
        return None
    return name if isinstance(name, str) else None


def _outcome(record: dict[str, Any], max_value_bytes: int) -> CheckOutcome:
    try:
        seconds = record.get("seconds")
        seconds = float(seconds) if type(seconds) in (int, float) else None
    except OverflowError:
        seconds = None
    if record.get("ok") is True:
        try:
            value = codec.decode(record.get("value"), max_bytes=max_value_bytes)
        except Exception as exc:  # noqa: BLE001 - what a kernel wrote never fails the grade
            return _unsafe(str(exc) or type(exc).__name__)
        return CheckOutcome(ok=True, value=value, seconds=seconds)
    error = record.get("error") if isinstance(record.get("error"), dict) else {}
    return CheckOutcome(
        ok=False,
        stage=_text(record.get("stage", ""), 20),
        error_type=_text(error.get("type", "Error"), 100),
        message=_text(error.get("message", ""), 2000),
        traceback=_text(error.get("traceback", ""), -6000),
        seconds=seconds,
    )


def _text(value: Any, keep: int) -> str:
    """A short string from what a line says (anything not a string is shown as its JSON)."""
    if not isinstance(value, str):
        value = json.dumps(value)[: abs(keep)]
    return value[:keep] if keep > 0 else value[keep:]


def parse_kernel_notes(raw: bytes, nonce: str, *, segments: Segments | None = None) -> list[str]:
    """The kernel's notes (course-era code used, downloads answered, training capped).

    From the first {"check": "__notes__"} line carrying the nonce (with `segments`, in the
    first cell's part of the file); at most 20 notes of 300 characters. Notes are feedback
    only: they never change a score.
    """
    for name, allowed, record in _records(raw, nonce, NOTES_LINE_BYTES, segments, NOTES_CHECK):
        if name != NOTES_CHECK or name not in allowed:
            continue
        found = record.get("notes") if isinstance(record, dict) else None
        if not isinstance(found, list):
            return []
        notes = [note[:KERNEL_NOTE_CHARS] for note in found if isinstance(note, str) and note]
        return notes[:MAX_KERNEL_NOTES]
    return []
