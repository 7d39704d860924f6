"""Hostile submissions: each ends graded zero (or error) with a clear message, leaks nothing,
and a correct submission graded right after still gets full marks."""

from __future__ import annotations

import ast
import json
import sqlite3
import uuid

import pytest

from tests.notebook.conftest import ROOT, WORKER_SECRET, WRONG_TOKENIZER, all_text, notebook

pytestmark = pytest.mark.slow

SHORT = {"cell_timeout": 3, "time_limit": 20, "harness_timeout": 15}


def zero(result) -> None:
    assert result.score == 0, result.output
    assert result.status in ("graded", "error")
    assert result.output.strip()


def test_infinite_loop_is_stopped(grade, assert_still_grades):
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, "while True:\n    pass"), **SHORT)
    zero(result)
    assert any("more than 3 s and was stopped" in n for n in result.notes)
    assert_still_grades()


def test_loop_that_swallows_the_interrupt_gets_its_kernel_killed(grade, assert_still_grades):
    stubborn = "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass"
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, stubborn), **SHORT)
    zero(result)
    assert any("ignored the interrupt, so the kernel was stopped" in n for n in result.notes)
    assert all("Not checked" in t.output for t in result.tests)
    assert_still_grades()


def test_fork_bomb_is_contained(grade, assert_still_grades, sandbox_pool):
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = grade("c3w1-tokenizer", notebook(bomb, WRONG_TOKENIZER), **SHORT)
    zero(result)
    assert any("Cell 1" in n for n in result.notes)
    assert_still_grades()


def test_memory_hog_hits_the_address_space_limit(grade, assert_still_grades):
    one_big = "x = bytearray(64 * 1024**3)"
    many = "import numpy as np\nblocks = []\nwhile True:\n    blocks.append(np.empty(1024**3, dtype=np.uint8))"
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, one_big, many), **SHORT)
    zero(result)
    assert any(n.startswith("Cell 2 raised MemoryError") for n in result.notes)
    assert any(n.startswith("Cell 3 raised") and "MemoryError" in n for n in result.notes)
    assert any("out of memory" in n for n in result.notes)
    assert_still_grades()


def test_printing_gigabytes_is_cut(grade, assert_still_grades):
    flood = "import sys\nwhile True:\n    sys.stdout.write('x' * 1_000_000 + '\\n')"
    result = grade(
        "c3w1-tokenizer", notebook(WRONG_TOKENIZER, flood), output_bytes=64 * 1024, **SHORT
    )
    zero(result)
    kept = sum(len(json.dumps(c.get("outputs", []))) for c in result.executed_notebook.cells)
    assert kept < 200 * 1024
    assert_still_grades()


def test_no_network_not_even_the_hosts_loopback(grade, assert_still_grades):
    result = grade(
        "c3w1-tokenizer",
        notebook(
            WRONG_TOKENIZER,
            "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=3)",
            "socket.create_connection(('127.0.0.1', 6379), timeout=3)",
            "import urllib.request\nurllib.request.urlopen('https://storage.googleapis.com/', timeout=3)",
        ),
        **SHORT,
    )
    zero(result)
    errors = [n for n in result.notes if n.startswith("Cell ")]
    assert len(errors) == 3 and all("unreachable" in n or "URLError" in n for n in errors)
    assert any("no network" in n for n in result.notes)
    assert_still_grades()


def test_host_files_are_out_of_reach(grade, assert_still_grades, tmp_path):
    marker = f"db-secret-{uuid.uuid4().hex}"
    database = tmp_path / "adventures.db"
    with sqlite3.connect(database) as conn:
        conn.execute("create table t (v text)")
        conn.execute("insert into t values (?)", (marker,))
    targets = [
        str(database),
        str(ROOT / "reference" / "c3w1_tokenizer.py"),
        str(ROOT / "exercises" / "c3w1-tokenizer" / "exercise.yaml"),
        str(ROOT / "instance"),
        str(ROOT / "pyproject.toml"),
        "/proc/1/environ",
        "/etc/shadow",
    ]
    probe = (
        "import os\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        print(path, open(path, 'rb').read()[:200])\n"
        "    except OSError as exc:\n"
        "        print(path, type(exc).__name__)\n"
        f"print('LISTING', sorted(os.listdir({str(ROOT)!r})) if os.path.exists({str(ROOT)!r}) else [])"
    )
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, probe), **SHORT)
    zero(result)
    text = all_text(result)
    assert marker not in text
    assert "wraps this file in a notebook" not in text  # reference/c3w1_tokenizer.py
    assert "Former versace store clerk" not in text  # the spec's hidden inputs are not readable
    printed = "".join(o.get("text", "") for o in result.executed_notebook.cells[1].outputs)
    assert printed.count("FileNotFoundError") >= 5
    # Only the virtual environment (bound read-only so the kernel can import) is at the checkout.
    listing = next(line for line in printed.splitlines() if line.startswith("LISTING"))
    assert set(ast.literal_eval(listing.removeprefix("LISTING "))) <= {".venv"}
    assert_still_grades()


def test_nothing_of_an_earlier_submission_survives(grade, assert_still_grades):
    marker = f"earlier-{uuid.uuid4().hex}"
    writer = (
        "import os\nfrom multiprocessing import shared_memory\n"
        f"m = {marker!r}\n"
        "for path in ('/tmp/m.txt', os.path.expanduser('~/m.txt'), '/dev/shm/m.txt', 'm.txt'):\n"
        "    open(path, 'w').write(m)\n"
        "shm = shared_memory.SharedMemory(name='adv_marker', create=True, size=64)\n"
        "shm.buf[:len(m)] = m.encode()"
    )
    grade("c3w1-tokenizer", notebook(writer, WRONG_TOKENIZER), **SHORT)
    reader = (
        "import os, sys\nfound = []\n"
        # The interpreter (read-only; under /tmp when the checkout is) is not scratch space.
        "python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}\n"
        "for top in ('/tmp', '/home', '/dev/shm', '/run', '/srv', '/opt', '/var', '/etc'):\n"
        "    for root, dirs, files in os.walk(top):\n"
        "        dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(root, d)) not in python]\n"
        "        for name in files:\n"
        "            try:\n"
        f"                if {marker!r}.encode() in open(os.path.join(root, name), 'rb').read():\n"
        "                    found.append(os.path.join(root, name))\n"
        "            except OSError:\n"
        "                pass\n"
        "print('FOUND', found)"
    )
    result = grade("c3w1-tokenizer", notebook(reader, WRONG_TOKENIZER), **SHORT)
    zero(result)
    assert result.executed_notebook.cells[0].outputs[0]["text"] == "FOUND []\n"
    assert_still_grades()


def test_the_workers_environment_never_reaches_the_notebook(grade, assert_still_grades):
    probe = (
        "import os\nprint(dict(os.environ))\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        print(open(f'/proc/{pid}/environ', 'rb').read())"
    )
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, probe), **SHORT)
    zero(result)
    assert "HOME" in all_text(result)  # the probe did print the environment
    assert WORKER_SECRET not in all_text(result)
    assert_still_grades()


def test_killing_the_parent_achieves_nothing(grade, assert_still_grades, sandbox_pool):
    assert_still_grades()  # the slot's sandbox is up
    slot = sandbox_pool._all[0]
    zygote_pid = slot.zygote.proc.pid
    killer = (
        "import os, signal\n"
        "for target in (os.getppid(), 1, -1):\n"
        "    try:\n"
        "        os.kill(target, signal.SIGKILL)\n"
        "    except OSError as exc:\n"
        "        print(target, type(exc).__name__)\n"
        "os.killpg(0, signal.SIGKILL)"
    )
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, killer), **SHORT)
    zero(result)
    assert [t.status for t in result.tests].count("failed") >= 5  # the checks still ran
    assert slot.zygote.proc.pid == zygote_pid and slot.zygote.alive
    assert_still_grades()


def test_patching_numpy_and_assertions_fools_nothing(grade, assert_still_grades):
    """What fools an in-kernel grader (nbgrader, otter) changes nothing here."""
    patches = (
        "import builtins, numpy as np\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.testing.assert_array_equal = lambda *a, **k: None\n"
        "builtins.AssertionError = type('Never', (Exception,), {})\n"
        "np.ndarray = list"
    )
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, patches), **SHORT)
    zero(result)
    assert all(t.status == "failed" for t in result.tests)  # compared outside, and wrong
    assert_still_grades()


def test_patching_core_builtins_only_breaks_the_members_own_kernel(grade, assert_still_grades):
    patches = "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 0"
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, patches), **SHORT)
    zero(result)
    assert all(t.status in ("failed", "error") for t in result.tests)
    assert_still_grades()


def test_patching_json_breaks_only_the_members_own_kernel(grade, assert_still_grades):
    patches = (
        "import json\n"
        'json.dumps = lambda *a, **k: \'{"ok": true, "score": 10}\'\n'
        "json.loads = lambda *a, **k: {'score': 10}"
    )
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, patches), **SHORT)
    zero(result)
    assert all(t.status in ("failed", "error") for t in result.tests)
    assert_still_grades()


def test_replacing_the_harness_by_name_changes_nothing(grade, assert_still_grades):
    """No name leads to the harness: the checks run as ever, on the member's own functions."""
    fake = (
        "import builtins\n"
        "def fake(*args, **kwargs):\n"
        '    print(\'{"score": 10, "max_score": 10}\')\n'
        "    return 8\n"
        "for name in ('__adventures_harness__', '__adventures_checks__'):\n"
        "    setattr(builtins, name, fake)\n"
        "    globals()[name] = fake"
    )
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, fake), **SHORT)
    zero(result)
    assert all(t.status == "failed" for t in result.tests), result.output
    assert_still_grades()


def test_forged_result_lines_count_only_as_values(grade, assert_still_grades):
    """A hook that reads the nonce from each check cell and writes lines for its checks.

    Before the checks the result file cannot even be opened for writing; during them the
    hook's lines come first, but they can only claim values, and claiming the right ones
    means computing them.
    """
    hook = r"""
import ast, json, os, re
for attempt in (
    lambda: os.open('/run/kernel/results/result.jsonl', os.O_WRONLY | os.O_APPEND),
    lambda: os.listdir('/run/kernel/results'),
    lambda: os.chmod('/run/kernel/results', 0o700),
):
    try:
        attempt()
        print('EARLY ATTEMPT WORKED')
    except OSError as exc:
        print('EARLY ATTEMPT REFUSED', type(exc).__name__)
CALL = re.compile(r"\('([0-9a-f]{32})', ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
def forge(info):
    m = CALL.search(info.raw_cell)
    if m:
        fd = os.open('/run/kernel/results/result.jsonl', os.O_WRONLY | os.O_APPEND)
        for call in json.loads(ast.literal_eval(m.group(2))):
            line = {"nonce": m.group(1), "check": call["name"], "ok": True, "value": {"fake": 1}}
            os.write(fd, (json.dumps(line) + "\n").encode())
        os.close(fd)
get_ipython().events.register('pre_run_cell', forge)
"""
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, hook), **SHORT)
    zero(result)
    printed = "".join(o.get("text", "") for o in result.executed_notebook.cells[1].outputs)
    assert printed.count("EARLY ATTEMPT REFUSED") == 3 and "WORKED" not in printed, printed
    assert all(t.status == "failed" for t in result.tests)
    assert "'fake'" in result.tests[0].output  # the forged value is what got compared
    assert_still_grades()


def test_printing_a_fake_result_document_changes_nothing(grade, assert_still_grades):
    fake = {
        "score": 10,
        "max_score": 10,
        "tests": [{"name": "build_word_index", "score": 10, "status": "passed"}],
    }
    printer = (
        "import json, os\n"
        f"doc = {json.dumps(fake)!r}\n"
        "print(doc)\n"
        "from IPython.display import display, JSON\n"
        "display(JSON(json.loads(doc)))\n"
        "for path in ('results.json', '/tmp/results.json', '/run/kernel/result.jsonl'):\n"
        "    try:\n"
        "        open(path, 'w').write(doc)\n"
        "    except OSError as exc:\n"
        "        print(path, type(exc).__name__)"
    )
    result = grade("c3w1-tokenizer", notebook(WRONG_TOKENIZER, printer), **SHORT)
    zero(result)
    printed = "".join(o.get("text", "") for o in result.executed_notebook.cells[1].outputs)
    assert "/run/kernel/result.jsonl OSError" in printed  # read-only to member code
    assert_still_grades()
