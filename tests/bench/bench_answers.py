"""Benchmark: short answers from POST to graded score, against a server run as `make run` runs it.

200 answers from 20 members to an exercise whose reference value is cached,
then one answer from each of 20 members to a per-member-variant exercise
whose values must first be computed by the worker with TensorFlow. Prints
p50/p99 and the web process's RSS (and whether TensorFlow is mapped in it).

Run: .venv/bin/python tests/bench/bench_answers.py
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def answer_and_wait(base: str, token: str, slug: str, answer: str) -> float:
    start = time.perf_counter()
    status, doc = call(
        base, "POST", f"/api/exercises/{slug}/submissions", {"answer": answer}, token
    )
    assert status == 202, (status, doc)
    while doc["status"] in ("queued", "running"):
        time.sleep(0.02)
        _, doc = call(base, "GET", f"/api/submissions/{doc['id']}", token=token)
    assert doc["status"] == "graded", doc
    return (time.perf_counter() - start) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int) -> tuple[float, bool]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    maps = Path(f"/proc/{pid}/maps").read_text()
    return rss / 1024, "tensorflow" in maps


def settle(pid: int, timeout: float = 90.0) -> float:
    """Seconds until the server's process tree is idle: the worker imports TensorFlow twice
    at start (sandbox zygote, reference child), and a meetup answers long after start-up."""
    import psutil

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
            before = sum(p.cpu_times().user + p.cpu_times().system for p in tree)
            time.sleep(1.0)
            after = sum(p.cpu_times().user + p.cpu_times().system for p in tree)
        except psutil.Error:
            continue
        if after - before < 0.2:  # under a fifth of one core
            break
    return time.monotonic() - started


def main() -> None:
    instance = tempfile.mkdtemp(prefix="adventures-bench-")
    env = {
        **os.environ,
        "ADVENTURES_INSTANCE": instance,
        "PORT": str(free_port()),
        "AUTH_RATE_LIMIT": "1000 per minute",  # 20 sign-ups from one address
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    adv = str(BIN / "adventures")
    subprocess.run([adv, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([adv, "seed"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [adv, "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        settled = settle(server.pid)
        exercises = call(base, "GET", "/api/exercises")[1]
        tokens = []
        for i in range(20):
            name = f"bench{i:02d}"
            call(
                base, "POST", "/api/auth/register", {"username": name, "password": "benchmark-pass"}
            )
            tokens.append(
                call(
                    base,
                    "POST",
                    "/api/auth/token",
                    {"username": name, "password": "benchmark-pass"},
                )[1]["token"]
            )

        # Cached: a fixed exercise whose default value `adventures seed` computed.
        fixed = next(e for e in exercises if e["slug"] == "c3w3-params-glove-total")
        jobs = [
            (tokens[i % 20], random.choice(["13,872,949", "13872949", "170000", "1"]))
            for i in range(200)
        ]
        with ThreadPoolExecutor(max_workers=20) as pool:
            cached = list(
                pool.map(lambda j: answer_and_wait(base, j[0], fixed["slug"], j[1]), jobs)
            )

        # New variants: each member's value is computed by the worker on first answer.
        variant_slug = "c3w3-params-bilstm"
        with ThreadPoolExecutor(max_workers=20) as pool:
            fresh = list(pool.map(lambda t: answer_and_wait(base, t, variant_slug, "1"), tokens))

        web_pids = subprocess.run(
            ["pgrep", "-f", "server.wsgi:app"], capture_output=True, text=True
        ).stdout.split()
        web = [rss_mb(int(p)) for p in web_pids]
        print()
        print(f"{'case':<44}{'n':>5}{'p50 ms':>10}{'p99 ms':>10}{'goal p50':>10}")
        print("-" * 79)
        print(
            f"{'answer, reference value cached':<44}{len(cached):>5}{statistics.median(cached):>10.1f}{pct(cached, 99):>10.1f}{'150':>10}"
        )
        print(
            f"{'answer, new per-member variant (TF worker)':<44}{len(fresh):>5}{statistics.median(fresh):>10.1f}{pct(fresh, 99):>10.1f}{'5000':>10}"
        )
        print(f"(measured once the server was idle: {settled:.1f} s after it answered)")
        for pid, (rss, tf) in zip(web_pids, web, strict=True):
            print(
                f"web process {pid}: RSS {rss:.0f} MB, TensorFlow mapped: {'YES' if tf else 'no'}"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
