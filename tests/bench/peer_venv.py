"""A peer tool (nbgrader, Anki) for a benchmark, in a venv of its own, made once.

Peers stay out of the project's dependencies; the venv is reused while its probe imports work.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def ensure_venv(venv: Path, probe: str, packages: list[str]) -> Path:
    """The venv's python, after `python -m venv` and `pip install packages` if probe fails."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", probe]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing {' '.join(packages)} into {venv} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python
