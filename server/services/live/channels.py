"""Every channel name and every cross-area payload on the bus, defined once.

Publishers and subscribers (SSE routes, caches) both take names from here, so a
renamed channel cannot leave a stream listening to nothing.
"""

from __future__ import annotations

from typing import Any

LEADERBOARD = "leaderboard"
SUBMISSION_PREFIX = "submission:"


def submission(submission_id: int) -> str:
    """A submission's status, progress and graded events (the member's live view)."""
    return f"{SUBMISSION_PREFIX}{submission_id}"


def game(game_id: int) -> str:
    """Everything players see (the host channel carries the same phase events)."""
    return f"game:{game_id}"


def game_host(game_id: int) -> str:
    return f"game:{game_id}:host"


def exercise_import(import_id: int) -> str:
    return f"exercise-import:{import_id}"


def regrade(regrade_id: int) -> str:
    """An instructor's regrade: an event when it starts and each time a submission settles."""
    return f"regrade:{regrade_id}"


Event = tuple[str, str, dict[str, Any]]


def board_changed(**why: Any) -> Event:
    """The leaderboard moved; `why` says what for the board's cache (see leaderboard._catch_up).

    Known keys: user_id + exercise_id (a best score), event_id (a meetup event),
    game_id (an ended game), weights (the board's weights).
    """
    return (LEADERBOARD, "changed", why)
