"""Which accelerators this machine has, asked of TensorFlow in a child process.

The worker never imports TensorFlow itself (and must never initialise CUDA in
a process that forks sandboxes), so detection runs `python -c ...` once and
caches the answer. Without NVIDIA device files there is nothing to ask and the
4 s TensorFlow import is skipped.
"""

from __future__ import annotations

import functools
import glob
import json
import subprocess
import sys
from dataclasses import dataclass

_PROBE = """
import json, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
found = []
for gpu in tf.config.list_physical_devices("GPU"):
    try:
        details = tf.config.experimental.get_device_details(gpu)
    except Exception:
        details = {}
    found.append({"name": gpu.name, "model": details.get("device_name") or gpu.name,
                  "compute_capability": details.get("compute_capability")})
print("DEVICES " + json.dumps(found))
"""


@dataclass(frozen=True)
class Device:
    name: str  # TensorFlow's name, e.g. /physical_device:GPU:0
    model: str  # e.g. NVIDIA H100 80GB HBM3
    compute_capability: tuple[int, int] | None = None


def nvidia_device_files() -> list[str]:
    return sorted(glob.glob("/dev/nvidia[0-9]*"))


@functools.lru_cache(maxsize=4)
def detect_gpus(python: str | None = None, timeout: float = 120.0) -> tuple[Device, ...]:
    """GPUs TensorFlow sees, probed in a child process; () on a CPU-only machine."""
    if not nvidia_device_files():
        return ()
    try:
        probe = subprocess.run(
            [python or sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    for line in probe.stdout.splitlines():
        if line.startswith("DEVICES "):
            found = json.loads(line[len("DEVICES ") :])
            return tuple(
                Device(
                    d["name"],
                    d["model"],
                    tuple(d["compute_capability"]) if d.get("compute_capability") else None,
                )
                for d in found
            )
    return ()


def device_label(gpus: tuple[Device, ...] | list[Device]) -> str:
    """What a result records as its device: "cpu", or the first GPU's model name."""
    return gpus[0].model if gpus else "cpu"
