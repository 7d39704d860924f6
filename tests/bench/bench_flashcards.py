"""Benchmark: `next` and `reviews` for a member with 10,000 cards and 100,000 reviews.

Run: .venv/bin/python tests/bench/bench_flashcards.py [--requests N] [--skip-anki]
     (DATABASE_URL=postgresql://... to run it on PostgreSQL; default a fresh SQLite file)

Each request goes through the whole stack (Flask test client, bearer token,
JSON), as a study session does: GET next, then POST a rating for that card.
The goal is p99 <= 20 ms (wall clock) for both; the exit status is 1 when it
is missed. The CPU-time column is the same request's CPU time in this process:
on a busy machine (load average printed) it shows what the code itself costs.

The peer is Anki: tests/bench/anki_peer.py runs the real `anki` package (Anki's
Rust backend, FSRS on) on the same shape of collection, in its own venv
(/tmp/anki-venv, created with `python -m venv` and `pip install anki` on first
use). Anki has no HTTP layer, so its rows are in-process library calls.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_TMP = tempfile.mkdtemp(prefix="adventures-bench-")
os.environ.setdefault("ADVENTURES_INSTANCE", _TMP)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert  # noqa: E402

from server import create_app  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models.deck import Card, CardState, Deck, Review  # noqa: E402
from server.services import accounts  # noqa: E402
from server.services.flashcards.base import day_number  # noqa: E402
from tests.bench.peer_venv import ensure_venv  # noqa: E402

CARDS = 10_000
REVIEWS = 100_000
GOAL_MS = 20.0
ANKI_VENV = Path("/tmp/anki-venv")
ANKI_PEER = Path(__file__).with_name("anki_peer.py")


def build(app) -> tuple[str, int]:
    """A member with one deck of 10,000 cards in every state and a year of review log."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with app.app_context():
        user = accounts.create_user("bench", "bench-password-1")
        token = accounts.issue_token(user)
        deck = Deck(kind="own", owner_id=user.id, title="Ten thousand")
        db.session.add(deck)
        db.session.flush()
        created = now - timedelta(days=400)
        db.session.execute(
            insert(Card),
            [
                {
                    "deck_id": deck.id,
                    "front": f"Question {i}?",
                    "back": f"Answer **{i}**",
                    "tags": "bench",
                    "retired": False,
                    "created_at": created,
                    "updated_at": created,
                }
                for i in range(CARDS)
            ],
        )
        card_ids = [
            c for (c,) in db.session.execute(db.select(Card.id).where(Card.deck_id == deck.id))
        ]
        states = []
        for i, card_id in enumerate(card_ids):
            row = {
                "user_id": user.id,
                "card_id": card_id,
                "deck_id": deck.id,
                "reps": 0,
                "lapses": 0,
                "step": None,
                "stability": None,
                "difficulty": None,
                "last_review": None,
            }
            if i < 3_500:  # new
                row.update(state=0, due=created + timedelta(seconds=i))
            elif i < 4_000:  # learning / relearning, due around now
                row.update(
                    state=rng.choice((1, 3)),
                    step=0,
                    stability=1.5,
                    difficulty=5.0,
                    reps=3,
                    due=now + timedelta(minutes=rng.uniform(-60, 60)),
                    last_review=now - timedelta(minutes=20),
                )
            else:  # review, some overdue, most in the future
                row.update(
                    state=2,
                    stability=rng.uniform(2, 200),
                    difficulty=rng.uniform(1, 10),
                    reps=8,
                    due=now + timedelta(days=rng.uniform(-30, 365)),
                    last_review=now - timedelta(days=10),
                )
            states.append(row)
        db.session.execute(insert(CardState), states)
        reviews = []
        for _ in range(REVIEWS):
            at = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
            reviews.append(
                {
                    "user_id": user.id,
                    "card_id": rng.choice(card_ids[3_500:]),
                    "deck_id": deck.id,
                    "rating": rng.choice((1, 3, 3, 3, 4)),
                    "state_before": 2,
                    "reviewed_at": at,
                    "day": day_number(at),
                    "due_after": at + timedelta(days=3),
                    "duration_ms": 4000,
                }
            )
        db.session.execute(insert(Review), reviews)
        db.session.commit()
        return token, deck.id


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_anki(iterations: int) -> dict | str:
    """Anki's numbers (a dict), or why there are none (a str): the peer is optional."""
    try:
        python = ensure_venv(ANKI_VENV, "import anki.collection", ["anki"])
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"could not install anki into {ANKI_VENV} ({exc})"
    command = [str(python), str(ANKI_PEER), "--iterations", str(iterations)]
    command += ["--cards", str(CARDS), "--reviews", str(REVIEWS)]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"anki_peer.py failed: {proc.stderr.strip().splitlines()[-1:]}"
    return json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--skip-anki", action="store_true", help="leave out the Anki peer")
    args = parser.parse_args()
    config = {"TESTING": True, "RATELIMIT_STORAGE_URI": "memory://"}
    if not os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{_TMP}/bench.db"
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    started = time.perf_counter()
    token, deck_id = build(app)
    print(
        f"built {CARDS:,} cards, {REVIEWS:,} reviews in {time.perf_counter() - started:.1f} s "
        f"on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}"
    )

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    ratings = ["again", "hard", "good", "good", "good", "easy"]
    rng = random.Random(3)
    names = ("GET /api/decks/<id>/next", "POST /api/cards/<id>/reviews")
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for i in range(args.requests + 20):  # the first 20 warm caches and are not counted
        t0, c0 = time.perf_counter(), time.process_time()
        res = client.get(f"/api/decks/{deck_id}/next", headers=headers)
        t1, c1 = time.perf_counter(), time.process_time()
        assert res.status_code == 200, res.status_code
        card_id = res.get_json()["id"]
        t2, c2 = time.perf_counter(), time.process_time()
        res = client.post(
            f"/api/cards/{card_id}/reviews", json={"rating": rng.choice(ratings)}, headers=headers
        )
        t3, c3 = time.perf_counter(), time.process_time()
        assert res.status_code == 200, res.get_json()
        if i >= 20:
            wall[names[0]].append((t1 - t0) * 1000)
            wall[names[1]].append((t3 - t2) * 1000)
            cpu[names[0]].append((c1 - c0) * 1000)
            cpu[names[1]].append((c3 - c2) * 1000)
    # The floor under both: an authenticated route that does almost nothing (token check, JSON).
    floor = []
    for _ in range(200):
        t0 = time.perf_counter()
        assert client.get("/api/flashcards/settings", headers=headers).status_code == 200
        floor.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    assert client.get("/api/decks", headers=headers).status_code == 200
    decks_ms = (time.perf_counter() - t0) * 1000
    again = []
    for _ in range(20):
        t0 = time.perf_counter()
        assert client.get("/api/decks", headers=headers).status_code == 200
        again.append((time.perf_counter() - t0) * 1000)

    anki = "--skip-anki given" if args.skip_anki else bench_anki(args.requests)
    W = 46  # the label column

    def line(label: str, samples: list[float], cpu_ms: list[float], verdict: str) -> str:
        cols = (statistics.median(samples), percentile(samples, 95), percentile(samples, 99))
        cols += (max(samples), statistics.median(cpu_ms), percentile(cpu_ms, 99))
        return f"{label:{W}} {len(samples):4d} " + " ".join(f"{v:8.2f}" for v in cols) + verdict

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average {load:.2f} on {os.cpu_count()} CPUs; goal p99 <= {GOAL_MS:g} ms (ours)")
    head = ("route", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "cpu p50", "cpu p99", "goal")
    print(f"{head[0]:{W}} {head[1]:>4} " + " ".join(f"{h:>8}" for h in head[2:8]) + f"  {head[8]}")
    peer_ops = {names[0]: ("next", "next card"), names[1]: ("answer", "answer Good")}
    ok = True
    for name in names:
        p99 = percentile(wall[name], 99)
        ok &= p99 <= GOAL_MS
        verdict = "  ok" if p99 <= GOAL_MS else "  MISSED"
        print(line(f"Adventures (HTTP) {name}", wall[name], cpu[name], verdict))
        if isinstance(anki, dict):
            op, what = peer_ops[name]
            label = f"Anki {anki['version']} (in-process, FSRS) {what}"
            print(line(label, anki["wall_ms"][op], anki["cpu_ms"][op], "  (peer)"))
    print(
        f"{'GET /api/flashcards/settings':{W}} {len(floor):4d} {statistics.median(floor):8.2f}"
        f" {percentile(floor, 95):8.2f} {percentile(floor, 99):8.2f} {max(floor):8.2f}  (floor)"
    )
    print(f"{'GET /api/decks (first, syncs)':{W}} {1:4d} {decks_ms:8.2f}")
    print(f"{'GET /api/decks (again)':{W}} {len(again):4d} {statistics.median(again):8.2f}")
    print(
        "ours: Adventures over HTTP (Flask test client: routing, bearer token, JSON, "
        f"SQLAlchemy on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}), mixed ratings"
    )
    if isinstance(anki, dict):
        mix = ", ".join(f"{n} {k}" for k, n in sorted(anki["answered"].items()))
        print(
            f"peer: Anki {anki['version']} in-process, no HTTP layer (a desktop app): "
            "get_queued_cards(fetch_limit=1) and answer_card(Good), Rust backend on SQLite, "
            f"FSRS on; {anki['cards']:,} cards, {anki['revlog']:,} revlog rows "
            f"(built in {anki['built_s']:.1f} s); answered {mix}"
        )
    else:
        print(f"peer: Anki skipped: {anki}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
