"""A member's flashcard statistics: reviews per day, true retention, the 30-day due forecast.

True retention is measured, not predicted: of the reviews of cards that were
in the Review state, the share not rated Again (Anki's definition). It is the
number to compare with the desired retention the member set.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from server.extensions import db
from server.models.deck import LEARNING, NEW, RELEARNING, REVIEW, STATE_NAMES, CardState, Review
from server.models.user import User
from server.services.flashcards.base import day_number, now
from server.services.flashcards.reviews import settings_view

EPOCH = date(1970, 1, 1)
HEATMAP_DAYS = 365
FORECAST_DAYS = 30
PERIODS = (("Today", 1), ("7 days", 7), ("30 days", 30), ("365 days", 365))


def _iso_day(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat()


def reviews_per_day(user: User, today: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Review.day, func.count())
        .where(Review.user_id == user.id, Review.day > today - HEATMAP_DAYS)
        .group_by(Review.day)
        .order_by(Review.day)
    ).all()
    return [{"day": _iso_day(day), "count": count} for day, count in rows]


def true_retention(user: User, today: int) -> list[dict[str, Any]]:
    """Per period: reviews of Review-state cards, how many passed, and the share."""
    passed = func.sum(case((Review.rating > 1, 1), else_=0))
    by_day = db.session.execute(
        select(Review.day, func.count(), passed)
        .where(Review.user_id == user.id, Review.state_before == REVIEW)
        .group_by(Review.day)
    ).all()
    out = []
    for label, days in (*PERIODS, ("All time", None)):
        rows = [r for r in by_day if days is None or r[0] > today - days]
        total = sum(r[1] for r in rows)
        ok = sum(int(r[2] or 0) for r in rows)
        out.append(
            {
                "period": label,
                "reviews": total,
                "passed": ok,
                "retention": round(ok / total, 4) if total else None,
            }
        )
    return out


def forecast(user: User, moment: datetime) -> list[dict[str, Any]]:
    """Cards coming due on each of the next 30 days (day 0 includes the overdue ones)."""
    end = moment + timedelta(days=FORECAST_DAYS)
    today = day_number(moment)
    buckets = [
        {"day": _iso_day(today + i), "review": 0, "learning": 0} for i in range(FORECAST_DAYS)
    ]
    rows = db.session.execute(
        select(CardState.due, CardState.state).where(
            CardState.user_id == user.id, CardState.state != NEW, CardState.due < end
        )
    )
    for due, state in rows:
        offset = max(0, day_number(due) - today)
        if offset < FORECAST_DAYS:
            kind = "learning" if state in (LEARNING, RELEARNING) else "review"
            buckets[offset][kind] += 1
    return buckets


def card_totals(user: User) -> dict[str, int]:
    rows = db.session.execute(
        select(CardState.state, func.count())
        .where(CardState.user_id == user.id)
        .group_by(CardState.state)
    ).all()
    totals = {name: 0 for name in STATE_NAMES.values()}
    for state, count in rows:
        totals[STATE_NAMES[state]] = count
    return totals


def stats(user: User, moment: datetime | None = None) -> dict[str, Any]:
    moment = (moment or now()).astimezone(UTC)
    today = day_number(moment)
    return {
        "today": _iso_day(today),
        "per_day": reviews_per_day(user, today),
        "retention": true_retention(user, today),
        "desired_retention": settings_view(user)["desired_retention"],
        "forecast": forecast(user, moment),
        "cards": card_totals(user),
    }
