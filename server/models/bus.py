"""The event log behind the default (no Redis) event bus."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, utcnow


class BusEvent(Base):
    """One published event; processes poll new rows, so the web and worker share events."""

    __tablename__ = "bus_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(120), index=True)
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
