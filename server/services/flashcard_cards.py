"""Cards of personal decks: a member's own cards and the "missed in games" deck.

Each card gets the member's state row when it is made, so personal decks need
no syncing. The missed deck is filled two ways, whichever lands first: the
game service calls add_missed_card, and the deck list pulls any MissedQuestion
row (server.models.game) that has no card yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models.deck import NEW, Card, CardState, Deck
from server.models.user import User
from server.services import flashcard_seed
from server.services.flashcards import (
    MAX_FIELD,
    MAX_TAGS,
    InvalidInput,
    NotFound,
    editable_deck,
    now,
)

# --- own decks and cards --------------------------------------------------------------------


def create_deck(user: User, title: str, description: str = "") -> Deck:
    title = (title or "").strip()
    if not 1 <= len(title) <= 200:
        raise InvalidInput("title: give the deck a title of 1-200 characters.")
    deck = Deck(kind="own", owner_id=user.id, title=title, description=(description or "")[:2000])
    db.session.add(deck)
    db.session.commit()
    return deck


def clean_tags(tags: str | list[str] | None) -> str:
    """Anki's tags: space-separated words; commas are taken as separators too."""
    if tags is None:
        return ""
    words = tags if isinstance(tags, list) else str(tags).replace(",", " ").split()
    text = " ".join(dict.fromkeys(str(w).strip() for w in words if str(w).strip()))
    if len(text) > MAX_TAGS:
        raise InvalidInput(f"tags: at most {MAX_TAGS} characters.")
    return text


def check_fields(front: str, back: str) -> tuple[str, str]:
    front, back = (front or "").strip(), (back or "").strip()
    if not front:
        raise InvalidInput("front is empty.")
    if not back:
        raise InvalidInput("back is empty.")
    for name, text in (("front", front), ("back", back)):
        if len(text) > MAX_FIELD:
            raise InvalidInput(f"{name} is longer than {MAX_FIELD} characters.")
    return front, back


def new_card(deck: Deck, user: User, front: str, back: str, tags: str = "", source=None) -> Card:
    """A card in a personal deck with the member's state row (not committed)."""
    card = Card(deck_id=deck.id, front=front, back=back, tags=tags, source=source)
    db.session.add(card)
    db.session.flush()
    db.session.add(
        CardState(
            user_id=user.id,
            card_id=card.id,
            deck_id=deck.id,
            state=NEW,
            due=card.created_at,
            reps=0,
            lapses=0,
        )
    )
    return card


def add_card(user: User, deck_id: int, front: str, back: str, tags: Any = "") -> Card:
    deck = editable_deck(user, deck_id)
    front, back = check_fields(front, back)
    card = new_card(deck, user, front, back, clean_tags(tags))
    db.session.commit()
    return card


def own_card(user: User, card_id: int) -> Card:
    """A card of one of the member's own decks (anything else is NotFound or Forbidden)."""
    card = db.session.get(Card, card_id)
    if card is None or card.retired:
        raise NotFound(f"No card {card_id}.")
    editable_deck(user, card.deck_id)
    return card


def edit_card(user: User, card_id: int, front: str, back: str, tags: Any = "") -> Card:
    card = own_card(user, card_id)
    card.front, card.back = check_fields(front, back)
    card.tags = clean_tags(tags)
    card.updated_at = now()
    db.session.commit()
    return card


def delete_card(user: User, card_id: int) -> int:
    """Delete a card with its state and reviews; returns its deck id."""
    card = own_card(user, card_id)
    deck_id = card.deck_id
    db.session.delete(card)
    db.session.commit()
    return deck_id


# --- missed in games ------------------------------------------------------------------------


def missed_deck(user: User, *, create: bool = True) -> Deck | None:
    """The member's "missed in games" deck (made on first need; a parallel maker is harmless)."""
    key = f"missed:{user.id}"
    deck = db.session.scalar(select(Deck).where(Deck.key == key))
    if deck is None and create:
        try:
            with db.session.begin_nested():
                deck = Deck(
                    kind="missed",
                    key=key,
                    owner_id=user.id,
                    title="Missed in games",
                    description="Questions you got wrong in trivia games while logged in.",
                )
                db.session.add(deck)
        except IntegrityError:
            deck = db.session.scalar(select(Deck).where(Deck.key == key))
    return deck


def add_missed_card(
    user_id: int, quiz_slug: str, question_id: str, *, commit: bool = True
) -> Card | None:
    """Put a trivia question the member missed into their "missed in games" deck.

    Called by the game service; idempotent per member and question. Returns
    None when the bank or question is unknown (a bank changed since the game).
    """
    user = db.session.get(User, user_id)
    if user is None:
        return None
    source = f"{quiz_slug}/{question_id}"
    deck = missed_deck(user)
    existing = db.session.scalar(select(Card).where(Card.deck_id == deck.id, Card.source == source))
    if existing is not None:
        return existing
    content = flashcard_seed.question_card(quiz_slug, question_id)
    if content is None:
        return None
    try:
        with db.session.begin_nested():
            card = new_card(deck, user, content.front, content.back, content.tags, source)
    except IntegrityError:  # the same miss recorded twice at once
        card = db.session.scalar(select(Card).where(Card.deck_id == deck.id, Card.source == source))
    if commit:
        db.session.commit()
    return card


def _missed_model():
    """The game area's MissedQuestion table, or None while that area has not landed."""
    try:
        from server.models.game import MissedQuestion
    except ImportError:
        return None
    return MissedQuestion


def pull_missed(user: User) -> int:
    """Card every MissedQuestion row of the member that has no card yet; returns how many."""
    model = _missed_model()
    if model is None:
        return 0
    pairs = set(
        db.session.execute(
            select(model.quiz_slug, model.question_id).where(model.user_id == user.id).distinct()
        ).all()
    )
    if not pairs:
        return 0
    deck = missed_deck(user)
    have = set(db.session.scalars(select(Card.source).where(Card.deck_id == deck.id)))
    added = 0
    for slug, qid in sorted(pairs):
        if f"{slug}/{qid}" not in have and add_missed_card(user.id, slug, qid, commit=False):
            added += 1
    db.session.commit()
    return added
