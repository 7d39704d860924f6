"""The scale-out queue: the web side enqueues on Redis, a separate `adventures worker` grades.

Both processes share only DATABASE_URL and REDIS_URL, as a worker on another
machine would.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.slow]

BIN = Path(sys.executable).parent
ENQUEUE = """
from server import create_app
from server.services import accounts
from server.services.exercises import get_exercise
from server.services.grading.submit import submit_answer
app = create_app()
with app.app_context():
    user = accounts.create_user("queued-member", "correct horse battery")
    sub = submit_answer(user, get_exercise("c3w2-params-embedding-flatten"), "171,533", max_bytes=65536)
    print(sub.id, sub.status)
"""


def test_answer_graded_by_a_worker_through_redis(tmp_path):
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    client.ping()  # the Redis on this machine must be up: a failure here is a real failure
    env = {
        **os.environ,
        "ADVENTURES_INSTANCE": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/shared.db",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "ADVENTURES_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
    }
    adv = str(BIN / "adventures")
    subprocess.run([adv, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([adv, "seed", "--no-compute"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-c", ENQUEUE], env=env, check=True, capture_output=True, text=True
    )
    sub_id, status = out.stdout.split()[-2:]
    assert status == "queued"  # no cached value: the job waits in Redis for a worker
    queue_key = "huey.redis." + re.sub("[^A-Za-z0-9_]", "", env["ADVENTURES_QUEUE"])
    assert client.llen(queue_key) == 1  # stored in the database, waiting in Redis
    worker = subprocess.Popen(
        [adv, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        row = None
        while time.monotonic() < deadline:
            with sqlite3.connect(tmp_path / "shared.db") as conn:
                row = conn.execute(
                    "SELECT status, score FROM submissions WHERE id = ?", (int(sub_id),)
                ).fetchone()
            if row and row[0] == "graded":
                break
            time.sleep(0.5)
        assert row is not None and row[0] == "graded" and row[1] is not None, row
        assert client.llen(queue_key) == 0
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        for key in client.scan_iter(f"*{env['ADVENTURES_QUEUE']}*"):
            client.delete(key)
