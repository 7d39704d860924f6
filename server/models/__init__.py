"""Every model module is imported here so Alembic's autogenerate sees the whole schema."""

from server.models import deck, exercise_import, game, grader_health, instructor  # noqa: F401  (areas add their tables there)
from server.models.base import Base
from server.models.bus import BusEvent
from server.models.exercise import Exercise, ReferenceValue
from server.models.submission import BestScore, Submission
from server.models.user import ApiToken, User

__all__ = [
    "ApiToken",
    "Base",
    "BestScore",
    "BusEvent",
    "Exercise",
    "ReferenceValue",
    "Submission",
    "User",
]
