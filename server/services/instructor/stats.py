"""Per-exercise statistics: attempts, pass rates per check, and a histogram of members' best scores."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from server.extensions import db
from server.models.exercise import Exercise
from server.models.submission import BestScore, Submission
from server.services import live
from server.services.live import channels

BINS = 10
MAX_RESULTS_READ = 20_000  # per-check rates read result documents; cap the work per page view
CATCH_UP_MAX = 500  # more submission events than this since the last count: count everything


def overview() -> list[dict[str, Any]]:
    """One row per active exercise, kept per process and brought up to date per change.

    A full GROUP BY reads every submission row (100,000 at the benchmark's size), so it runs
    once; afterwards only the exercises that new or newly graded submissions belong to are
    counted again (their bus events name them).
    """
    stamp = _stamp()
    state = current_app.extensions.setdefault(
        "adventures.exercise_stats", {"lock": threading.Lock()}
    )
    with state["lock"]:
        cached = state.get("overview")
        if cached is None or cached["stamp"][2:] != stamp[2:]:
            cached = {"stamp": stamp, "counts": _counts(None)}
        elif cached["stamp"] != stamp:
            changed = _changed_exercises(cached["stamp"], stamp)
            if changed is None:
                cached = {"stamp": stamp, "counts": _counts(None)}
            else:
                fresh = _counts(sorted(changed))
                for exercise_id in changed:
                    cached["counts"].pop(exercise_id, None)
                cached["counts"].update(fresh)
                cached["stamp"] = stamp
        cached["listing"] = _listing(cached["counts"])
        state["overview"] = cached
        return cached["listing"]


def _stamp() -> tuple:
    """(newest submission id, the bus's head, active exercises, catalog change time).

    Every grading, override and regrade publishes on a submission channel, so the bus's head
    stamps them and since() tells which exercises moved.
    """
    head = live.bus().head()
    row = db.session.execute(
        select(
            select(func.max(Submission.id)).scalar_subquery(),
            select(func.count(Exercise.id)).where(Exercise.active.is_(True)).scalar_subquery(),
            select(func.max(Exercise.updated_at)).scalar_subquery(),
        )
    ).one()
    return (row[0], head, row[1], row[2])


def _changed_exercises(before: tuple, now: tuple) -> set[int] | None:
    """Exercises with new submissions or submission events since `before`; None: count all."""
    changed = set(
        db.session.scalars(
            select(Submission.exercise_id).where(Submission.id > (before[0] or 0)).distinct()
        )
    )
    found = live.bus().since(
        channels.SUBMISSION_PREFIX, before[1], prefix=True, limit=CATCH_UP_MAX + 1
    )
    if len(found) > CATCH_UP_MAX:
        return None
    # status and graded events carry the exercise's slug; progress events carry none (skipped)
    slugs = {event.data.get("exercise") for event in found} - {None}
    if slugs:
        changed |= set(db.session.scalars(select(Exercise.id).where(Exercise.slug.in_(slugs))))
    return changed


def _counts(exercise_ids: list[int] | None) -> dict[int, dict[str, Any]]:
    """{exercise_id: attempts, members, graded, errors, pending, full marks, mean, solved_by}."""
    graded = Submission.status == "graded"
    full = case((graded & (Submission.score >= Submission.max_score - 1e-9), 1), else_=0)
    query = select(
        Submission.exercise_id,
        func.count(Submission.id),
        func.count(func.distinct(Submission.user_id)),
        func.sum(case((graded, 1), else_=0)),
        func.sum(case((Submission.status == "error", 1), else_=0)),
        func.sum(case((Submission.status.in_(("queued", "running")), 1), else_=0)),
        func.sum(full),
        func.avg(case((graded, Submission.score), else_=None)),
    ).group_by(Submission.exercise_id)
    solved = (
        select(BestScore.exercise_id, func.count(BestScore.id))
        .join(Exercise, Exercise.id == BestScore.exercise_id)
        .where(BestScore.score >= Exercise.points - 1e-9)
        .group_by(BestScore.exercise_id)
    )
    if exercise_ids is not None:
        query = query.where(Submission.exercise_id.in_(exercise_ids))
        solved = solved.where(BestScore.exercise_id.in_(exercise_ids))
    solved_by = dict(db.session.execute(solved).all())
    out = {}
    for eid, attempts, members, graded_n, errors, pending, full_n, mean in db.session.execute(
        query
    ):
        out[eid] = {
            "attempts": int(attempts),
            "members": int(members),
            "graded": int(graded_n or 0),
            "errors": int(errors or 0),
            "pending": int(pending or 0),
            "full_marks": int(full_n or 0),
            "mean": float(mean) if mean is not None else None,
            "solved_by": int(solved_by.get(eid, 0)),
        }
    return out


def _listing(counts: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    exercises = db.session.execute(
        select(
            Exercise.id,
            Exercise.slug,
            Exercise.title,
            Exercise.kind,
            Exercise.week,
            Exercise.points,
            Exercise.version,
        )
        .where(Exercise.active.is_(True))
        .order_by(Exercise.week, Exercise.position, Exercise.slug)
    )
    out = []
    for e in exercises:
        c = counts.get(e.id) or {}
        graded_n = c.get("graded", 0)
        out.append(
            {
                "slug": e.slug,
                "title": e.title,
                "kind": e.kind,
                "week": e.week,
                "points": e.points,
                "version": e.version,
                "attempts": c.get("attempts", 0),
                "members": c.get("members", 0),
                "graded": graded_n,
                "errors": c.get("errors", 0),
                "pending": c.get("pending", 0),
                "pass_rate": round(c["full_marks"] / graded_n, 4) if graded_n else None,
                "mean_score": round(c["mean"], 4) if c.get("mean") is not None else None,
                "solved_by": c.get("solved_by", 0),
            }
        )
    return out


def exercise_stats(exercise: Exercise) -> dict[str, Any]:
    """The exercise's summary, each check's pass rate over graded attempts, and the histogram."""
    summary = next((row for row in overview() if row["slug"] == exercise.slug), None)
    checks: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    results = db.session.scalars(
        select(Submission.result)
        .where(Submission.exercise_id == exercise.id, Submission.status == "graded")
        .order_by(Submission.id.desc())
        .limit(MAX_RESULTS_READ)
    )
    for doc in results:
        for test in (doc or {}).get("tests", []):
            name = str(test.get("name", "?"))
            if name not in checks:
                checks[name] = {"name": name, "attempts": 0, "passed": 0}
                order.append(name)
            checks[name]["attempts"] += 1
            passed = test.get("status") == "passed" or (
                test.get("max_score") and test.get("score", 0) >= test["max_score"] - 1e-9
            )
            checks[name]["passed"] += int(bool(passed))
    for row in checks.values():
        row["pass_rate"] = round(row["passed"] / row["attempts"], 4) if row["attempts"] else None
    return {
        "exercise": summary
        or {"slug": exercise.slug, "title": exercise.title, "points": exercise.points},
        "checks": [checks[name] for name in order],
        "histogram": histogram(exercise),
    }


def histogram(exercise: Exercise, bins: int = BINS) -> dict[str, Any]:
    """Members' best scores in `bins` equal bins over 0..points (the last bin holds full marks)."""
    counts = [0] * bins
    width = exercise.points / bins
    by_bin: dict[int, int] = defaultdict(int)
    for (score,) in db.session.execute(
        select(BestScore.score).where(BestScore.exercise_id == exercise.id)
    ):
        by_bin[min(bins - 1, max(0, int(score / width + 1e-9)))] += 1
    for index, n in by_bin.items():
        counts[index] = n
    labels = [f"{i * width:g}–{(i + 1) * width:g}" for i in range(bins)]
    return {"labels": labels, "counts": counts, "members": sum(counts)}
