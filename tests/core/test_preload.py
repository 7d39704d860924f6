"""The web server loads the app once in gunicorn's master and forks its workers from it
(server/serve.py). Two things make that safe, and these tests show both on real processes:
gevent patches the standard library before the app is imported, and a forked worker never
uses a database connection it inherited.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil

from server.config import REPO_ROOT
from tests.core.process_support import MIGRATE, run_python, web_env


def _python(script: str, tmp_path) -> str:
    done = run_python(script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_a_forked_worker_starts_with_its_own_connections(tmp_path):
    _python(MIGRATE, tmp_path)
    out = _python(
        """
        import json, os
        import server.serve  # what the master runs first: gevent's patches
        from sqlalchemy import text
        import server.wsgi as wsgi
        from server.extensions import db

        with wsgi.app.app_context():  # the master uses a connection; it goes back to the pool
            db.session.execute(text("select 1"))
            db.session.remove()
            engine = db.engine
        bus = wsgi.app.extensions["adventures.bus"].log.engine
        with bus.connect() as conn:
            conn.execute(text("select 1"))
        parent = {"app": engine.pool.checkedin(), "bus": bus.pool.checkedin()}
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, json.dumps(
                {"app": engine.pool.checkedin(), "bus": bus.pool.checkedin()}).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        child = json.loads(os.read(read, 1000))
        import threading
        threads = [t.name for t in threading.enumerate()]
        lock = type(wsgi.app.extensions["adventures.bus"]._lock).__module__
        print(json.dumps({"parent": parent, "child": child, "lock": lock, "threads": threads}))
        """,
        tmp_path,
    )
    seen = json.loads(out)
    assert seen["parent"] == {"app": 1, "bus": 1}  # kept by the master...
    assert seen["child"] == {"app": 0, "bus": 0}  # ...and never handed to a worker
    # The app's locks were made after the patch: they yield to other greenlets, not block.
    assert seen["lock"].startswith("gevent")
    assert seen["threads"] == ["MainThread"]  # nothing of the master's runs on in a worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=20) as res:
        return res.status, res.read().decode()


def test_two_preloaded_workers_serve_database_pages_together(tmp_path):
    _python(MIGRATE, tmp_path)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "server.serve", "--preload", "--worker-class", "gevent"]
        + ["--workers", "2", "--bind", f"127.0.0.1:{port}", "server.wsgi:app"],
        cwd=REPO_ROOT,
        env=web_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        while len(psutil.Process(server.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the second worker may still be forking when the first answers
        assert len(psutil.Process(server.pid).children()) == 2
        # The app was imported once, in the master: the workers did not import it again.
        master_rss = psutil.Process(server.pid).memory_info().rss
        assert master_rss > 60 * 2**20  # the master holds the loaded app
        pages = ["/leaderboard", "/play", "/flashcards", "/api/leaderboard", "/"] * 12
        with ThreadPoolExecutor(16) as pool:
            got = list(pool.map(lambda path: _get(base + path), pages))
        assert [status for status, _ in got] == [200] * len(pages)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()[-3000:]
