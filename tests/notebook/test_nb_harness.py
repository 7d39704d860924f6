"""The harness cell and reading its result file: only nonce-carrying lines count."""

from __future__ import annotations

import json

import numpy as np

from graders import codec
from graders.notebook.harness import calls_payload, harness_source, new_nonce, parse_results
from graders.notebook.zygote import HARNESS_FRAME, HARNESS_LOCAL, ZYGOTE_PATH
from graders.spec import CheckSpec
from tests.notebook.conftest import run_check_cell

NAMES = {"a", "b"}


def line(**fields) -> bytes:
    return (json.dumps(fields) + "\n").encode()


def test_nonces_are_random_and_long():
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 32 for n in nonces)


def test_the_check_cell_carries_the_nonce_and_the_encoded_calls():
    check = CheckSpec(
        name="n", function="f", args=[[1, 2], {"$var": "x"}], kwargs={"k": None}, setup="x = 1"
    )
    source = harness_source("abc", [check])
    assert "__adventures_harness__" not in source  # no name member code could replace
    assert repr(ZYGOTE_PATH) in source and repr(HARNESS_FRAME) in source
    payload = calls_payload([check])
    assert f"('abc', {payload!r}, True);" in source
    assert json.loads(payload) == [
        {
            "name": "n",
            "function": "f",
            "args": [[1, 2], {"$var": "x"}],
            "kwargs": {"k": None},
            "setup": "x = 1",
        }
    ]


def test_the_check_cell_finds_the_harness_on_the_bootstrap_frame():
    seen = []

    def harness(nonce, calls, notes):
        seen.append((nonce, json.loads(calls), notes))

    run_check_cell(harness, harness_source("abc", [CheckSpec(name="n", function="f")], notes=False))
    call = {"name": "n", "function": "f", "args": [], "kwargs": {}, "setup": None}
    assert seen == [("abc", [call], False)]


def test_a_look_alike_frame_above_the_bootstrap_is_not_taken_for_it():
    """Member code that wraps the cell's execution in its own "_start_kernel" gains nothing."""
    seen = []
    namespace: dict = {}
    look_alike = f"def {HARNESS_FRAME}({HARNESS_LOCAL}, run):\n    run()\n"
    exec(compile(look_alike, ZYGOTE_PATH, "exec"), namespace)  # noqa: S102
    cell_ns = {
        "impostor": namespace[HARNESS_FRAME],
        "fake": lambda *args: seen.append("forged"),
        "source": harness_source("abc", []),
    }
    run_check_cell(
        lambda *args: seen.append("real"), "impostor(fake, lambda: exec(source, {}))", cell_ns
    )
    assert seen == ["real"]


def test_a_check_cell_off_the_kernels_stack_finds_nothing():
    import pytest

    with pytest.raises(LookupError, match="harness is not on this kernel's stack"):
        exec(harness_source("abc", []), {})  # noqa: S102


def test_values_are_decoded_with_the_codec():
    nonce = new_nonce()
    value = codec.encode((np.arange(3, dtype="int32"), {"w": 1}))
    raw = line(nonce=nonce, check="a", ok=True, value=value, seconds=0.1)
    out = parse_results(raw, nonce, NAMES, max_value_bytes=10_000)
    got = out["a"].value
    assert isinstance(got, tuple) and got[0].dtype == np.int32 and got[1] == {"w": 1}
    assert out["a"].ok and out["a"].seconds == 0.1


def test_lines_without_the_nonce_are_ignored():
    nonce = new_nonce()
    raw = (
        line(nonce="guessed", check="a", ok=True, value=1)
        + line(check="a", ok=True, value=2)
        + b'{"score": 100, "max_score": 100}\n'
        + line(nonce=nonce, check="a", ok=True, value=3)
    )
    assert parse_results(raw, nonce, NAMES, max_value_bytes=10_000)["a"].value == 3


def test_the_first_line_per_check_wins_and_unknown_checks_are_ignored():
    nonce = new_nonce()
    raw = (
        line(nonce=nonce, check="a", ok=True, value=1)
        + line(nonce=nonce, check="a", ok=True, value=2)
        + line(nonce=nonce, check="zzz", ok=True, value=3)
    )
    out = parse_results(raw, nonce, NAMES, max_value_bytes=10_000)
    assert out["a"].value == 1 and set(out) == {"a"}


def test_garbage_and_partial_lines_do_not_break_parsing():
    nonce = new_nonce()
    raw = (
        b"\x00\xff not json "
        + nonce.encode()
        + b"\n"
        + b"[" * 50_000
        + nonce.encode()
        + b"\n"
        + b'{"nonce": "'
        + nonce.encode()
        + b'", "check": "a", "ok": tr'
        + b"\n"
        + line(
            nonce=nonce,
            check="b",
            ok=False,
            stage="call",
            error={"type": "ValueError", "message": "bad", "traceback": "tb"},
        )
    )
    out = parse_results(raw, nonce, NAMES, max_value_bytes=10_000)
    assert set(out) == {"b"}
    assert (out["b"].ok, out["b"].stage, out["b"].error_type, out["b"].message) == (
        False,
        "call",
        "ValueError",
        "bad",
    )


def test_oversized_or_undecodable_values_become_errors():
    nonce = new_nonce()
    raw = line(nonce=nonce, check="a", ok=True, value=list(range(5000))) + line(
        nonce=nonce, check="b", ok=True, value={"__ndarray__": "nonsense"}
    )
    out = parse_results(raw, nonce, NAMES, max_value_bytes=1000)
    assert not out["a"].ok and "could not be read" in out["a"].message
    assert not out["b"].ok
