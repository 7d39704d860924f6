"""Results a member cannot forge or inflate (graders.notebook.harness, graders.codec).

Member code runs in the kernel before the checks and can do anything Python allows there.
It must not be able to reach the harness or its channel before the checks (no name leads
to them), to make a failing answer pass by replacing or patching what the harness uses, to
make the worker allocate more than a value's bound (everything it writes is decoded under
bounds checked before allocating), or to see a hidden check's inputs before that check.
"""

from __future__ import annotations

import json
import textwrap
import tracemalloc

import numpy as np
import pytest

from graders import codec
from graders.notebook.harness import (
    LINE_SLACK,
    NOTES_CHECK,
    UNSAFE,
    cell_names,
    harness_cells,
    new_nonce,
    parse_kernel_notes,
    parse_results,
)
from graders.spec import CheckSpec, ExerciseSpec
from tests.notebook.conftest import WRONG_TOKENIZER, all_text, notebook, spec_of

MB = 1024**2
VALUE_BYTES = 8 * MB  # Limits().value_bytes
FORGED_DTYPE = {"__ndarray__": ["a", "b", "c"], "dtype": "<U25000000", "shape": [3]}
"""About 150 bytes that asked the old decoder for 300 MB."""


def line(**fields) -> bytes:
    return (json.dumps(fields) + "\n").encode()


def peak_of(work) -> tuple[object, int]:
    """(what work() returns, the peak bytes Python and numpy allocated while it ran)."""
    tracemalloc.start()
    try:
        out = work()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- decoding under bounds (fast) ------------------------------------------------------------


def test_a_forged_dtype_is_refused_before_anything_is_allocated():
    nonce = new_nonce()
    raw = line(check="a", nonce=nonce, ok=True, value=FORGED_DTYPE)
    out, peak = peak_of(lambda: parse_results(raw, nonce, {"a"}, max_value_bytes=VALUE_BYTES))
    assert peak < 2 * MB
    assert not out["a"].ok and out["a"].stage == "encode"
    assert out["a"].message.startswith(f"{UNSAFE}: ")
    assert "25,000,000 characters" in out["a"].message
    with pytest.raises(codec.UnsafeValue):
        codec.decode(FORGED_DTYPE)  # no caller-given bound: still refused


UNSAFE_VALUES = {
    "huge unicode items": FORGED_DTYPE,
    "unicode items within the cap, too many bytes": {
        "__ndarray__": ["a"] * 40,
        "dtype": "<U60000",
        "shape": [40],
    },
    "an object array the size of memory": {"__ndarray__": 1, "dtype": "object", "shape": [10**9]},
    "a shape numpy would broadcast into": {"__ndarray__": 0, "dtype": "float64", "shape": [10**6]},
    "data nested deeper than the shape": {
        "__ndarray__": [["x"] * 1000],
        "dtype": "<U60000",
        "shape": [1],
    },
    "a product past any limit": {"__ndarray__": [], "dtype": "int8", "shape": [10**9, 10**9, 0]},
    "a negative size": {"__ndarray__": [], "dtype": "int8", "shape": [-1]},
    "a size that is not a whole number": {"__ndarray__": [1], "dtype": "int8", "shape": [1.0]},
    "too many dimensions": {"__ndarray__": 1, "dtype": "int8", "shape": [1] * 33},
    "void items": {"__ndarray__": 1, "dtype": "V100000000", "shape": []},
    "a subarray dtype": {"__ndarray__": 1, "dtype": "(4000,4000)f8", "shape": []},
    "a record dtype": {"__ndarray__": [1], "dtype": "[('a', '<f8')]", "shape": [1]},
    "datetimes": {"__ndarray__": 1, "dtype": "M8[s]", "shape": []},
    "numpy's own object dtype name": {"__ndarray__": 1, "dtype": "O8", "shape": []},
    "strings in a number array": {
        "__ndarray__": [1, {"__tuple__": [1, 2]}],
        "dtype": "int8",
        "shape": [2],
    },
    "numbers in a unicode array": {"__ndarray__": ["a", 1], "dtype": "<U2", "shape": [2]},
    "two arrays, together too big": {
        "__tuple__": [
            {"__ndarray__": ["x"] * 300, "dtype": "<U4000", "shape": [300]},
            {"__ndarray__": ["x"] * 300, "dtype": "<U4000", "shape": [300]},
        ]
    },
}


@pytest.mark.parametrize("value", UNSAFE_VALUES.values(), ids=list(UNSAFE_VALUES))
def test_unsafe_encodings_score_zero_with_a_clear_message(value):
    nonce = new_nonce()
    raw = line(check="a", nonce=nonce, ok=True, value=value)
    out, peak = peak_of(lambda: parse_results(raw, nonce, {"a"}, max_value_bytes=VALUE_BYTES))
    assert peak < VALUE_BYTES  # what one value may take, at most; here mostly nothing
    assert not out["a"].ok and out["a"].message.startswith(f"{UNSAFE}: ")


def test_honest_arrays_still_come_back_whole():
    values = (
        np.arange(12, dtype="int32").reshape(3, 4),
        np.array([[0.5, np.nan], [np.inf, -1.0]], dtype="float32"),
        np.array(["a long enough sentence", "b"]),
        np.array([b"x", b"yz"]),
        np.array([True, False]),
        np.zeros((0, 3)),
        np.float32(2.5),
    )
    nonce = new_nonce()
    raw = line(check="a", nonce=nonce, ok=True, value=codec.encode(values))
    got = parse_results(raw, nonce, {"a"}, max_value_bytes=VALUE_BYTES)["a"].value
    for want, have in zip(values, got, strict=True):
        assert have.dtype == want.dtype and have.shape == want.shape
        assert np.array_equal(have, want, equal_nan=want.dtype.kind == "f")
    # An object array (pandas' text columns) comes back as its lists: no numpy object array.
    mixed = codec.encode(np.array([["a", 1], ["b", None]], dtype=object))
    assert codec.decode(mixed) == [["a", 1], ["b", None]]


def test_lines_are_bounded_before_json_reads_them():
    nonce = new_nonce()
    head = f'{{"check":"a","nonce":"{nonce}","ok":true,"value":'.encode()
    empty_lists = head + b"[" + b"[]," * (2 * MB) + b"[]]}\n"  # 6 MB: ~130 MB of lists
    too_long = head + b'"' + b"x" * (VALUE_BYTES + LINE_SLACK) + b'"}\n'
    for raw in (empty_lists, too_long):
        out, peak = peak_of(
            lambda raw=raw: parse_results(raw, nonce, {"a"}, max_value_bytes=VALUE_BYTES)
        )
        assert peak < len(raw) + 4 * MB  # the bytes split once, nothing built from them
        assert not out["a"].ok and out["a"].message.startswith(UNSAFE)


def test_nothing_a_kernel_writes_makes_reading_fail():
    nonce = new_nonce()
    nasty = [
        {"check": "a", "nonce": nonce, "ok": True, "value": 1, "seconds": 10**4000},
        {"check": ["a"], "nonce": nonce, "ok": True, "value": 1},
        {"check": {"x": 1}, "nonce": nonce, "ok": True},
        {"check": "b", "nonce": nonce, "ok": False, "stage": [1] * 50, "error": {"type": {}}},
        {
            "check": "c",
            "nonce": nonce,
            "ok": True,
            "value": {"__ndarray__": [10**30], "dtype": "int64", "shape": [1]},
        },
        {"check": "d", "nonce": nonce, "ok": True, "value": {"__keras_model__": {"params": "x"}}},
        {"check": NOTES_CHECK, "nonce": nonce, "notes": {"not": "a list"}},
    ]
    raw = b"".join(line(**record) for record in nasty) + b"[" * 100_000 + nonce.encode() + b"\n"
    out = parse_results(raw, nonce, {"a", "b", "c", "d"}, max_value_bytes=VALUE_BYTES)
    assert out["a"].ok and out["a"].seconds is None
    assert not out["b"].ok and not out["c"].ok and not out["d"].ok
    assert parse_kernel_notes(raw, nonce) == []


def test_a_line_counts_only_for_the_checks_of_the_cell_it_was_written_in():
    """Once a hidden check's inputs are in the kernel, nothing written can speak for a
    visible check, or carry the notes (the first cell's part of the file only)."""
    nonce = new_nonce()
    checks = [
        CheckSpec(name="v1", function="f"),
        CheckSpec(name="h1", function="g", args=["secret"], visibility="hidden"),
        CheckSpec(name="v2", function="f", args=[2]),
    ]
    cells = harness_cells(nonce, checks)
    assert [c.names for c in cells] == cell_names(checks) == [{"v1", "v2"}, {"h1"}]
    assert "secret" not in cells[0].source and "secret" in cells[1].source
    assert cells[0].notes and not cells[1].notes
    first = line(check="v1", nonce=nonce, ok=True, value=1) + line(
        check=NOTES_CHECK, nonce=nonce, notes=["from the first cell"]
    )
    second = (
        line(check="v2", nonce=nonce, ok=True, value="secret")
        + line(check=NOTES_CHECK, nonce=nonce, notes=["secret"])
        + line(check="h1", nonce=nonce, ok=True, value=3)
    )
    late = line(check="h1", nonce=nonce, ok=True, value=4)
    raw = first + second + late
    segments = list(zip([len(first), len(first + second)], cell_names(checks), strict=True))
    out = parse_results(raw, nonce, {"v1", "v2", "h1"}, max_value_bytes=1000, segments=segments)
    assert set(out) == {"v1", "h1"} and out["h1"].value == 3
    assert parse_kernel_notes(raw, nonce, segments=segments) == ["from the first cell"]
    only_second = second + first
    segments = list(zip([0, len(only_second)], cell_names(checks), strict=True))
    assert parse_kernel_notes(only_second, nonce, segments=segments) == []
    assert parse_results(raw, nonce, {"v1"}, max_value_bytes=1000, segments=[]) == {}


class _Shell:
    def __init__(self, user_ns: dict) -> None:
        self.user_ns = user_ns


def test_the_harness_writes_with_what_it_captured_before_member_code(tmp_path, monkeypatch):
    """Patching json (dumps, loads, its encoder class) or os.write after the bootstrap
    changes nothing the harness writes (fast: the harness in this process)."""
    import builtins
    import os
    from pathlib import Path

    from graders.notebook.harness import harness_source
    from graders.notebook.zygote import make_harness
    from tests.notebook.conftest import run_check_cell

    codec_ns = {"__name__": "_adventures_codec", "__builtins__": dict(vars(builtins))}
    exec(Path(codec.__file__).read_text(encoding="utf-8"), codec_ns)  # noqa: S102
    path = tmp_path / "result.jsonl"
    path.touch()
    harness = make_harness(_Shell({"f": lambda: 1}), codec_ns, str(path), 0, 1 << 20)

    forged = '{"check":"a","nonce":"%s","ok":true,"value":2}'
    real_write = os.write

    class Forger(json.JSONEncoder):
        def encode(self, o):
            return forged % o.get("nonce") if isinstance(o, dict) else super().encode(o)

    def write(fd, data):
        if b'"check"' in bytes(data):
            data = b"\n" + (forged % nonce).encode() + b"\n"
        return real_write(fd, data)

    nonce = new_nonce()
    source = harness_source(nonce, [CheckSpec(name="a", function="f")])  # the host's side
    monkeypatch.setattr(json, "JSONEncoder", Forger)
    monkeypatch.setattr(json, "dumps", lambda o, *a, **k: forged % nonce)
    monkeypatch.setattr(json, "loads", lambda *a, **k: [{"name": "a", "function": "g"}])
    monkeypatch.setattr(os, "write", write)
    try:
        run_check_cell(harness, source)
    finally:
        monkeypatch.undo()
    out = parse_results(path.read_bytes(), nonce, {"a"}, max_value_bytes=1000)
    assert out["a"].ok and out["a"].value == 1


# --- through the sandbox ---------------------------------------------------------------------

SHORT = {"cell_timeout": 20, "time_limit": 60, "harness_timeout": 30}

FORGE_HOOK = r"""
import ast, os, re
FORGED_VALUE = %s
CALL = re.compile(r"\('([0-9a-f]{32})', ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
def forge(info):
    m = CALL.search(info.raw_cell)
    if not m:
        return
    nonce, calls = m.group(1), json.loads(ast.literal_eval(m.group(2)))
    try:  # the result channel is open once the checks start
        fd = os.open('/run/kernel/results/result.jsonl', os.O_WRONLY | os.O_APPEND)
    except OSError:  # the old harness kept it open all along
        fd = next(int(f) for f in os.listdir('/proc/self/fd')
                  if os.readlink(f'/proc/self/fd/{f}').endswith('result.jsonl'))
    for call in calls:
        forged = {"check": call["name"], "nonce": nonce, "ok": True, "value": FORGED_VALUE}
        os.write(fd, (json.dumps(forged) + "\n").encode())
get_ipython().events.register('pre_run_cell', forge)
"""


@pytest.mark.slow
def test_a_forged_dtype_line_scores_zero_and_the_worker_does_not_grow(grade, assert_still_grades):
    """A hook that reads the nonce from the check cell and writes the forged dtype for
    every check: each scores 0 with the message; the worker allocates nothing for it."""
    hook = "import json\n" + FORGE_HOOK % json.dumps(FORGED_DTYPE)
    result, peak = peak_of(
        lambda: grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, hook), **SHORT)
    )
    assert peak < 64 * MB, f"the worker allocated {peak / MB:.0f} MB while grading"
    assert result.score == 0
    visible = [t for t in result.tests if t.visibility == "visible"]
    assert visible and all(UNSAFE in t.output for t in visible), result.output
    assert all("25,000,000 characters" in t.output for t in visible)
    assert all(t.status == "failed" for t in result.tests)
    assert_still_grades()


def forged_expected(reference_runner) -> str:
    """Every check's expected value of c3w1-tokenizer, encoded: what a forger would need."""
    from graders.notebook.pipeline import expected_values

    values, errors = expected_values(spec_of("c3w1-tokenizer"), reference_runner)
    assert not errors
    return json.dumps({name: codec.encode(value) for name, value in values.items()})


REPLACE_THE_HARNESS = r"""
import builtins, json, os
FORGED = json.loads(%r)
def fake(nonce, calls, *rest):
    fd = next(int(f) for f in os.listdir('/proc/self/fd')
              if os.readlink(f'/proc/self/fd/{f}').endswith('result.jsonl'))
    for call in json.loads(calls):
        forged = {"check": call["name"], "nonce": nonce, "ok": True, "value": FORGED[call["name"]]}
        os.write(fd, (json.dumps(forged) + "\n").encode())
    return 0
for name in ('__adventures_harness__', '__adventures_checks__', 'harness'):
    setattr(builtins, name, fake)
    globals()[name] = fake
"""

PATCH_WHAT_THE_HARNESS_USES = r"""
import builtins, json, json.decoder, json.encoder, os
FORGED = json.loads(%r)
def rewrite(o):
    if isinstance(o, dict) and o.get("check") in FORGED and "nonce" in o:
        return {"check": o["check"], "nonce": o["nonce"], "ok": True, "value": FORGED[o["check"]]}
    return o
class Forger(json.JSONEncoder):
    def encode(self, o):
        return super().encode(rewrite(o))
    def iterencode(self, o, _one_shot=False):
        return super().iterencode(rewrite(o), _one_shot)
json.JSONEncoder = json.encoder.JSONEncoder = Forger
real_dumps = json.dumps
json.dumps = lambda o, *a, **k: real_dumps(rewrite(o), *a, **k)
real_write = os.write
def write(fd, data):
    try:
        o = json.loads(bytes(data))
    except Exception:
        return real_write(fd, data)
    return real_write(fd, b"\n" + real_dumps(rewrite(o)).encode() + b"\n")
os.write = write
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "attack", [REPLACE_THE_HARNESS, PATCH_WHAT_THE_HARNESS_USES], ids=["replace", "patch"]
)
def test_neither_replacing_nor_patching_the_harness_makes_a_wrong_answer_pass(
    grade, reference_runner, assert_still_grades, attack
):
    """The member's functions are wrong; their code knows every right answer and tries to
    report it in the harness's place, or through os.write, json.dumps or json's encoder."""
    hostile = attack % forged_expected(reference_runner)
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, hostile), **SHORT)
    assert result.status == "graded", result.error
    assert result.score == 0, result.output
    assert all(t.status == "failed" for t in result.tests), result.output
    assert_still_grades()


MARK = "zanzibar-quokka"
HIDDEN_INPUT = f"the {MARK} rides at dawn"

SCANNER = r'''
import gc, json, os, re, stat, sys, threading, time
MARK = "-".join(["zanzibar", "quokka"])  # never a literal: the cell's own code would hold it

def _strings(obj):
    t = type(obj)
    if t is str:
        yield obj
    elif t is tuple or t is list:
        for x in obj:
            if type(x) is str:
                yield x
    elif t is dict:
        for k, v in obj.items():
            if type(k) is str:
                yield k
            if type(v) is str:
                yield v

def _found(obj):
    for text in _strings(obj):
        if text is not MARK and MARK in text:
            at = text.index(MARK)
            return text[max(0, at - 40) : at + 60]
    return ""

def scan_memory():
    for obj in gc.get_objects():
        found = _found(obj)
        if found:
            return found
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            found = _found(value)
            if found:
                return found
        frame = frame.f_back
    return ""

def scan_world():
    for key, value in os.environ.items():
        if MARK in key + value:
            return "environ: " + key
    for name, value in list(globals().items()):
        if value is not MARK and MARK in repr(value)[:100000]:
            return "global: " + name
    for fd in os.listdir("/proc/self/fd"):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
            if not stat.S_ISREG(os.stat(f"/proc/self/fd/{fd}").st_mode):
                continue  # sockets and pipes: nothing to read without blocking
            with open(f"/proc/self/fd/{fd}", "rb") as handle:
                if MARK.encode() in handle.read(1 << 20):
                    return "fd: " + path
        except OSError:
            pass
    for top in ("/run", "/tmp", "/home", "/opt", "/srv", "/dev/shm", "/etc"):
        for root, dirs, files in os.walk(top):
            for name in files:
                try:
                    with open(os.path.join(root, name), "rb") as handle:
                        if MARK.encode() in handle.read(1 << 20):
                            return "file: " + os.path.join(root, name)
                except OSError:
                    pass
    return ""

def peek(*args):
    """The visible check: whatever hidden input it can find becomes its answer."""
    return scan_memory() or scan_world()

def echo_length(text):
    time.sleep(1)  # time for the thread below to write its lines while this check runs
    return len(text)

LEAKED = []
def watch():
    """A thread that waits for the hidden input and writes it into a visible check's line
    and the notes (the nonce found in memory too)."""
    while True:
        found = scan_memory()
        if found:
            LEAKED.append(found)
            nonces = set()
            for obj in gc.get_objects():
                for text in _strings(obj):
                    nonces.update(re.findall(r"\('([0-9a-f]{32})', '", text))
            try:
                fd = os.open("/run/kernel/results/result.jsonl", os.O_WRONLY | os.O_APPEND)
            except OSError:
                fd = next((int(f) for f in os.listdir("/proc/self/fd")
                           if os.readlink(f"/proc/self/fd/{f}").endswith("result.jsonl")), None)
            for nonce in nonces:
                for line in (
                    {"check": "peek", "nonce": nonce, "ok": True, "value": found},
                    {"check": "__notes__", "nonce": nonce, "notes": [found]},
                ):
                    if fd is not None:
                        os.write(fd, (json.dumps(line) + "\n").encode())
            return
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
sys.modules["_adventures_kernel_shim"]._notes = None  # so the first cell writes no notes line
'''


def _secret_spec() -> ExerciseSpec:
    checks = [
        {"name": "peek", "function": "peek", "compare": "exact"},
        {
            "name": "secret",
            "function": "echo_length",
            "args": [HIDDEN_INPUT],
            "visibility": "hidden",
        },
        {"name": "peek again", "function": "peek", "args": [1], "compare": "exact"},
    ]
    return ExerciseSpec.model_validate(
        {
            "slug": "forgery-hidden-inputs",
            "title": "Hidden inputs",
            "kind": "notebook",
            "week": 1,
            "points": 3,
            "prompt": "Find the hidden input.",
            "notebook": {"reference": "unused", "checks": checks, "time_limit": 120},
        }
    )


@pytest.mark.slow
def test_member_code_finds_no_hidden_input_before_its_check(sandbox_pool, tmp_path):
    """Member cells scan globals, gc, /proc/self/fd, files and the environment; a visible
    check's function scans memory and frames while the checks run; a thread waits for the
    hidden input to appear and writes it into a visible check's line and the notes.
    Nothing of the hidden input reaches anything the member is shown."""
    from graders.notebook import grade_notebook

    folder = tmp_path / "forgery-hidden-inputs"
    folder.mkdir()
    member_cells = textwrap.dedent(SCANNER)
    early = "print('FOUND EARLY:', repr(scan_memory() or scan_world()))"
    result = grade_notebook(
        _secret_spec(),
        folder,
        notebook(member_cells, early),
        pool=sandbox_pool,
        reference_values={"peek": "", "secret": len(HIDDEN_INPUT), "peek again": ""},
    )
    assert result.status == "graded", result.error
    text = all_text(result)
    assert "FOUND EARLY: ''" in text  # the scans ran, and found nothing
    assert MARK not in text, result.output
    assert {t.name: t.status for t in result.tests} == {
        "peek": "passed",
        "secret": "passed",
        "peek again": "passed",
    }, result.output
