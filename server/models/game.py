"""Trivia banks as seeded (Quiz), live games, their players and answers, and missed questions.

A game's whole state is in these rows (phase, question index, absolute
deadlines), so any web process can serve it and a restarted one resumes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, utcnow

MODES = ("host", "self")
# host-paced: lobby -> question -> reveal -> standings -> question ... -> ended
# self-paced: lobby -> running -> ended
PHASES = ("lobby", "question", "reveal", "standings", "running", "ended")


class Quiz(Base):
    """One version of a trivia bank; a changed bank gets a new row, so old games keep theirs."""

    __tablename__ = "quizzes"
    __table_args__ = (UniqueConstraint("slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    bank: Mapped[dict[str, Any]] = mapped_column(JSON)  # graders.trivia.Bank, keys resolved
    question_count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="bundled")  # bundled | csv
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Game(Base):
    """A game; `live_pin` is unique and set only while the game is live, so PINs are reused safely."""

    __tablename__ = "games"

    id: Mapped[int] = mapped_column(primary_key=True)
    pin: Mapped[str] = mapped_column(String(6), index=True)
    live_pin: Mapped[str | None] = mapped_column(String(6), unique=True, nullable=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    host_token_hash: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8), default="host")
    phase: Mapped[str] = mapped_column(String(12), default="lobby")
    # Bumped by every phase change: a transition is `UPDATE ... WHERE seq = :seen`.
    seq: Mapped[int] = mapped_column(Integer, default=0)
    question_index: Mapped[int] = mapped_column(Integer, default=-1)
    question_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    question_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_late_join: Mapped[bool] = mapped_column(Boolean, default=True)
    streak_bonus: Mapped[bool] = mapped_column(Boolean, default=True)
    accuracy_first: Mapped[bool] = mapped_column(Boolean, default=False)
    window_s: Mapped[int | None] = mapped_column(Integer, nullable=True)  # self-paced
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Player(Base):
    """A nickname in one game; only the SHA-256 of its token is stored."""

    __tablename__ = "game_players"
    __table_args__ = (
        UniqueConstraint("game_id", "nickname_key"),
        # Top-5 boards and "how many score more than me" walk this instead of sorting.
        Index("ix_game_players_game_score", "game_id", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    nickname: Mapped[str] = mapped_column(String(40))
    nickname_key: Mapped[str] = mapped_column(String(80))  # casefolded, for uniqueness
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    score: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prev_rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kicked: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Self-paced games: the question this player is on and when it opened for them.
    position: Mapped[int] = mapped_column(Integer, default=-1)
    position_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Answer(Base):
    """One answer, stamped on arrival; the unique constraint makes a second one impossible."""

    __tablename__ = "game_answers"
    __table_args__ = (
        UniqueConstraint("player_id", "question_index"),
        Index("ix_game_answers_game_question", "game_id", "question_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    player_id: Mapped[int] = mapped_column(ForeignKey("game_players.id", ondelete="CASCADE"))
    question_index: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(40))
    answer: Mapped[Any] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    elapsed_ms: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean, default=False)
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    bonus: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)  # the player's streak after it
    counted: Mapped[bool] = mapped_column(Boolean, default=True)  # False once the host skips


class MissedQuestion(Base):
    """A question a logged-in player missed in a game; the flashcards area reads these."""

    __tablename__ = "missed_questions"
    __table_args__ = (UniqueConstraint("game_id", "user_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    quiz_slug: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(40))
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    missed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
