"""Studying: decks a member can see, what is due, FSRS reviews, settings, card views.

Every member has one CardState row per card they study, so "the next due card
in this deck" is one range scan of (user_id, deck_id, state, due). Shared
decks (trivia banks, exercise facts) get their state rows lazily the first
time a member looks at them; personal decks get them when a card is added.
Times are UTC; the clock can be injected (config FLASHCARDS_CLOCK) so tests
drive reviews at fixed times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import fsrs
from sqlalchemy import func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.markdown import render_markdown
from server.models.deck import (
    NEW,
    REVIEW,
    STATE_NAMES,
    Card,
    CardState,
    Deck,
    Review,
)
from server.models.user import User
from server.services.flashcards import cards, seed
from server.services.flashcards import queries as q
from server.services.flashcards.base import (
    InvalidInput,
    check_card_id,
    day_number,
    get_deck,
    live_card,
    now,
)

RATINGS = {"again": 1, "hard": 2, "good": 3, "easy": 4}
RETENTION_MIN, RETENTION_MAX = 0.80, 0.97
NEW_PER_DAY_MAX = 1000
# Like Anki's learn-ahead limit: a learning card due within this is shown when nothing else is.
LEARN_AHEAD = timedelta(minutes=20)


# --- FSRS -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def scheduler(desired_retention: float, fuzz: bool = True) -> fsrs.Scheduler:
    """FSRS-6 with its default parameters and the member's desired retention."""
    return fsrs.Scheduler(desired_retention=desired_retention, enable_fuzzing=fuzz)


def _retention(user: User) -> float:
    value = user.desired_retention if user.desired_retention is not None else 0.9
    return round(min(RETENTION_MAX, max(RETENTION_MIN, value)), 4)


def to_fsrs(state: CardState) -> fsrs.Card:
    if state.state == NEW:
        return fsrs.Card(card_id=state.card_id, due=state.due)
    return fsrs.Card(
        card_id=state.card_id,
        state=fsrs.State(state.state),
        step=state.step,
        stability=state.stability,
        difficulty=state.difficulty,
        due=state.due.astimezone(UTC),
        last_review=state.last_review.astimezone(UTC) if state.last_review else None,
    )


# --- decks ----------------------------------------------------------------------------------


def shared_decks() -> list[Deck]:
    """The decks anyone may practise, banks brought up to date first (guest page)."""
    seed.refresh_bank_decks()
    return visible_decks(None)


def visible_decks(user: User | None) -> list[Deck]:
    """Shared decks first (banks, then facts), then the member's own."""
    clauses = [Deck.owner_id.is_(None)]
    if user is not None:
        clauses.append(Deck.owner_id == user.id)
    order = {"bank": 0, "facts": 1, "missed": 2, "own": 3}
    decks = list(db.session.scalars(select(Deck).where(or_(*clauses), Deck.retired.is_(False))))
    return sorted(decks, key=lambda d: (order.get(d.kind, 9), d.title.lower(), d.id))


def _sync_shared(user: User, decks: list[Deck]) -> None:
    """Give the member a (new) state row for every live card of the shared decks."""
    shared = [d.id for d in decks if d.owner_id is None]
    if not shared:
        return
    live = dict(
        db.session.execute(
            select(Card.deck_id, func.count())
            .where(Card.deck_id.in_(shared), Card.retired.is_(False))
            .group_by(Card.deck_id)
        ).all()
    )
    states = dict(
        db.session.execute(
            select(CardState.deck_id, func.count())
            .where(CardState.user_id == user.id, CardState.deck_id.in_(shared))
            .group_by(CardState.deck_id)
        ).all()
    )
    stale = [d for d in shared if live.get(d, 0) != states.get(d, 0)]
    if not stale:
        return
    missing = select(
        literal(user.id),
        Card.id,
        Card.deck_id,
        literal(NEW),
        Card.created_at,
        literal(0),
        literal(0),
    ).where(
        Card.deck_id.in_(stale),
        Card.retired.is_(False),
        ~select(CardState.id)
        .where(CardState.user_id == user.id, CardState.card_id == Card.id)
        .exists(),
    )
    cols = ["user_id", "card_id", "deck_id", "state", "due", "reps", "lapses"]
    try:
        db.session.execute(insert(CardState).from_select(cols, missing))
        db.session.commit()
    except IntegrityError:  # a parallel request of the same member did it first
        db.session.rollback()


def new_today(user: User, moment: datetime) -> int:
    """New cards the member has started today (UTC)."""
    return db.session.scalar(q.NEW_TODAY, {"user_id": user.id, "day": day_number(moment)})


def new_budget(user: User, moment: datetime) -> int:
    return max(0, (user.new_cards_per_day or 0) - new_today(user, moment))


def new_card_limit(user: User, decks: list[Deck], moment: datetime | None = None) -> dict[str, Any]:
    """For the pages that show due counts: the daily limit of new cards, how many the member
    started today and has left, and each deck's cards never studied (new, counted uncapped),
    so a page can say that "20 new" is the limit and how many wait for later days."""
    _sync_shared(user, decks)
    return _limit_of(user, decks, moment or now())


def _limit_of(user: User, decks: list[Deck], moment: datetime) -> dict[str, Any]:
    """new_card_limit once the shared decks' states exist."""
    ids = [d.id for d in decks]
    unseen = dict(
        db.session.execute(
            select(CardState.deck_id, func.count())
            .where(CardState.user_id == user.id, CardState.deck_id.in_(ids), CardState.state == NEW)
            .group_by(CardState.deck_id)
        ).all()
    )
    limit = user.new_cards_per_day or 0
    started = new_today(user, moment)
    return {
        "limit": limit,
        "started": started,
        "left": max(0, limit - started),
        "unseen": {d: unseen.get(d, 0) for d in ids},
    }


@dataclass(frozen=True)
class DueCounts:
    new: int
    learning: int
    review: int

    def as_dict(self) -> dict[str, int]:
        return {"new": self.new, "learning": self.learning, "review": self.review}

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


@dataclass(frozen=True)
class _Due:
    learning_now: int = 0
    learning_ahead: int = 0  # due within LEARN_AHEAD, including those due now
    review: int = 0
    new: int = 0  # capped by the day's budget


def _due(user: User, deck_ids: list[int], moment: datetime, budget: int) -> dict[int, _Due]:
    """What is due per deck, in two index range scans (new cards counted only up to budget)."""
    rows = db.session.execute(
        q.DUE,
        {"user_id": user.id, "deck_ids": deck_ids, "now": moment, "ahead": moment + LEARN_AHEAD},
    ).all()
    found = {d: (int(a or 0), int(b or 0), int(c or 0)) for d, a, b, c in rows}
    out = {}
    for deck_id in deck_ids:
        new = 0
        if budget > 0:
            params = {"user_id": user.id, "deck_id": deck_id, "budget": budget}
            new = db.session.scalar(q.NEW_CAPPED, params)
        out[deck_id] = _Due(*found.get(deck_id, (0, 0, 0)), new=new)
    return out


def due_counts(
    user: User, deck_ids: list[int], moment: datetime, budget: int | None = None
) -> dict[int, DueCounts]:
    """Per deck: new cards (capped by today's budget), learning cards due within the
    learn-ahead limit, and review cards due now."""
    if budget is None:
        budget = new_budget(user, moment)
    return {
        d: DueCounts(new=due.new, learning=due.learning_ahead, review=due.review)
        for d, due in _due(user, deck_ids, moment, budget).items()
    }


def decks_overview(user: User, moment: datetime | None = None) -> list[dict[str, Any]]:
    """GET /api/decks: every deck the member sees, with its due counts."""
    return _overview(user, moment or now(), with_limit=False)[0]


def decks_page(user: User, moment: datetime | None = None):
    """The decks page: the overview and the daily new-card limit, from one pass."""
    return _overview(user, moment or now(), with_limit=True)


def _overview(
    user: User, moment: datetime, *, with_limit: bool
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    seed.refresh_bank_decks()
    cards.pull_missed(user)
    cards.missed_deck(user)
    decks = visible_decks(user)
    _sync_shared(user, decks)
    limit = _limit_of(user, decks, moment) if with_limit else None
    budget = limit["left"] if limit is not None else None
    counts = due_counts(user, [d.id for d in decks], moment, budget)
    sizes = dict(
        db.session.execute(
            select(Card.deck_id, func.count())
            .where(Card.deck_id.in_([d.id for d in decks]), Card.retired.is_(False))
            .group_by(Card.deck_id)
        ).all()
    )
    db.session.commit()
    overview = [
        {
            "id": d.id,
            "title": d.title,
            "kind": d.kind,
            "description": d.description,
            "cards": sizes.get(d.id, 0),
            "due": counts[d.id].as_dict(),
        }
        for d in decks
    ]
    return overview, limit


# --- studying -------------------------------------------------------------------------------


def next_state(
    user: User, deck: Deck, moment: datetime, budget: int
) -> tuple[CardState, Card] | None:
    """Due learning cards, then due reviews, then new cards (within budget), then learn-ahead."""
    params = {
        "user_id": user.id,
        "deck_id": deck.id,
        "now": moment,
        "ahead": moment + LEARN_AHEAD,
        "budget": budget,
    }
    state_id = db.session.scalar(q.NEXT_ID, params)
    if state_id is None:
        return None
    row = db.session.execute(q.STATE_AND_CARD, {"state_id": state_id}).first()
    return None if row is None else (row[0], row[1])


def next_card(user: User, deck_id: int, moment: datetime | None = None) -> dict[str, Any] | None:
    """GET /api/decks/<id>/next: the next card to study, or None when nothing is due."""
    moment = moment or now()
    deck = get_deck(user, deck_id)
    if deck.owner_id is None:
        _sync_shared(user, [deck])
    elif deck.kind == "missed":
        cards.pull_missed(user)
    budget = new_budget(user, moment)
    found = next_state(user, deck, moment, budget)
    if found is None:
        return None
    state, card = found
    view = card_view(card)
    view.update(state_view(state))
    view["intervals"] = preview(user, state, moment)
    view["counts"] = due_counts(user, [deck.id], moment, budget)[deck.id].as_dict()
    return view


def preview(user: User, state: CardState, moment: datetime) -> dict[str, float]:
    """Seconds until the card would be due after each rating (without fuzz), for the buttons."""
    sched = scheduler(_retention(user), False)
    card = to_fsrs(state)
    out = {}
    for name, value in RATINGS.items():
        after, _ = sched.review_card(card, fsrs.Rating(value), moment)
        out[name] = max(0.0, (after.due - moment).total_seconds())
    return out


def review(
    user: User,
    card_id: int,
    rating: str,
    moment: datetime | None = None,
    duration_ms: int | None = None,
) -> dict[str, Any]:
    """POST /api/cards/<id>/reviews: rate the card, let FSRS schedule it, log the review."""
    if rating not in RATINGS:
        raise InvalidInput("rating must be one of again, hard, good, easy.")
    moment = moment or now()
    params = {"user_id": user.id, "card_id": check_card_id(card_id)}
    state = db.session.scalar(q.STATE_OF_CARD, params)
    if state is None:
        state = _start_state(user, card_id)
    before = state.state
    after, _log = scheduler(_retention(user)).review_card(
        to_fsrs(state), fsrs.Rating(RATINGS[rating]), moment
    )
    state.state = int(after.state)
    state.step = after.step
    state.stability = after.stability
    state.difficulty = after.difficulty
    state.due = after.due
    state.last_review = moment
    state.reps += 1
    if before == REVIEW and rating == "again":
        state.lapses += 1
    db.session.add(
        Review(
            user_id=user.id,
            card_id=card_id,
            deck_id=state.deck_id,
            rating=RATINGS[rating],
            state_before=before,
            reviewed_at=moment,
            day=day_number(moment),
            due_after=after.due,
            duration_ms=duration_ms,
        )
    )
    view = state_view(state)  # before the commit expires the row
    view.update(card_id=card_id, rating=rating, reviewed_at=_iso(moment))
    db.session.commit()
    return view


def _start_state(user: User, card_id: int) -> CardState:
    """A state row for a visible card the member has not met yet (shared deck, not synced)."""
    card = live_card(card_id)
    get_deck(user, card.deck_id)  # NotFound for another member's card
    state = CardState(
        user_id=user.id,
        card_id=card.id,
        deck_id=card.deck_id,
        state=NEW,
        due=card.created_at,
        reps=0,
        lapses=0,
    )
    db.session.add(state)
    db.session.flush()
    return state


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def state_view(state: CardState) -> dict[str, Any]:
    return {
        "state": STATE_NAMES[state.state],
        "due": _iso(state.due) if state.state != NEW else None,
        "stability": state.stability,
        "difficulty": state.difficulty,
        "reps": state.reps,
        "lapses": state.lapses,
        "last_review": _iso(state.last_review),
    }


@functools.lru_cache(maxsize=4096)
def _html(text: str) -> str:
    """Rendered (sanitised) markdown; cards repeat, so each text is rendered once per process."""
    return str(render_markdown(text))


def card_view(card: Card) -> dict[str, Any]:
    return {
        "id": card.id,
        "deck_id": card.deck_id,
        "front": card.front,
        "back": card.back,
        "front_html": _html(card.front),
        "back_html": _html(card.back),
        "tags": card.tags.split(),
    }


# --- settings -------------------------------------------------------------------------------


def update_settings(user: User, desired_retention: float, new_cards_per_day: int) -> None:
    """Desired retention 0.80-0.97 (FSRS's useful range) and new cards a day 0-1000."""
    if not RETENTION_MIN <= desired_retention <= RETENTION_MAX:
        raise InvalidInput(
            f"desired_retention must be between {RETENTION_MIN:.2f} and {RETENTION_MAX:.2f}."
        )
    if not 0 <= new_cards_per_day <= NEW_PER_DAY_MAX:
        raise InvalidInput(f"new_cards_per_day must be between 0 and {NEW_PER_DAY_MAX}.")
    user.desired_retention = float(desired_retention)
    user.new_cards_per_day = int(new_cards_per_day)
    db.session.commit()


def settings_view(user: User) -> dict[str, Any]:
    return {
        "desired_retention": _retention(user),
        "new_cards_per_day": user.new_cards_per_day,
        "retention_range": [RETENTION_MIN, RETENTION_MAX],
    }
