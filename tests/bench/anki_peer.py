"""Peer for bench_flashcards.py: Anki's own scheduler on the same workload, in-process.

Run by bench_flashcards.py with /tmp/anki-venv/bin/python (the `anki` wheel, with
Anki's Rust backend); prints one JSON object to stdout. Anki is a desktop app with
no HTTP layer, so this times the library calls its reviewer makes: fetch the next
card with its four answer states (get_queued_cards) and answer it (answer_card).

    python anki_peer.py [--iterations 500] [--cards 10000] [--reviews 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from anki.buildinfo import version
from anki.collection import AddNoteRequest, Card, Collection  # anki.cards first is circular
from anki.scheduler.v3 import CardAnswer

DAY = 86400


def build(col: Collection, cards: int, reviews: int) -> int:
    """One deck shaped like bench_flashcards.build(): 35% new, 5% learning, 60% review."""
    rng = random.Random(7)
    col.set_config("fsrs", True)  # the collection-wide FSRS switch (deck options' toggle)
    did = col.decks.id("Ten thousand")
    conf = col.decks.config_dict_for_deck_id(did)
    conf["new"]["perDay"] = 20  # our default new_cards_per_day
    conf["rev"]["perDay"] = 9999  # we have no review limit
    col.decks.update_config(conf)
    col.decks.select(did)
    basic = col.models.by_name("Basic")
    requests = []
    for i in range(cards):
        note = col.new_note(basic)
        note["Front"], note["Back"] = f"Question {i}?", f"Answer <b>{i}</b>"
        note.tags = ["bench"]
        requests.append(AddNoteRequest(note=note, deck_id=did))
    col.add_notes(requests)
    ids = col.db.list("select id from cards where did = ? order by id", did)
    now, today = int(time.time()), col.sched.today
    updates = []
    for i, cid in enumerate(ids[3_500:], start=3_500):
        if i < 4_000:  # learning / relearning, due within an hour either side of now
            kind = rng.choice((1, 3))
            due, ivl, data = now + int(rng.uniform(-3600, 3600)), 0, (1.5, 5.0, now - 1200)
            updates.append((kind, 1, due, ivl, 3, 1, _data(*data), cid))
        else:  # review, some overdue, most in the future
            due = today + int(rng.uniform(-30, 365))
            data = (rng.uniform(2, 200), rng.uniform(1, 10), now - 10 * DAY)
            updates.append((2, 2, due, max(1, int(data[0])), 8, 0, _data(*data), cid))
    col.db.executemany(
        "update cards set type=?, queue=?, due=?, ivl=?, reps=?, left=?, data=?, "
        "factor=2500, mod=? where id=?",
        [(*u[:7], now, u[7]) for u in updates],
    )
    reviewed = ids[3_500:]
    stamps = rng.sample(range((now - 365 * DAY) * 1000, now * 1000), reviews)
    col.db.executemany(
        "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
        "values (?, ?, -1, ?, 3, 1, 2500, 4000, 1)",
        [(ms, rng.choice(reviewed), rng.choice((1, 3, 3, 3, 4))) for ms in stamps],
    )
    return did


def _data(stability: float, difficulty: float, last_review: int) -> str:
    """FSRS memory state as Anki keeps it in cards.data."""
    return json.dumps({"s": round(stability, 4), "d": round(difficulty, 3), "lrt": last_review})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="anki-bench-"))
    col = Collection(str(folder / "collection.anki2"))
    try:
        started = time.perf_counter()
        build(col, args.cards, args.reviews)
        built = time.perf_counter() - started
        counts = {
            "cards": col.db.scalar("select count() from cards"),
            "revlog": col.db.scalar("select count() from revlog"),
        }
        wall: dict[str, list[float]] = {"next": [], "answer": []}
        cpu: dict[str, list[float]] = {"next": [], "answer": []}
        answered: dict[str, int] = {}
        for i in range(args.iterations + 20):  # the first 20 warm caches and are not counted
            t0, c0 = time.perf_counter(), time.process_time()
            queued = col.sched.get_queued_cards(fetch_limit=1)
            t1, c1 = time.perf_counter(), time.process_time()
            if not queued.cards:
                raise SystemExit(f"Anki's queue ran dry after {i} answers")
            top = queued.cards[0]
            card = Card(col, backend_card=top.card)
            card.start_timer()  # as the reviewer does when it shows the question
            answer = col.sched.build_answer(card=card, states=top.states, rating=CardAnswer.GOOD)
            t2, c2 = time.perf_counter(), time.process_time()
            col.sched.answer_card(answer)
            t3, c3 = time.perf_counter(), time.process_time()
            if i >= 20:
                wall["next"].append((t1 - t0) * 1000)
                wall["answer"].append((t3 - t2) * 1000)
                cpu["next"].append((c1 - c0) * 1000)
                cpu["answer"].append((c3 - c2) * 1000)
                kind = ("new", "learning", "review")[top.queue]
                answered[kind] = answered.get(kind, 0) + 1
        fsrs = col.db.scalar("select count() from cards where data like '%\"s\":%'")
    finally:
        col.close()
        shutil.rmtree(folder, ignore_errors=True)
    json.dump(
        {
            "version": version,
            "built_s": built,
            **counts,
            "cards_with_fsrs_state": fsrs,
            "answered": answered,
            "wall_ms": wall,
            "cpu_ms": cpu,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
