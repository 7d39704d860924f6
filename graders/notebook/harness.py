"""The grader's last cell, and reading what it wrote.

Why a member cannot forge a result:

* Nothing the notebook prints is parsed. The values come from the result file,
  opened by the kernel's bootstrap before any member code ran and kept only by
  the harness closure (zygote.make_harness); the folder it lives in is
  read-only to member code by the time that code runs.
* Every line must carry the nonce: 128 random bits the host creates after all
  member cells have finished and sends only in the harness cell. Lines written
  earlier (say through /proc/self/fd) cannot carry it and are ignored; for each
  check, the first line with the nonce counts.
* The file holds values only. Scores are computed here, by comparing with
  reference values that never enter the sandbox, and hidden checks' inputs are
  first seen in the harness cell. A member who hijacks the harness from inside
  the kernel (patched builtins, an IPython hook reading the harness cell) can
  still only report values, so earning a check means producing the value the
  reference computes for inputs seen moments before: forging a value is as
  hard as computing it.
* Values are tagged JSON decoded by graders.codec (never unpickled), sizes are
  capped, and the file is read without following links.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graders import codec
from graders.notebook.zygote import HARNESS_NAME
from graders.probes import probe_of
from graders.spec import CheckSpec


def new_nonce() -> str:
    return secrets.token_hex(16)


def harness_source(nonce: str, checks: list[CheckSpec]) -> str:
    """Source of the cell that calls every checked function (args travel codec-encoded).

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
    payload = json.dumps(calls, allow_nan=False, separators=(",", ":"))
    return f"{HARNESS_NAME}({nonce!r}, {payload!r});"


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


def parse_results(
    raw: bytes, nonce: str, names: set[str], *, max_value_bytes: int
) -> dict[str, CheckOutcome]:
    """Outcomes by check name, from lines that carry the nonce; the first line per check wins."""
    outcomes: dict[str, CheckOutcome] = {}
    for record in _records(raw, nonce):
        name = record.get("check")
        if name not in names or name in outcomes:
            continue
        outcomes[name] = _outcome(record, max_value_bytes)
    return outcomes


def _records(raw: bytes, nonce: str) -> Iterator[dict[str, Any]]:
    """The result file's JSON objects that carry this run's nonce, in order."""
    for line in raw.split(b"\n"):
        line = line.strip()
        if not line or nonce.encode() not in line:
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and record.get("nonce") == nonce:
            yield record


def _outcome(record: dict[str, Any], max_value_bytes: int) -> CheckOutcome:
    seconds = record.get("seconds")
    seconds = float(seconds) if isinstance(seconds, (int, float)) else None
    if record.get("ok") is True:
        try:
            encoded = record.get("value")
            if len(json.dumps(encoded)) > max_value_bytes:
                raise ValueError("value too large")
            return CheckOutcome(ok=True, value=codec.decode(encoded), seconds=seconds)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            return CheckOutcome(
                ok=False,
                stage="encode",
                error_type="ValueError",
                message=f"the returned value could not be read back: {exc}"[:300],
            )
    error = record.get("error") if isinstance(record.get("error"), dict) else {}
    return CheckOutcome(
        ok=False,
        stage=str(record.get("stage", ""))[:20],
        error_type=str(error.get("type", "Error"))[:100],
        message=str(error.get("message", ""))[:2000],
        traceback=str(error.get("traceback", ""))[-6000:],
        seconds=seconds,
    )


NOTES_CHECK = "__notes__"
"""The result line the harness writes after the checks: the kernel shim's notes."""
MAX_KERNEL_NOTES = 20
KERNEL_NOTE_CHARS = 300


def parse_kernel_notes(raw: bytes, nonce: str) -> list[str]:
    """The kernel's notes (course-era code used, downloads answered, training capped).

    From the first {"check": "__notes__"} line carrying the nonce; at most 20 notes
    of 300 characters. Notes are feedback only: they never change a score.
    """
    for record in _records(raw, nonce):
        if record.get("check") != NOTES_CHECK:
            continue
        found = record.get("notes")
        if not isinstance(found, list):
            return []
        notes = [note[:KERNEL_NOTE_CHARS] for note in found if isinstance(note, str) and note]
        return notes[:MAX_KERNEL_NOTES]
    return []
