"""Benchmark: `next` and `reviews` for a member with 10,000 cards and 100,000 reviews.

Run: .venv/bin/python tests/bench/bench_flashcards.py [--requests N]
     (DATABASE_URL=postgresql://... to run it on PostgreSQL; default a fresh SQLite file)

Each request goes through the whole stack (Flask test client, bearer token,
JSON), as a study session does: GET next, then POST a rating for that card.
The goal is p99 <= 20 ms for both; the exit status is 1 when it is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
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
from server.services.flashcards import day_number  # noqa: E402

CARDS = 10_000
REVIEWS = 100_000
GOAL_MS = 20.0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
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
    timings: dict[str, list[float]] = {
        "GET /api/decks/<id>/next": [],
        "POST /api/cards/<id>/reviews": [],
    }
    for i in range(args.requests + 20):  # the first 20 warm caches and are not counted
        t0 = time.perf_counter()
        res = client.get(f"/api/decks/{deck_id}/next", headers=headers)
        t1 = time.perf_counter()
        assert res.status_code == 200, res.status_code
        card_id = res.get_json()["id"]
        res = client.post(
            f"/api/cards/{card_id}/reviews", json={"rating": rng.choice(ratings)}, headers=headers
        )
        t2 = time.perf_counter()
        assert res.status_code == 200, res.get_json()
        if i >= 20:
            timings["GET /api/decks/<id>/next"].append((t1 - t0) * 1000)
            timings["POST /api/cards/<id>/reviews"].append((t2 - t1) * 1000)
    t0 = time.perf_counter()
    assert client.get("/api/decks", headers=headers).status_code == 200
    decks_ms = (time.perf_counter() - t0) * 1000

    print(
        f"\n{'route':32} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  goal p99 <= {GOAL_MS:g} ms"
    )
    ok = True
    for name, samples in timings.items():
        p99 = percentile(samples, 99)
        ok &= p99 <= GOAL_MS
        print(
            f"{name:32} {len(samples):5d} {statistics.median(samples):8.2f} {percentile(samples, 95):8.2f} "
            f"{p99:8.2f} {max(samples):8.2f}  {'ok' if p99 <= GOAL_MS else 'MISSED'}"
        )
    print(f"{'GET /api/decks (once)':32} {1:5d} {decks_ms:8.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
