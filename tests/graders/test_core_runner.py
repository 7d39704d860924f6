"""graders.reference.ReferenceRunner against a tiny fake reference package (no TensorFlow, fast)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from graders.reference import ReferenceCallError, ReferenceRunner, ReferenceTimeout, cache_key

TINY = """
import os
import time

DEFAULT_FACTOR = 10


def add(a, b):
    return a + b


def shape():
    return (None, 120, 16)


def boom():
    raise ValueError("reference exploded")


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def die():
    os._exit(3)


def noisy():
    print("chatter on stdout")
    os.write(1, b"raw bytes on fd 1\\n")
    return "clean"


def scale(xs, factor=1):
    return [x * factor for x in xs]


def version():
    return 1
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "reference").mkdir()
    (tmp_path / "exercises").mkdir()
    (tmp_path / "reference" / "__init__.py").write_text("")
    (tmp_path / "reference" / "tiny.py").write_text(TINY)
    return tmp_path


@pytest.fixture
def runner(root: Path):
    with ReferenceRunner(root, timeout=20) as r:
        yield r


def test_call_returns_values_through_the_codec(runner):
    assert runner.call("reference.tiny:add", {"a": 2, "b": 3}) == 5
    assert runner.call("reference.tiny:add", {"a": [1], "b": [2]}) == [1, 2]
    assert runner.call("reference.tiny:shape", {}) == (None, 120, 16)
    assert runner.call("reference.tiny:add", {"a": (1,), "b": (2,)}) == (1, 2)


def test_errors_come_back_with_type_and_traceback(runner):
    with pytest.raises(ReferenceCallError) as info:
        runner.call("reference.tiny:boom", {})
    assert info.value.error_type == "ValueError"
    assert "reference exploded" in str(info.value)
    assert "tiny.py" in info.value.traceback and "def boom" not in str(info.value)
    assert runner.call("reference.tiny:add", {"a": 1, "b": 1}) == 2  # still usable


def test_only_the_reference_package_can_be_called(runner):
    with pytest.raises(ReferenceCallError, match="reference.os"):
        runner.call("os:getcwd", {})
    with pytest.raises(ReferenceCallError, match="module:function"):
        runner.call("reference.tiny", {})


def test_printing_cannot_corrupt_the_protocol(runner):
    assert runner.call("reference.tiny:noisy", {}) == "clean"
    assert runner.call("reference.tiny:add", {"a": 1, "b": 2}) == 3


def test_a_child_that_dies_is_reported_and_replaced(runner):
    first = runner.ping()
    with pytest.raises(ReferenceCallError, match="exited"):
        runner.call("reference.tiny:die", {})
    assert runner.call("reference.tiny:add", {"a": 1, "b": 2}) == 3
    assert runner.ping() != first
    assert runner.starts == 2


def test_a_child_killed_between_requests_is_restarted_transparently(runner):
    pid = runner.ping()
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert runner.call("reference.tiny:add", {"a": 4, "b": 5}) == 9
    assert runner.pid != pid


def test_timeout_kills_the_child_and_the_next_call_works(runner):
    pid = runner.ping()
    started = time.monotonic()
    with pytest.raises(ReferenceTimeout):
        runner.call("reference.tiny:sleep", {"seconds": 30}, timeout=1)
    assert time.monotonic() - started < 10
    assert runner.call("reference.tiny:sleep", {"seconds": 0}) == 0
    assert runner.pid != pid


def test_evaluate_runs_setup_with_the_module_globals_and_substitutes_vars(runner):
    setup = "xs = [1, 2, 3]\nf = DEFAULT_FACTOR"
    value = runner.evaluate(
        "reference.tiny", "scale", [{"$var": "xs"}], {"factor": {"$var": "f"}}, setup
    )
    assert value == [10, 20, 30]
    assert runner.evaluate("tiny", "scale", [[1, 2]], {"factor": 3}) == [3, 6]
    helper = "def double(v):\n    return 2 * v\nn = 21"
    assert runner.evaluate("tiny", "double", [{"$var": "n"}], setup=helper) == 42


def test_evaluate_names_a_missing_setup_variable(runner):
    with pytest.raises(ReferenceCallError, match="no variable 'nope'"):
        runner.evaluate("tiny", "scale", [{"$var": "nope"}])


def test_many_threads_share_one_child_safely(runner):
    results: dict[tuple[int, int], object] = {}

    def work(i: int) -> None:
        for j in range(5):
            results[(i, j)] = runner.call("reference.tiny:add", {"a": i, "b": j})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {(i, j): i + j for i in range(8) for j in range(5)}
    assert runner.starts == 1


def test_an_edited_reference_restarts_the_child_and_changes_the_key(root, runner):
    assert runner.call("reference.tiny:version", {}) == 1
    key = cache_key("reference.tiny:version", {}, root=root)
    tiny = root / "reference" / "tiny.py"
    tiny.write_text(tiny.read_text().replace("return 1", "return 22"))
    assert runner.call("reference.tiny:version", {}) == 22
    assert cache_key("reference.tiny:version", {}, root=root) != key
    assert runner.starts == 2


def test_close_stops_the_child_and_a_later_call_starts_a_new_one(root):
    runner = ReferenceRunner(root)
    pid = runner.ping()
    runner.close()
    assert runner.pid is None
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    assert runner.call("reference.tiny:add", {"a": 1, "b": 1}) == 2
    runner.close()


def test_grading_modules_never_import_tensorflow_or_numpy_themselves():
    code = textwrap.dedent(
        """
        import sys
        import graders.answers, graders.catalog, graders.codec, graders.compare
        import graders.reference, graders.variants
        from graders.compare import compare
        compare("int", 1, 1); compare("dict", {"a": 1}, {"a": 1})
        bad = [m for m in ("tensorflow", "keras", "numpy") if m in sys.modules]
        print(",".join(bad))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_warm_imports_the_modules_in_the_child_before_any_call(root: Path, tmp_path: Path):
    marker = tmp_path / "imported"
    (root / "reference" / "heavy.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text(str(__import__('os').getpid()))\n"
    )
    with ReferenceRunner(root, timeout=20) as runner:
        pid = runner.warm(["heavy"])
        assert marker.read_text() == str(pid)  # imported in the child, by warm alone
        assert runner.call("reference.tiny:add", {"a": 1, "b": 2}) == 3
        assert runner.pid == pid and runner.starts == 1
        with pytest.raises(ReferenceCallError, match="No module named"):
            runner.warm(["not_there"])
