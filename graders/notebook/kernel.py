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
from pathlib import Path
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
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MPLBACKEND": "Agg",
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
    """A kernel forked for one run: start it, talk to it, interrupt or kill it, read its result."""

    def __init__(self, slot: Slot, *, data: str | None, limits: Limits, seed: int = 0) -> None:
        if slot.zygote is None:
            raise SandboxError("the slot has no running sandbox")
        self.slot = slot
        self.zygote = slot.zygote
        self.data = data
        self.limits = limits
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

    def start(self) -> None:
        connection = self.run_dir / _zygote.CONNECTION_FILE
        connection.write_text(json.dumps(self._info(f"{_zygote.KERNEL_DIR}/k")))
        connection.chmod(0o644)
        self.pid = self.zygote.spawn(
            self.run,
            data=self.data,
            limits=self.limits.kernel_limits(),
            env=kernel_env(self.zygote.config.python, self.zygote.config.gpu),
            seed=self.seed,
            timeout=self.limits.startup_timeout,
        )

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

    def kill(self) -> None:
        """SIGKILL the kernel, PID 1 of its namespace, and so everything it started."""
        if self.pid is not None and not self.zygote.exited(self.run):
            self.zygote.kill(self.run)
            if not self.zygote.wait_exit(self.run, 10):
                self.zygote.close()  # the sandbox does not answer: take it all down

    def read_result(self) -> bytes:
        """The result file, read without following links, at most limits.result_bytes."""
        path = self.run_dir / _zygote.RESULT_FILE
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

    def close(self) -> None:
        self.kill()
        for kc in self._clients:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        if self.context is not None:
            self.context.destroy(linger=0)
            self.context = None
        self.zygote.forget(self.run)
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
