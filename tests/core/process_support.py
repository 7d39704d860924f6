"""A Python subprocess on a throwaway SQLite instance: how tests see the web process as
gunicorn loads it, with nothing of the test process's imports or state."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from server.config import REPO_ROOT

# Builds the schema in the instance, as `make run` does before serving.
MIGRATE = """
from flask_migrate import upgrade
from server import create_app
from server.extensions import db

with create_app().app_context():
    upgrade()
    db.engine.dispose()
"""


def web_env(tmp_path: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        ADVENTURES_INSTANCE=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'web.db'}",
        SECRET_KEY="test",
    )
    env.pop("REDIS_URL", None)
    return env


def run_python(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPO_ROOT,
        env=web_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=200,
    )
