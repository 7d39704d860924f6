"""An instructor's request to import a course notebook pair, kept until its worker reports back.

The uploaded notebooks live in the row, so a worker on another machine can run the import
with nothing but the database; the outcome lives there too, so the page survives a reload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, UTCDateTime, utcnow
from server.models.user import User


class ExerciseImport(Base):
    """One import: queued -> running -> done | failed; `result` holds what the page shows."""

    __tablename__ = "exercise_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    ignored: Mapped[list[str]] = mapped_column(JSON, default=list)  # guessed datasets to drop
    time_limit: Mapped[int] = mapped_column(Integer, default=180)
    cell_timeout: Mapped[int] = mapped_column(Integer, default=60)
    # Deferred: only the worker reads the uploads; lists and the page never load them.
    blank: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    blank_name: Mapped[str] = mapped_column(String(255))
    solution: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    solution_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    phase: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    requester: Mapped[User | None] = relationship()
