"""Load test: N simulated players in one live trivia game, served the way `make run` serves.

Starts `adventures run` (gunicorn, gevent worker class) on a fresh SQLite
database (or DATABASE_URL / --redis), imports a bank, and drives one
host-paced game over loopback with aiohttp: every player joins, holds a
Server-Sent Events stream, and answers each question after a random think
time. Printed as a table:

- join p50/p99: POST /join latency (joins spread over --join-spread seconds);
- answer p50/p99: POST /answers latency;
- fan-out p50/p99/max: from the host's POST (start/next) to each player's
  stream delivering that question;
- answers lost / double-counted: accepted answers missing from the report,
  duplicates accepted, or scores that disagree with the answers;
- events lost: players whose stream missed a question or its reveal;
- memory: peak PSS of the web server's processes summed (gunicorn master + workers; a page
  the workers share counts once), with RSS summed and the largest process's RSS beside it;
- server CPU per player and the machine's load, to read the latencies by: on
  a shared 2-core machine other processes' load shows up as latency.

Run: .venv/bin/python tests/bench/bench_trivia.py [--players 1000] [--questions 3]
     [--spread 3] [--tune-gc]
     [--database-url postgresql://.../scratch --redis redis://127.0.0.1:6379/13 --workers 2]
--database-url names a scratch database: its public schema is dropped and made again.
BENCH_TRACE=1 also prints the slowest answers and when they were sent.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
from measure import free_port, pct  # tests/bench/measure.py: the script's own folder

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "bench password 123"
GOALS = {"answer_p99_ms": 100, "fanout_p99_ms": 300, "rss_mb": 300}
# --tune-gc: the start-up objects leave the collector's view and young collections come
# less often; full collections of ~150k objects otherwise stall the worker 150-300 ms here.
GC_HOOK = """
import gc


def post_worker_init(worker):
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
"""


@dataclass
class Player:
    nickname: str
    id: int = 0
    token: str = ""
    question_at: dict[int, float] = field(default_factory=dict)
    reveal_me: dict[int, dict] = field(default_factory=dict)
    accepted: dict[int, object] = field(default_factory=dict)
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)


def bank_csv(questions: int) -> str:
    rows = ["Question,Answer 1,Answer 2,Answer 3,Answer 4,Time limit (sec),Correct answer(s)"]
    for i in range(questions):
        rows.append(
            f"Bench question {i + 1}: which is right?,right,wrong one,wrong two,wrong three,30,1"
        )
    return "\n".join(rows) + "\n"


class PgCounter:
    """Client connections to the server now (pg_stat_activity), as max_connections counts;
    over one connection of its own, kept for the run."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = None

    def __call__(self) -> int:
        import psycopg

        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=2)
            row = self.conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            ).fetchone()
            return int(row[0]) - 1  # not this one
        except psycopg.Error:
            self.conn = None
            return -1


class Server:
    """`adventures run` in its own process group, with its RSS sampled while it runs."""

    def __init__(self, args, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            ADVENTURES_INSTANCE=str(workdir),
            SECRET_KEY="bench",
            GAME_JOIN_RATE_LIMIT="1000000 per minute",
            GAME_ANSWER_RATE_LIMIT="1000000 per minute",
            PYTHONUNBUFFERED="1",
        )
        self.env.pop("REDIS_URL", None)
        if args.database_url:
            self.env["DATABASE_URL"] = args.database_url
        else:
            self.env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
        if args.redis:
            self.env["REDIS_URL"] = args.redis
        if args.tune_gc:
            # What server/wsgi.py could do after create_app(): see GC_HOOK.
            conf = workdir / "gunicorn_gc.py"
            conf.write_text(GC_HOOK)
            self.env["GUNICORN_CMD_ARGS"] = f"-c {conf}"
        self.workers = args.workers
        self.log = open(workdir / "server.log", "wb")  # noqa: SIM115
        self.peak = {"web": 0, "worker": 0, "pg": 0}
        self.pg_count = PgCounter(self.env["DATABASE_URL"]) if args.database_url else None
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._next_pss = 0.0

    @staticmethod
    def _wipe(url: str) -> None:
        """--database-url names a scratch database: each run starts it empty."""
        from sqlalchemy import create_engine, text

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()

    def _cli(self, *argv, stdin: str | None = None) -> None:
        subprocess.run(
            [sys.executable, "-m", "server.cli", *argv],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            text=True,
            check=True,
            stdout=self.log,
            stderr=self.log,
        )

    def start(self) -> None:
        if self.env["DATABASE_URL"].startswith("postgres"):
            self._wipe(self.env["DATABASE_URL"])
        self._cli("db", "upgrade")
        self._cli(
            "users", "add", "bench", "--instructor", "--password-stdin", stdin=PASSWORD + "\n"
        )
        argv = ["run", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers > 1:
            argv += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *argv],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start; see server.log")
        self._settle()
        threading.Thread(target=self._sample, daemon=True).start()

    def _settle(self, limit_s: float = 120.0) -> None:
        """Wait for the grading worker's start-up (it imports TensorFlow) to finish: the
        game is measured on a machine at rest, not against that one-off burst."""
        deadline = time.monotonic() + limit_s
        quiet = 0
        while time.monotonic() < deadline and quiet < 3:
            try:
                kids = psutil.Process(self.proc.pid).children(recursive=True)
                before = {k.pid: sum(k.cpu_times()[:2]) for k in kids}
                time.sleep(1.0)
                used = 0.0
                for k in kids:
                    try:
                        used += sum(k.cpu_times()[:2]) - before[k.pid]
                    except psutil.Error:
                        continue
            except psutil.Error:
                continue
            quiet = quiet + 1 if used < 0.1 else 0

    def cpu_now(self) -> float:
        """CPU seconds the web processes have used so far."""
        try:
            return sum(sum(p.cpu_times()[:2]) for p in self._gunicorn())
        except psutil.Error:
            return float("nan")

    def _gunicorn(self) -> list[psutil.Process]:
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return []
        found = []
        for p in kids:
            try:
                if "server.wsgi:app" in p.cmdline():  # gunicorn's master and workers
                    found.append(p)
            except psutil.Error:  # a child that exited (the worker's sandbox helpers) meanwhile
                continue
        return found

    def _sample(self) -> None:
        while not self._stop.is_set():
            procs = self._gunicorn()
            try:
                web = sum(p.memory_info().rss for p in procs)
                worker = max((p.memory_info().rss for p in procs), default=0)
                # PSS shares each page among the processes mapping it: the libraries every
                # worker maps count once, as they take memory once. Reading it walks the
                # process's memory map under its lock (a stall), so only every 2 s.
                if time.monotonic() >= self._next_pss:
                    self._next_pss = time.monotonic() + 2.0
                    pss = sum(p.memory_full_info().pss for p in procs)
                    self.peak["pss"] = max(self.peak.get("pss", 0), pss)
            except psutil.Error:
                web = worker = 0
            try:
                self.cpu_s = max(self.cpu_s, sum(sum(p.cpu_times()[:2]) for p in procs))
            except psutil.Error:
                pass
            if self.pg_count:
                self.peak["pg"] = max(self.peak["pg"], self.pg_count())
            self.peak["web"] = max(self.peak["web"], web)
            self.peak["worker"] = max(self.peak["worker"], worker)
            time.sleep(0.25)

    def stop(self) -> None:
        self._stop.set()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


async def loop_lag(out: list[float]) -> None:
    """How late the client's own event loop wakes (ms): latency the server did not cause."""
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        out.append((time.perf_counter() - t - 0.01) * 1000)


async def read_stream(session, base: str, pin: str, p: Player, stop: asyncio.Event) -> None:
    url = f"{base}/api/games/{pin}/events?token={p.token}"
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as res:
        kind = None
        async for raw in res.content:
            line = raw.rstrip(b"\r\n")
            if line.startswith(b"event:"):
                kind = line[6:].strip().decode()
            elif line.startswith(b"data:") and kind:
                now = time.perf_counter()
                data = json.loads(line[5:])
                if kind == "state":
                    p.snapshot.set()
                elif kind == "question":
                    p.question_at.setdefault(data["question_index"], now)
                elif kind == "reveal":
                    p.reveal_me[data["question_index"]] = data.get("me") or {}
                elif kind == "ended":
                    return
            if stop.is_set():
                return


async def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-trivia-"))
    server = Server(args, workdir)
    server.start()
    result: dict = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        result = await drive(args, server.base, server.cpu_now)
    finally:
        server.stop()
    result["client_cpu_s"] = time.process_time() - cpu0
    result["wall_s"] = time.perf_counter() - wall0
    result["server_cpu_s"] = server.cpu_s
    result["load"] = os.getloadavg()[0]
    result["rss_web_mb"] = server.peak["web"] / 2**20
    result["rss_worker_mb"] = server.peak["worker"] / 2**20
    result["pss_web_mb"] = server.peak.get("pss", 0) / 2**20
    result["pg_peak"] = server.peak["pg"] if args.database_url else None
    result["workdir"] = str(workdir)
    return result


async def drive(args, base: str, server_cpu) -> dict:
    rnd = random.Random(args.seed)
    # A new connection per request, as phones answering every ~20 s would (gunicorn keeps
    # idle connections 2 s); the event streams hold their own.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(path, body, token=None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            t = time.perf_counter()
            try:
                async with session.post(base + path, json=body, headers=headers) as res:
                    data = await res.json(content_type=None)
                    return res.status, data, (time.perf_counter() - t) * 1000
            except (TimeoutError, aiohttp.ClientError) as exc:  # counted, not fatal
                return 0, {"error": type(exc).__name__}, (time.perf_counter() - t) * 1000

        _, tok, _ = await post("/api/auth/token", {"username": "bench", "password": PASSWORD})
        host = tok["token"]
        status, _, _ = await post(
            "/api/quizzes",
            {"slug": "bench", "title": "Bench bank", "csv": bank_csv(args.questions)},
            host,
        )
        assert status == 201, status
        status, game, _ = await post("/api/games", {"quiz": "bench", "mode": "host"}, host)
        assert status == 201, game
        pin = game["pin"]

        players = [Player(f"p{i:04d}") for i in range(args.players)]
        stop = asyncio.Event()
        join_ms: list[float] = []
        join_failed: dict[int, int] = {}
        streams: list[asyncio.Task] = []

        async def join(p: Player, delay: float):
            await asyncio.sleep(delay)
            status, data, ms = await post(f"/api/games/{pin}/join", {"nickname": p.nickname})
            join_ms.append(ms)
            if status != 201:
                join_failed[status] = join_failed.get(status, 0) + 1
                return
            p.id, p.token = data["player_id"], data["player_token"]
            streams.append(asyncio.create_task(read_stream(session, base, pin, p, stop)))

        t_join, cpu_join = time.perf_counter(), server_cpu()
        await asyncio.gather(*(join(p, rnd.uniform(0, args.join_spread)) for p in players))
        players = [p for p in players if p.token]  # the game goes on with those who got in
        await asyncio.wait_for(asyncio.gather(*(p.snapshot.wait() for p in players)), 120)
        join_s = time.perf_counter() - t_join
        join_cpu_ms = (server_cpu() - cpu_join) * 1000 / args.players

        answer_ms: list[float] = []
        fanout_ms: list[float] = []
        fanout_max: list[float] = []
        answer_cpu: list[float] = []
        trace: list[tuple[float, float]] = []
        dupes_accepted = 0
        errors: dict[int, int] = {}

        async def answer(p: Player, index: int):
            choice = "a" if rnd.random() < 0.7 else rnd.choice("bcd")
            body = {"player_token": p.token, "question": f"q{index + 1:02d}", "answer": choice}
            sent_at = time.perf_counter()
            status, data, ms = await post(f"/api/games/{pin}/answers", body)
            answer_ms.append(ms)
            if os.environ.get("BENCH_TRACE"):  # print the slowest answers and when they came
                trace.append((sent_at, ms))
            if status == 200:
                p.accepted[index] = choice
            else:
                errors[status] = errors.get(status, 0) + 1
            if rnd.random() < args.duplicates:
                nonlocal dupes_accepted
                again, _, _ = await post(f"/api/games/{pin}/answers", body)
                dupes_accepted += again == 200

        async def crowd(index: int):
            """Each player answers after their think time. The sends are started when due, as
            independent phones would: 2,000 tasks woken together at the question's start cost
            this client's loop ~50 ms, and that landed on the first answers' latencies."""
            loop = asyncio.get_running_loop()
            start = loop.time()
            due = sorted(
                ((rnd.uniform(args.think_min, args.think_max), p) for p in players),
                key=lambda pair: pair[0],
            )
            sent = []
            for delay, p in due:
                wait = start + delay - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                sent.append(asyncio.create_task(answer(p, index)))
            await asyncio.gather(*sent)

        async def everyone(check, timeout=60.0):
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline:
                if all(check(p) for p in players):
                    return True
                await asyncio.sleep(0.01)
            return False

        lags: list[float] = []
        # This client's own collector: a full collection over 2,000 players' streams paused its
        # loop 100-200 ms mid-question, on top of the server's latencies. Collected and frozen
        # here, with young collections rarer, it stays out of the measurement.
        gc.collect()
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        lag_task = asyncio.create_task(loop_lag(lags))
        for index in range(args.questions):
            t0 = time.perf_counter()
            status, _, _ = await post(
                f"/api/games/{pin}/{'start' if index == 0 else 'next'}", {}, host
            )
            assert status == 200
            await everyone(lambda p, i=index: i in p.question_at)
            arrivals = [
                (p.question_at[index] - t0) * 1000 for p in players if index in p.question_at
            ]
            fanout_ms.extend(arrivals)
            fanout_max.append(max(arrivals))
            cpu_answers = server_cpu()
            await crowd(index)
            answer_cpu.append((server_cpu() - cpu_answers) * 1000 / args.players)
            if not await everyone(lambda p, i=index: i in p.reveal_me, timeout=10):
                await post(f"/api/games/{pin}/reveal", {}, host)  # not everyone got in
                await everyone(lambda p, i=index: i in p.reveal_me, timeout=30)
            await post(f"/api/games/{pin}/next", {}, host)  # the leaderboard

        lag_task.cancel()
        await post(f"/api/games/{pin}/end", {}, host)
        if trace:
            t0 = min(t for t, _ in trace)
            for t, ms in sorted(trace, key=lambda x: -x[1])[:25]:
                print(f"slow answer at +{t - t0:6.2f} s: {ms:6.1f} ms")
        async with session.get(
            f"{base}/api/games/{pin}/report", headers={"Authorization": f"Bearer {host}"}
        ) as res:
            report = await res.json()
        stop.set()
        await asyncio.sleep(0.5)
        for task in streams:
            task.cancel()

    by_nick = {r["nickname"]: r for r in report["players"]}
    accepted = sum(len(p.accepted) for p in players)
    recorded = sum(len(r["answers"]) for r in report["players"])
    lost = 0
    wrong_scores = 0
    for p in players:
        row = by_nick[p.nickname]
        got = {a["question_id"]: a for a in row["answers"]}
        lost += sum(1 for i in p.accepted if f"q{i + 1:02d}" not in got)
        if row["score"] != sum(a["points"] for a in row["answers"]):
            wrong_scores += 1
        last = p.reveal_me.get(args.questions - 1, {})
        if last.get("score") != row["score"]:
            wrong_scores += 1
    events_lost = sum(
        1
        for p in players
        for i in range(args.questions)
        if i not in p.question_at or i not in p.reveal_me
    )
    return {
        "players": args.players,
        "questions": args.questions,
        "join_s": join_s,
        "join_cpu_ms": join_cpu_ms,
        "answer_cpu_ms": sum(answer_cpu) / len(answer_cpu),
        "join_p50": pct(join_ms, 50),
        "join_p99": pct(join_ms, 99),
        "answer_p50": pct(answer_ms, 50),
        "answer_p99": pct(answer_ms, 99),
        "fanout_p50": pct(fanout_ms, 50),
        "fanout_p99": pct(fanout_ms, 99),
        "fanout_max": max(fanout_max),
        "answers_sent": len(answer_ms),
        "accepted": accepted,
        "recorded": recorded,
        "lost": lost,
        "double": dupes_accepted + max(0, recorded - accepted) + wrong_scores,
        "errors": errors,
        "events_lost": events_lost,
        "join_failed": join_failed,
        "client_lag_p99": pct(lags, 99),
        "client_lag_max": max(lags, default=float("nan")),
    }


def table(r: dict, args) -> str:
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    rows = [
        ("players x questions", f"{r['players']} x {r['questions']}", ""),
        (
            "served by",
            f"adventures run (gunicorn gevent, {args.workers} worker{'s' if args.workers > 1 else ''}"
            + (", GC tuned)" if args.tune_gc else ")"),
            "",
        ),
        (
            "database / bus",
            f"{'DATABASE_URL' if args.database_url else 'SQLite'} / "
            f"{'Redis stream' if args.redis else 'table log'}",
            "",
        ),
        ("all joined + streaming in", f"{r['join_s']:.1f} s (spread {args.join_spread:g} s)", ""),
        (
            "join p50 / p99",
            f"{r['join_p50']:.1f} / {r['join_p99']:.1f} ms"
            + (f"  refused {r['join_failed']} (0: connection failed)" if r["join_failed"] else ""),
            "",
        ),
        (
            "answer p50 / p99",
            f"{r['answer_p50']:.1f} / {r['answer_p99']:.1f} ms",
            ok(r["answer_p99"] <= GOALS["answer_p99_ms"]),
        ),
        (
            "fan-out p50 / p99 / max",
            f"{r['fanout_p50']:.0f} / {r['fanout_p99']:.0f} / {r['fanout_max']:.0f} ms",
            ok(r["fanout_p99"] <= GOALS["fanout_p99_ms"]),
        ),
        (
            "answers sent / accepted / recorded",
            f"{r['answers_sent']} / {r['accepted']} / {r['recorded']}"
            + (f"  refused {r['errors']} (0: connection failed)" if r["errors"] else ""),
            "",
        ),
        (
            "answers lost / double-counted",
            f"{r['lost']} / {r['double']}",
            ok(r["lost"] == 0 and r["double"] == 0),
        ),
        ("stream events lost", str(r["events_lost"]), ok(r["events_lost"] == 0)),
        (
            "load client's own loop lag p99 / max",
            f"{r['client_lag_p99']:.0f} / {r['client_lag_max']:.0f} ms (inside the latencies above)",
            "",
        ),
        (
            "server memory peak (gunicorn, all processes)",
            f"PSS {r['pss_web_mb']:.0f} MB; RSS summed {r['rss_web_mb']:.0f} MB, "
            f"largest process {r['rss_worker_mb']:.0f} MB",
            ok(r["pss_web_mb"] <= GOALS["rss_mb"] and r["rss_worker_mb"] <= GOALS["rss_mb"]),
        ),
        *(
            [
                (
                    "PostgreSQL connections, peak (max_connections 100)",
                    str(r["pg_peak"]),
                    ok(0 <= r["pg_peak"] <= 100),
                )
            ]
            if r.get("pg_peak") is not None
            else []
        ),
        (
            "server CPU per player: join+stream / answer",
            f"{r['join_cpu_ms']:.1f} / {r['answer_cpu_ms']:.1f} ms",
            "",
        ),
        (
            "CPU s: server / client / wall",
            f"{r['server_cpu_s']:.1f} / {r['client_cpu_s']:.1f} / {r['wall_s']:.1f}",
            "",
        ),
        ("load average (1 min, at end)", f"{r['load']:.1f} on {os.cpu_count()} cores", ""),
    ]
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    lines = [f"{'measure':<{width}}  {'value':<{vwidth}}  goal", "-" * (width + vwidth + 10)]
    lines += [f"{a:<{width}}  {b:<{vwidth}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--join-spread", type=float, default=10.0, help="joins spread over s")
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=8.0)
    parser.add_argument(
        "--spread",
        type=float,
        default=None,
        help="every player answers within this many seconds of the question (think 0..spread)",
    )
    parser.add_argument("--duplicates", type=float, default=0.03, help="share sending twice")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn web processes")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis", default=None, help="a REDIS_URL for the event bus")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--tune-gc", action="store_true", help="freeze start-up objects, fewer collections"
    )
    args = parser.parse_args()
    if args.spread is not None:
        args.think_min, args.think_max = 0.0, args.spread
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    result = asyncio.run(run(args))
    print(table(result, args))
    print(f"(server log and database in {result['workdir']})")


if __name__ == "__main__":
    main()
