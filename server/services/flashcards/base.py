"""What every flashcards module shares: the errors, the field limits, the clock, the deck lookups.

The errors are StatusErrors, so the app's one error handler answers them
(JSON under /api, the error page elsewhere). Ids above MAX_ID are not found
without asking the database (SQLite cannot bind them; PostgreSQL's integer
column holds no such id).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from server.extensions import db
from server.models.deck import Card, Deck
from server.models.user import User
from server.services.errors import StatusError

MAX_ID = 2**31 - 1
MAX_FIELD = 20_000
MAX_TAGS = 500


class NotFound(StatusError):
    """No such deck or card for this member (another member's is 'not found' too)."""

    def __init__(self, message: str) -> None:
        super().__init__(404, "not_found", message)


class Forbidden(StatusError):
    """The member may see this deck but not change it (a shared deck)."""

    def __init__(self, message: str) -> None:
        super().__init__(403, "forbidden", message)


class InvalidInput(StatusError):
    """Input that breaks a rule; the message says which and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "bad_request", message)


# --- time -----------------------------------------------------------------------------------


def now() -> datetime:
    """The current UTC time, or the one config FLASHCARDS_CLOCK returns (tests)."""
    clock: Callable[[], datetime] | None = current_app.config.get("FLASHCARDS_CLOCK")
    moment = clock() if clock else datetime.now(UTC)
    return moment.astimezone(UTC)


def day_number(moment: datetime) -> int:
    """Days since 1970-01-01 in UTC: the unit of the daily limit and the heatmap."""
    return (moment.astimezone(UTC).date() - datetime(1970, 1, 1).date()).days


# --- lookups --------------------------------------------------------------------------------


def check_card_id(card_id: int) -> int:
    """The id itself, or NotFound when no card can have it."""
    if not 0 < card_id <= MAX_ID:
        raise NotFound(f"No card {card_id}.")
    return card_id


def get_deck(user: User | None, deck_id: int) -> Deck:
    """A deck the caller may see; another member's deck is NotFound, not Forbidden."""
    deck = db.session.get(Deck, deck_id) if 0 < deck_id <= MAX_ID else None
    if deck is None or (deck.owner_id is not None and (user is None or deck.owner_id != user.id)):
        raise NotFound(f"No deck {deck_id}.")
    return deck


def editable_deck(user: User, deck_id: int) -> Deck:
    """One of the member's own decks; a shared deck is Forbidden."""
    deck = get_deck(user, deck_id)
    if deck.kind != "own":
        raise Forbidden("Cards of this deck come from the course; add your own in a deck of yours.")
    return deck


def deck_cards(user: User | None, deck_id: int) -> tuple[Deck, list[Card]]:
    """The live cards of a deck the caller sees (guests: the shared decks)."""
    deck = get_deck(user, deck_id)
    cards = db.session.scalars(
        select(Card).where(Card.deck_id == deck.id, Card.retired.is_(False)).order_by(Card.id)
    )
    return deck, list(cards)


def live_card(card_id: int) -> Card:
    """A card that exists and is not retired (whose deck the caller still has to check)."""
    card = db.session.get(Card, check_card_id(card_id))
    if card is None or card.retired:
        raise NotFound(f"No card {card_id}.")
    return card
