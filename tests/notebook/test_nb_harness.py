"""The harness cell and reading its result file: only nonce-carrying lines count."""

from __future__ import annotations

import json

import numpy as np

from graders import codec
from graders.notebook.harness import harness_source, new_nonce, parse_results
from graders.notebook.zygote import HARNESS_NAME
from graders.spec import CheckSpec

NAMES = {"a", "b"}


def line(**fields) -> bytes:
    return (json.dumps(fields) + "\n").encode()


def test_nonces_are_random_and_long():
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 32 for n in nonces)


def test_harness_source_calls_the_captured_harness_with_encoded_args():
    check = CheckSpec(
        name="n", function="f", args=[[1, 2], {"$var": "x"}], kwargs={"k": None}, setup="x = 1"
    )
    source = harness_source("abc", [check])
    assert source.startswith(f"{HARNESS_NAME}('abc', ")
    payload = json.loads(eval(source[source.index(", ") + 2 : -2]))  # the JSON string literal
    assert payload == [
        {
            "name": "n",
            "function": "f",
            "args": [[1, 2], {"$var": "x"}],
            "kwargs": {"k": None},
            "setup": "x = 1",
        }
    ]


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
