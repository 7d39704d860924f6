"""Flashcard decks, cards, each member's FSRS state per card, and the review log.

Content (Deck, Card) is shared where it can be: one bank deck serves every
member. What is personal is split off into CardState (one row per member and
card, indexed for "what is due next in this deck") and Review (append-only,
the source of the stats).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, utcnow

# Deck kinds: shared decks have no owner; personal ones belong to one member.
DECK_KINDS = ("bank", "facts", "missed", "own")

# Card states: FSRS's Learning/Review/Relearning numbers, plus 0 for "never reviewed".
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
STATE_NAMES = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "relearning"}


class Deck(Base):
    __tablename__ = "decks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    # Seeded and per-member system decks have a key ("bank:<slug>", "facts", "missed:<user>");
    # a member's own decks have none (NULLs never collide in a unique index).
    key: Mapped[str | None] = mapped_column(String(80), unique=True, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Which version of its source a shared deck shows ("quiz:<id>" or a bank file's hash).
    revision: Mapped[str | None] = mapped_column(String(80), nullable=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class Card(Base):
    __tablename__ = "cards"
    __table_args__ = (
        # A seeded card is found again by its source (question id, exercise slug) on re-seed.
        Index("uq_cards_deck_id_source", "deck_id", "source", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deck_id: Mapped[int] = mapped_column(ForeignKey("decks.id", ondelete="CASCADE"))
    source: Mapped[str | None] = mapped_column(String(120), nullable=True)
    front: Mapped[str] = mapped_column(Text)  # markdown
    back: Mapped[str] = mapped_column(Text)  # markdown
    tags: Mapped[str] = mapped_column(String(500), default="")  # space-separated, as Anki
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CardState(Base):
    """One member's FSRS memory of one card; `due` is the creation order for new cards."""

    __tablename__ = "card_states"
    __table_args__ = (
        Index("uq_card_states_user_id_card", "user_id", "card_id", unique=True),
        # "next due card in this deck" and the due counts are range scans of this index;
        # id last so new cards (due = creation time) come in a stable order from the index alone.
        Index("ix_card_states_user_deck_state_due", "user_id", "deck_id", "state", "due", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    deck_id: Mapped[int] = mapped_column(ForeignKey("decks.id", ondelete="CASCADE"), index=True)
    state: Mapped[int] = mapped_column(SmallInteger, default=NEW)
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stability: Mapped[float | None] = mapped_column(Float, nullable=True)
    difficulty: Mapped[float | None] = mapped_column(Float, nullable=True)
    due: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_review: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)


class Review(Base):
    """Every rating ever given: the review log behind retention, heatmap and the daily limit."""

    __tablename__ = "reviews"
    # Covers both the heatmap (per day) and the daily new-card count (state_before = new).
    __table_args__ = (Index("ix_reviews_user_day_state", "user_id", "day", "state_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    deck_id: Mapped[int] = mapped_column(
        Integer
    )  # denormalised for per-deck stats; card_id cascades
    rating: Mapped[int] = mapped_column(SmallInteger)  # 1 again .. 4 easy
    state_before: Mapped[int] = mapped_column(SmallInteger)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Days since 1970-01-01 in UTC: groups by day the same way on SQLite and PostgreSQL.
    day: Mapped[int] = mapped_column(Integer)
    due_after: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
