"""Submissions (typed answers and notebooks), their results, and each member's best scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, UTCDateTime, utcnow
from server.models.exercise import Exercise
from server.models.user import User

STATUSES = ("queued", "running", "graded", "error")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_user_exercise", "user_id", "exercise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    exercise_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    notebook: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    variant: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    executed_notebook: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Its cells as sanitised HTML, rendered by the worker when it records the result, so the
    # web process serves it without loading nbconvert. None: not rendered (yet).
    executed_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    device: Mapped[str | None] = mapped_column(String(120), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # When it last joined the queue (first submission, regrade, requeue): how stale it is.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # While running: the worker grading it (grading.health.worker_name(), "host:pid") and
    # until when its claim holds; the worker renews it every few seconds, so a job whose
    # lease ran out was interrupted (grading.queue.requeue_stale queues it again).
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()
    exercise: Mapped[Exercise] = relationship()


class BestScore(Base):
    """Each member's best score per exercise, kept up to date by record_result.

    Kept as a row rather than computed per request so the leaderboard is one
    indexed GROUP BY even with 100,000 submissions.
    """

    __tablename__ = "best_scores"
    __table_args__ = (UniqueConstraint("user_id", "exercise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), nullable=True
    )
