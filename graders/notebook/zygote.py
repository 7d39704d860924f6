"""The fork server that runs inside the bubblewrap sandbox, one per sandbox slot.

Importing TensorFlow costs about 4 s, more than grading a notebook. This
process pays it once: it imports TensorFlow, Keras and ipykernel (nothing
else: no op runs, no thread pool or CUDA context exists yet, so forking is
safe; `gc.freeze()` keeps the pages shared), then forks one single-use kernel
per submission. A kernel's life:

1. **spawn** (before any submission is known; the host keeps one in reserve):
   the child unshares new mount, PID, IPC, network and UTS namespaces (we hold
   CAP_SYS_ADMIN only inside the sandbox's own user namespace, owned by the
   slot's unprivileged uid) and mounts fresh tmpfs HOME, /tmp, /dev/shm and a
   new devpts; it binds its run folder at /run/kernel, hides the other runs,
   and forks PID 1 of the new PID namespace. That process mounts a fresh
   /proc, starts its own session (a process group spans PID namespaces, so
   killpg would otherwise reach us), creates the (empty) result file in a
   folder it closes for now (mode 0), sets rlimits, drops every capability
   (bounding set too, no_new_privs) while it is still single-threaded, seeds
   random/numpy/TensorFlow, makes the harness (it captures os.write, the C JSON
   encoder, the codec with a snapshot of the builtins; it is kept as a local of
   this bootstrap frame, published under no name) and starts ipykernel on ZMQ
   ipc sockets in /run/kernel; the kernel shim
   (kernel_shim.py: offline downloads, course-era compatibility, inline
   figures, notes for the harness) is installed then, with no more power than
   member code has. We then remount /run/kernel
   read-only inside its mount namespace ("seal"), so member code can neither
   plant files nor swap sockets in the folder the host reads.
2. **assign** (a submission arrives): we bind that exercise's data read-only at
   ./data, hide every other exercise's data, link the paths its download
   manifest lists (/tmp/x -> ./data/x, plain symlinks on the kernel's own
   tmpfs), write the shim's settings (the training cap) into the run folder,
   which the kernel sees read-only, and lower its rlimits to the run's
   (prlimit; CPU seconds depend on the exercise's time limit). Milliseconds.
3. member cells arrive over ZMQ from the host. Then the checks: the host opens
   the result file's folder (chmod; until then its mode 0 keeps the kernel out)
   and sends the check cells (graders/notebook/harness.py), which find the
   harness on their own stack and bring the nonce and, each hidden check in a
   cell of its own, the checks' inputs.
4. **kill**: SIGKILL to PID 1 ends every process member code started.

It is stdlib-only at import time and never imports the graders package: the
host copies this file and graders/codec.py into the sandbox
(graders/notebook/sandbox.py). Protocol: one JSON object per line, commands on
stdin, events on stdout:

  {"op": "spawn", "run": ID, "limits": {...}, "env": {...}, "seed": 0, "gpu": false}
                              -> {"event": "spawned", "run": ID, "pid": N}
                              or {"event": "failed", "run": ID, "error": "..."}
  {"op": "assign", "run": ID, "data": SLUG|null, "limits": {...}}
                              -> {"event": "assigned", "run": ID} (or "failed")
  {"op": "signal", "run": ID, "signal": 2}
  {"op": "kill", "run": ID}
  (any time)                  -> {"event": "exit", "run": ID, "status": N}
"""

import ctypes
import gc
import importlib
import json
import os
import select
import signal
import sys
import time

ZYGOTE_DIR = "/opt/adventures"
CODEC_PATH = ZYGOTE_DIR + "/codec.py"
SHIM_PATH = ZYGOTE_DIR + "/kernel_shim.py"  # graders/notebook/kernel_shim.py, copied like codec.py
SHIM_MODULE = "_adventures_kernel_shim"  # its name in each kernel's sys.modules
RUNS_DIR = "/run/adventures"  # the host's slot folder, read-write
KERNEL_DIR = "/run/kernel"  # where a kernel sees its own run folder
RESULT_DIR = "/run/result"  # a mount point of the sandbox's; hidden in every kernel
DATA_ROOT = "/srv/data"  # every exercise's data/, read-only, one folder per slug
HOME = "/home/student"
WORK = HOME + "/work"
CONNECTION_FILE = "kernel.json"
RESULTS_DIR = "results"  # in the run folder: mode 0 until the host opens it for the checks
RESULT_FILE = "result.jsonl"  # in RESULTS_DIR, a mount of its own: writable once reachable
SETTINGS_FILE = "settings.json"  # in the run folder: what the shim learns at assign (epochs_cap)
DOWNLOADS_MANIFEST = ".adventures-downloads.json"  # in an exercise's data (graders.datasets)
ZYGOTE_PATH = ZYGOTE_DIR + "/zygote.py"  # this file, as the sandbox runs it
HARNESS_FRAME = "_start_kernel"  # the frame (of ZYGOTE_PATH) that holds the harness ...
HARNESS_LOCAL = "harness"  # ... as this local; the check cells look for it there
SPAWN_TIMEOUT = 60.0

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21
_ST_FLAGS = ((1, _MS_RDONLY), (2, _MS_NOSUID), (4, _MS_NODEV), (8, _MS_NOEXEC))
_MNT_DETACH = 2
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 1, 4, 24
_PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 36, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(
        _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
        f"mount {target}",
    )


def _locked_flags(path):
    """Flags a remount in a user namespace must keep (the kernel refuses to drop them)."""
    st = os.statvfs(path)
    flags = 0
    for st_flag, ms_flag in _ST_FLAGS:
        if st.f_flag & st_flag:
            flags |= ms_flag
    for st_flag, ms_flag in ((1024, _MS_NOATIME), (2048, _MS_NODIRATIME), (4096, _MS_RELATIME)):
        if st.f_flag & st_flag:
            flags |= ms_flag
    return flags


def _remount_ro(path):
    flags = _locked_flags(path) | _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
    _mount(None, path, None, flags)


def _bind_ro(source, target):
    _mount(source, target, None, _MS_BIND | _MS_REC)
    _remount_ro(target)


def _tmpfs(target, size_mb, mode):
    _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size_mb}m,mode={mode}")


# --- the kernel's world (runs in the forked child, before member code) -------------


def _private_world(run, limits):
    """New namespaces and fresh writable places; called in the child, still privileged."""
    flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWIPC | _CLONE_NEWNET | _CLONE_NEWUTS
    _check(_libc.unshare(flags), "unshare")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount(None, "/dev", None, _locked_flags("/dev") | _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
    _tmpfs("/dev/shm", limits.get("shm_mb", 64), "1777")
    _mount(
        "devpts",
        "/dev/pts",
        "devpts",
        _MS_NOSUID | _MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=620",
    )
    held = _hold_python_roots(("/tmp", "/home"))
    _tmpfs("/tmp", limits.get("tmp_mb", 256), "1777")
    _tmpfs("/home", limits.get("home_mb", 256), "0755")
    _restore_python_roots(held)
    os.makedirs(WORK + "/data")
    _mount(f"{RUNS_DIR}/{run}", KERNEL_DIR, None, _MS_BIND)  # sealed read-only once ready
    _hide(RESULT_DIR)  # the sandbox's own tmpfs there is shared by every kernel
    _hide(RUNS_DIR)  # nothing of other runs stays visible
    # DATA_ROOT stays until the kernel is assigned an exercise (_assign), then it is hidden too.


def _hold_python_roots(tops):
    """A venv or Python under /tmp or /home (a checkout there) must outlive the fresh tmpfs."""
    roots = set()
    for prefix in (sys.prefix, sys.base_prefix):
        roots |= {prefix, os.path.realpath(prefix)}
    kept = sorted(r for r in roots if any(r.startswith(t + "/") for t in tops))
    held = []
    for i, root in enumerate(kept):
        holder = f"/dev/shm/.python-{i}"
        os.mkdir(holder, 0o700)
        _mount(root, holder, None, _MS_BIND | _MS_REC)
        held.append((holder, root))
    return held


def _restore_python_roots(held):
    for holder, root in held:
        os.makedirs(root, exist_ok=True)
        _bind_ro(holder, root)
        _check(_libc.umount2(holder.encode(), _MNT_DETACH), f"umount {holder}")
        os.rmdir(holder)


def _hide(path):
    _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_RDONLY, "size=4k,mode=0555")


def _remount_ro_dir(path):
    _mount(path, path, None, _MS_BIND)
    _remount_ro(path)


def _limit(resource_module, name, soft, hard=None):
    if soft is None:
        return
    res = getattr(resource_module, name)
    resource_module.setrlimit(res, (int(soft), int(soft if hard is None else hard)))


def _set_limits(limits):
    import resource

    _limit(resource, "RLIMIT_CORE", 0)
    _limit(resource, "RLIMIT_AS", limits.get("memory_bytes"))
    cpu = limits.get("cpu_seconds")
    _limit(resource, "RLIMIT_CPU", cpu, None if cpu is None else cpu + 5)
    _limit(resource, "RLIMIT_NPROC", limits.get("nproc"))
    _limit(resource, "RLIMIT_FSIZE", limits.get("fsize_bytes"))
    _limit(resource, "RLIMIT_NOFILE", limits.get("nofile"))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _drop_capabilities():
    """Give up every capability for good: bounding set, ambient set, then capset(0)."""
    for cap in range(64):
        _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last cap: fine
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _close_fds(keep):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _seed_everything(seed):
    import random

    import numpy

    random.seed(seed)
    numpy.random.seed(seed)
    import tensorflow

    tensorflow.random.set_seed(seed)


def _memory_growth():
    import tensorflow

    for gpu in tensorflow.config.list_physical_devices("GPU"):
        try:
            tensorflow.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError):
            pass


def _load_codec():
    """The codec, executed from its source into a private namespace (not sys.modules).

    It gets a snapshot of the builtins, so member code that later replaces
    `builtins.isinstance` or `builtins.len` does not change how values are encoded.
    """
    import builtins

    namespace = {"__name__": "_adventures_codec", "__builtins__": dict(vars(builtins))}
    with open(CODEC_PATH, encoding="utf-8") as handle:
        source = handle.read()
    exec(compile(source, CODEC_PATH, "exec"), namespace)  # noqa: S102 - our own file
    return namespace


def _load_shim(shell, limits):
    """The kernel shim (kernel_shim.py) as module SHIM_MODULE, installed in this kernel.

    Runs after the capability drop, so it has no power member code lacks. Like the
    codec it gets a snapshot of the builtins: the notes it hands the harness do not
    depend on what member code later does to `builtins`.
    """
    import builtins
    import types

    module = types.ModuleType(SHIM_MODULE)
    module.__file__ = SHIM_PATH
    module.__dict__["__builtins__"] = dict(vars(builtins))
    with open(SHIM_PATH, encoding="utf-8") as handle:
        source = handle.read()
    sys.modules[SHIM_MODULE] = module
    exec(compile(source, SHIM_PATH, "exec"), module.__dict__)  # noqa: S102 - our own file
    module.SETTINGS_PATH = f"{KERNEL_DIR}/{SETTINGS_FILE}"
    module.install(shell, {"epochs_cap": limits.get("epochs_cap")})
    return module


def make_harness(shell, codec_ns, result_path, seed, max_value_bytes, notes=None):
    """The checks' code, made at bootstrap; everything it uses is captured now.

    It is published nowhere: no name in the member's namespace, in builtins or in
    sys.modules reaches it. It lives only as a local of `_start_kernel` (HARNESS_LOCAL),
    whose frame stays on the main thread's stack for the kernel's life, and the check
    cells the host sends after every member cell (graders.notebook.harness) find it there
    by walking their own frames. Member code runs after this and may patch os, json,
    numpy or builtins; the harness keeps the originals, and writes its lines with the C
    JSON encoder and reads its calls with the C scanner (not json.dumps/loads, which
    look up patchable classes at call time).

    `run_checks(nonce, calls_json, with_notes=True)` opens the result file (result_path)
    only then, for the length of the call: until the host opens its folder for the
    checks, the kernel cannot reach the file (see _start_kernel). It appends one JSON line
    per check, {"check": name, "nonce": nonce, ...} in that order (the host attributes
    an unreadable line by that prefix), each carrying the nonce that exists only in the
    check cells. A check with probe options gets its value read by the codec's probe
    (graders/probes.py) before it is encoded. An expression check (no function) is
    evaluated in the member's namespace instead of a call. With `with_notes`, one
    "__notes__" line then carries the kernel shim's notes: `notes` (a zero-argument
    callable returning a list of str), else a builtin `__adventures_notes__` present
    now; none, no line.
    """
    import builtins
    import random
    import traceback
    from json import decoder as json_decoder
    from json import encoder as json_encoder
    from json import scanner as json_scanner

    import numpy

    encode, decode = codec_ns["encode"], codec_ns["decode"]
    probe = codec_ns.get("probe")
    os_open, os_write, os_close = os.open, os.write, os.close
    open_flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    perf = time.perf_counter
    fmt_exception = traceback.format_exception
    py_exec, py_compile, py_isinstance, py_set, py_len = exec, compile, isinstance, set, len
    py_eval, name_error, type_error = eval, NameError, TypeError
    py_dict, py_list, py_tuple, py_str, py_type = dict, list, tuple, str, type
    base_exception, interrupt = BaseException, KeyboardInterrupt
    os_error, value_error, recursion_error = OSError, ValueError, RecursionError
    join, to_utf8 = "".join, str.encode
    seed_random, seed_numpy = random.seed, numpy.random.seed
    modules = sys.modules
    builtins_snapshot = dict(vars(builtins))  # before member code can patch them
    notes_check = "__notes__"  # the result line graders.notebook.harness reads the notes from
    notes_provider = notes if notes is not None else builtins_snapshot.get("__adventures_notes__")
    if not callable(notes_provider):
        notes_provider = None

    def not_json(value):
        raise type_error(f"{py_type(value).__name__} is not JSON")

    # C objects: nothing member code does to the json module changes them.
    to_json = json_encoder.c_make_encoder(
        None, not_json, json_encoder.c_encode_basestring, None, ":", ",", False, False, False
    )
    scan_json = json_scanner.c_make_scanner(json_decoder.JSONDecoder())

    class MissingGlobal(NameError):
        """A {'$global': name} the member's notebook does not define (reported as 'lookup')."""

    def reseed():
        seed_random(seed)
        seed_numpy(seed)
        keras = modules.get("keras")
        if keras is not None:
            keras.utils.set_random_seed(seed)

    def substitute(value, namespace):  # as graders.reference_worker._substitute
        if py_isinstance(value, py_dict):
            if py_set(value) == {"$var"}:
                name = value["$var"]
                if name not in namespace:
                    raise name_error(f"setup defines no variable {name!r}")
                return namespace[name]
            if py_set(value) == {"$global"}:
                name = value["$global"]
                user_ns = shell.user_ns
                if not py_isinstance(name, py_str) or name not in user_ns:
                    raise MissingGlobal(
                        f"name {name!r} is not defined: the check reads it from your "
                        "notebook after all your cells ran, so a cell must still define it"
                    )
                return user_ns[name]
            return {k: substitute(v, namespace) for k, v in value.items()}
        if py_isinstance(value, py_list):
            return [substitute(v, namespace) for v in value]
        if py_isinstance(value, py_tuple):
            return py_tuple(substitute(v, namespace) for v in value)
        return value

    def describe_error(exc, skip_frames):
        tb = exc.__traceback__
        for _ in range(skip_frames):
            if tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
        try:
            message = py_str(exc)[:2000]
        except base_exception:
            message = "<the exception's message could not be shown>"
        try:
            text = join(fmt_exception(py_type(exc), exc, tb))[-6000:]
        except base_exception:
            text = ""
        return {"type": py_type(exc).__name__, "message": message, "traceback": text}

    def one(call):
        started = perf()
        namespace = {"__builtins__": builtins_snapshot, "__name__": "__check__"}
        try:
            reseed()
            if call.get("setup"):
                py_exec(py_compile(call["setup"], "<check setup>", "exec"), namespace)
            args = substitute(py_list(decode(call.get("args") or [])), namespace)
            kwargs = substitute(py_dict(decode(call.get("kwargs") or {})), namespace)
        except interrupt:
            raise
        except MissingGlobal as exc:
            return {
                "ok": False,
                "stage": "lookup",
                "error": {"type": "NameError", "message": py_str(exc), "traceback": ""},
            }
        except base_exception as exc:
            return {"ok": False, "stage": "setup", "error": describe_error(exc, 1)}
        if "expression" in call:
            return evaluated(call, started)
        function = shell.user_ns.get(call["function"])
        if function is None:
            return {
                "ok": False,
                "stage": "lookup",
                "error": {
                    "type": "NameError",
                    "message": f"name '{call['function']}' is not defined",
                    "traceback": "",
                },
            }
        try:
            value = function(*args, **kwargs)
        except interrupt:
            raise
        except base_exception as exc:
            return {"ok": False, "stage": "call", "error": describe_error(exc, 1)}
        return encoded(call, value, perf() - started)

    def encoded(call, value, seconds):
        try:
            if "probe" in call:
                value = probe(value, call["probe"])
            encoded = encode(value, max_bytes=max_value_bytes)
        except interrupt:
            raise
        except base_exception as exc:
            return {"ok": False, "stage": "encode", "error": describe_error(exc, 99)}
        return {"ok": True, "value": encoded, "seconds": seconds}

    def evaluated(call, started):
        """An expression check: evaluated with the member's globals (a shallow copy, with the
        builtins as they were before member code ran), then probed and encoded like a result.
        A name their namespace lacks is a "lookup" error, as a missing function is."""
        expression = call["expression"]
        user_ns = shell.user_ns
        try:
            code = py_compile(expression, "<check expression>", "eval")
            namespace = py_dict(user_ns)
            namespace["__builtins__"] = builtins_snapshot
        except interrupt:
            raise
        except base_exception as exc:
            return {"ok": False, "stage": "setup", "error": describe_error(exc, 1)}
        try:
            value = py_eval(code, namespace)
        except interrupt:
            raise
        except name_error as exc:
            name = exc.name  # set by Python for a name lookup that failed
            if py_isinstance(name, py_str) and name not in user_ns:
                return {
                    "ok": False,
                    "stage": "lookup",
                    "error": {
                        "type": "NameError",
                        "message": f"name {name!r} is not defined after all your cells ran",
                        "traceback": "",
                    },
                }
            return {"ok": False, "stage": "call", "error": describe_error(exc, 1)}
        except base_exception as exc:
            return {"ok": False, "stage": "call", "error": describe_error(exc, 1)}
        return encoded(call, value, perf() - started)

    def write_line(fd, line):
        text = join(to_json(line, 0))
        data = to_utf8("\n" + text + "\n")  # the leading newline ends any stray partial line
        while data:
            data = data[os_write(fd, data) :]

    def kernel_notes():
        """The shim's notes as short strings (at most 20 of 300 characters); None if none."""
        if notes_provider is None:
            return None
        found = notes_provider()
        if not py_isinstance(found, (py_list, py_tuple)):
            return None
        return [py_str(note)[:300] for note in py_list(found)[:20] if py_isinstance(note, py_str)]

    def run_checks(nonce, calls_json, with_notes=True):
        calls = scan_json(calls_json, 0)[0]
        fd = os_open(result_path, open_flags)
        try:
            for call in calls:
                name = call["name"]
                result = one(call)
                try:
                    write_line(fd, {"check": name, "nonce": nonce, **result})
                except (os_error, value_error, type_error, recursion_error) as exc:
                    write_line(
                        fd,
                        {
                            "check": name,
                            "nonce": nonce,
                            "ok": False,
                            "stage": "encode",
                            "error": {"type": py_type(exc).__name__, "message": py_str(exc)[:500]},
                        },
                    )
            if with_notes:
                try:
                    found = kernel_notes()
                    if found is not None:
                        write_line(fd, {"check": notes_check, "nonce": nonce, "notes": found})
                except interrupt:
                    raise
                except base_exception:
                    pass  # notes are a courtesy; the checks' lines are already written
        finally:
            os_close(fd)
        return py_len(calls)

    return run_checks


def _start_kernel(cmd, status_fd):
    """PID 1 of the new namespaces: lock down, bootstrap, then become the ipykernel.

    Order matters: capabilities are per thread, so they are dropped while this
    process still has one thread; TensorFlow and ipykernel start theirs later.
    """
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    # Our own session and process group: a process group spans PID namespaces, so
    # killpg(0) from member code would otherwise reach the zygote and the spare kernel.
    os.setsid()
    _libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # the zygote's 0 is inherited; we must enter it
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes fail with EFBIG instead
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(cmd.get("env") or {})
    os.chdir(WORK)
    # The only file the kernel may write outside its tmpfs, created empty in a folder
    # of the run folder (its own mount, so it stays writable when /run/kernel is sealed
    # read-only; never held open, since an open writer would stop the seal) whose mode
    # is then 0: the kernel cannot even reach the file, nor, once the run folder is
    # read-only, chmod the folder, until the host opens it (chmod, after the last
    # member cell: SandboxKernel.open_results). The harness opens the file only then.
    results = f"{KERNEL_DIR}/{RESULTS_DIR}"
    os.mkdir(results, 0o700)
    result_path = f"{results}/{RESULT_FILE}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    os.close(os.open(result_path, flags, 0o600))
    _mount(result_path, result_path, None, _MS_BIND)
    os.chmod(results, 0)
    limits = cmd.get("limits") or {}
    _set_limits(limits)
    _drop_capabilities()
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    _close_fds({0, 1, 2, status_fd})
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - ipykernel replaces these
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    seed = int(cmd.get("seed", 0))
    if cmd.get("gpu"):
        _memory_growth()
    _seed_everything(seed)
    codec_ns = _load_codec()

    from ipykernel.kernelapp import IPKernelApp

    sys.argv = ["ipykernel"]
    app = IPKernelApp.instance()
    app.initialize(
        [
            "-f",
            f"{KERNEL_DIR}/{CONNECTION_FILE}",
            "--HistoryManager.enabled=False",
            "--IPKernelApp.quiet=True",
            "--InteractiveShell.colors=nocolor",
        ]
    )
    shim = _load_shim(app.shell, limits)
    # Published nowhere: the check cells find it as this frame's local HARNESS_LOCAL.
    harness = make_harness(  # noqa: F841 - read from this frame by the check cells
        app.shell,
        codec_ns,
        result_path,
        seed,
        int(limits.get("value_bytes", 8 << 20)),
        notes=shim.notes,
    )
    del codec_ns, shim
    os.write(status_fd, b"ready\n")
    os.close(status_fd)
    app.start()
    os._exit(0)


def _spawn_child(cmd, status_fd):
    """The first fork: make the private world, fork PID 1 (the kernel), report its pid, exit."""
    _private_world(cmd["run"], cmd.get("limits") or {})
    pid = os.fork()
    if pid == 0:
        try:
            _start_kernel(cmd, status_fd)
        except BaseException as exc:  # noqa: BLE001 - reported to the host, then exit
            _report(status_fd, f"error {type(exc).__name__}: {exc}")
        os._exit(70)
    _report(status_fd, f"pid {pid}")
    os._exit(0)


def _in_kernel_namespace(pid, work):
    """Run work() in a short-lived child of ours that has entered the kernel's mount namespace.

    The kernel has no capabilities left; we still have them in the sandbox's
    user namespace. Returns None, or the reason it failed.
    """
    read_fd, write_fd = os.pipe()
    helper = os.fork()
    if helper == 0:
        os.close(read_fd)
        try:
            fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
            _check(_libc.setns(fd, _CLONE_NEWNS), "setns")
            work()
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001
            _report(write_fd, f"{type(exc).__name__}: {exc}")
            os._exit(1)
    os.close(write_fd)
    message = b""
    while chunk := os.read(read_fd, 4096):
        message += chunk
    os.close(read_fd)
    _, status = os.waitpid(helper, 0)
    return None if status == 0 else message.decode("utf-8", "replace").strip() or "failed"


def _seal(pid):
    """/run/kernel read-only for the kernel, now its sockets exist: member code can then
    create, replace or symlink nothing in the folder the host reads."""
    return _in_kernel_namespace(pid, lambda: _remount_ro(KERNEL_DIR))


_ASSIGNED_LIMITS = (
    ("RLIMIT_AS", "memory_bytes", 0),
    ("RLIMIT_CPU", "cpu_seconds", 5),
    ("RLIMIT_NPROC", "nproc", 0),
    ("RLIMIT_FSIZE", "fsize_bytes", 0),
    ("RLIMIT_NOFILE", "nofile", 0),
)


def _assign(pid, data_slug, limits, run=None):
    """Give a waiting kernel its run: its exercise's data at ./data, other data hidden, the
    manifest's extra paths linked, this run's limits (prlimit can only lower what the spawn
    set), and the settings the kernel shim reads (SETTINGS_FILE, e.g. the training cap)."""
    import resource

    for name, key, extra in _ASSIGNED_LIMITS:
        if limits.get(key) is not None:
            value = int(limits[key])
            resource.prlimit(pid, getattr(resource, name), (value, value + extra))
    if run is not None:
        # Written through our view of the run folder; the kernel reads it at /run/kernel,
        # which is read-only for it, so member code cannot change its own cap.
        settings = {"epochs_cap": limits.get("epochs_cap")}
        path = f"{RUNS_DIR}/{run}/{SETTINGS_FILE}"
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(settings, handle)
        os.replace(path + ".tmp", path)

    def mounts():
        if data_slug:
            _bind_ro(f"{DATA_ROOT}/{data_slug}", WORK + "/data")
        else:
            _remount_ro_dir(WORK + "/data")
        _hide(DATA_ROOT)
        if data_slug:
            _link_paths(WORK + "/data")

    return _in_kernel_namespace(pid, mounts)


_LINK_TOPS = ("/tmp/", HOME + "/")


def _link_paths(data):
    """The download manifest's "paths": symlinks in the kernel's private /tmp or HOME that
    point into ./data (/tmp/glove.6B.100d.txt -> ./data/glove/...).

    Made in the kernel's mount namespace before any member code has run. They are
    plain symlinks owned by the kernel's own uid on its own tmpfs, which the kernel
    could have made itself, so they grant member code nothing. A bad entry is skipped:
    the notebook then meets a missing file, named by its own error.
    """
    try:
        with open(f"{data}/{DOWNLOADS_MANIFEST}", encoding="utf-8") as handle:
            paths = json.load(handle).get("paths") or {}
    except (OSError, ValueError, AttributeError):
        return
    if not isinstance(paths, dict):
        return
    for where, rel in sorted(paths.items()):
        if not isinstance(where, str) or not isinstance(rel, str) or "\x00" in where + rel:
            continue
        where, clean = os.path.normpath(where), os.path.normpath(rel)
        if not where.startswith(_LINK_TOPS) or where == data or where.startswith(data + "/"):
            continue
        if rel.startswith("/") or clean == ".." or clean.startswith("../"):
            continue
        target = data if clean == "." else f"{data}/{clean}"
        try:
            if not os.path.lexists(where):
                os.makedirs(os.path.dirname(where), exist_ok=True)
                os.symlink(target, where)
        except OSError:
            continue


def _report(fd, text):
    try:
        os.write(fd, (text.replace("\n", " ") + "\n").encode())
    except OSError:
        pass


# --- the server loop ---------------------------------------------------------------


class Server:
    def __init__(self):
        self.kernels = {}  # pid -> run id
        self.runs = {}  # run id -> pid
        self.out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)  # anything printed by libraries goes to stderr, not the protocol
        sys.stdout = sys.stderr

    def emit(self, **event):
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()

    def spawn(self, cmd):
        run = cmd["run"]
        read_fd, write_fd = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(read_fd)
            try:
                _spawn_child(cmd, write_fd)
            except BaseException as exc:  # noqa: BLE001
                _report(write_fd, f"error {type(exc).__name__}: {exc}")
            os._exit(70)
        os.close(write_fd)
        lines, pid, error = self._read_status(read_fd), None, None
        os.close(read_fd)
        os.waitpid(child, 0)
        for line in lines:
            kind, _, rest = line.partition(" ")
            if kind == "pid":
                pid = int(rest)
            elif kind == "error":
                error = rest
        if pid is not None:
            self.kernels[pid] = run
            self.runs[run] = pid
        if pid is not None and not error and "ready" in lines:
            problem = _seal(pid)
            if problem:
                error = f"could not seal the run folder: {problem}"
        if error or "ready" not in lines:
            if pid is not None:
                self._kill(pid)
            self.emit(event="failed", run=run, error=error or "the kernel did not start")
        else:
            self.emit(event="spawned", run=run, pid=pid)

    @staticmethod
    def _read_status(fd):
        deadline = time.monotonic() + SPAWN_TIMEOUT
        buffer = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffer += chunk
            if b"ready\n" in buffer or b"error " in buffer:
                break
        return buffer.decode("utf-8", "replace").splitlines()

    def _kill(self, pid):
        try:
            os.kill(pid, signal.SIGKILL)  # PID 1 of its namespace: everything in it dies too
        except ProcessLookupError:
            pass

    def assign(self, cmd):
        run = cmd["run"]
        pid = self.runs.get(run)
        problem = "no such kernel" if pid is None else None
        if problem is None:
            try:
                problem = _assign(pid, cmd.get("data"), cmd.get("limits") or {}, run)
            except (OSError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
        if problem:
            self.emit(event="failed", run=run, error=f"could not assign the kernel: {problem}")
        else:
            self.emit(event="assigned", run=run)

    def signal(self, cmd):
        pid = self.runs.get(cmd["run"])
        if pid is not None:
            try:
                os.kill(pid, int(cmd.get("signal", signal.SIGINT)))
            except ProcessLookupError:
                pass

    def kill(self, cmd):
        pid = self.runs.get(cmd["run"])
        if pid is not None:
            self._kill(pid)

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = self.kernels.pop(pid, None)
            if run is not None:
                self.runs.pop(run, None)
                self.emit(event="exit", run=run, status=status)

    def serve(self):
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        buffer = b""
        while True:
            ready, _, _ = select.select([0, wake_r], [], [], 1.0)
            if wake_r in ready:
                os.read(wake_r, 4096)
            self.reap()
            if 0 not in ready:
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                return  # the host went away: bwrap --die-with-parent ends the rest
            buffer += chunk
            while b"\n" in buffer:
                raw, _, buffer = buffer.partition(b"\n")
                if raw.strip():
                    self.handle(json.loads(raw))

    def handle(self, cmd):
        op = cmd.get("op")
        if op == "spawn":
            self.spawn(cmd)
        elif op == "assign":
            self.assign(cmd)
        elif op == "signal":
            self.signal(cmd)
        elif op == "kill":
            self.kill(cmd)
        elif op == "exit":
            for pid in list(self.kernels):
                self._kill(pid)
            sys.exit(0)


def warm_up():
    """Import what every kernel needs, run nothing (no threads, no CUDA before a fork).

    The list is what IPKernelApp.initialize would otherwise import in each
    kernel; debugpy (0.4 s, and a debugger no grader needs) is made unimportable.
    Then what the course's notebooks import and the kernel shim patches: pandas
    and matplotlib (TensorFlow imports them anyway; pyplot's font cache is built
    once here, not in each kernel's empty HOME), tensorflow_datasets and gdown
    (cheap, lazily loaded); none of them starts a thread. scipy.stats (its own
    BLAS starts a thread pool) and keras_nlp (0.4 s, 150 MB) are left to the
    notebooks that import them.
    """
    sys.modules["debugpy"] = None
    import secrets  # noqa: F401

    import IPython.extensions.storemagic  # noqa: F401
    import IPython.utils.wildcard  # noqa: F401
    import keras  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import numpy.random  # noqa: F401
    import pandas  # noqa: F401
    import tensorflow as tf
    import tornado.platform.asyncio  # noqa: F401
    from ipykernel import debugger as kernel_debugger
    from ipykernel import ipkernel, kernelapp, zmqshell  # noqa: F401
    from IPython.core import completerlib, debugger, interactiveshell, oinspect  # noqa: F401
    from matplotlib_inline import backend_inline  # noqa: F401
    from tensorflow.keras.preprocessing import sequence, text  # noqa: F401

    for optional in ("tensorflow_datasets", "gdown"):
        try:
            module = importlib.import_module(optional)
        except ImportError:
            continue
        if optional == "tensorflow_datasets":
            module.load, module.builder  # noqa: B018 - resolve the lazy API now, once

    assert not kernel_debugger._is_debugpy_available
    gc.collect()
    gc.freeze()  # forked kernels then share these pages instead of copying them on the first GC
    return tf.__version__


def main():
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphaned kernels come back to us
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    server = Server()
    started = time.monotonic()
    version = warm_up()
    server.emit(
        event="ready",
        tensorflow=version,
        python=sys.version.split()[0],
        seconds=round(time.monotonic() - started, 3),
    )
    server.serve()


if __name__ == "__main__":
    main()
