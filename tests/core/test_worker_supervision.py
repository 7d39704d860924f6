"""`adventures run` outlives its worker: kill -9 the worker mid-grade and the web server keeps
answering, a new worker starts, requeues the interrupted job at once (its predecessor is gone)
and grades it exactly once.

Real processes, as `make run` starts them: a free port, SQLite and the SQLite queue in a tmp
instance folder, the real sandbox. The notebook sleeps in its first cell, so its grading is
certainly under way when the worker is killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SLUG = "c3w1-tokenizer"
SUBMIT = """
import json
import sys
from graders.notebook.check import reference_notebook
from graders.spec import load_spec
from server import create_app
from server.config import REPO_ROOT
from server.services import accounts
from server.services.exercises import get_exercise
from server.services.grading.submit import submit_notebook
slug = sys.argv[1]
spec = load_spec(REPO_ROOT / "exercises" / slug / "exercise.yaml")
nb = json.loads(reference_notebook(spec, REPO_ROOT))
nb["cells"].insert(0, {"cell_type": "code", "metadata": {}, "execution_count": None,
                       "outputs": [], "source": "import time\\ntime.sleep(6)"})
app = create_app()
with app.app_context():
    user = accounts.create_user("sleepy-member", "correct horse battery")
    sub = submit_notebook(user, get_exercise(slug), json.dumps(nb).encode(), "slow.ipynb")
    print(sub.id, sub.status)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as res:
            return res.status == 200 and json.load(res) == {"ok": True}
    except OSError:
        return False


def _row(db: Path, sub_id: int) -> dict:
    with sqlite3.connect(db, timeout=10) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute(
            "SELECT status, score, job_attempts FROM submissions WHERE id = ?", (sub_id,)
        ).fetchone()
    return dict(row)


def _worker_pid(run_pid: int) -> int | None:
    """The grading worker `adventures run` started (its child running `server.cli worker`)."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == run_pid and b"server.cli" in argv and b"worker" in argv:
            return int(proc.name)
    return None


def _group(pgid: int) -> list[int]:
    """Live processes in process group pgid."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(stat.parent.name))
    return out


def test_a_killed_worker_is_restarted_and_its_job_graded_once(tmp_path):
    db = tmp_path / "adventures.db"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(ADVENTURES_INSTANCE=str(tmp_path), DATABASE_URL=f"sqlite:///{db}")
    adv = str(BIN / "adventures")
    subprocess.run([adv, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([adv, "seed", "--no-compute"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-c", SUBMIT, SLUG], env=env, check=True, capture_output=True, text=True
    )
    sub_id, status = out.stdout.split()[-2:]
    sub_id = int(sub_id)
    assert status == "queued"  # waiting in the SQLite queue for the worker `run` starts

    port = _free_port()
    log = (tmp_path / "run.log").open("w+")
    run = subprocess.Popen(
        [adv, "run", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 240
        row = _row(db, sub_id)
        while time.monotonic() < deadline and row["status"] != "running":
            assert run.poll() is None, "adventures run stopped"
            time.sleep(0.1)
            row = _row(db, sub_id)
        assert row["status"] == "running", row
        pid = _worker_pid(run.pid)
        assert pid is not None
        time.sleep(1.5)  # inside the notebook's sleeping cell
        assert _row(db, sub_id)["status"] == "running"
        assert _healthz(port)
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        requeued = graded = None
        answered = unanswered = 0
        while time.monotonic() < killed + 120:
            row = _row(db, sub_id)
            if requeued is None and (row["status"] == "queued" or row["job_attempts"] > 1):
                requeued = time.monotonic() - killed
            if row["status"] in ("graded", "error"):
                graded = time.monotonic() - killed
                break
            if _healthz(port):
                answered += 1
            else:
                unanswered += 1
            assert run.poll() is None, "adventures run stopped with its worker"
            time.sleep(0.3)
        print(f"kill -> requeued {requeued} s, kill -> graded {graded} s")
        assert row["status"] == "graded" and row["score"] == 10.0, row
        assert unanswered == 0 and answered > 0  # the web server never stopped answering
        assert requeued is not None and requeued < 30  # by the new worker, as it starts
        # Then it waits for the new worker's sandbox warm-up (10-40 s, the machine's load
        # decides) and is graded in about 10 s: well within a minute on an idle machine.
        assert graded is not None and graded < 90
        assert row["job_attempts"] == 2 and _worker_pid(run.pid) not in (None, pid)
        with sqlite3.connect(db) as conn:
            events = conn.execute(
                "SELECT count(*) FROM bus_events WHERE channel = ? AND type = 'graded'",
                (f"submission:{sub_id}",),
            ).fetchone()[0]
            best = conn.execute("SELECT count(*), max(score) FROM best_scores").fetchone()
        assert events == 1 and tuple(best) == (1, 10.0)  # graded exactly once
        assert _group(pid) == []  # nothing the killed worker started lives on
        assert _healthz(port)
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            code = run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
        log.seek(0)
        text = log.read()
        log.close()
    assert code == 0, text[-3000:]
    assert f"the grading worker (pid {pid}) was killed by SIGKILL" in text, text[-3000:]
    assert "starting a new one in 1 s (the web server keeps running)" in text
