"""Cards of personal decks: a member's own cards and the "missed in games" deck.

Each card gets the member's state row when it is made, so personal decks need
no syncing. The missed deck is filled from the games: when a question is
settled, the game service keeps a MissedQuestion row (server.models.game) per
logged-in player who missed it, and the deck list (and the missed deck's next
card) cards every such row that has no card yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models.deck import NEW, Card, CardState, Deck
from server.models.game import MissedQuestion
from server.models.user import User
from server.services.flashcards.base import (
    MAX_FIELD,
    MAX_TAGS,
    InvalidInput,
    editable_deck,
    live_card,
    now,
)
from server.services.flashcards.seed import question_card

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
    card = live_card(card_id)
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


def pull_missed(user: User) -> int:
    """Card every MissedQuestion row of the member that has no card yet; returns how many."""
    pairs = set(
        db.session.execute(
            select(MissedQuestion.quiz_slug, MissedQuestion.question_id)
            .where(MissedQuestion.user_id == user.id)
            .distinct()
        ).all()
    )
    if not pairs:
        return 0
    deck = missed_deck(user)
    have = set(db.session.scalars(select(Card.source).where(Card.deck_id == deck.id)))
    added = 0
    for slug, qid in sorted(pairs):
        source = f"{slug}/{qid}"
        if source not in have and _add_missed(user, deck, source, slug, qid):
            added += 1
    db.session.commit()
    return added


def _add_missed(user: User, deck: Deck, source: str, quiz_slug: str, question_id: str) -> bool:
    """Card one missed question; False when its bank or question is gone (a bank changed since
    the game) or a parallel request of the same member carded it first."""
    content = question_card(quiz_slug, question_id)
    if content is None:
        return False
    try:
        with db.session.begin_nested():
            new_card(deck, user, content.front, content.back, content.tags, source)
    except IntegrityError:
        return False
    return True
