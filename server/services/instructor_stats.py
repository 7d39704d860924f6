"""Per-exercise statistics: attempts, pass rates per check, and a histogram of members' best scores."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from server.extensions import db
from server.models.exercise import Exercise
from server.models.submission import BestScore, Submission

BINS = 10
MAX_RESULTS_READ = 20_000  # per-check rates read result documents; cap the work per page view


def overview() -> list[dict[str, Any]]:
    """One row per active exercise; cached until a submission arrives or is graded.

    The GROUP BY reads every submission row (100,000 at the benchmark's size), so it runs
    once per change rather than once per page view.
    """
    stamp = _stamp()
    cache = current_app.extensions.setdefault("adventures.exercise_stats", {})
    hit = cache.get("overview")
    if stamp is None or hit is None or hit[0] != stamp:
        hit = (stamp, _overview())
        cache["overview"] = hit
    return hit[1]


def _stamp() -> tuple | None:
    """Changes whenever a submission is added, graded, regraded or overridden; None when unknown.

    Every grading, override and regrade publishes on the event bus; with the table log its
    newest id stamps them. (With the Redis bus there is no table to read: nothing is cached.)
    """
    from server.models.bus import BusEvent
    from server.services.events import TableLog, bus

    if not isinstance(bus().log, TableLog):
        return None
    row = db.session.execute(
        select(
            select(func.max(Submission.id)).scalar_subquery(),
            select(func.max(BusEvent.id)).scalar_subquery(),
            select(func.count(Exercise.id)).where(Exercise.active.is_(True)).scalar_subquery(),
            select(func.max(Exercise.updated_at)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def _overview() -> list[dict[str, Any]]:
    graded = Submission.status == "graded"
    full = case((graded & (Submission.score >= Submission.max_score - 1e-9), 1), else_=0)
    rows = {
        r.exercise_id: r
        for r in db.session.execute(
            select(
                Submission.exercise_id,
                func.count(Submission.id).label("attempts"),
                func.count(func.distinct(Submission.user_id)).label("members"),
                func.sum(case((graded, 1), else_=0)).label("graded"),
                func.sum(case((Submission.status == "error", 1), else_=0)).label("errors"),
                func.sum(case((Submission.status.in_(("queued", "running")), 1), else_=0)).label(
                    "pending"
                ),
                func.sum(full).label("full_marks"),
                func.avg(case((graded, Submission.score), else_=None)).label("mean"),
            ).group_by(Submission.exercise_id)
        )
    }
    solved = dict(
        db.session.execute(
            select(BestScore.exercise_id, func.count(BestScore.id))
            .join(Exercise, Exercise.id == BestScore.exercise_id)
            .where(BestScore.score >= Exercise.points - 1e-9)
            .group_by(BestScore.exercise_id)
        ).all()
    )
    exercises = db.session.scalars(
        select(Exercise)
        .where(Exercise.active.is_(True))
        .order_by(Exercise.week, Exercise.position, Exercise.slug)
    )
    out = []
    for e in exercises:
        r = rows.get(e.id)
        graded_n = int(r.graded or 0) if r else 0
        out.append(
            {
                "slug": e.slug,
                "title": e.title,
                "kind": e.kind,
                "week": e.week,
                "points": e.points,
                "version": e.version,
                "attempts": int(r.attempts) if r else 0,
                "members": int(r.members) if r else 0,
                "graded": graded_n,
                "errors": int(r.errors or 0) if r else 0,
                "pending": int(r.pending or 0) if r else 0,
                "pass_rate": round(int(r.full_marks or 0) / graded_n, 4) if graded_n else None,
                "mean_score": round(float(r.mean), 4) if r and r.mean is not None else None,
                "solved_by": int(solved.get(e.id, 0)),
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
