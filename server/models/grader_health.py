"""The notebook grader's health, one row per worker, so the web process can say grading is offline.

Workers and web processes may be on different machines: the database is the one
place both can read, so a worker writes its sandbox's state (and a heartbeat) here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, utcnow


class GraderHealth(Base):
    """A worker's last word on its sandbox: healthy or not, why, and when it last said so."""

    __tablename__ = "grader_health"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(120), unique=True)  # host:pid
    healthy: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when the state changed
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
