"""Every model module is imported here so Alembic's autogenerate sees the whole schema."""

from server.models import (  # noqa: F401  (each module adds its tables to Base.metadata)
    bus,
    deck,
    exercise_import,
    game,
    grader_health,
    instructor,
)
from server.models.base import Base
from server.models.exercise import Exercise, ReferenceValue
from server.models.submission import BestScore, Submission
from server.models.user import ApiToken, User

__all__ = [
    "ApiToken",
    "Base",
    "BestScore",
    "Exercise",
    "ReferenceValue",
    "Submission",
    "User",
]
