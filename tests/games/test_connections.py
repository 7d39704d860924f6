"""Database connections stay bounded: a busy pool makes requests wait, and streams hold none.

On PostgreSQL (the suite runs these against it too) `--workers 2` must stay inside the
server's 100 connections, so each process has a small pool; a game night's thousands of
requests share it because each holds a connection only while it queries.
"""

from __future__ import annotations

import threading
import time

import requests

from server.config import Config
from server.extensions import db


def test_each_process_has_a_small_bounded_pool(monkeypatch):
    for name in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW"):
        monkeypatch.delenv(name, raising=False)
    options = Config().SQLALCHEMY_ENGINE_OPTIONS
    most = options["pool_size"] + options["max_overflow"]
    assert most <= 20  # x 2 web processes + the worker's, well inside 100
    assert options["pool_timeout"] >= 15  # a full pool waits before it gives up
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "1")
    options = Config().SQLALCHEMY_ENGINE_OPTIONS
    assert (options["pool_size"], options["max_overflow"]) == (3, 1)


def _one_connection_app(make_app):
    return make_app(
        GAME_TIMERS=False,
        GAME_COALESCE_S=0,
        GAME_JOIN_RATE_LIMIT="10000 per minute",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 20},
    )


def test_a_full_pool_makes_a_request_wait_not_fail(make_app, bank_dir):
    from tests.browser_support import live_server

    app = _one_connection_app(make_app)
    with app.app_context():
        from server.services.games import banks

        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=bank_dir)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:  # another request's long query, holding the only connection
        with app.app_context(), db.engine.connect():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    with live_server(app) as base:
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        res = requests.get(f"{base}/api/quizzes", timeout=30)
        waited = time.monotonic() - started
    holder.join(5)
    assert res.status_code == 200, res.text
    assert waited >= 0.9  # it waited for the connection instead of failing at once


def test_open_streams_hold_no_connection(make_app, bank_dir, make_user):
    """Five players' event streams stay open while the one connection serves everyone."""
    from tests.browser_support import live_server

    app = _one_connection_app(make_app)
    with app.app_context():
        from server.services.games import banks

        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=bank_dir)
    make_user("pool-host", role="instructor", password="pool host password 1")
    with live_server(app) as base:
        token = requests.post(
            f"{base}/api/auth/token",
            json={"username": "pool-host", "password": "pool host password 1"},
            timeout=10,
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        pin = requests.post(
            f"{base}/api/games", json={"quiz": "mini-game"}, headers=auth, timeout=10
        ).json()["pin"]
        streams = []
        players = []
        for i in range(5):
            player = requests.post(
                f"{base}/api/games/{pin}/join", json={"nickname": f"pool{i}"}, timeout=10
            ).json()
            players.append(player)
            res = requests.get(
                f"{base}/api/games/{pin}/events?token={player['player_token']}",
                stream=True,
                timeout=10,
            )
            assert res.status_code == 200
            lines = res.iter_lines()
            while not next(lines).startswith(b"data:"):  # the snapshot has been sent
                pass
            streams.append((res, lines))
        start = requests.post(f"{base}/api/games/{pin}/start", headers=auth, timeout=10)
        assert start.status_code == 200
        body = {"player_token": players[0]["player_token"], "question": "tokenize", "answer": "a"}
        answered = requests.post(f"{base}/api/games/{pin}/answers", json=body, timeout=10)
        assert answered.status_code == 200, answered.text
        for res, _ in streams:
            res.close()


def test_run_lifts_a_desktop_open_files_limit():
    """A soft limit of 1,024 (a desktop's default) would hold about 1,000 phones' streams."""
    import resource
    import subprocess
    import sys

    from server.cli import WORKER_CONNECTIONS

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def low() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    code = (
        "import resource; from server.cli import _raise_open_files; "
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], _raise_open_files(), "
        "resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], preexec_fn=low, capture_output=True, text=True, check=True
    ).stdout.split()
    want = (
        2 * WORKER_CONNECTIONS
        if hard == resource.RLIM_INFINITY
        else min(2 * WORKER_CONNECTIONS, hard)
    )
    assert [int(x) for x in out] == [1024, want, want]
    assert want > 1024
