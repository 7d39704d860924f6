"""The bubblewrap sandbox: one long-lived fork server (zygote) per slot, one kernel per run.

Design (the why of each piece):

* **Launch.** `bwrap` runs as the slot's own unprivileged uid (61000 + slot, set
  with `setpriv` when the worker is root; as in Jobe, one uid per slot), with
  new user, PID, IPC, network, UTS and cgroup namespaces, `--die-with-parent`,
  `--new-session`, `--clearenv`, a read-only root made of /usr, the Python
  install and the venv (read-only), a minimal /etc (ld.so.cache, a generated
  passwd/group/hosts), each exercise's data/ at /srv/data/<slug> (read-only),
  the slot's run folder at /run/adventures, and nothing else: not the repo,
  instance/, the database, reference/, exercise specs, other slots, or the
  worker's environment. Because the real uid is not root, RLIMIT_NPROC holds.
  When the Python install lives where that uid cannot reach (here: under
  /root, mode 0700), it is first bind-mounted onto a staging folder inside a
  private mount namespace (`unshare --mount`), which the host never sees.
* **Zygote.** Inside, graders/notebook/zygote.py imports TensorFlow and
  ipykernel once and forks a single-use kernel per run (new namespaces, fresh
  tmpfs, rlimits, no capabilities; see that module). Each kernel then runs
  graders/notebook/kernel_shim.py (offline downloads, course-era
  compatibility, inline figures) before any member code. The zygote keeps
  CAP_SYS_ADMIN of the sandbox's user namespace only, which it needs to make
  those namespaces; member code never runs in it and cannot see it.
* **Talking to the kernel.** nbclient speaks ZMQ. `--unshare-net` leaves the
  kernel a private loopback the worker cannot reach, so the kernel binds
  ZMQ *ipc* (unix socket) endpoints in its run folder, a host folder bind-mounted
  at /run/kernel; the worker connects to the same files from outside. Unix
  socket files work across network namespaces. Once the sockets exist, the
  zygote remounts /run/kernel read-only inside the kernel's namespace, so member
  code cannot replace a socket or plant a file there.
* **Speed.** Each slot keeps one spawned kernel in reserve (kernel.take_kernel):
  a submission only waits for "assign" (a few ms) and the next spare forks
  while it runs. Upload to graded is about 0.3 s for the week-1 notebook on
  two cores (tests/bench/bench_notebook.py), where a fresh kernel importing
  TensorFlow would take 4 s before the first cell.
* **Teardown.** Each kernel is PID 1 of its own PID namespace and session:
  killing it (SIGKILL from the zygote) kills every process member code
  started, fork bombs included. The whole sandbox dies with the worker
  (--die-with-parent, fired by a dedicated long-lived launcher thread).
* **GPU.** With SandboxConfig(gpu=True) the /dev/nvidia* devices and /sys are
  bound in; CUDA is first touched in the forked kernel (memory growth on),
  never in the zygote or the worker. graders/notebook/devices.py asks
  TensorFlow in a child process which GPUs exist.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.notebook import zygote as _zygote

UID_BASE_ENV = "ADVENTURES_SANDBOX_UID_BASE"
STATE_DIR_ENV = "ADVENTURES_SANDBOX_DIR"
DEFAULT_UID_BASE = 61000
_CODEC_SOURCE = Path(__file__).resolve().parent.parent / "codec.py"
_SHIM_SOURCE = Path(__file__).resolve().parent / "kernel_shim.py"


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start, lost its kernel manager): not the member's fault."""


@dataclass(frozen=True)
class SandboxConfig:
    python: str = field(default_factory=lambda: sys.executable)
    bwrap: str = field(default_factory=lambda: shutil.which("bwrap") or "/usr/bin/bwrap")
    uid_base: int = field(
        default_factory=lambda: int(os.environ.get(UID_BASE_ENV, DEFAULT_UID_BASE))
    )
    state_dir: Path | None = None
    gpu: bool = False
    zygote_timeout: float = 180.0


def _state_dir(config: SandboxConfig) -> Path:
    """A folder only we own; run folders and slot locks live there."""
    base = config.state_dir or Path(
        os.environ.get(STATE_DIR_ENV)
        or Path(tempfile.gettempdir()) / f"adventures-sandbox-{os.getuid()}"
    )
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    st = os.lstat(base)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise SandboxError(f"{base} is not a folder owned by this user; set {STATE_DIR_ENV}")
    os.chmod(base, 0o755)
    return base


# One long-lived thread starts every sandbox: bwrap's --die-with-parent fires when
# the *thread* that forked it exits, and a worker's threads come and go.
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-launcher")


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _reachable_by_others(path: Path) -> bool:
    """Can an unprivileged uid with no groups read path? (every ancestor o+x, path o+rx)"""
    path = path.resolve()
    for ancestor in [*reversed(path.parents), path]:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def python_roots(python: str) -> list[Path]:
    """Folders the sandbox needs for this interpreter: the install and the venv (if any)."""
    probe = subprocess.run(
        [python, "-I", "-c", "import sys; print(sys.base_prefix); print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    roots: list[Path] = []
    for line in probe.stdout.split():
        for candidate in (Path(line), Path(line).resolve()):
            if candidate not in roots:
                roots.append(candidate)
    real_exe = Path(python).resolve().parent.parent
    if not any(real_exe == r or r in real_exe.parents for r in roots):
        roots.append(real_exe)
    # keep the outermost folders only
    return [r for r in roots if not any(o != r and o in r.parents for o in roots)]


class Zygote:
    """The host's handle on one sandbox (bwrap + zygote) bound to one slot."""

    def __init__(
        self,
        *,
        uid: int | None,
        slot_dir: Path,
        stage_dir: Path,
        data_dirs: Mapping[str, Path],
        config: SandboxConfig,
    ) -> None:
        self.uid = uid
        self.slot_dir = slot_dir
        self.stage_dir = stage_dir
        self.data_dirs = dict(data_dirs)
        self.config = config
        self.proc: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}
        self._cond = threading.Condition()
        self._events: dict[str, dict[str, Any]] = {}
        self._ready = False
        self._stderr: deque[str] = deque(maxlen=60)
        self._write_lock = threading.Lock()

    # --- launch --------------------------------------------------------------------

    def _argv(self) -> tuple[list[str], list[int]]:
        fds: list[int] = []
        env = {
            "PATH": f"{Path(self.config.python).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": _zygote.HOME,
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",  # read once, at the import here: as the kernel's env
        }
        if not self.config.gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        argv = [
            self.config.bwrap,
            "--unshare-user",
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--cap-add",
            "CAP_SYS_ADMIN",  # the zygote makes each kernel's namespaces and mounts
            "--cap-add",
            "CAP_SYS_CHROOT",  # ... and enters a kernel's mount namespace to seal it (setns)
            "--cap-add",
            "CAP_SETPCAP",  # ... and lets the kernel empty its bounding set
            "--hostname",
            "sandbox",
            "--clearenv",
        ]
        for key, value in env.items():
            argv += ["--setenv", key, value]
        argv += ["--ro-bind", "/usr", "/usr"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / top
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                argv += ["--ro-bind", str(path), str(path)]
        for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime"):
            argv += ["--ro-bind-try", etc, etc]
        uid = self.uid if self.uid is not None else os.getuid()
        generated = {
            "/etc/passwd": f"student:x:{uid}:{uid}:student:{_zygote.HOME}:/bin/sh\n",
            "/etc/group": f"student:x:{uid}:\n",
            "/etc/hosts": "127.0.0.1 localhost sandbox\n",
            "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
        }
        for dest, text in generated.items():
            fd = _memfd(Path(dest).name, text.encode())
            fds.append(fd)
            argv += ["--ro-bind-data", str(fd), dest]
        for name, source in (
            ("zygote.py", Path(_zygote.__file__).read_bytes()),
            ("codec.py", _CODEC_SOURCE.read_bytes()),
            ("kernel_shim.py", _SHIM_SOURCE.read_bytes()),
        ):
            fd = _memfd(name, source)
            fds.append(fd)
            argv += ["--ro-bind-data", str(fd), f"{_zygote.ZYGOTE_DIR}/{name}"]
        # Scratch mounts first: a venv or checkout under /tmp or /home is bound on top of them
        # below, where a later tmpfs would hide it.
        argv += ["--tmpfs", "/home", "--tmpfs", "/tmp"]
        self._staged: list[tuple[Path, Path]] = []
        for i, root in enumerate(python_roots(self.config.python)):
            argv += ["--ro-bind", str(self._reachable(root, str(i))), str(root)]
        argv += ["--dir", _zygote.DATA_ROOT]
        for slug, folder in sorted(self.data_dirs.items()):
            source = self._reachable(folder, f"data-{slug}")
            argv += ["--ro-bind", str(source), f"{_zygote.DATA_ROOT}/{slug}"]
        argv += [
            "--bind",
            str(self.slot_dir),
            _zygote.RUNS_DIR,
            "--tmpfs",
            _zygote.KERNEL_DIR,
            "--tmpfs",
            _zygote.RESULT_DIR,
            "--proc",
            "/proc",
            "--dev",
            "/dev",
        ]
        if self.config.gpu:
            for dev in sorted(Path("/dev").glob("nvidia*")):
                argv += ["--dev-bind-try", str(dev), str(dev)]
            argv += ["--ro-bind-try", "/sys", "/sys"]
        argv += ["--remount-ro", "/", "--chdir", "/", "--"]
        argv += [self.config.python, "-I", "-B", _zygote.ZYGOTE_PATH]
        if self.uid is not None:
            argv = [
                "setpriv",
                f"--reuid={self.uid}",
                f"--regid={self.uid}",
                "--clear-groups",
                "--",
                *argv,
            ]
        if self._staged:
            script = (
                'set -e; while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done; '
                'shift; exec "$@"'
            )
            pairs = [str(p) for pair in self._staged for p in pair]
            argv = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                script,
                "stage",
                *pairs,
                "--",
                *argv,
            ]
        return argv, fds

    def _reachable(self, path: Path, name: str) -> Path:
        """path, or a staging folder it will be bind-mounted on when the sandbox's uid cannot
        reach it (a checkout or Python under a private folder: mktemp -d, /root)."""
        if self.uid is None or _reachable_by_others(path):
            return path
        source = self.stage_dir / name
        source.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._staged.append((path, source))
        return source

    def start(self) -> None:
        argv, fds = self._argv()
        try:
            self.proc = _launcher.submit(
                subprocess.Popen,
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=fds,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
                start_new_session=True,
            ).result()
        finally:
            for fd in fds:
                os.close(fd)
        threading.Thread(target=self._read_events, daemon=True, name="zygote-events").start()
        threading.Thread(target=self._read_stderr, daemon=True, name="zygote-stderr").start()
        deadline = time.monotonic() + self.config.zygote_timeout
        with self._cond:
            # Short waits: an exit is seen by poll() even if no reader thread notifies.
            while not self._ready and self.proc.poll() is None and time.monotonic() < deadline:
                self._cond.wait(0.25)
            if not self._ready:
                self.close()
                raise SandboxError(
                    "the sandbox did not start: " + (self.stderr_tail() or "no output")
                )

    def _read_events(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            with self._cond:
                kind = event.get("event")
                if kind == "ready":
                    self._ready = True
                    self.info = event
                elif kind in ("spawned", "assigned", "failed", "exit"):
                    self._events.setdefault(str(event.get("run")), {})[kind] = event
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip()[:500])

    def stderr_tail(self, lines: int = 12) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    # --- commands ------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self._ready

    def _send(self, command: dict[str, Any]) -> None:
        if not self.alive:
            raise SandboxError("the sandbox is not running")
        assert self.proc is not None and self.proc.stdin is not None
        with self._write_lock:
            try:
                self.proc.stdin.write((json.dumps(command) + "\n").encode())
                self.proc.stdin.flush()
            except OSError as exc:
                raise SandboxError(f"lost the sandbox: {exc}") from None

    def _wait_event(self, run: str, kinds: tuple[str, ...], timeout: float) -> dict[str, Any]:
        with self._cond:
            self._cond.wait_for(
                lambda: any(k in self._events.get(run, {}) for k in kinds) or not self.alive,
                timeout,
            )
            return dict(self._events.get(run, {}))

    def spawn(
        self, run: str, *, limits: dict[str, int], env: dict[str, str], seed: int, timeout: float
    ) -> int:
        """Fork a kernel for run; returns its pid (in the sandbox) once its sockets exist."""
        limits = dict(limits)
        if self.uid is None and "nproc" in limits:
            limits["nproc"] += _processes_of(os.getuid())  # RLIMIT_NPROC counts all of ours
        command = {"op": "spawn", "run": run, "limits": limits, "env": env, "seed": seed}
        self._send({**command, "gpu": self.config.gpu})
        events = self._wait_event(run, ("spawned", "failed"), timeout)
        if "spawned" in events:
            return int(events["spawned"]["pid"])
        if "failed" in events:
            raise SandboxError(f"the kernel did not start: {events['failed'].get('error')}")
        self.close()
        raise SandboxError("the kernel did not start in time: " + self.stderr_tail())

    def assign(self, run: str, *, data: str | None, limits: dict[str, int], timeout: float) -> None:
        """Give a spawned kernel its run: ./data of that exercise and the run's rlimits."""
        if self.uid is None and "nproc" in limits:
            limits = {**limits, "nproc": limits["nproc"] + _processes_of(os.getuid())}
        self._send({"op": "assign", "run": run, "data": data, "limits": limits})
        events = self._wait_event(run, ("assigned", "failed", "exit"), timeout)
        if "assigned" in events:
            return
        if "failed" in events:
            raise SandboxError(str(events["failed"].get("error")))
        if "exit" in events:
            raise SandboxError("the kernel exited before its run started")
        self.close()
        raise SandboxError("the sandbox did not answer: " + self.stderr_tail())

    def signal(self, run: str, signum: int) -> None:
        with contextlib.suppress(SandboxError):
            self._send({"op": "signal", "run": run, "signal": int(signum)})

    def kill(self, run: str) -> None:
        with contextlib.suppress(SandboxError):
            self._send({"op": "kill", "run": run})

    def exited(self, run: str) -> bool:
        with self._cond:
            return "exit" in self._events.get(run, {}) or not self.alive

    def wait_exit(self, run: str, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: "exit" in self._events.get(run, {}) or not self.alive, timeout
            )

    def forget(self, run: str) -> None:
        with self._cond:
            self._events.pop(run, None)

    def close(self) -> None:
        proc, self.proc = self.proc, None
        self._ready = False
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()  # bwrap's PID 1 goes, and with it every process in the sandbox
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


@dataclass
class Slot:
    """One sandbox slot: its uid, folders, lock and (lazily) its zygote."""

    index: int
    uid: int | None
    dir: Path
    stage_dir: Path
    lock_fd: int
    zygote: Zygote | None = None
    spare: Any = None  # a Future of a spawned, unassigned kernel (graders.notebook.kernel)

    def new_run_dir(self) -> tuple[str, Path]:
        run = secrets.token_hex(12)
        path = self.dir / run
        path.mkdir(mode=0o700)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        return run, path


class SandboxPool:
    """Slots for concurrent runs, each with a warm zygote; thread-safe, shared per process.

    A slot is claimed across processes with flock, so two workers on one
    machine never share a uid (RLIMIT_NPROC counts per uid).
    """

    def __init__(self, config: SandboxConfig | None = None, *, slots: int = 1) -> None:
        self.config = config or SandboxConfig()
        self.size = slots
        self._free: list[Slot] = []
        self._all: list[Slot] = []
        self._cond = threading.Condition()
        self._data_dirs: dict[str, Path] = {}
        self._claimed = 0

    def _claim_slot(self) -> Slot:
        base = _state_dir(self.config)
        root = os.geteuid() == 0
        for index in range(256):
            lock_path = base / f"slot-{index}.lock"
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            uid = self.config.uid_base + index if root else None
            slot_dir = base / f"slot-{index}"
            shutil.rmtree(slot_dir, ignore_errors=True)  # runs a dead worker left behind
            slot_dir.mkdir(mode=0o755)
            if uid is not None:
                os.chown(slot_dir, uid, uid)
            return Slot(index, uid, slot_dir, base / f"stage-{index}", fd)
        raise SandboxError("no free sandbox slot (256 in use)")

    @contextlib.contextmanager
    def slot(self, data: Mapping[str, Path] | None = None) -> Iterator[Slot]:
        """A slot whose zygote is running and shows every data folder in `data`."""
        with self._cond:
            for slug, folder in (data or {}).items():
                self._data_dirs[slug] = Path(folder).resolve()
            while not self._free and self._claimed >= self.size:
                self._cond.wait()
            if self._free:
                slot = self._free.pop()
            else:
                slot = self._claim_slot()
                self._all.append(slot)
                self._claimed += 1
            wanted = dict(self._data_dirs)
        try:
            self._ensure_zygote(slot, wanted)
            yield slot
        finally:
            with self._cond:
                self._free.append(slot)
                self._cond.notify()

    def _ensure_zygote(self, slot: Slot, data_dirs: dict[str, Path]) -> None:
        z = slot.zygote
        if z is not None and z.alive and all(z.data_dirs.get(k) == v for k, v in data_dirs.items()):
            return
        if z is not None:
            z.close()
        slot.zygote = Zygote(
            uid=slot.uid,
            slot_dir=slot.dir,
            stage_dir=slot.stage_dir,
            data_dirs=data_dirs,
            config=self.config,
        )
        slot.zygote.start()

    def prewarm(self, data: Mapping[str, Path] | None = None) -> None:
        """Start a zygote now (TensorFlow import), so the first submission does not wait."""
        with self.slot(data):
            pass

    def close(self) -> None:
        with self._cond:
            for slot in self._all:
                slot.spare = None  # dies with its zygote
                if slot.zygote is not None:
                    slot.zygote.close()
                    slot.zygote = None
                shutil.rmtree(slot.dir, ignore_errors=True)
                os.close(slot.lock_fd)
            self._all.clear()
            self._free.clear()
            self._claimed = 0


_default_pool: SandboxPool | None = None
_default_lock = threading.Lock()


def default_pool() -> SandboxPool:
    """The process-wide pool.

    ADVENTURES_SANDBOX_SLOTS: concurrent kernels (default 1). ADVENTURES_SANDBOX_GPU:
    "1", "0" or "auto" (default: GPUs are used when graders.notebook.devices finds any).
    """
    global _default_pool
    with _default_lock:
        if _default_pool is None:
            choice = os.environ.get("ADVENTURES_SANDBOX_GPU", "auto").strip().lower()
            if choice == "auto":
                from graders.notebook.devices import detect_gpus

                gpu = bool(detect_gpus())
            else:
                gpu = choice in ("1", "true", "yes")
            _default_pool = SandboxPool(
                SandboxConfig(gpu=gpu), slots=int(os.environ.get("ADVENTURES_SANDBOX_SLOTS", "1"))
            )
            atexit.register(_default_pool.close)
        return _default_pool
