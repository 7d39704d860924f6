"""GPU detection runs TensorFlow in a child process only, and says "cpu" without a GPU."""

from __future__ import annotations

import json
import subprocess
import sys

from graders.notebook import devices


def test_no_nvidia_device_files_means_no_gpu_and_no_tensorflow_probe(monkeypatch):
    monkeypatch.setattr(devices, "nvidia_device_files", lambda: [])
    monkeypatch.setattr(
        devices.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError("probed"))
    )
    devices.detect_gpus.cache_clear()
    assert devices.detect_gpus() == ()
    assert devices.device_label(devices.detect_gpus()) == "cpu"
    devices.detect_gpus.cache_clear()


def test_the_probe_runs_in_a_child_and_its_answer_is_parsed(monkeypatch, tmp_path):
    fake = tmp_path / "python"
    answer = [
        {
            "name": "/physical_device:GPU:0",
            "model": "NVIDIA H100 80GB HBM3",
            "compute_capability": [9, 0],
        }
    ]
    fake.write_text(f"#!/bin/sh\necho 'noise on stdout'\necho 'DEVICES {json.dumps(answer)}'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(devices, "nvidia_device_files", lambda: ["/dev/nvidia0"])
    devices.detect_gpus.cache_clear()
    found = devices.detect_gpus(str(fake))
    assert found == (devices.Device("/physical_device:GPU:0", "NVIDIA H100 80GB HBM3", (9, 0)),)
    assert devices.device_label(found) == "NVIDIA H100 80GB HBM3"
    devices.detect_gpus.cache_clear()


def test_detecting_and_importing_the_grader_never_imports_tensorflow_or_flask():
    code = (
        "import sys, graders.notebook, graders.notebook.check, graders.notebook.importer;"
        "from graders.notebook import devices; devices.detect_gpus();"
        "print(sorted(m for m in ('tensorflow', 'keras', 'flask', 'server') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
