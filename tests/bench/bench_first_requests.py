"""Benchmark: the first request of each kind after a cold start, and log-ins/registrations.

Each round starts `adventures run` afresh (gunicorn with gevent workers plus the grading
worker, as `make run` does) on a fresh instance folder: `db upgrade`, `seed --no-compute`
and `users add` run once into a template folder that each round copies, so every round
starts from the same files. Then, over plain HTTP with one cookie jar per browser and the
whole redirect chain a browser follows counted in each step:

- first request: GET / as soon as `adventures run` prints "Adventures is at ..." (what a
  newcomer opens, at the moment they are told to);
- registration: POST /register (the form page fetched first, untimed) and its redirect;
- log-in: POST /login and its redirect, after logging out;
- first notebook upload: POST /exercises/<slug> with the exercise's starter notebook, and
  the redirect to its submission page;
- executed-notebook view: GET /submissions/<id>/notebook once the worker graded it;
- first game join: the join form's POST /api/games/<pin>/join and the /play/<pin> page the
  browser goes to next (the instructor's game is made through the API first, untimed);
- first guest flashcard: with no cookies, GET /flashcards (the deck list), the first shared
  deck's /flashcards/practice/<deck> and the cards JSON that page fetches.

The first of each kind is timed in every round; log-ins and registrations are also
repeated (--repeats each per round). The table shows p50 and p90/max over the rounds
against the goal (300 ms); the exit status is 1 when a goal is missed. On a shared
2-core machine other processes' load shows up as latency: the load average is printed.

Run: .venv/bin/python tests/bench/bench_first_requests.py [--rounds 5] [--repeats 5]
     [--keep]
`adventures run` preloads the app in gunicorn's master (server/serve.py), so the port answers
only once the app is loaded and warm.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from measure import free_port, pct  # tests/bench/measure.py: the script's own folder

ROOT = Path(__file__).resolve().parents[2]
SLUG = "c3w1-tokenizer"
PASSWORD = "bench password 123"
MEMBER_PASSWORD = "purple elephant marmalade 42"
GOAL_MS = 300.0
READY = b"Adventures is at http"
GRADING_TIMEOUT_S = 300
BANK = (
    "Question,Answer 1,Answer 2,Answer 3,Answer 4,Time limit (sec),Correct answer(s)\n"
    "Which is right?,right,wrong one,wrong two,wrong three,30,1\n"
)
STEPS = (
    ("first", "first request after start (GET /)"),
    ("register_first", "registration, first"),
    ("register", "registration, repeated"),
    ("login_first", "log-in, first"),
    ("login", "log-in, repeated"),
    ("upload", "first notebook upload + redirect"),
    ("notebook", "executed-notebook view (first)"),
    ("join", "first game join (POST join + /play/<pin>)"),
    ("flashcard", "first guest flashcard (list, page, cards)"),
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_PRACTICE = re.compile(r'href="/flashcards/practice/(\d+)"')


def base_env(instance: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        ADVENTURES_INSTANCE=str(instance),
        DATABASE_URL=f"sqlite:///{instance / 'bench.db'}",
        SECRET_KEY="bench",
        AUTH_RATE_LIMIT="1000000 per minute",
        SUBMISSION_RATE_LIMIT="1000000 per minute",
        GAME_JOIN_RATE_LIMIT="1000000 per minute",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    return env


def make_template(workdir: Path) -> Path:
    """Migrated, seeded (no TensorFlow) instance with the instructor `bench`: copied per round."""
    template = workdir / "template"
    template.mkdir()
    env = base_env(template)
    with open(workdir / "setup.log", "wb") as log:

        def cli(*argv, stdin=None):
            subprocess.run(
                [sys.executable, "-m", "server.cli", *argv],
                cwd=ROOT,
                env=env,
                input=stdin,
                check=True,
                stdout=log,
                stderr=log,
            )

        cli("db", "upgrade")
        cli("seed", "--no-compute")
        cli(
            "users",
            "add",
            "bench",
            "--instructor",
            "--password-stdin",
            stdin=f"{PASSWORD}\n".encode(),
        )
    return template


class Server:
    """`adventures run` on a copy of the template, in its own process group."""

    def __init__(self, template: Path, instance: Path) -> None:
        shutil.copytree(template, instance)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = base_env(instance)
        self.log = open(instance / "server.log", "wb")  # noqa: SIM115

    def start(self) -> float:
        """Start it; return when it prints its address (seconds after the launch)."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run", "--host", "127.0.0.1"]
            + ["--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        log = Path(self.log.name)
        while time.monotonic() < deadline:
            if READY in log.read_bytes():  # what a user is told to open, when it is told
                return time.perf_counter() - t0
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise SystemExit(f"the server did not start; see {self.log.name}")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def timed(fn) -> tuple[float, requests.Response]:
    t = time.perf_counter()
    res = fn()
    return (time.perf_counter() - t) * 1000, res


def ok(res: requests.Response, what: str, final: str | None = None) -> requests.Response:
    if res.status_code >= 400 or (final and not res.url.split("?")[0].endswith(final)):
        raise SystemExit(f"{what}: {res.status_code} at {res.url}\n{res.text[:500]}")
    return res


def csrf(page: requests.Response) -> str:
    found = _CSRF.search(page.text) or _META_CSRF.search(page.text)
    if not found:
        raise SystemExit(f"no CSRF token on {page.url}")
    return found.group(1)


class Browser:
    """One cookie jar; requests follows the redirects a browser would."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.s = requests.Session()

    def get(self, path: str, **kw) -> requests.Response:
        return self.s.get(self.base + path, timeout=120, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.s.post(self.base + path, timeout=120, **kw)

    def register(self, username: str) -> float:
        token = csrf(ok(self.get("/register"), "register form"))
        form = {"csrf_token": token, "username": username, "password": MEMBER_PASSWORD}
        ms, res = timed(lambda: self.post("/register", data=form))
        ok(res, "register", final="/")
        return ms

    def logout(self) -> None:
        token = csrf(ok(self.get("/"), "home"))
        ok(self.post("/logout", data={"csrf_token": token}), "logout")

    def login(self, username: str, password: str = MEMBER_PASSWORD) -> float:
        token = csrf(ok(self.get("/login"), "login form"))
        form = {"csrf_token": token, "username": username, "password": password}
        ms, res = timed(lambda: self.post("/login", data=form))
        ok(res, "login", final="/")
        return ms


def one_round(template: Path, workdir: Path, n: int, args) -> dict[str, list[float]]:
    repeats = args.repeats
    server = Server(template, workdir / f"round{n}")
    got: dict[str, list[float]] = {key: [] for key, _ in STEPS}
    got["port_open_s"] = [server.start()]
    base = server.base
    try:
        alice = Browser(base)
        ms, _ = timed(lambda: ok(alice.get("/"), "first request"))
        got["first"].append(ms)

        got["register_first"].append(alice.register(f"alice{n}"))
        for i in range(repeats):
            got["register"].append(Browser(base).register(f"member{n}x{i}"))

        alice.logout()
        got["login_first"].append(alice.login(f"alice{n}"))
        for _ in range(repeats):
            alice.logout()
            got["login"].append(alice.login(f"alice{n}"))

        # Trivia: the instructor makes a game through the API (untimed); a phone joins.
        host = requests.Session()
        res = ok(
            host.post(f"{base}/api/auth/token", json={"username": "bench", "password": PASSWORD}),
            "token",
        )
        auth = {"Authorization": f"Bearer {res.json()['token']}"}
        ok(
            host.post(
                f"{base}/api/quizzes",
                json={"slug": "bench", "title": "Bench bank", "csv": BANK},
                headers=auth,
            ),
            "bank",
        )
        game = ok(
            host.post(f"{base}/api/games", json={"quiz": "bench", "mode": "host"}, headers=auth),
            "game",
        ).json()
        phone = Browser(base)
        ok(phone.get("/play"), "join form")  # the page with the form, before the timed join
        pin = game["pin"]

        def join():
            res = ok(phone.post(f"/api/games/{pin}/join", json={"nickname": f"p{n}"}), "join")
            return ok(phone.get(f"/play/{pin}"), "player page"), res

        got["join"].append(timed(join)[0])

        # Guest flashcards: the deck list, a shared deck's practice page, its cards.
        guest = Browser(base)

        def practise():
            deck = _PRACTICE.search(ok(guest.get("/flashcards"), "flashcards").text)
            if not deck:
                raise SystemExit("no shared deck to practise; did the seed run?")
            page = ok(guest.get(f"/flashcards/practice/{deck.group(1)}"), "practice page")
            url = re.search(r'data-cards-url="([^"]+)"', page.text).group(1)
            return ok(guest.get(url), "cards")

        got["flashcard"].append(timed(practise)[0])

        # The first notebook upload, then its executed notebook once graded.
        page = ok(alice.get(f"/exercises/{SLUG}"), "exercise page")
        starter = (ROOT / "exercises" / SLUG / "starter.ipynb").read_bytes()
        ms, res = timed(
            lambda: alice.post(
                f"/exercises/{SLUG}",
                data={"csrf_token": csrf(page)},
                files={"notebook": ("starter.ipynb", starter, "application/x-ipynb+json")},
            )
        )
        ok(res, "upload")
        got["upload"].append(ms)
        sub_id = int(res.url.rstrip("/").split("/")[-1])
        deadline = time.monotonic() + GRADING_TIMEOUT_S
        while True:
            doc = ok(alice.get(f"/api/submissions/{sub_id}"), "submission").json()
            if doc["status"] in ("graded", "error"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"submission {sub_id} not graded in {GRADING_TIMEOUT_S} s")
            time.sleep(0.5)
        if not doc.get("has_executed_notebook"):
            raise SystemExit(f"submission {sub_id} has no executed notebook: {json.dumps(doc)}")
        ms, _ = timed(lambda: ok(alice.get(f"/submissions/{sub_id}/notebook"), "notebook"))
        got["notebook"].append(ms)
    finally:
        server.stop()
    return got


def table(results: dict[str, list[float]], args, loads: list[float]) -> tuple[str, bool]:
    rows = [("step", "p50", "p90 / max", "goal", "")]
    missed = False
    for key, label in STEPS:
        values = results[key]
        good = pct(values, 50) < GOAL_MS
        missed |= not good
        rows.append(
            (
                f"{label} (n={len(values)})",
                f"{pct(values, 50):.0f} ms",
                f"{pct(values, 90):.0f} / {max(values):.0f} ms",
                f"< {GOAL_MS:.0f} ms",
                "ok" if good else "MISSED",
            )
        )
    ports = results["port_open_s"]
    rows.append(
        (
            "address printed after launch",
            f"{pct(ports, 50):.1f} s",
            f"max {max(ports):.1f} s",
            "",
            "",
        )
    )
    rows.append(
        (
            "load average (1 min) at round starts",
            " ".join(f"{x:.1f}" for x in loads),
            f"on {os.cpu_count()} cores",
            "",
            "",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    head = f"Cold starts of `adventures run` (gevent worker + grading worker): {args.rounds} rounds"
    return head + "\n" + "\n".join(lines), not missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="extra log-ins/registrations")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-first-"))
    results: dict[str, list[float]] = {}
    loads: list[float] = []
    try:
        template = make_template(workdir)
        for n in range(args.rounds):
            loads.append(os.getloadavg()[0])
            got = one_round(template, workdir, n, args)
            for key, values in got.items():
                results.setdefault(key, []).extend(values)
            print(
                f"round {n + 1}: "
                + ", ".join(f"{k} {v[0]:.0f}" for k, v in got.items() if v and k != "port_open_s")
                + " ms",
                flush=True,
            )
    finally:
        if args.keep:
            print(f"work folder: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text, good = table(results, args, loads)
    print(text)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
