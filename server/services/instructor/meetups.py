"""Meetup events: a named time window with its exercises and games, ranked on its own board."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.instructor import MeetupEvent, MeetupEventExercise, MeetupEventGame
from server.models.user import User
from server.services import live as events
from server.services.audit import audit
from server.services.errors import StatusError
from server.services.instructor import leaderboard
from server.services.live import channels


class EventError(StatusError, ValueError):
    pass


def list_events() -> list[dict[str, Any]]:
    rows = db.session.scalars(select(MeetupEvent).order_by(MeetupEvent.starts_at.desc()))
    return [event_view(e) for e in rows]


def get_event(event_id: int) -> MeetupEvent:
    event = db.session.get(MeetupEvent, event_id) if 0 < event_id < 2**31 else None
    if event is None:
        raise EventError(404, "not_found", f"No meetup event {event_id}.")
    return event


def event_view(event: MeetupEvent) -> dict[str, Any]:
    slugs = dict(
        db.session.execute(
            select(Exercise.id, Exercise.slug).where(
                Exercise.id.in_([x.exercise_id for x in event.exercises] or [0])
            )
        ).all()
    )
    now = utcnow()
    return {
        "id": event.id,
        "title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "live": event.starts_at <= now <= event.ends_at,
        "exercises": sorted(slugs.values()),
        "games": sorted(x.game_id for x in event.games),
        "weights": {"exercises": event.exercise_weight, "trivia": event.trivia_weight},
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def save_event(
    actor: User,
    event: MeetupEvent | None,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    exercises: list[str],
    games: list[int],
    exercise_weight: float = 1.0,
    trivia_weight: float = leaderboard.DEFAULT_TRIVIA_WEIGHT,
) -> MeetupEvent:
    """Create (event None) or replace an event; unknown exercises or games are 400s."""
    title = (title or "").replace("\x00", "").strip()
    if not title:
        raise EventError(400, "bad_request", "title: give the event a name.")
    starts_at, ends_at = _aware(starts_at), _aware(ends_at)
    if ends_at <= starts_at:
        raise EventError(400, "bad_request", "ends_at: the event must end after it starts.")
    for name, value in (("exercise_weight", exercise_weight), ("trivia_weight", trivia_weight)):
        if not (0 <= value <= leaderboard.MAX_WEIGHT):
            raise EventError(
                400, "bad_request", f"{name}: between 0 and {leaderboard.MAX_WEIGHT:g}."
            )
    exercises = [slug.replace("\x00", "") for slug in exercises]
    found = dict(
        db.session.execute(
            select(Exercise.slug, Exercise.id).where(Exercise.slug.in_(exercises or [""]))
        ).all()
    )
    missing = sorted(set(exercises) - set(found))
    if missing:
        raise EventError(400, "bad_request", f"exercises: no exercise {', '.join(missing)}.")
    unknown = leaderboard.unknown_games(games)
    if unknown:
        raise EventError(400, "bad_request", f"games: no game {', '.join(map(str, unknown))}.")
    created = event is None
    if event is None:
        event = MeetupEvent(created_at=utcnow())
        db.session.add(event)
    event.title = title[:200]
    event.starts_at, event.ends_at = starts_at, ends_at
    event.exercise_weight, event.trivia_weight = float(exercise_weight), float(trivia_weight)
    event.exercises, event.games = [], []
    db.session.flush()  # old links go before new ones, or the unique constraints trip
    event.exercises = [MeetupEventExercise(exercise_id=found[s]) for s in dict.fromkeys(exercises)]
    event.games = [MeetupEventGame(game_id=g) for g in dict.fromkeys(games)]
    db.session.flush()
    audit(
        actor,
        "event_created" if created else "event_changed",
        "meetup_event",
        event.id,
        detail={"title": event.title, "exercises": exercises, "games": games},
    )
    db.session.commit()
    events.publish(*channels.board_changed(event_id=event.id))
    return event


def delete_event(actor: User, event: MeetupEvent) -> None:
    audit(actor, "event_deleted", "meetup_event", event.id, detail={"title": event.title})
    db.session.delete(event)
    db.session.commit()
