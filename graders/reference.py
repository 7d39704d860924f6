"""Reference values, computed in a child process so the caller never imports TensorFlow.

`ReferenceRunner` keeps one `python -m graders.reference_worker` child alive
(TensorFlow is imported once, on the first request), talks JSON lines to it
under a lock, restarts it when it dies or when a reference file changes, and
kills it when a request runs past its timeout. `cache_key` names a value by
content: the target, its arguments and the bytes of every file under
reference/, so editing a reference solution invalidates its cached values.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graders import codec

MAX_VALUE_BYTES = 64 * 1024 * 1024
DEFAULT_TIMEOUT_S = 300.0
ROOT_ENV = "ADVENTURES_ROOT"


def _find_root() -> Path:
    """The repository root: the folder holding both reference/ and exercises/."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    cwd = Path.cwd().resolve()
    for candidate in (here, cwd, *cwd.parents):
        if (candidate / "reference").is_dir() and (candidate / "exercises").is_dir():
            return candidate
    return here


REFERENCE_ROOT = _find_root()


class ReferenceCallError(RuntimeError):
    """A reference computation failed; `traceback` holds the child's traceback text."""

    def __init__(self, message: str, *, error_type: str = "", traceback: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.traceback = traceback

    def __str__(self) -> str:
        base = super().__str__()
        return f"{self.error_type}: {base}" if self.error_type else base


class ReferenceTimeout(ReferenceCallError):
    """The child took longer than the timeout and was killed."""


# --- content keys --------------------------------------------------------------------

_digest_lock = threading.Lock()
_digest_memo: dict[Path, tuple[tuple, str, float]] = {}  # signature, digest, checked at


def _reference_files(root: Path) -> list[Path]:
    base = root / "reference"
    files = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            files.append(Path(dirpath) / name)
    return sorted(files)


def reference_digest(root: Path | None = None, *, max_age: float = 0.0) -> str:
    """sha256 over every file under root/reference (re-read only when a file's stat changes).

    max_age > 0 trusts a digest checked that many seconds ago without looking at the files
    again: the web server asks on every answer and a deployment's references change rarely.
    """
    root = (root or REFERENCE_ROOT).resolve()
    if max_age > 0:
        with _digest_lock:
            memo = _digest_memo.get(root)
            if memo is not None and time.monotonic() - memo[2] < max_age:
                return memo[1]
    files = _reference_files(root)
    signature = tuple(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in files
    )
    with _digest_lock:
        memo = _digest_memo.get(root)
        if memo is not None and memo[0] == signature:
            _digest_memo[root] = (signature, memo[1], time.monotonic())
            return memo[1]
    h = hashlib.sha256()
    for path in files:
        h.update(str(path.relative_to(root)).replace(os.sep, "/").encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    digest = h.hexdigest()
    with _digest_lock:
        _digest_memo[root] = (signature, digest, time.monotonic())
    return digest


def canonical_json(value: Any) -> str:
    """One text per value: tagged, keys sorted, no spaces."""
    return json.dumps(codec.encode(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def cache_key(
    target: str, kwargs: dict[str, Any], *, root: Path | None = None, max_age: float = 0.0
) -> str:
    """Content hash naming a reference value: target, canonical kwargs, reference sources."""
    h = hashlib.sha256()
    h.update(b"adventures-reference-v1\0")
    h.update(target.strip().encode())
    h.update(b"\0")
    h.update(canonical_json(kwargs).encode())
    h.update(b"\0")
    h.update(reference_digest(root, max_age=max_age).encode())
    return h.hexdigest()


def check_key(
    module: str,
    function: str,
    args: list | tuple = (),
    kwargs: dict[str, Any] | None = None,
    setup: str | None = None,
    *,
    root: Path | None = None,
    probe: dict[str, Any] | None = None,
) -> str:
    """cache_key for one `ReferenceRunner.evaluate` call (a notebook check)."""
    payload: dict[str, Any] = {"args": list(args), "kwargs": dict(kwargs or {}), "setup": setup}
    if probe is not None:  # unprobed checks keep the keys they always had
        payload["probe"] = probe
    return cache_key(f"{module}:{function}#evaluate", payload, root=root)


# --- the runner -----------------------------------------------------------------------


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class ReferenceRunner:
    """A persistent reference child process; thread-safe; usable as a context manager."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = MAX_VALUE_BYTES,
        use_gpu: bool = False,
        python: str | None = None,
    ) -> None:
        self.root = (root or REFERENCE_ROOT).resolve()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.use_gpu = use_gpu
        self.python = python or sys.executable
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._digest: str | None = None
        self._buffer = b""
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._finalizer: weakref.finalize | None = None
        self.starts = 0

    # public API

    def call(
        self, target: str, kwargs: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Run reference function target ('module:function') with kwargs; return its value."""
        return self._request(
            {"op": "call", "target": target, "kwargs": codec.encode(kwargs or {})}, timeout
        )

    def evaluate(
        self,
        module: str,
        function: str,
        args: list | tuple = (),
        kwargs: dict[str, Any] | None = None,
        setup: str | None = None,
        *,
        timeout: float | None = None,
        probe: dict[str, Any] | None = None,
    ) -> Any:
        """Run setup in a copy of module's globals, then module.function(*args, **kwargs).

        Items of args/kwargs of the form {"$var": name} are replaced by setup's variables.
        With `probe` (options, graders/probes.py) the result is read as a Probe first.
        """
        request = {
            "op": "evaluate",
            "module": module,
            "function": function,
            "args": codec.encode(list(args)),
            "kwargs": codec.encode(dict(kwargs or {})),
            "setup": setup,
        }
        if probe is not None:
            request["probe"] = probe
        return self._request(request, timeout)

    def warm(self, modules: Sequence[str] = ("answers",), *, timeout: float | None = None) -> int:
        """Start the child and import reference modules (TensorFlow) before the first call."""
        return int(self._request({"op": "warm", "modules": list(modules)}, timeout))

    def ping(self, *, timeout: float | None = None) -> int:
        """The child's pid (starting it if needed)."""
        return int(self._request({"op": "ping"}, timeout))

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> ReferenceRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the child

    def _start(self) -> None:
        env = dict(os.environ)
        graders_parent = str(Path(__file__).resolve().parent.parent)
        paths = [graders_parent, str(self.root), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in dict.fromkeys(paths) if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONHASHSEED"] = "0"
        env["PYTHONUNBUFFERED"] = "1"
        if not self.use_gpu:
            env["CUDA_VISIBLE_DEVICES"] = "-1"  # same numbers on every worker machine
        self._digest = reference_digest(self.root)
        self._buffer = b""
        self._stderr.clear()
        self._proc = subprocess.Popen(
            [
                self.python,
                "-m",
                "graders.reference_worker",
                "--root",
                str(self.root),
                "--max-bytes",
                str(self.max_bytes),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(self.root),
            env=env,
            bufsize=0,
        )
        self.starts += 1
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True).start()

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for raw in iter(proc.stderr.readline, b""):
            self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    def _stop(self, *, graceful: bool = True) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if graceful and proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(b'{"op":"exit"}\n')
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _kill(proc)
        if self._finalizer is not None:
            self._finalizer.detach()

    def _ensure(self) -> subprocess.Popen:
        if self._proc is not None and (
            self._proc.poll() is not None or self._digest != reference_digest(self.root)
        ):
            self._stop()  # it died, or a reference file changed since it imported them
        if self._proc is None:
            self._start()
        assert self._proc is not None
        return self._proc

    def _stderr_tail(self, lines: int = 15) -> str:
        time.sleep(0.05)  # let the drain thread catch the last lines
        return "\n".join(list(self._stderr)[-lines:])

    def _request(self, request: dict[str, Any], timeout: float | None) -> Any:
        line = (json.dumps(request, allow_nan=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            for attempt in (1, 2):
                proc = self._ensure()
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(line)
                    proc.stdin.flush()
                    break
                except (BrokenPipeError, OSError):
                    self._stop()  # died between requests: start a fresh one once
                    if attempt == 2:
                        raise ReferenceCallError(
                            "could not send the request to the reference process"
                        ) from None
            response = self._read_line(proc, self.timeout if timeout is None else timeout)
        if response.get("ok"):
            return codec.decode(response.get("value"))
        raise ReferenceCallError(
            str(response.get("message", "")),
            error_type=str(response.get("error", "")),
            traceback=str(response.get("traceback", "")),
        )

    def _read_line(self, proc: subprocess.Popen, timeout: float) -> dict[str, Any]:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._stop(graceful=False)
                    raise ReferenceTimeout(
                        f"no answer within {timeout:g} s; the reference process was restarted"
                    )
                if not selector.select(remaining):
                    continue
                chunk = os.read(proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    code = proc.wait()
                    tail = self._stderr_tail()
                    self._stop()
                    raise ReferenceCallError(
                        f"the reference process exited (code {code}) before answering",
                        error_type="ProcessDied",
                        traceback=tail,
                    )
                self._buffer += chunk
                if len(self._buffer) > self.max_bytes * 2:
                    self._stop(graceful=False)
                    raise ReferenceCallError("the reference answer is too large")
        raw, _, self._buffer = self._buffer.partition(b"\n")
        try:
            response = json.loads(raw)
        except ValueError as exc:
            self._stop()
            raise ReferenceCallError(
                f"unreadable answer from the reference process: {exc}"
            ) from None
        if not isinstance(response, dict):
            self._stop()
            raise ReferenceCallError("unreadable answer from the reference process")
        return response
