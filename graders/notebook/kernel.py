"""One single-use sandboxed kernel, and the slice of jupyter_client that nbclient needs.

nbclient drives a `KernelManager` and a `KernelClient`. Ours start nothing
themselves: the kernel is forked by the slot's zygote (sandbox.py), and the
manager's verbs (is it alive, interrupt, shut down) become zygote commands.
The client is jupyter_client's own AsyncKernelClient on ZMQ ipc sockets in the
run folder, without a heartbeat (liveness comes from the zygote, which reaps
the kernel) and with a cap on the size of any one message it accepts.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient

from graders.notebook import zygote as _zygote
from graders.notebook.limits import Limits
from graders.notebook.sandbox import SandboxError, Slot

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""A bigger message from the kernel (say one print of a gigabyte) is dropped by ZMQ."""

_PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}


def kernel_env(python: str, gpu: bool) -> dict[str, str]:
    """The kernel's whole environment: nothing of the worker's is passed on."""
    venv_bin = str(Path(python).parent)
    env = {
        "HOME": _zygote.HOME,
        "USER": "student",
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ log noise; Python errors still surface
        # Figures become image/png outputs (the zygote imported matplotlib before this
        # was set, so the kernel shim selects the same backend; this is for the rest).
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": f"{_zygote.HOME}/.ipython",
        "KERAS_HOME": f"{_zygote.HOME}/.keras",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if not gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


class _Client(AsyncKernelClient):
    """AsyncKernelClient whose liveness is the sandbox's word, not a heartbeat."""

    sandbox_kernel: SandboxKernel | None = None

    def start_channels(self, *args: Any, **kwargs: Any) -> None:
        kwargs["hb"] = False
        super().start_channels(*args, **kwargs)

    async def _async_is_alive(self) -> bool:
        return self.sandbox_kernel is not None and self.sandbox_kernel.is_alive()

    is_alive = _async_is_alive  # type: ignore[assignment]


class SandboxKernel:
    """A kernel forked for one run: spawn, assign, talk to it, interrupt or kill it, read its result.

    Spawning (fork, namespaces, ipykernel start: about 0.3 s) needs no run; the
    slot keeps one spawned kernel in reserve (`take_kernel`), so a submission
    only pays for `assign` (bind ./data, lower the rlimits: milliseconds).
    """

    def __init__(self, slot: Slot, limits: Limits, *, seed: int = 0) -> None:
        if slot.zygote is None:
            raise SandboxError("the slot has no running sandbox")
        self.slot = slot
        self.zygote = slot.zygote
        self.limits = limits
        self.spawn_key = limits.spawn_limits()
        self.seed = seed
        self.run, self.run_dir = slot.new_run_dir()
        self.key = secrets.token_hex(32)
        self.pid: int | None = None
        self.context: zmq.asyncio.Context | None = None
        self._clients: list[_Client] = []

    def _info(self, ip: str) -> dict[str, Any]:
        return {
            **_PORTS,
            "transport": "ipc",
            "ip": ip,
            "key": self.key,
            "signature_scheme": "hmac-sha256",
            "kernel_name": "python3",
        }

    def spawn(self) -> None:
        connection = self.run_dir / _zygote.CONNECTION_FILE
        connection.write_text(json.dumps(self._info(f"{_zygote.KERNEL_DIR}/k")))
        connection.chmod(0o644)
        self.pid = self.zygote.spawn(
            self.run,
            limits=self.spawn_key,
            env=kernel_env(self.zygote.config.python, self.zygote.config.gpu),
            seed=self.seed,
            timeout=self.limits.startup_timeout,
        )

    def assign(self, data: str | None, limits: Limits) -> None:
        self.zygote.assign(
            self.run, data=data, limits=limits.run_limits(), timeout=limits.startup_timeout
        )
        self.limits = limits

    def client(self) -> _Client:
        if self.context is None:
            self.context = zmq.asyncio.Context()
            self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            self.context.setsockopt(zmq.LINGER, 0)
        kc = _Client(context=self.context)
        kc.load_connection_info(self._info(str(self.run_dir / "k")))
        kc.sandbox_kernel = self
        self._clients.append(kc)
        return kc

    def manager(self) -> KernelManagerView:
        return KernelManagerView(self)

    def is_alive(self) -> bool:
        return self.pid is not None and not self.zygote.exited(self.run)

    def interrupt(self) -> None:
        self.zygote.signal(self.run, signal.SIGINT)

    def kill(self, *, wait: bool = True) -> None:
        """SIGKILL the kernel, PID 1 of its namespace, and so everything it started."""
        if self.pid is not None and not self.zygote.exited(self.run):
            self.zygote.kill(self.run)
            if wait and not self.zygote.wait_exit(self.run, 10):
                self.zygote.close()  # the sandbox does not answer: take it all down

    def _results(self) -> Path:
        return self.run_dir / _zygote.RESULTS_DIR

    def open_results(self) -> bool:
        """Open the result channel for the check cells: the folder of the result file, mode 0
        until now (zygote._start_kernel), becomes reachable to the kernel. False if the kernel
        never made it."""
        return self._open_folder()

    def _open_folder(self) -> bool:
        # The kernel sees the run folder read-only: what the zygote made stays a folder.
        try:
            if not stat.S_ISDIR(os.lstat(self._results()).st_mode):
                return False
            os.chmod(self._results(), 0o700)
        except OSError:
            return False
        return True

    def result_size(self) -> int:
        """How many bytes the result file holds now (0 if it is not a plain file)."""
        try:
            st = os.stat(self._results() / _zygote.RESULT_FILE, follow_symlinks=False)
        except OSError:
            return 0
        return st.st_size if stat.S_ISREG(st.st_mode) else 0

    def read_result(self) -> bytes:
        """The result file, read without following links, at most limits.result_bytes."""
        path = self._results() / _zygote.RESULT_FILE
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return b""
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return b""
            chunks, left = [], self.limits.result_bytes
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def close(self, *, wait: bool = True) -> None:
        """Kill the kernel and drop its run folder; wait=False leaves the reaping to the zygote."""
        self.kill(wait=wait)
        for kc in self._clients:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if self.context is not None:
            self.context.destroy(linger=0)
            self.context = None
        if wait:
            self.zygote.forget(self.run)
        self._open_folder()  # so that a host not running as root can remove it
        shutil.rmtree(self.run_dir, ignore_errors=True)


class KernelManagerView:
    """The KernelManager methods nbclient calls, answered by a SandboxKernel."""

    kernel_name = "python3"
    has_kernel = True

    def __init__(self, kernel: SandboxKernel) -> None:
        self.kernel = kernel

    def client(self, **_: Any) -> _Client:
        return self.kernel.client()

    async def is_alive(self) -> bool:
        return self.kernel.is_alive()

    async def interrupt_kernel(self) -> None:
        self.kernel.interrupt()

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self.kernel.kill()

    async def cleanup_resources(self, restart: bool = False) -> None:
        return None


_spares = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spare-kernel")


def _spawned(slot: Slot, limits: Limits) -> SandboxKernel:
    kernel = SandboxKernel(slot, limits)
    try:
        kernel.spawn()
    except BaseException:
        kernel.close()
        raise
    return kernel


def prepare_spare(slot: Slot, limits: Limits) -> None:
    """Start spawning the slot's reserve kernel now, if it has none."""
    if slot.spare is None:
        slot.spare = _spares.submit(_spawned, slot, limits)


def take_kernel(slot: Slot, data: str | None, limits: Limits) -> SandboxKernel:
    """A kernel for this run: the slot's spare when it fits, else a fresh one.

    Either way the next spare starts spawning at once, overlapping this run.
    """
    kernel: SandboxKernel | None = None
    spare, slot.spare = slot.spare, None
    if spare is not None:
        try:
            candidate = spare.result(timeout=limits.startup_timeout)
        except Exception:  # noqa: BLE001 - a failed spare is replaced by a fresh spawn
            candidate = None
        if candidate is not None:
            fits = candidate.zygote is slot.zygote and candidate.spawn_key == limits.spawn_limits()
            if fits and candidate.is_alive():
                kernel = candidate
            else:
                candidate.close(wait=False)
    if kernel is None:
        kernel = _spawned(slot, limits)
    try:
        kernel.assign(data, limits)
    except BaseException:
        kernel.close(wait=False)
        raise
    slot.spare = _spares.submit(_spawned, slot, limits)
    return kernel


async def wait_ready(kc: AsyncKernelClient, kernel: SandboxKernel, timeout: float) -> None:
    """The kernel answers on shell and we are subscribed to its output.

    ipykernel's XPUB socket greets each new subscriber with `iopub_welcome`, so
    there is no need for jupyter_client's guess-and-retry (0.2 s per try).
    """
    deadline = time.monotonic() + timeout
    welcomed = False
    while not welcomed:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the kernel did not connect its output channel")
        try:
            await kc.iopub_channel.get_msg(timeout=min(left, 1.0))
            welcomed = True
        except Empty:
            if not kernel.is_alive():
                raise RuntimeError("the kernel died before it was ready") from None
            if time.monotonic() > deadline - timeout + 2:  # no welcome: an older ipykernel
                await kc.wait_for_ready(timeout=max(1.0, deadline - time.monotonic()))
                return
    msg_id = kc.kernel_info()
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await kc.shell_channel.get_msg(timeout=left)
        except Empty:
            break
        if msg["parent_header"].get("msg_id") == msg_id:
            return
    raise TimeoutError("the kernel did not answer kernel_info")
