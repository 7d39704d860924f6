"""Tables of the instructor area: result history, regrades, the audit log, meetup events, weights."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, UTCDateTime, utcnow


class ResultHistory(Base):
    """A result document that a regrade or an override replaced, kept whole for the record."""

    __tablename__ = "result_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(20))  # 'regrade' or 'override'
    status: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    executed_notebook: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    exercise_version: Mapped[int] = mapped_column(Integer)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    regrade_id: Mapped[int | None] = mapped_column(
        ForeignKey("regrades.id", ondelete="SET NULL"), nullable=True
    )


class Regrade(Base):
    """One regrade request: a single submission or every submission of an exercise."""

    __tablename__ = "regrades"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    scope: Mapped[str] = mapped_column(String(20))  # 'submission' or 'exercise'
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    items: Mapped[list[RegradeItem]] = relationship(
        back_populates="regrade", cascade="all, delete-orphan"
    )


class RegradeItem(Base):
    """One submission of a regrade; 'pending' until its new result is recorded."""

    __tablename__ = "regrade_items"
    __table_args__ = (UniqueConstraint("regrade_id", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    regrade_id: Mapped[int] = mapped_column(ForeignKey("regrades.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    history_id: Mapped[int | None] = mapped_column(
        ForeignKey("result_history.id", ondelete="SET NULL"), nullable=True
    )
    old_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    new_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    regrade: Mapped[Regrade] = relationship(back_populates="items")


class AuditLog(Base):
    """Who changed a score, a role, the weights or an event, when, and why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class BoardWeights(Base):
    """How the overall board mixes exercise points and trivia points (one row, id 1)."""

    __tablename__ = "board_weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercises: Mapped[float] = mapped_column(Float, default=1.0)
    trivia: Mapped[float] = mapped_column(Float, default=0.01)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class MeetupEvent(Base):
    """A meetup night: a set of exercises and games, counted inside a time window."""

    __tablename__ = "meetup_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exercise_weight: Mapped[float] = mapped_column(Float, default=1.0)
    trivia_weight: Mapped[float] = mapped_column(Float, default=0.01)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    exercises: Mapped[list[MeetupEventExercise]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    games: Mapped[list[MeetupEventGame]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class MeetupEventExercise(Base):
    __tablename__ = "meetup_event_exercises"
    __table_args__ = (UniqueConstraint("event_id", "exercise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("meetup_events.id", ondelete="CASCADE"))
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))


class MeetupEventGame(Base):
    """A game played at the event."""

    __tablename__ = "meetup_event_games"
    __table_args__ = (UniqueConstraint("event_id", "game_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("meetup_events.id", ondelete="CASCADE"))
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
